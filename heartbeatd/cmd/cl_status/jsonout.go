// jsonout.go: cl_status's --json / -o json output: option parsing and the JSON shapes.
package main

import (
	"encoding/json"
	"slices"

	"github.com/hasuite/hasuite/heartbeatd/api"
)

// emit prints v as one line of JSON.
func (t *tool) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs of strings, bools and ints are emitted
		panic(err)
	}
	t.out.Write(append(b, '\n'))
}

// hbStatusJSON is hbstatus's JSON form; nodes only with -v.
type hbStatusJSON struct {
	Running   bool       `json:"running"`
	Refused   bool       `json:"refused"`
	Reason    string     `json:"reason,omitempty"`
	Version   string     `json:"version,omitempty"`
	ManagedBy string     `json:"managed_by,omitempty"` // "haresources" or "pacemaker"
	Pacemaker string     `json:"pacemaker,omitempty"`  // the pacemaker parameter when it manages
	Nodes     []nodeJSON `json:"nodes,omitempty"`
}

// nodeJSON is one node of listnodes and hbstatus -v; links only with -v.
type nodeJSON struct {
	Name   string     `json:"name"`
	Type   string     `json:"type"`
	Status string     `json:"status"`
	Links  []linkJSON `json:"links,omitempty"`
}

type linkJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type nodesJSON struct {
	Nodes []nodeJSON `json:"nodes"`
}

type linksJSON struct {
	Node  string     `json:"node"`
	Links []linkJSON `json:"links"`
}

type nodeStatusJSON struct {
	Node   string `json:"node"`
	Status string `json:"status"`
}

type nodeSiteJSON struct {
	Node string `json:"node"`
	Site string `json:"site"` // usually empty
}

type nodeTypeJSON struct {
	Node string `json:"node"`
	Type string `json:"type"`
}

type nodeWeightJSON struct {
	Node   string `json:"node"`
	Weight int    `json:"weight"`
}

type linkStatusJSON struct {
	Node   string `json:"node"`
	Link   string `json:"link"`
	Status string `json:"status"`
}

type clientStatusJSON struct {
	Node   string `json:"node"`
	Client string `json:"client"`
	Status string `json:"status"`
}

type rscStatusJSON struct {
	Resources string `json:"resources"`
}

type parameterJSON struct {
	Parameter string `json:"parameter"`
	Value     string `json:"value"`
}

// nodeList is the node walk for JSON, in the order the text output lists
// nodes; both filters together mean no filter.
func (t *tool) nodeList(normalOnly, pingOnly, withLinks bool) ([]nodeJSON, int) {
	replies, err := t.queryAll(api.ReqNodeList)
	if err != nil {
		t.logErr("Cannot start node walk.")
		t.logErr("REASON: %s", reason(err))
		return nil, exitUnknown
	}
	if normalOnly && pingOnly {
		normalOnly, pingOnly = false, false
	}
	nodes := []nodeJSON{}
	for _, m := range slices.Backward(replies) {
		node, ok := m.Lookup(api.FieldNode)
		if !ok {
			continue
		}
		typ := m.Get(api.FieldNodeType)
		if (normalOnly && typ != api.NodeNormal) || (pingOnly && typ != api.NodePing) {
			continue
		}
		n := nodeJSON{Name: node, Type: typ, Status: m.Get(api.FieldStatus)}
		if withLinks {
			links, rc := t.linkList(node)
			if rc != exitOK {
				return nil, rc
			}
			n.Links = links
		}
		nodes = append(nodes, n)
	}
	return nodes, exitOK
}

// linkList is a node's heartbeat links with their status, in the order
// and without the repeats of the text output.
func (t *tool) linkList(node string) ([]linkJSON, int) {
	replies, err := t.queryAll(api.ReqIfList, api.FieldNode, node)
	if err != nil {
		t.logErr("Cannot start heartbeat link interface walk.")
		t.logErr("REASON: %s", reason(err))
		return nil, exitUnknown
	}
	links := []linkJSON{}
	seen := make(map[string]bool)
	for _, m := range slices.Backward(replies) {
		name, ok := m.Lookup(api.FieldIfName)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		links = append(links, linkJSON{Name: name, Status: m.Get(api.FieldStatus)})
	}
	return links, exitOK
}

// hbstatusJSON is hbstatus in JSON; the exit code is the text form's.
func (t *tool) hbstatusJSON(verbose bool) int {
	st := hbStatusJSON{Running: t.signedOn || t.refused, Refused: t.refused}
	if !t.signedOn {
		st.Reason = t.signonWhy
		t.emit(st)
		if t.refused {
			return exitOK
		}
		return exitFail
	}
	st.Version = t.hbversion
	st.ManagedBy = "haresources"
	if pm, value := t.pacemakerEnabled(); pm {
		st.ManagedBy, st.Pacemaker = "pacemaker", value
	}
	if verbose {
		nodes, rc := t.nodeList(false, false, true)
		if rc != exitOK {
			return rc
		}
		st.Nodes = nodes
	}
	t.emit(st)
	return exitOK
}
