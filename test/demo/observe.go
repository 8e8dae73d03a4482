// observe.go: what the demo reads to check each step: the directors' nftables tables, who holds the VIP, heartbeatd's view over its API, log lines, and the narrator that prints it all.

package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/internal/kernel"
)

// weights is a director's table for the VIP: each real server's (and the
// fallback's) weight by address; absent = not in the table.
type weights map[string]int

// readTable reads the nftables table ldirectord keeps on director.
func readTable(director string) (weights, error) {
	w := weights{}
	err := inNS(director, func() error {
		n := kernel.NewNFTables()
		defer n.Close()
		vs, err := kernel.Table(n)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if v.Addr != netip.MustParseAddr(vip) || v.Port != servicePort {
				continue
			}
			for _, d := range v.Dests {
				w[d.Addr.String()] = d.Weight
			}
		}
		return nil
	})
	return w, err
}

// name returns the host name of a real server or fallback address.
func name(addr string) string {
	for _, w := range webs {
		if w.addr == addr {
			return w.name
		}
	}
	if addr == sorryAddr {
		return "sorry"
	}
	return addr
}

// String prints the table in the real servers' order, e.g.
// "web1 1, web2 0, web3 1" (+ "sorry 1" when the fallback is in).
func (w weights) String() string {
	var parts []string
	for _, r := range webs {
		if x, ok := w[r.addr]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", r.name, x))
		} else {
			parts = append(parts, r.name+" -")
		}
	}
	if x, ok := w[sorryAddr]; ok {
		parts = append(parts, fmt.Sprintf("sorry %d", x))
	}
	return strings.Join(parts, ", ")
}

// is reports whether the table is exactly want (weight by host name;
// names not in want must be absent or, for real servers, at weight 0 when
// want gives 0).
func (w weights) is(want map[string]int) bool {
	for _, r := range webs {
		x, ok := w[r.addr]
		if want[r.name] != x || (want[r.name] > 0 && !ok) {
			return false
		}
	}
	x, ok := w[sorryAddr]
	if sw, want := want["sorry"]; want != ok || sw != x {
		return false
	}
	return true
}

// holders lists the directors holding addr on iface. A director whose
// iface has no carrier (crashed and dark, or unplugged) holds nothing,
// whatever its kernel still has configured.
func holders(addr, iface string) []string {
	var out []string
	for _, d := range directors {
		if hasAddr(d.name, iface, addr) && hasCarrier(d.name, iface) {
			out = append(out, d.name)
		}
	}
	return out
}

// holder is the one director holding both the VIP and the gateway, or
// a description of what is wrong.
func holder() (string, bool) {
	v, g := holders(vip, pubIface), holders(gateway, intIface)
	if len(v) == 1 && len(g) == 1 && v[0] == g[0] {
		return v[0], true
	}
	return fmt.Sprintf("VIP on %v, gateway on %v", v, g), false
}

// socket is the heartbeatd API socket of director.
func socket(director string) string { return filepath.Join(workDir, director, "run", "register") }

// nodeStatus asks director's heartbeatd for node's status ("" if it
// does not answer): active, dead, ping (a ping node that answers).
func nodeStatus(director, node string) string {
	c, err := api.Dial(socket(director), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	m, err := c.Request(api.ReqNodeStatus, api.FieldNode, node)
	if err != nil {
		return ""
	}
	return m.Get(api.FieldStatus)
}

// ipfailOnline reports whether director's heartbeatd sees the ipfail of
// peer signed on: cl_status clientstatus peer ipfail.
func (d *demo) ipfailOnline(director, peer string) bool {
	cmd := exec.Command(filepath.Join(d.bin, "cl_status"), "clientstatus", peer, "ipfail", "500")
	cmd.Env = append(os.Environ(), "HA_API_SOCKET="+socket(director))
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out)) == "online"
}

// waitFor polls cond every 10 ms until it holds or within has passed; it
// returns how long it took. cond's string says what it saw, for the error.
func waitFor(what string, within time.Duration, cond func() (bool, string)) (time.Duration, error) {
	start := time.Now()
	for {
		ok, seen := cond()
		if ok {
			return time.Since(start), nil
		}
		if time.Since(start) > within {
			return 0, fmt.Errorf("%s: not seen within %v (last seen: %s)", what, within, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitTable waits until director's table is want.
func waitTable(director string, want map[string]int, within time.Duration) (time.Duration, error) {
	return waitFor(director+"'s table", within, func() (bool, string) {
		w, err := readTable(director)
		if err != nil {
			return false, err.Error()
		}
		return w.is(want), w.String()
	})
}

// logMark is a position in a log file; lines returns what was written
// after it.
type logMark struct {
	path string
	off  int64
}

func mark(path string) logMark {
	st, err := os.Stat(path)
	if err != nil {
		return logMark{path: path}
	}
	return logMark{path: path, off: st.Size()}
}

// lines returns the lines written since the mark that contain one of the
// words, without their time stamp prefix; a repeated line once.
func (m logMark) lines(words ...string) []string {
	f, err := os.Open(m.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(m.off, io.SeekStart); err != nil {
		return nil
	}
	data, _ := io.ReadAll(f)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				if s := stripStamp(l); len(out) == 0 || out[len(out)-1] != s {
					out = append(out, s)
				}
				break
			}
		}
	}
	return out
}

// stripStamp drops the "[ctime|cfg|pid] " of ldirectord, and the
// "date node heartbeat: [pid]: " and trailing "key=value" fields of
// heartbeatd, from a log line.
func stripStamp(l string) string {
	if strings.HasPrefix(l, "[") {
		if i := strings.Index(l, "] "); i > 0 {
			return l[i+2:]
		}
	}
	for _, sep := range []string{" info: ", " WARN: ", " ERROR: ", " CRIT: "} {
		if i := strings.Index(l, sep); i > 0 {
			f := strings.Fields(l[i:])
			for len(f) > 2 && strings.Contains(f[len(f)-1], "=") {
				f = f[:len(f)-1]
			}
			return strings.Join(f, " ")
		}
	}
	return l
}

// narrator prints the story: step headings, lines with the time since the
// start, the client's counts.
type narrator struct {
	mu    sync.Mutex
	w     io.Writer
	t0    time.Time
	color bool
	pause bool // a second before each heading, for a reader to follow
}

func (n *narrator) heading(format string, args ...any) {
	if n.pause {
		time.Sleep(time.Second)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s := fmt.Sprintf(format, args...)
	if n.color {
		s = "\033[1m" + s + "\033[0m"
	}
	fmt.Fprintf(n.w, "\n%s\n", s)
}

func (n *narrator) say(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.w, "%6.1fs  %s\n", time.Since(n.t0).Seconds(), fmt.Sprintf(format, args...))
}

// quote prints log lines under a title, indented.
func (n *narrator) quote(title string, lines []string, max int) {
	if len(lines) == 0 {
		return
	}
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	n.say("%s", title)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintf(n.w, "           | %s\n", l)
	}
}

// counts prints the client's answers per server as a bar chart.
func (n *narrator) counts(got map[string]int) {
	var names []string
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range names {
		fmt.Fprintf(n.w, "           %-8s %3d %s\n", k, got[k], strings.Repeat("#", got[k]))
	}
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
