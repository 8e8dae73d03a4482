// Package nway is the root-only suite of `membership memberlist`
// (issue 9); its Lab also serves bench/nway.
package nway

// lab.go: the N-director lab: 3–5 heartbeatd in `membership
// memberlist` mode on one bridge, one IPaddr2 group per director (plus
// extras), a UDP responder on every director and a client probing every
// VIP; helpers to crash, partition and heal directors and to read who
// holds which VIP.

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hasuite/hasuite/test/hbnode"
	"github.com/hasuite/hasuite/test/netns"
	"github.com/hasuite/hasuite/test/probe"
)

const (
	svcPort = 7000
	testKey = "nway-lab-secret"
	// The tuning under test: ha.cf(5)'s defaults, written out.
	probeInterval  = 200 * time.Millisecond
	probeTimeout   = 100 * time.Millisecond
	suspicionMult  = 3
	gossipInterval = 50 * time.Millisecond
	// detectBound is the asserted bound on crash-to-service-elsewhere: the
	// documented worst case of detection with 5 members and no suspicion
	// confirmations, (n-1+1+18)·PI = 4.6 s, plus the start settle
	// (4 gossip intervals), the IPaddr2 start and a margin for a loaded
	// CI machine.
	detectBound = 7 * time.Second
	// overlapBound: longest time a VIP may sit on two connected directors
	// after a crash, a rejoin, hb_standby or hb_takeover.
	overlapBound = 1500 * time.Millisecond
	// partitionOverlapBound: the same across a partition, where the
	// minority holds its groups until it sees it lost quorum, while the
	// majority takes them when it sees the minority dead: the difference
	// of the two detection times (the minority has fewer nodes to confirm
	// suspicions, so it is slower), at most the worst-case detection time
	// (4.6 s), plus the address's removal, the monitor's polling and, as
	// in detectBound, a margin for a loaded CI machine (5.1 s was seen
	// once there, with the whole suite running on 2 cores).
	partitionOverlapBound = 6 * time.Second
	// pollEvery: how often the holder monitor reads the directors' addresses.
	pollEvery = 25 * time.Millisecond
)

// Names are the directors' hosts: host a runs node nodea and so on.
var Names = []string{"a", "b", "c", "d", "e"}

// NodeName is the node name of the director on host.
func NodeName(host string) string { return "node" + host }

// HostAddr is the address of the i-th director.
func HostAddr(i int) string { return fmt.Sprintf("10.79.0.%d", i+1) }

// VIP is the i-th group's address.
func VIP(i int) string { return fmt.Sprintf("10.79.0.%d", 101+i) }

// lab is one running cluster.
type Lab struct {
	Net     *netns.Lab
	Hosts   map[string]*netns.Host   // by host name: "a", "b", ...
	Nodes   map[string]*hbnode.Node  // by host name
	Order   []string                 // host names
	Client  *netns.Host              // runs the probers
	Groups  []Group                  // in haresources order
	Probers map[string]*probe.Prober // by VIP, every 10 ms
	Opts    Opts

	t   testing.TB
	mon *monitor
}

// Group is one haresources line: its VIP and preferred host.
type Group struct {
	VIP, Pref string
}

type Opts struct {
	N        int    // directors
	Failback string // auto_failback
	Extra    int    // groups beyond one per director (preferring a, b, ...)
	HACF     string // appended to every ha.cf
}

// HACF is the ha.cf of director self.
func HACF(o Opts, self int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "logfile %s\nauto_failback %s\nmembership memberlist\n", hbnode.LogPlaceholder, o.Failback)
	fmt.Fprintf(&b, "memberlist_bind %s\n", HostAddr(self))
	for i := 0; i < o.N; i++ {
		if i != self {
			fmt.Fprintf(&b, "memberlist_seeds %s\n", HostAddr(i))
		}
	}
	fmt.Fprintf(&b, "memberlist_probe_interval %dms\nmemberlist_probe_timeout %dms\nmemberlist_suspicion_mult %d\nmemberlist_gossip_interval %dms\n",
		probeInterval.Milliseconds(), probeTimeout.Milliseconds(), suspicionMult, gossipInterval.Milliseconds())
	var ns []string
	for i := 0; i < o.N; i++ {
		ns = append(ns, NodeName(Names[i]))
	}
	fmt.Fprintf(&b, "node %s\n", strings.Join(ns, " "))
	b.WriteString(o.HACF)
	return b.String()
}

