// Root-only suite: pairs of real heartbeatd processes in network namespaces
// on a bridge, over every medium and auth method, with deaths and attacks.

package cluster

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
)

const testKey = "s3cretKey"

// pair starts nodea and nodeb on a fresh lab with the given media lines
// (%PEER stands for the other node's address) and auth method.
func pair(t *testing.T, keepalive, deadtime string, media []string, method string) (*netns.Lab, *hbnode.Node, *hbnode.Node) {
	t.Helper()
	lab := netns.NewLab(t)
	ha := lab.AddHost("a", "10.77.0.1/24")
	hb := lab.AddHost("b", "10.77.0.2/24")
	start := func(h *netns.Host, name string) *hbnode.Node {
		var lines []string
		for _, m := range media {
			m = strings.ReplaceAll(m, "%PEER", map[string]string{"nodea": "10.77.0.2", "nodeb": "10.77.0.1"}[name])
			lines = append(lines, m)
		}
		n := hbnode.Start(t, h, hbnode.Options{
			Node:     name,
			HACF:     hbnode.HACF(keepalive, deadtime, "4", lines, "nodea", "nodeb"),
			AuthKeys: hbnode.AuthKeys(method, testKey),
		})
		return n
	}
	a, b := start(ha, "nodea"), start(hb, "nodeb")
	return lab, a, b
}

func TestPairOverEveryMediumAndAuth(t *testing.T) {
	netns.RequireRoot(t)
	cases := []struct {
		name, method string
		media        []string
	}{
		{"bcast-sha1", "sha1", []string{"bcast hb0"}},
		{"mcast-sha1", "sha1", []string{"mcast hb0 239.0.0.43 694 1 0"}},
		{"ucast-sha1", "sha1", []string{"ucast hb0 %PEER"}},
		{"bcast-md5", "md5", []string{"bcast hb0"}},
		{"bcast-crc", "crc", []string{"bcast hb0"}},
		{"all-media-sha1", "sha1", []string{"bcast hb0", "mcast hb0 239.0.0.43 694 1 0", "ucast hb0 %PEER"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, a, b := pair(t, "200ms", "1", c.media, c.method)
			a.WaitStatus(t, "nodeb", "active", 6*time.Second)
			b.WaitStatus(t, "nodea", "active", 6*time.Second)
			a.WaitStatus(t, "nodea", "active", time.Second)
			for _, n := range []*hbnode.Node{a, b} {
				peer := map[string]string{"nodea": "nodeb", "nodeb": "nodea"}[n.Name]
				out, rc := n.ClStatus(t, "hblinkstatus", peer, "hb0")
				if rc != 0 || strings.TrimSpace(out) != "up" {
					t.Errorf("%s: cl_status hblinkstatus %s hb0 = %q rc %d", n.Name, peer, out, rc)
				}
				if c := n.Counters(t); c["packets_auth_failed"] != 0 || c["messages_accepted"] == 0 {
					t.Errorf("%s counters: %v", n.Name, c)
				}
			}
		})
	}
}

