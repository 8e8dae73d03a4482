// rscgroups.go: cl_status rscgroups (hasuite extension, membership
// memberlist; not on the help screen, which stays classic's): every resource group with its preferred node, the nodes
// whose published state shows it, and where placement wants it.

package main

import (
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

type groupJSON struct {
	Group     string   `json:"group"`
	Preferred string   `json:"preferred"`
	Holders   []string `json:"holders"` // node:held|starting|stopping
	Placed    string   `json:"placed"`  // "" = no node (no quorum)
}

type groupsJSON struct {
	Groups []groupJSON `json:"groups"`
}

// rscgroups prints one line per group:
//
//	<group> <preferred> <holders|none> <placed|none>
//
// holders being node:state pairs (held, starting, stopping), comma-separated.
func (t *tool) rscgroups(args []string) int {
	if _, ok := t.simpleOptions(args); !ok {
		return exitParam
	}
	replies, err := t.queryAll(api.ReqGroups)
	if err != nil {
		t.logErr("Cannot list resource groups")
		t.logErr("REASON: %s", reason(err))
		return exitFail
	}
	groups := []groupJSON{}
	for _, m := range replies {
		name, ok := m.Lookup(api.FieldGroup)
		if !ok {
			continue
		}
		g := groupJSON{Group: name, Preferred: m.Get(api.FieldPreferred), Holders: []string{}, Placed: m.Get(api.FieldPlaced)}
		if h := m.Get(api.FieldHolders); h != "" {
			g.Holders = strings.Split(h, ",")
		}
		groups = append(groups, g)
	}
	if t.json {
		t.emit(groupsJSON{Groups: groups})
		return exitOK
	}
	for _, g := range groups {
		holders, placed := strings.Join(g.Holders, ","), g.Placed
		if holders == "" {
			holders = "none"
		}
		if placed == "" {
			placed = "none"
		}
		if t.human {
			t.printf("%s: preferred %s, held by %s, placed on %s\n", g.Group, g.Preferred, holders, placed)
		} else {
			t.printf("%s\t%s\t%s\t%s\n", g.Group, g.Preferred, holders, placed)
		}
	}
	return exitOK
}