// Haresources is every director's haresources.
func (l *Lab) Haresources() string {
	var b strings.Builder
	for _, g := range l.Groups {
		fmt.Fprintf(&b, "%s IPaddr2::%s/24/hb0\n", NodeName(g.Pref), g.VIP)
	}
	return b.String()
}

// NewLab starts o.N directors and the client, and waits until every group
// has exactly one holder.
func NewLab(t testing.TB, o Opts) *Lab {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		netns.Skip(t, "needs nft (nftables) to partition directors")
	}
	l := &Lab{t: t, Net: netns.NewLab(t), Hosts: map[string]*netns.Host{}, Nodes: map[string]*hbnode.Node{},
		Probers: map[string]*probe.Prober{}, Opts: o}
	for i := 0; i < o.N; i++ {
		h := l.Net.AddHost(Names[i], HostAddr(i)+"/24")
		l.Hosts[Names[i]] = h
		l.Order = append(l.Order, Names[i])
		l.Groups = append(l.Groups, Group{VIP: VIP(i), Pref: Names[i]})
		probe.StartResponder(t, h, svcPort)
	}
	for k := 0; k < o.Extra; k++ {
		l.Groups = append(l.Groups, Group{VIP: VIP(o.N + k), Pref: Names[k%o.N]})
	}
	l.Client = l.Net.AddHost("cl", "10.79.0.99/24")
	for i, name := range l.Order {
		l.Nodes[name] = l.start(t, i, hbnode.AuthKeys("sha1", testKey))
	}
	l.mon = newMonitor(l)
	// Every director sees every other before the groups count as settled:
	// until then one holding every group it sees no better home for (the
	// others not joined yet) looks settled too, and a test that partitions
	// then starts from a placement the cluster is about to change.
	l.WaitAllActive(t, 20*time.Second)
	l.WaitSettled(t, 20*time.Second)
	for _, g := range l.Groups {
		l.Probers[g.VIP] = probe.NewProber(t, l.Client, netip.AddrPortFrom(netip.MustParseAddr(g.VIP), svcPort), 10*time.Millisecond)
	}
	// Every VIP answers from its holder (which may still change while
	// groups settle, e.g. going back to their preferred directors).
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range l.Groups {
		for !l.served(g.VIP) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not answering from its holder %v", g.VIP, l.mon.holders()[g.VIP])
			}
			time.Sleep(pollEvery)
		}
	}
	return l
}

// served reports whether vip has one holder and its last probe reply,
// received in the last 100 ms, came from it.
func (l *Lab) served(vip string) bool {
	hs := l.mon.holders()[vip]
	rs := l.Probers[vip].Replies()
	if len(hs) != 1 || len(rs) == 0 {
		return false
	}
	last := rs[len(rs)-1]
	return last.From == hs[0] && time.Since(last.Received) < 100*time.Millisecond
}

func (l *Lab) start(t testing.TB, i int, authkeys string) *hbnode.Node {
	return hbnode.Start(t, l.Hosts[Names[i]], hbnode.Options{Node: NodeName(Names[i]), HACF: HACF(l.Opts, i),
		AuthKeys: authkeys, Haresources: l.Haresources()})
}

// WaitAllActive waits until every director sees every other active,
// each for up to within.
func (l *Lab) WaitAllActive(t testing.TB, within time.Duration) {
	t.Helper()
	for _, h := range l.Order {
		for _, peer := range l.Order {
			l.Nodes[h].WaitStatus(t, NodeName(peer), "active", within)
		}
	}
}

// WaitSettled waits until every group has exactly one holder among the
// connected directors, and returns the holders.
func (l *Lab) WaitSettled(t testing.TB, within time.Duration) map[string]string {
	t.Helper()
	return l.WaitHolders(t, within, "every group on one director", func(h map[string][]string) bool {
		for _, g := range l.Groups {
			if len(h[g.VIP]) != 1 {
				return false
			}
		}
		return true
	})
}