// The acceptance bound: a peer whose link is cut is declared dead within
// the deadtime it advertises plus one keepalive.
func TestLinkCutDetectedWithinDeadtime(t *testing.T) {
	netns.RequireRoot(t)
	for _, c := range []struct{ keepalive, deadtime time.Duration }{
		{200 * time.Millisecond, time.Second},
		{100 * time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(c.deadtime.String(), func(t *testing.T) {
			t.Parallel()
			_, a, b := pair(t, fmt.Sprintf("%dms", c.keepalive.Milliseconds()), fmt.Sprintf("%dms", c.deadtime.Milliseconds()),
				[]string{"bcast hb0"}, "sha1")
			a.WaitStatus(t, "nodeb", "active", 6*time.Second)
			time.Sleep(5500 * time.Millisecond) // past the start-up window (dt = deadtime + 2 s)
			b.Host.CutLink(t)
			took := a.WaitStatus(t, "nodeb", "dead", c.deadtime+2*time.Second)
			t.Logf("deadtime %v keepalive %v: declared dead %v after the cut", c.deadtime, c.keepalive, took)
			if took > c.deadtime+c.keepalive {
				t.Errorf("declared dead after %v, want within deadtime+keepalive = %v", took, c.deadtime+c.keepalive)
			}
			if took < c.deadtime-c.keepalive {
				t.Errorf("declared dead after %v: earlier than deadtime-keepalive", took)
			}
			out, _ := a.ClStatus(t, "hblinkstatus", "nodeb", "hb0")
			if strings.TrimSpace(out) != "dead" {
				t.Errorf("link status after cut: %q", out)
			}
			b.Host.RestoreLink(t)
			a.WaitStatus(t, "nodeb", "active", 3*time.Second)
		})
	}
}

func TestGracefulStopIsSeenAtOnce(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	_, a, b := pair(t, "200ms", "2", []string{"bcast hb0"}, "sha1")
	a.WaitStatus(t, "nodeb", "active", 6*time.Second)
	b.Stop(t)
	took := a.WaitStatus(t, "nodeb", "dead", 3*time.Second)
	if took > 500*time.Millisecond {
		t.Errorf("shutdone took %v to take effect (from signal)", took)
	}
	if !strings.Contains(a.Log(), "Received shutdown notice from 'nodeb'.") {
		t.Errorf("no shutdown notice in log:\n%s", a.Log())
	}
}

// A third namespace captures real heartbeats and sends forged, tampered,
// replayed, wrong-key, truncated and garbage packets: the pair stays as it
// is, the counters prove every packet was dropped, and the log is limited.
func TestAdversarialPacketsChangeNothing(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	lab, a, b := pair(t, "200ms", "1", []string{"bcast hb0"}, "sha1")
	mallory := lab.AddHost("m", "10.77.0.66/24")
	a.WaitStatus(t, "nodeb", "active", 6*time.Second)
	b.WaitStatus(t, "nodea", "active", 6*time.Second)

	var conn *net.UDPConn
	mallory.Do(t, func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var err error
			c.Control(func(fd uintptr) {
				err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
				if err == nil {
					err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
				}
			})
			return err
		}}
		pc, err := lc.ListenPacket(t.Context(), "udp4", "0.0.0.0:694")
		if err != nil {
			return err
		}
		conn = pc.(*net.UDPConn)
		return nil
	})
	defer conn.Close()

	// Capture some of nodeb's real packets (the previous generation, later).
	ring, _ := wire.NewKeyring(1, wire.Key{Num: 1, Method: "sha1", Secret: []byte(testKey)})
	var captured [][]byte
	buf := make([]byte, 70000)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(captured) < 10 {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("capturing: %v (got %d)", err, len(captured))
		}
		if from.IP.Equal(net.ParseIP("10.77.0.2")) {
			captured = append(captured, append([]byte(nil), buf[:n]...))
		}
	}
	// nodeb restarts: everything captured is now from an old generation.
	b.Stop(t)
	b.Restart(t)
	a.WaitStatus(t, "nodeb", "active", 6*time.Second)

	before := a.Counters(t)
	target := &net.UDPAddr{IP: net.ParseIP("10.77.0.1"), Port: 694}
	bcast := &net.UDPAddr{IP: net.ParseIP("10.77.0.255"), Port: 694}
	send := func(p []byte) {
		for _, to := range []*net.UDPAddr{target, bcast} {
			if _, err := conn.WriteToUDP(p, to); err != nil {
				t.Fatalf("mallory send: %v", err)
			}
		}
	}
	wrongRing, _ := wire.NewKeyring(1, wire.Key{Num: 1, Method: "sha1", Secret: []byte("wrong-key")})
	forged := func(seq string, r *wire.Keyring) []byte {
		m := wire.New("status").Add("st", "dead").Add("dt", "3e8").Add("protocol", "1").
			Add("src", "nodeb").Add("seq", seq).Add("hg", "ffffffff").Add("ts", "1").Add("ttl", "3")
		p, err := wire.Encode(m, r, true)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const rounds = 30
	for i := 0; i < rounds; i++ {
		p := captured[i%len(captured)]
		send(p) // replay from an old generation
		tampered := append([]byte(nil), p...)
		tampered[len(tampered)-3] ^= 0x01 // flip a bit of the trailer MAC
		send(tampered)
		send(forged(fmt.Sprintf("%x", 1000+i), wrongRing)) // wrong key, claims nodeb is dead
		send(p[:len(p)/2])                                 // truncated
		send([]byte(fmt.Sprintf("###\n%d:garbage", i)))    // garbage
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)

	if got := a.NodeStatus("nodeb"); got != "active" {
		t.Errorf("after the attack nodea sees nodeb %q", got)
	}
	if got := b.NodeStatus("nodea"); got != "active" {
		t.Errorf("after the attack nodeb sees nodea %q", got)
	}
	after := a.Counters(t)
	delta := func(k string) uint64 { return after[k] - before[k] }
	// Each packet is sent twice (unicast and broadcast) and nodea gets both.
	if d := delta("packets_auth_failed"); d < 2*2*rounds {
		t.Errorf("auth failures counted %d, want ≥ %d (tampered + wrong key)", d, 4*rounds)
	}
	if d := delta("packets_malformed"); d < 2*2*rounds {
		t.Errorf("malformed counted %d, want ≥ %d (truncated + garbage)", d, 4*rounds)
	}
	if d := delta("messages_replay"); d < 2*rounds {
		t.Errorf("replays counted %d, want ≥ %d", d, 2*rounds)
	}
	if d := delta("messages_accepted"); d > 2*uint64((2*time.Second)/(200*time.Millisecond))+10 {
		t.Errorf("accepted %d messages during the attack: more than nodeb's own", d)
	}
	log := a.Log()
	if n := strings.Count(log, "bad packet dropped"); n == 0 || n > 40 {
		t.Errorf("%d bad-packet log lines: not rate-limited", n)
	}
	if n := strings.Count(log, "attempted replay attack"); n == 0 || n > 10 {
		t.Errorf("%d replay log lines: not rate-limited", n)
	}
	// No MAC a forged packet would have needed ever reaches the log.
	for i := 0; i < rounds; i++ {
		want := validMAC(t, forged(fmt.Sprintf("%x", 1000+i), ring))
		if strings.Contains(log, want) {
			t.Fatalf("the log reveals the expected MAC %s", want)
		}
	}
	if regexp.MustCompile(`[0-9a-f]{40}`).MatchString(log) {
		t.Errorf("the log contains a 40-hex-digit string (a SHA1 MAC?)")
	}
}

