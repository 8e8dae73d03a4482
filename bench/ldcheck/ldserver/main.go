// Command ldserver is the benchmark's real servers: one HTTP server on
// 0.0.0.0:80 (in the benchmark's network namespace, where all of
// 127.0.0.0/8 is local) answering for every 127.x.y.z real. It answers
// "ok" with 200, or 503 for the addresses told to fail, and records when
// each request reached which address.
//
// It is driven over stdin, one command a line, each answered on stdout:
//
//	fail ADDR   → "ack UNIXNANO": ADDR answers 503 from UNIXNANO on
//	heal ADDR   → "ack UNIXNANO": ADDR answers 200 again
//	dump PATH   → "ack N": the N requests so far written to PATH, 12 bytes
//	              each: little-endian int64 unix nanoseconds, IPv4 address
//
// At EOF on stdin it exits.
package main

// main.go: the server, the command loop.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

type record struct {
	at   int64
	addr [4]byte
}

type server struct {
	mu      sync.Mutex
	records []record
	failing map[netip.Addr]bool
}

// Responses: the minimum an HTTP/1.x client accepts, connection closed;
// or kept open when the request asks for it (checkkeepalive).
var (
	okResponse      = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	failingResponse = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nfailing\n")
	okKeepAlive     = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
	failingKeep     = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nfailing\n")
	keepAliveHeader = []byte("\r\nConnection: keep-alive\r\n")
)

// serve answers one connection: it reads each request head (any request
// is answered alike) and writes the response; after it, the connection
// closes unless the request said Connection: keep-alive. Plain TCP rather
// than net/http keeps the servers' share of the machine's two cores small.
func (s *server) serve(c net.Conn) {
	defer c.Close()
	var buf [4096]byte
	n := 0
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
		for end < 0 {
			if n == len(buf) {
				return
			}
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
		}
		keep := bytes.Contains(buf[:end+2], keepAliveHeader)
		now := time.Now().UnixNano()
		addr := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
		s.mu.Lock()
		if addr.Is4() {
			s.records = append(s.records, record{now, addr.As4()})
		}
		fail := s.failing[addr]
		s.mu.Unlock()
		switch {
		case fail && keep:
			c.Write(failingKeep)
		case fail:
			c.Write(failingResponse)
		case keep:
			c.Write(okKeepAlive)
		default:
			c.Write(okResponse)
		}
		if !keep {
			return
		}
		n = copy(buf[:], buf[end+4:n])
	}
}

func (s *server) command(line string) (string, error) {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch verb {
	case "fail", "heal":
		a, err := netip.ParseAddr(arg)
		if err != nil {
			return "", err
		}
		s.mu.Lock()
		s.failing[a] = verb == "fail"
		now := time.Now().UnixNano()
		s.mu.Unlock()
		return fmt.Sprintf("ack %d", now), nil
	case "dump":
		s.mu.Lock()
		recs := s.records[:len(s.records):len(s.records)]
		s.mu.Unlock()
		buf := make([]byte, 0, 12*len(recs))
		for _, r := range recs {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(r.at))
			buf = append(buf, r.addr[:]...)
		}
		if err := os.WriteFile(arg, buf, 0o644); err != nil {
			return "", err
		}
		return fmt.Sprintf("ack %d", len(recs)), nil
	}
	return "", fmt.Errorf("unknown command %q", line)
}

func main() {
	s := &server{failing: map[netip.Addr]bool{}}
	ln, err := net.Listen("tcp4", "0.0.0.0:80")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go s.serve(c)
		}
	}()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		reply, err := s.command(in.Text())
		if err != nil {
			reply = "error " + err.Error()
		}
		fmt.Println(reply)
	}
}
