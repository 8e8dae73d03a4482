// partition_test.go: five directors split 2|3 and heal, with auto_failback
// off and on.

package nway

import (
	"slices"
	"testing"
	"time"
)

// TestPartitionHeal: in a 2|3 partition the minority releases every group
// and the majority holds every group (those it had stay put); after the heal
// nothing moves with auto_failback off, and with on only the minority's
// preferred groups go back.
func TestPartitionHeal(t *testing.T) {
	t.Parallel()
	for _, fb := range []string{"off", "on"} {
		t.Run("auto_failback_"+fb, func(t *testing.T) { testPartitionHeal(t, fb) })
	}
}

func testPartitionHeal(t *testing.T, failback string) {
	l := NewLab(t, Opts{N: 5, Failback: failback})
	if failback == "on" {
		l.WaitExactly(t, l.Preferred(), 15*time.Second, "every group on its preferred director")
	}
	before := l.WaitSettled(t, 5*time.Second)
	minority, majority := []string{"a", "b"}, []string{"c", "d", "e"}

	cut := time.Now()
	l.Partition(t, minority)
	during := l.WaitHolders(t, 15*time.Second, "every group on one majority director", func(h map[string][]string) bool {
		for _, g := range l.Groups {
			if len(h[g.VIP]) != 1 || !slices.Contains(majority, h[g.VIP][0]) {
				return false
			}
		}
		return true
	})
	t.Logf("partition %v|%v: majority holds every group after %v", minority, majority, time.Since(cut).Round(time.Millisecond))
	for v, host := range before {
		if slices.Contains(majority, host) && during[v] != host {
			t.Errorf("%s moved from %s to %s in the majority", v, host, during[v])
		}
	}
	for _, h := range minority {
		l.Nodes[h].WaitRsc(t, "none", 5*time.Second)
	}
	// The client is served by the majority (re-announcements win over the
	// minority's until it released), and a second later nothing changed.
	for _, g := range l.Groups {
		took := l.Probers[g.VIP].WaitServedBy(t, during[g.VIP], 8*time.Second)
		t.Logf("%s served by %s (its majority holder) %v later", g.VIP, during[g.VIP], took.Round(time.Millisecond))
	}
	// Groups the majority held all along: a minority node may briefly take
	// one it saw die before it saw its quorum go, and clients follow its
	// announcements until the holder's re-announcements win.
	for _, g := range l.Groups {
		if host := before[g.VIP]; slices.Contains(majority, host) {
			gap, from, to := l.Probers[g.VIP].Outage(cut)
			t.Logf("%s (on %s throughout): longest outage %v (%s -> %s)", g.VIP, host, gap.Round(time.Millisecond), from, to)
			if gap > partitionOverlapBound {
				t.Errorf("%s stayed on %s but had a %v outage during the partition", g.VIP, host, gap)
			}
		}
	}
	time.Sleep(time.Second)
	if now := l.WaitSettled(t, time.Second); !mapsEqual(now, during) {
		t.Errorf("holders changed during the partition: %v -> %v", during, now)
	}

	healed := time.Now()
	l.Heal(t)
	l.WaitAllActive(t, 15*time.Second)
	t.Logf("heal: every director sees every other after %v", time.Since(healed).Round(time.Millisecond))
	want := during
	if failback == "on" {
		want = l.Preferred()
	}
	l.WaitExactly(t, want, 10*time.Second, "the expected holders after the heal")
	time.Sleep(2 * time.Second) // anything about to move would have by now
	final := l.WaitSettled(t, time.Second)
	if !mapsEqual(final, want) {
		t.Errorf("after the heal: holders %v, want %v", final, want)
	}
	// Groups that did not need to move had no outage.
	for _, g := range l.Groups {
		if during[g.VIP] != want[g.VIP] {
			t.Logf("%s moved back %s -> %s", g.VIP, during[g.VIP], want[g.VIP])
			continue
		}
		if gap, from, to := l.Probers[g.VIP].Outage(healed); gap > 500*time.Millisecond {
			t.Errorf("%s (staying on %s) had a %v outage (%s -> %s) after the heal", g.VIP, want[g.VIP], gap, from, to)
		}
	}
	l.CheckOverlap(t, partitionOverlapBound)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
