// ftp_test.go: the ftp check against a small loopback FTP server with a passive data port.

package check

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ftpServer serves one session: files by path, user "anonymous" or u/p,
// multi-line greeting. It returns the address and the commands it got.
func ftpServer(t *testing.T, files map[string]string) (net.Addr, func() []string) {
	t.Helper()
	ln := listen(t)
	got := make(chan []string, 1)
	go func() {
		var cmds []string
		defer func() { got <- cmds }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, "220-welcome\r\n220 ready\r\n")
		r := bufio.NewReader(c)
		var data net.Listener
		user := ""
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			cmds = append(cmds, l)
			verb, arg, _ := strings.Cut(l, " ")
			switch verb {
			case "USER":
				user = arg
				fmt.Fprint(c, "331 password please\r\n")
			case "PASS":
				if user == "anonymous" || user == "u" && arg == "p" {
					fmt.Fprint(c, "230 in\r\n")
				} else {
					fmt.Fprint(c, "530 denied\r\n")
				}
			case "CWD":
				fmt.Fprint(c, "250 ok\r\n")
			case "TYPE":
				fmt.Fprint(c, "200 binary\r\n")
			case "PASV":
				data, err = net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return
				}
				defer data.Close()
				p := data.Addr().(*net.TCPAddr).Port
				// Advertise a wrong address: the check must use the real's.
				fmt.Fprintf(c, "227 Entering Passive Mode (192,0,2,1,%d,%d).\r\n", p>>8, p&255)
			case "RETR":
				body, ok := files[arg]
				if !ok || data == nil {
					fmt.Fprint(c, "550 no such file\r\n")
					continue
				}
				dc, err := data.Accept()
				if err != nil {
					return
				}
				fmt.Fprint(c, "150 sending\r\n")
				fmt.Fprint(dc, body)
				dc.Close()
				fmt.Fprint(c, "226 done\r\n")
			case "QUIT":
				fmt.Fprint(c, "221 bye\r\n")
				return
			default:
				fmt.Fprint(c, "502 what\r\n")
			}
		}
	}()
	return ln.Addr(), func() []string {
		select {
		case l := <-got:
			return l
		case <-time.After(5 * time.Second):
			t.Error("ftp session did not end")
			return nil
		}
	}
}

func TestFTP(t *testing.T) {
	files := map[string]string{"/index.html": "it works\n"}
	anon := []string{"USER anonymous", "PASS ldirectord@host", "CWD /", "TYPE I", "PASV", "RETR /index.html", "QUIT"}
	for _, tt := range []struct {
		name string
		t    Target
		ok   bool
		err  string
		want []string
	}{
		{"anonymous, receive matches", Target{Login: "anonymous", Passwd: "ldirectord@host", Request: "/index.html", Receive: "works"}, true, "", anon},
		{"empty receive", Target{Login: "anonymous", Passwd: "ldirectord@host", Request: "/index.html"}, true, "", anon},
		{"empty login is anonymous", Target{Passwd: "ldirectord@host", Request: "/index.html"}, true, "", anon},
		{"receive does not match", Target{Login: "anonymous", Passwd: "ldirectord@host", Request: "/index.html", Receive: "^broken"}, false,
			`ftp /index.html does not match "^broken": "it works\n"`, anon},
		{"login refused", Target{Login: "u", Passwd: "wrong", Request: "/index.html"}, false, `ftp PASS: "530 denied"`, []string{"USER u", "PASS wrong"}},
		{"missing file", Target{Login: "u", Passwd: "p", Request: "/none", Receive: ".*"}, false, `ftp RETR /none: "550 no such file"`,
			[]string{"USER u", "PASS p", "CWD /", "TYPE I", "PASV", "RETR /none"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, cmds := ftpServer(t, files)
			tt.t.Real = addrPort(t, addr)
			r := FTP{}.Check(context.Background(), tt.t)
			if r.OK != tt.ok || !strings.HasSuffix(errString(r.Err), tt.err) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error ending %q", r, tt.ok, tt.err)
			}
			if diff := cmp.Diff(tt.want, cmds()); diff != "" {
				t.Errorf("server got (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFTPPassiveParse(t *testing.T) {
	for _, tt := range []struct {
		reply string
		port  int
		err   string
	}{
		{"227 Entering Passive Mode (10,0,0,1,4,1).", 1025, ""},
		{"227 =10,0,0,1,4,1", 0, `ftp PASV: cannot parse "227 =10,0,0,1,4,1"`},
		{"227 (10,0,0,1,0,0)", 0, `ftp PASV: cannot parse "227 (10,0,0,1,0,0)"`},
	} {
		real, _ := serveScript(t, "", func(string) (string, bool) { return tt.reply + "\r\n", true })
		c, stop, err := dial(context.Background(), Target{Real: real})
		if err != nil {
			t.Fatal(err)
		}
		port, err := ftpPassive(newLineConn(c), real.Addr())
		stop()
		if port != tt.port || errString(err) != tt.err {
			t.Errorf("reply %q: port %d, error %v; want %d, %q", tt.reply, port, err, tt.port, tt.err)
		}
	}
}
