package interop

import (
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

func TestProbeStart(t *testing.T) {
	lab := netns.NewLab(t)
	ha := lab.AddHost("a", "10.77.0.1/24")
	hb := lab.AddHost("b", "10.77.0.2/24")
	t0 := time.Now()
	a := StartClassic(t, ha, ClassicOptions{Node: "nodea", HACF: pairHACF, AuthKeys: pairAuthKeys})
	t.Logf("a started %v", time.Since(t0))
	b := StartClassic(t, hb, ClassicOptions{Node: "nodeb", HACF: pairHACF, AuthKeys: pairAuthKeys})
	t.Logf("b started %v", time.Since(t0))
	for time.Since(t0) < 4*time.Second {
		t1 := time.Now()
		out, se, rc, err := a.clStatus("nodestatus", "nodeb")
		t.Logf("%v: %q %q %d %v (took %v)", time.Since(t0), out, se, rc, err, time.Since(t1))
		time.Sleep(100 * time.Millisecond)
	}
	_ = b
}