// WaitHolders polls the holders until ok accepts them, and returns them
// as VIP -> the one holder ("" when none or several).
func (l *Lab) WaitHolders(t testing.TB, within time.Duration, what string, ok func(map[string][]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := l.mon.holders()
		if ok(h) {
			out := map[string]string{}
			for v, hs := range h {
				if len(hs) == 1 {
					out[v] = hs[0]
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			l.dumpLogs(t)
			t.Fatalf("after %v, not %s: holders %v", within, what, h)
		}
		time.Sleep(pollEvery)
	}
}

func (l *Lab) dumpLogs(t testing.TB) {
	for _, name := range l.Order {
		if out, rc := l.Nodes[name].ClStatus(t, "rscgroups"); rc == 0 {
			t.Logf("%s rscgroups:\n%s", name, out)
		}
	}
}

// Preferred is the placement when every director is up: each group on
// its preferred director.
func (l *Lab) Preferred() map[string]string {
	out := map[string]string{}
	for _, g := range l.Groups {
		out[g.VIP] = g.Pref
	}
	return out
}

// WaitExactly waits until the holders are exactly want (VIP -> host).
func (l *Lab) WaitExactly(t testing.TB, want map[string]string, within time.Duration, what string) {
	t.Helper()
	l.WaitHolders(t, within, what, func(h map[string][]string) bool {
		for v, host := range want {
			if len(h[v]) != 1 || h[v][0] != host {
				return false
			}
		}
		return true
	})
}

// Holders is the last reading of the monitor: VIP -> connected
// directors holding it, sorted.
func (l *Lab) Holders() map[string][]string { return l.mon.holders() }

// WorstOverlap is the longest time a VIP sat on two connected directors
// so far, and which VIP.
func (l *Lab) WorstOverlap() (time.Duration, string) { return l.mon.worstOverlap() }

// Crash kills director host's heartbeatd with SIGKILL and takes its link
// down, as a machine that died: its VIPs stay configured but unreachable.
func (l *Lab) Crash(t testing.TB, host string) {
	t.Helper()
	l.mon.disconnect(host, true)
	l.Nodes[host].Kill(t)
	l.Hosts[host].CutLink(t)
}

// Reboot brings a crashed director back: heartbeatd starts while the link
// is still down (it releases what the crash left behind), then the link
// comes back.
func (l *Lab) Reboot(t testing.TB, host string) {
	t.Helper()
	l.Nodes[host].Restart(t)
	WaitLog(t, l.Nodes[host], "heartbeatd is up", 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for l.hasAnyVIP(t, host) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still has a VIP after its restart: %v", host, l.Hosts[host].IPv4Addrs(t))
		}
		time.Sleep(pollEvery)
	}
	l.Hosts[host].RestoreLink(t)
	l.mon.disconnect(host, false)
}

func (l *Lab) hasAnyVIP(t testing.TB, host string) bool {
	addrs := l.Hosts[host].IPv4Addrs(t)
	return slices.ContainsFunc(l.Groups, func(g Group) bool { return slices.Contains(addrs, g.VIP) })
}

// partitionTable is the nftables table that cuts a director off from the
// other side of a partition (both directions, every protocol but ARP).
const partitionTable = "nwayd_partition"

// Partition splits the directors into side and the rest: each drops
// every IP packet from the other side. The client reaches everyone.
func (l *Lab) Partition(t testing.TB, side []string) {
	t.Helper()
	var other []string
	for _, name := range l.Order {
		if !slices.Contains(side, name) {
			other = append(other, name)
		}
	}
	addrs := func(hs []string) string {
		var out []string
		for _, h := range hs {
			out = append(out, l.Hosts[h].Addr.String())
		}
		return strings.Join(out, ", ")
	}
	l.parallel(t, l.Order, func(h string) []string {
		from := other
		if !slices.Contains(side, h) {
			from = side
		}
		return []string{"nft", "add table inet " + partitionTable +
			" { chain input { type filter hook input priority 0; ip saddr { " + addrs(from) + " } drop; }; }"}
	})
}

// Heal removes the partition everywhere at once.
func (l *Lab) Heal(t testing.TB) {
	t.Helper()
	l.parallel(t, l.Order, func(string) []string {
		return []string{"nft", "delete", "table", "inet", partitionTable}
	})
}

// parallel runs one command per host at the same time.
func (l *Lab) parallel(t testing.TB, hosts []string, cmd func(host string) []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cmd(h)
			if out, err := l.Hosts[h].Command(t.Context(), c[0], c[1:]...).CombinedOutput(); err != nil {
				errs[i] = fmt.Sprintf("%s: %v: %v: %s", h, c, err, out)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
}

// WaitLog waits until the node's log contains s.
func WaitLog(t testing.TB, n *hbnode.Node, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(n.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q not logged within %v", n.Name, s, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// monitor reads every connected director's addresses every pollEvery and
// records how long each VIP sat on two or more of them.
type monitor struct {
	l *Lab

	mu           sync.Mutex
	cut          map[string]bool     // directors off the bridge: not counted
	cutVersion   int                 // changes with cut: older readings are dropped
	last         map[string][]string // VIP -> connected holders, sorted
	overlapSince map[string]time.Time
	maxOverlap   map[string]time.Duration
	events       []string          // overlaps as they began and ended
	owner        map[string]string // VIP -> its last single connected holder
	moves        []Move
	stop         chan struct{}
	done         chan struct{}
}

func newMonitor(l *Lab) *monitor {
	m := &monitor{l: l, cut: map[string]bool{}, overlapSince: map[string]time.Time{}, owner: map[string]string{},
		maxOverlap: map[string]time.Duration{}, stop: make(chan struct{}), done: make(chan struct{})}
	m.poll()
	go m.run()
	l.t.Cleanup(func() { close(m.stop); <-m.done })
	return m
}

func (m *monitor) run() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-time.After(pollEvery):
			m.poll()
		}
	}
}

// poll reads the addresses once. It never fails the test (it runs on its
// own goroutine): a read error counts as holding nothing.
func (m *monitor) poll() {
	m.mu.Lock()
	cut, version := maps(m.cut), m.cutVersion
	m.mu.Unlock()
	now := time.Now()
	h := map[string][]string{}
	for _, g := range m.l.Groups {
		h[g.VIP] = nil
	}
	for _, name := range m.l.Order {
		if cut[name] {
			continue
		}
		for _, a := range addrsOf(m.l.Hosts[name]) {
			if _, ok := h[a]; ok {
				h[a] = append(h[a], name)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if version != m.cutVersion {
		return // read with an older cut; a newer reading follows
	}
	for v, hs := range h {
		slices.Sort(hs)
		if len(hs) == 1 && m.owner[v] != hs[0] {
			if m.owner[v] != "" {
				m.moves = append(m.moves, Move{At: now, VIP: v, From: m.owner[v], To: hs[0]})
			}
			m.owner[v] = hs[0]
		}
		if len(hs) > 1 {
			if m.overlapSince[v].IsZero() {
				m.overlapSince[v] = now
				m.events = append(m.events, fmt.Sprintf("%s %s on %v", now.Format("15:04:05.000"), v, hs))
			}
			m.maxOverlap[v] = max(m.maxOverlap[v], now.Sub(m.overlapSince[v]))
		} else if !m.overlapSince[v].IsZero() {
			m.events = append(m.events, fmt.Sprintf("%s %s on %v after %v", now.Format("15:04:05.000"), v, hs, now.Sub(m.overlapSince[v]).Round(time.Millisecond)))
			m.overlapSince[v] = time.Time{}
		}
	}
	m.last = h
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Move is a VIP that went from one director to another (as the connected
// directors' addresses show it).
type Move struct {
	At       time.Time
	VIP      string
	From, To string
}

// Moves lists the moves seen since the lab settled.
func (l *Lab) Moves() []Move {
	l.mon.mu.Lock()
	defer l.mon.mu.Unlock()
	return slices.Clone(l.mon.moves)
}

// holders is the last reading: VIP -> connected directors holding it.
func (m *monitor) holders() map[string][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]string{}
	for v, hs := range m.last {
		out[v] = slices.Clone(hs)
	}
	return out
}

// disconnect marks a director as cut off (not counted) or back.
func (m *monitor) disconnect(host string, cut bool) {
	m.mu.Lock()
	m.cut[host] = cut
	m.cutVersion++
	m.mu.Unlock()
	m.poll()
}

// worstOverlap returns the longest time any VIP sat on two connected
// directors, and which.
func (m *monitor) worstOverlap() (time.Duration, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var worst time.Duration
	which := ""
	for v, d := range m.maxOverlap {
		if d > worst {
			worst, which = d, v
		}
	}
	return worst, which
}

func (l *Lab) CheckOverlap(t testing.TB, bound time.Duration) {
	t.Helper()
	worst, which := l.mon.worstOverlap()
	l.mon.mu.Lock()
	for _, e := range l.mon.events {
		t.Logf("overlap: %s", e)
	}
	l.mon.mu.Unlock()
	t.Logf("longest time a VIP sat on two directors: %v (%s)", worst.Round(time.Millisecond), which)
	if worst > bound {
		t.Errorf("VIP %s sat on two directors for %v, bound %v", which, worst, bound)
	}
}

// addrsOf lists h's IPv4 addresses on hb0; nil on any error (it runs on the
// monitor's goroutine, where the test cannot be failed).
func addrsOf(h *netns.Host) []string {
	var out []string
	errc := make(chan error, 1)
	go func() {
		// The thread is discarded with the goroutine (never unlocked).
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- err
			return
		}
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			errc <- err
			return
		}
		as, err := ifi.Addrs()
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				out = append(out, n.IP.String())
			}
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		return nil
	}
	return out
}
