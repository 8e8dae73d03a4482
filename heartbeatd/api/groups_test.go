// groups_test.go: hasuite-rscgroups over a socket, with and without a
// GroupLister.

package api

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// listerState is fakeState with groups.
type listerState struct {
	*fakeState
	groups []GroupInfo
	ok     bool
}

func (l *listerState) ResourceGroups() ([]GroupInfo, bool) { return l.groups, l.ok }

func TestGroupList(t *testing.T) {
	type reply struct{ Group, Preferred, Holders, Placed, Result string }
	ask := func(t *testing.T, st State) ([]reply, error) {
		s := startServer(t, st, nil)
		c := dial(t, s)
		defer c.Close()
		ms, err := c.RequestAll(ReqGroups)
		var out []reply
		for _, m := range ms {
			out = append(out, reply{m.Get(FieldGroup), m.Get(FieldPreferred), m.Get(FieldHolders), m.Get(FieldPlaced), m.Get(FieldResult)})
		}
		return out, err
	}
	t.Run("lister", func(t *testing.T) {
		st := &listerState{fakeState: newFakeState(), ok: true, groups: []GroupInfo{
			{Group: "IPaddr2::10.0.0.1", Preferred: "nodea", Holders: []string{"nodea:held"}, Placed: "nodea"},
			{Group: "IPaddr2::10.0.0.2", Preferred: "nodeb", Holders: []string{"nodea:stopping", "nodec:starting"}, Placed: "nodec"},
			{Group: "IPaddr2::10.0.0.3", Preferred: "nodec"},
		}}
		got, err := ask(t, st)
		if err != nil {
			t.Fatal(err)
		}
		want := []reply{
			{"IPaddr2::10.0.0.1", "nodea", "nodea:held", "nodea", ResultMore},
			{"IPaddr2::10.0.0.2", "nodeb", "nodea:stopping,nodec:starting", "nodec", ResultMore},
			{"IPaddr2::10.0.0.3", "nodec", "", "", ResultOK},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("replies (-want +got):\n%s", diff)
		}
	})
	t.Run("no groups", func(t *testing.T) {
		got, err := ask(t, &listerState{fakeState: newFakeState(), ok: true})
		if err != nil || len(got) != 1 || got[0].Result != ResultOK || got[0].Group != "" {
			t.Errorf("got %+v, %v; want one OK reply without a group", got, err)
		}
	})
	for name, st := range map[string]State{"classic": newFakeState(), "lister without groups": &listerState{fakeState: newFakeState()}} {
		t.Run(name, func(t *testing.T) {
			if _, err := ask(t, st); err == nil {
				t.Error("no error, want badreq")
			}
		})
	}
}