// validMAC returns the trailer MAC of a correctly signed packet.
func validMAC(t *testing.T, pkt []byte) string {
	i := strings.Index(string(pkt), "%%%\n")
	mac := hmac.New(sha1.New, []byte(testKey))
	mac.Write(pkt[:i+4])
	return hex.EncodeToString(mac.Sum(nil))
}

// heartbeatd -t checks a configuration and names file:line on error,
// without starting anything. Needs no root.
func TestCheckConfigNamesFileAndLine(t *testing.T) {
	bin := hbnode.Build(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ha.cf"), []byte("keepalive 1\nbcast eth0\nbogus_directive 3\nnode nodea\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "authkeys"), []byte("auth 1\n1 sha1 k\n"), 0o600)
	out, err := exec.Command(filepath.Join(bin, "heartbeatd"), "-t", "-confdir", dir, "-node", "nodea").CombinedOutput()
	if err == nil {
		t.Fatalf("-t accepted a bad ha.cf: %s", out)
	}
	if !strings.Contains(string(out), filepath.Join(dir, "ha.cf")+":3:") || !strings.Contains(string(out), "bogus_directive") {
		t.Errorf("error does not name ha.cf:3 and the directive: %s", out)
	}
	os.WriteFile(filepath.Join(dir, "ha.cf"), []byte("keepalive 1\nbcast eth0\nnode nodea\n"), 0o644)
	if out, err := exec.Command(filepath.Join(bin, "heartbeatd"), "-t", "-confdir", dir, "-node", "nodea").CombinedOutput(); err != nil {
		t.Errorf("-t rejected a good config: %v %s", err, out)
	}
	os.Chmod(filepath.Join(dir, "authkeys"), 0o644)
	if out, err := exec.Command(filepath.Join(bin, "heartbeatd"), "-t", "-confdir", dir, "-node", "nodea").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "600") {
		t.Errorf("-t accepted a world-readable authkeys: %s", out)
	}
}

// A reload with a broken ha.cf keeps the running configuration and says why;
// a good one is taken.
func TestReloadKeepsRunningConfigOnError(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	_, a, b := pair(t, "200ms", "1", []string{"bcast hb0"}, "sha1")
	a.WaitStatus(t, "nodeb", "active", 6*time.Second)
	cf := filepath.Join(a.ConfDir(), "ha.cf")
	good, _ := os.ReadFile(cf)
	os.WriteFile(cf, append(append([]byte(nil), good...), "keepalive banana\n"...), 0o644)
	a.Reload(t)
	waitLog(t, a, "reload failed, keeping the running configuration")
	if !strings.Contains(a.Log(), cf+":") {
		t.Errorf("reload error does not name %s:LINE:\n%s", cf, a.Log())
	}
	time.Sleep(1500 * time.Millisecond) // longer than deadtime: still talking
	if a.NodeStatus("nodeb") != "active" || b.NodeStatus("nodea") != "active" {
		t.Fatalf("pair broke after a failed reload")
	}
	os.WriteFile(cf, good, 0o644)
	a.Reload(t)
	waitLog(t, a, "configuration reloaded")
}

func waitLog(t *testing.T, n *hbnode.Node, s string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(n.Log(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q:\n%s", n.Name, s, n.Log())
		}
	}
}

// Under systemd (Type=notify) heartbeatd reports READY=1 once it sends
// heartbeats, RELOADING=1 then READY=1 around a reload, and STOPPING=1.
func TestSystemdNotify(t *testing.T) {
	netns.RequireRoot(t)
	t.Parallel()
	lab := netns.NewLab(t)
	h := lab.AddHost("a", "10.77.0.1/24")
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := hbnode.Start(t, h, hbnode.Options{
		Node:     "nodea",
		HACF:     hbnode.HACF("200ms", "1", "2", []string{"bcast hb0"}, "nodea", "nodeb"),
		AuthKeys: hbnode.AuthKeys("sha1", testKey),
		Env:      []string{"NOTIFY_SOCKET=" + sock},
	})
	n.Reload(t)
	waitLog(t, n, "configuration reloaded")
	n.Stop(t)
	var got []string
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		k, _, err := conn.ReadFromUnix(buf)
		if err != nil {
			break
		}
		line, _, _ := strings.Cut(string(buf[:k]), "\n")
		got = append(got, line)
	}
	want := []string{"READY=1", "RELOADING=1", "READY=1", "STOPPING=1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sd_notify messages %q, want %q", got, want)
	}
}
