// netns_test.go: self-test of the lab: reachability, link cuts, cleanup.

package netns

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// ping reports whether from can ping addr once within 1.5 seconds.
func ping(from *Host, addr string) (bool, string) {
	prog := "ping"
	if strings.Contains(addr, ":") {
		prog = "ping6" // inetutils ping has no -6
	}
	// The context bounds the wait: inetutils ping lingers 10 s without a reply.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	out, err := from.Command(ctx, prog, "-n", "-c", "1", "-w", "1", addr).CombinedOutput()
	return err == nil, string(out)
}

func TestLab(t *testing.T) {
	RequireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping")
	}
	var prefix string
	var sleeper *exec.Cmd
	var daemon string
	t.Run("lab", func(t *testing.T) {
		l := NewLab(t)
		prefix = l.Prefix
		a := l.AddHost("a", "10.77.0.1/24")
		b := l.AddHost("b", "10.77.0.2/24")
		b.AddAddr(t, "fd77::2/64")
		a.AddAddr(t, "fd77::1/64")

		if len(l.Prefix) > 6 || len(l.Prefix+"v99") > 15 {
			t.Errorf("prefix %q too long for interface names", l.Prefix)
		}
		if got := a.Run(t, "cat", "/proc/sys/net/ipv6/conf/hb0/accept_dad"); strings.TrimSpace(got) != "0" {
			t.Errorf("accept_dad on hb0 = %q, want 0", got)
		}
		addrs := b.Run(t, "ip", "-o", "addr", "show", "dev", "hb0")
		for _, want := range []string{"10.77.0.2/24", "brd 10.77.0.255", "fd77::2/64"} {
			if !strings.Contains(addrs, want) {
				t.Errorf("b hb0 addresses lack %q:\n%s", want, addrs)
			}
		}
		if a.Addr.String() != "10.77.0.1" || a.Prefix.String() != "10.77.0.0/24" || a.Iface != "hb0" {
			t.Errorf("host a = %+v", a)
		}

		for _, c := range []struct {
			from *Host
			to   string
		}{{a, "10.77.0.2"}, {b, "10.77.0.1"}, {a, "fd77::2"}} {
			if ok, out := ping(c.from, c.to); !ok {
				t.Fatalf("%s cannot ping %s:\n%s", c.from.Name, c.to, out)
			}
		}

		b.CutLink(t)
		if ok, out := ping(a, "10.77.0.2"); ok {
			t.Errorf("a pings b across a cut link:\n%s", out)
		}
		b.RestoreLink(t)
		// The first ping resolves ARP afresh; allow a few tries on a busy machine.
		var ok bool
		var out string
		for i := 0; i < 5 && !ok; i++ {
			ok, out = ping(a, "10.77.0.2")
		}
		if !ok {
			t.Errorf("a cannot ping b after RestoreLink:\n%s", out)
		}

		var got []string
		a.Do(t, func() error {
			ifi, err := net.InterfaceByName("hb0")
			if err != nil {
				return err
			}
			addrs, err := ifi.Addrs()
			for _, ad := range addrs {
				got = append(got, ad.String())
			}
			return err
		})
		if !slices.Contains(got, "10.77.0.1/24") {
			t.Errorf("Do: hb0 addresses in a = %v, want 10.77.0.1/24 among them", got)
		}

		sleeper = a.Command(context.Background(), "sleep", "300")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		// A daemon that left the command's process group.
		pid := strings.TrimSpace(b.Run(t, "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"))
		daemon = "/proc/" + pid
		if _, err := os.Stat(daemon); err != nil {
			t.Fatalf("daemon not running: %v", err)
		}
	})
	if t.Failed() {
		return
	}

	// The lab is gone: no namespaces with its prefix, the command killed.
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix+"-") {
			t.Errorf("namespace left behind: %s", line)
		}
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("sleep ended with %v, want killed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("command still running after the lab ended")
	}
	// SIGKILL is delivered at once, but reaping by init may lag a little.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.ReadFile(daemon + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("daemon %s still running after the lab ended", daemon)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParallelLabsDistinct(t *testing.T) {
	RequireRoot(t)
	l1, l2 := NewLab(t), NewLab(t)
	if l1.Prefix == l2.Prefix {
		t.Fatalf("two labs share prefix %q", l1.Prefix)
	}
	// Same host name and address in both labs must not collide.
	h1 := l1.AddHost("n", "10.77.0.1/24")
	h2 := l2.AddHost("n", "10.77.0.1/24")
	if h1.NS == h2.NS {
		t.Errorf("hosts share namespace %s", h1.NS)
	}
}
