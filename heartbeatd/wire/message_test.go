// message_test.go: tests of the field model accessors.

package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageAccessors(t *testing.T) {
	uuid := []byte{0x06, 0x83, 0x40, 0x64, 0, '\n'}
	m := New("status").Add("st", "up").AddBinary("srcuuid", uuid).Add("st", "second").Add("ld", "0.1 0.2")
	uuid[0] = 0xff // AddBinary copies

	if got := m.Type(); got != "status" {
		t.Errorf("Type() = %q", got)
	}
	if got := m.Get("st"); got != "up" {
		t.Errorf("Get(st) = %q, want the first one", got)
	}
	if got, ok := m.Lookup("nope"); ok || got != "" {
		t.Errorf("Lookup(nope) = %q, %v", got, ok)
	}
	if got, ok := m.Lookup("ld"); !ok || got != "0.1 0.2" {
		t.Errorf("Lookup(ld) = %q, %v", got, ok)
	}
	if got, ok := m.Binary("srcuuid"); !ok || string(got) != "\x06\x83\x40\x64\x00\n" {
		t.Errorf("Binary(srcuuid) = %q, %v", got, ok)
	}
	if _, ok := m.Binary("nope"); ok {
		t.Error("Binary(nope) found")
	}
	if got, want := m.String(), `t=status st=up (1)srcuuid=BoNAZAAK st=second ld="0.1 0.2"`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}

	c := m.Clone()
	m.Set("st", "active").Set("dt", "2710").Del("ld")
	m.Fields[2].Value[0] = 0
	want := &Message{Fields: []Field{
		{"t", TypeString, []byte("status")},
		{"st", TypeString, []byte("active")},
		{"srcuuid", TypeBinary, []byte{0, 0x83, 0x40, 0x64, 0, '\n'}},
		{"st", TypeString, []byte("second")},
		{"dt", TypeString, []byte("2710")},
	}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("after Set/Del (-want +got):\n%s", d)
	}
	if got := c.String(); got != `t=status st=up (1)srcuuid=BoNAZAAK st=second ld="0.1 0.2"` {
		t.Errorf("clone changed with original: %s", got)
	}
	if got := m.Del("st").String(); got != "t=status (1)srcuuid=AINAZAAK dt=2710" {
		t.Errorf("Del removes every st: %s", got)
	}
	if got := New("x").Add("e", "").Add("q", "a\"b\n").String(); got != `t=x e="" q="a\"b\n"` {
		t.Errorf("quoting: %s", got)
	}
}
