// faults.go: what the pair suites (test/cluster, test/faults) share around
// their nodes: who holds the VIPs, nftables drops on a host's input, and
// the node's ipfail child.

package hbnode

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// Holders returns, per VIP, the hosts holding it now by name ("a", "b",
// "a b" or "").
func Holders(t testing.TB, vips []string, hosts ...*netns.Host) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, vip := range vips {
		got[vip] = ""
	}
	for _, h := range hosts {
		for _, ip := range h.IPv4Addrs(t) {
			if _, ok := got[ip]; ok {
				got[ip] = strings.TrimSpace(got[ip] + " " + h.Name)
			}
		}
	}
	return got
}

// WaitHolders polls until the VIPs (want's keys) are held on hosts exactly
// as want says and returns how long that took.
func WaitHolders(t testing.TB, want map[string]string, within time.Duration, hosts ...*netns.Host) time.Duration {
	t.Helper()
	vips := make([]string, 0, len(want))
	for vip := range want {
		vips = append(vips, vip)
	}
	start := time.Now()
	for {
		got := Holders(t, vips, hosts...)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("VIP holders %v, want %v, after %v", got, want, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// DelAddrs removes those of the VIPs h still has, as a reboot would.
func DelAddrs(t testing.TB, h *netns.Host, vips ...string) {
	t.Helper()
	for _, vip := range vips {
		if slices.Contains(h.IPv4Addrs(t), vip) {
			h.Run(t, "ip", "addr", "del", vip+"/24", "dev", h.Iface)
		}
	}
}

// dropTable is the nftables table of DropInput.
const dropTable = "hbnode_drop"

// DropInput makes h drop the packets it receives that match rule (an nft
// match such as "udp dport 694"), until Undrop.
func DropInput(t testing.TB, h *netns.Host, rule string) {
	t.Helper()
	h.Run(t, "nft", "add table inet "+dropTable+
		" { chain input { type filter hook input priority 0; "+rule+" drop; }; }")
}

// Undrop removes the DropInput rule of every host at the same moment.
func Undrop(t testing.TB, hosts ...*netns.Host) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Go(func() {
			if out, err := h.Command(t.Context(), "nft", "delete", "table", "inet", dropTable).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: nft delete table: %v: %s", h.NS, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// IpfailPid returns the pid of the ipfail child of n's heartbeatd, or 0.
func (n *Node) IpfailPid(t testing.TB) int {
	t.Helper()
	exe := Ipfail(t)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", n.Pid()))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				if l, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && l == exe {
					return pid
				}
			}
		}
	}
	return 0
}

// WaitIpfailOnline waits until n's API reports peer's ipfail client online
// (cl_status clientstatus).
func (n *Node) WaitIpfailOnline(t testing.TB, peer string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		out, _ := n.ClStatus(t, "clientstatus", peer, "ipfail", "500")
		if strings.TrimSpace(out) == "online" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: clientstatus %s ipfail = %q after %v", n.Name, peer, strings.TrimSpace(out), within)
		}
	}
}

// WaitNewIpfail waits for an ipfail child of n other than pid old (its
// respawn) and returns its pid.
func (n *Node) WaitNewIpfail(t testing.TB, old int, within time.Duration) int {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		if pid := n.IpfailPid(t); pid != 0 && pid != old {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no ipfail other than pid %d within %v", n.Name, old, within)
		}
	}
}
