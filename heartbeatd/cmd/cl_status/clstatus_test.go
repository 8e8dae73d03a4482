// Golden tests of cl_status output and exit codes against an in-process API server.
package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

type fakeState struct {
	nodes  []api.NodeInfo
	params map[string]string
	rsc    string
	peer   map[string]string // clients signed on at nodeb, which answers query-cstatus
	srv    *api.Server
	groups []api.GroupInfo // rscgroups (membership memberlist); nil = classic
}

// ResourceGroups answers rscgroups when groups is set.
func (f *fakeState) ResourceGroups() ([]api.GroupInfo, bool) { return f.groups, f.groups != nil }

// SendClusterMessage plays nodeb: it answers query-cstatus for clients in
// peer and ignores everything else (a peer without them never answers).
func (f *fakeState) SendClusterMessage(m *wire.Message) error {
	if m.Type() != api.TypeQueryCStatus || f.peer == nil {
		return nil
	}
	cn := m.Get(api.FieldClientName)
	cs := api.ClientOffline
	if _, ok := f.peer[cn]; ok {
		cs = api.ClientOnline
	}
	f.srv.Deliver(wire.New(api.TypeRespondCStatus).Add(api.FieldDest, "nodea").Add(api.FieldResult, api.ResultOK).
		Add(api.FieldClientName, cn).Add(api.FieldToID, m.Get(api.FieldFromID)).Add(api.FieldClientStatus, cs).
		Add(api.FieldSrc, "nodeb"))
	return nil
}

func (f *fakeState) LocalNode() string     { return "nodea" }
func (f *fakeState) Nodes() []api.NodeInfo { return f.nodes }
func (f *fakeState) Param(name string) (string, bool) {
	v, ok := f.params[name]
	return v, ok
}
func (f *fakeState) ResourceStatus() string      { return f.rsc }
func (f *fakeState) Counters() map[string]uint64 { return nil }

// lab is the two-node cluster with a ping node of the spec's lab (§8.2).
func lab() *fakeState {
	return &fakeState{
		nodes: []api.NodeInfo{
			{Name: "nodea", Type: api.NodeNormal, Status: "active", Weight: 100,
				Links: []api.LinkInfo{{Name: "hb0", Status: api.LinkUp}}},
			{Name: "nodeb", Type: api.NodeNormal, Status: "dead", Weight: 100,
				Links: []api.LinkInfo{{Name: "hb0", Status: api.LinkDead}, {Name: "hb1", Status: api.LinkUp}}},
			{Name: "10.77.0.254", Type: api.NodePing, Status: "ping", Weight: 100,
				Links: []api.LinkInfo{{Name: "10.77.0.254", Status: api.LinkUp}}},
		},
		params: map[string]string{
			"hbversion": "3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)",
			"pacemaker": "false", "keepalive": "1", "auto_failback": "on", "deadping": "8000ms",
		},
		rsc: "local",
	}
}

// serve runs an api.Server for st, letting this process sign on under any
// name, and returns its socket path.
func serve(t testing.TB, st *fakeState) string {
	t.Helper()
	s, err := api.NewServer(filepath.Join(t.TempDir(), "register"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.srv = s
	me := []string{strconv.Itoa(os.Geteuid())}
	if err := s.SetAuth([]config.APIAuth{{Client: api.AuthAnon, UIDs: me}, {Client: api.AuthDefault, UIDs: me}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s.Path()
}

// rawServer answers every request with reply(req), or never if reply is nil.
func rawServer(t *testing.T, reply func(req *wire.Message) *wire.Message) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "register")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				for {
					req, err := api.ReadMessage(c)
					if err != nil || reply == nil {
						return
					}
					if err := api.WriteMessage(c, reply(req)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return path
}

const errPrefix = "Nov 22 00:35:49 nodea cl_status: [4242]: ERROR: "

type result struct {
	Stdout, Stderr string
	RC             int
}

func run(t *testing.T, socket string, timeout time.Duration, args ...string) result {
	t.Helper()
	var out, errw bytes.Buffer
	rc := Run(context.Background(), args, &out, &errw, Options{
		Socket:  socket,
		Timeout: timeout,
		PID:     4242,
		Host:    "nodea",
		Now:     func() time.Time { return time.Date(2026, 11, 22, 0, 35, 49, 0, time.UTC) },
	})
	return result{out.String(), errw.String(), rc}
}

func TestGolden(t *testing.T) {
	labSock := serve(t, lab())
	pcmk := lab()
	pcmk.params["pacemaker"] = "respawn"
	pcmkSock := serve(t, pcmk)
	unmanaged := lab()
	unmanaged.rsc = ""
	unmanagedSock := serve(t, unmanaged)
	noVersion := lab()
	delete(noVersion.params, "hbversion")
	noVersionSock := serve(t, noVersion)
	deadSock := filepath.Join(t.TempDir(), "register")                  // nobody listens
	refusedSock := rawServer(t, func(req *wire.Message) *wire.Message { // like classic apiauth
		return wire.New(api.TypeResponse).Add(api.FieldReqType, req.Get(api.FieldReqType)).
			Add(api.FieldInfo, "client failed authorization").Add(api.FieldResult, api.ResultBadReq).
			Add(api.FieldDeadtime, "1f40").Add(api.FieldKeepalive, "3e8").Add(api.FieldNode, "nodea")
	})
	// An older heartbeatd: no signon, queries answered, or all refused.
	oldSock := rawServer(t, func(req *wire.Message) *wire.Message {
		r := wire.New(api.TypeResponse).Add(api.FieldReqType, req.Get(api.FieldReqType))
		if req.Get(api.FieldReqType) == api.ReqSignon {
			return r.Add(api.FieldResult, api.ResultBadReq).Add(api.FieldInfo, `unknown request type "signon"`)
		}
		if req.Get(api.FieldPName) == "hbversion" {
			r.Add(api.FieldPValue, "3.0.6 (old)")
		}
		return r.Add(api.FieldResult, api.ResultOK)
	})
	oldRefusedSock := rawServer(t, func(req *wire.Message) *wire.Message {
		r := wire.New(api.TypeResponse).Add(api.FieldReqType, req.Get(api.FieldReqType)).Add(api.FieldResult, api.ResultBadReq)
		if req.Get(api.FieldReqType) == api.ReqSignon {
			return r.Add(api.FieldInfo, `unknown request type "signon"`)
		}
		return r.Add(api.FieldInfo, "client not authorized")
	})
	peerLab := lab()
	peerLab.nodes[1].Status = "active"
	peerLab.peer = map[string]string{"ipfail": "online"}
	peerSock := serve(t, peerLab)
	quietLab := lab() // nodeb is active but never answers
	quietLab.nodes[1].Status = "active"
	quietSock := serve(t, quietLab)
	ipfail, err := api.Dial(labSock, 5*time.Second) // a client signed on at nodea
	if err != nil {
		t.Fatal(err)
	}
	defer ipfail.Close()
	if _, err := ipfail.Signon(context.Background(), "ipfail"); err != nil {
		t.Fatal(err)
	}

	signonFailed := errPrefix + "Cannot signon with heartbeat\n" +
		errPrefix + "REASON: hb_api_signon: Can't initiate connection to heartbeat\n"
	// Classic lists nodes and links in the reverse of the daemon's order.
	verboseNodes := "\n10.77.0.254\tping\t(nodetype: ping)\n\t10.77.0.254\tup\n" +
		"\nnodeb\tdead\t(nodetype: normal)\n\thb1\tup\n\thb0\tdead\n" +
		"\nnodea\tactive\t(nodetype: normal)\n\thb0\tup\n"

	tests := []struct {
		name   string
		socket string
		args   []string
		want   result
	}{
		{"no arguments", labSock, nil, result{helpScreen, "", 0}},
		{"-h", labSock, []string{"-h"}, result{helpScreen, "", 0}},
		{"bad sub-command", labSock, []string{"nodelist"},
			result{"", errPrefix + "nodelist: invalid sub-command.\n", 11}},
		{"prefix is not a sub-command", labSock, []string{"hbstat"},
			result{"", errPrefix + "hbstat: invalid sub-command.\n", 11}},

		{"hbstatus", labSock, []string{"hbstatus"}, result{"Heartbeat is running on this machine.\n", "", 0}},
		{"hbstatus -v", labSock, []string{"hbstatus", "-v"}, result{
			"version:\t3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)\n" +
				"managed by:\t\"haresources\"\n" + verboseNodes, "", 0}},
		{"hbstatus -v -m", labSock, []string{"hbstatus", "-vm"}, result{
			"Heartbeat version 3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)\n" +
				"Resources controlled by \"haresources\"\n" +
				"The nodes are as follow:\n" +
				"\n10.77.0.254\tping\t(nodetype: ping)\n\tthis node has the following heartbeat links:\n\t10.77.0.254\tup\n" +
				"\nnodeb\tdead\t(nodetype: normal)\n\tthis node has the following heartbeat links:\n\thb1\tup\n\thb0\tdead\n" +
				"\nnodea\tactive\t(nodetype: normal)\n\tthis node has the following heartbeat links:\n\thb0\tup\n",
			"", 0}},
		{"hbstatus -v pacemaker", pcmkSock, []string{"hbstatus", "-v"}, result{
			"version:\t3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)\n" +
				"managed by:\tpacemaker\t(respawn)\n" + verboseNodes, "", 0}},
		{"hbstatus -v without version", noVersionSock, []string{"hbstatus", "-v"}, result{
			"version:\tunknown\nmanaged by:\t\"haresources\"\n" + verboseNodes, "", 0}},
		{"hbstatus unknown option ignored", labSock, []string{"hbstatus", "-x"},
			result{"Heartbeat is running on this machine.\n", "hbstatus: invalid option -- 'x'\n", 0}},
		{"hbstatus stopped", deadSock, []string{"hbstatus"},
			result{"Heartbeat is stopped on this machine.\n", "", 1}},
		{"hbstatus -v stopped", deadSock, []string{"hbstatus", "-v"}, result{
			"Heartbeat is stopped on this machine.\n(hb_api_signon: Can't initiate connection to heartbeat)\n", "", 1}},
		{"hbstatus refused", refusedSock, []string{"hbstatus"}, result{
			"Heartbeat is apparently running on this machine, but refuses my connection\n", "", 0}},
		{"hbstatus -v refused", refusedSock, []string{"hbstatus", "-v"}, result{
			"Heartbeat is apparently running on this machine, but refuses my connection\n" +
				"(client failed authorization)\n", "", 0}},
		{"nodestatus refused", refusedSock, []string{"nodestatus", "nodea"}, result{"",
			errPrefix + "Cannot signon with heartbeat\n" + errPrefix + "REASON: client failed authorization\n", 1}},
		{"hbstatus -v older heartbeatd", oldSock, []string{"hbstatus", "-v"}, result{
			"version:\t3.0.6 (old)\nmanaged by:\t\"haresources\"\n", "",
			0}},
		{"hbstatus -v older heartbeatd refusing", oldRefusedSock, []string{"hbstatus", "-v"}, result{
			"Heartbeat is apparently running on this machine, but refuses my connection\n" +
				"(hb_api_signon: client not authorized)\n", "", 0}},

		{"listnodes", labSock, []string{"listnodes"}, result{"10.77.0.254\nnodeb\nnodea\n", "", 0}},
		{"listnodes -p", labSock, []string{"listnodes", "-p"}, result{"10.77.0.254\n", "", 0}},
		{"listnodes -n", labSock, []string{"listnodes", "-n"}, result{"nodeb\nnodea\n", "", 0}},
		{"listnodes -p -n means all", labSock, []string{"listnodes", "-p", "-n"}, result{"10.77.0.254\nnodeb\nnodea\n", "", 0}},
		{"listnodes -m", labSock, []string{"listnodes", "-m", "-n"}, result{"The nodes are as follow:\nnodeb\nnodea\n", "", 0}},
		{"listnodes -v", labSock, []string{"listnodes", "-v"}, result{verboseNodes, "", 0}},
		{"listnodes bad option", labSock, []string{"listnodes", "-x"}, result{"",
			"listnodes: invalid option -- 'x'\n" + errPrefix + "Error: getopt returnedcharacter code ?.\n", 11}},
		{"listnodes stopped", deadSock, []string{"listnodes"}, result{"", signonFailed, 1}},

		{"nodestatus active", labSock, []string{"nodestatus", "nodea"}, result{"active\n", "", 0}},
		{"nodestatus dead", labSock, []string{"nodestatus", "nodeb"}, result{"dead\n", "", 1}},
		{"nodestatus ping", labSock, []string{"nodestatus", "10.77.0.254"}, result{"ping\n", "", 0}},
		{"nodestatus -m after operand", labSock, []string{"nodestatus", "nodeb", "-m"},
			result{"The cluster node nodeb is dead\n", "", 1}},
		{"nodestatus unknown node", labSock, []string{"nodestatus", "nodez"},
			result{"", "Error. May be due to incorrect node name\n", 11}},
		{"nodestatus no node", labSock, []string{"nodestatus"}, result{"", "Not enough parameters.\n", 11}},
		{"nodestatus bad option", labSock, []string{"nodestatus", "-v", "nodea"}, result{"",
			"nodestatus: invalid option -- 'v'\n" + errPrefix + "Error: getopt returnedcharacter ?.\n", 11}},
		{"nodestatus stopped", deadSock, []string{"nodestatus", "nodea"}, result{"", signonFailed, 1}},

		{"nodetype", labSock, []string{"nodetype", "10.77.0.254"}, result{"ping\n", "", 0}},
		{"nodetype -m", labSock, []string{"nodetype", "-m", "nodea"}, result{"The node nodea's type: normal\n", "", 0}},
		{"nodetype unknown", labSock, []string{"nodetype", "nodez"}, result{"", "Error. May be due to incorrect node name\n", 11}},
		{"nodetype no node", labSock, []string{"nodetype"}, result{"", "No enough parameter.\n", 11}},

		{"nodeweight", labSock, []string{"nodeweight", "nodeb"}, result{"100\n", "", 0}},
		{"nodeweight -m", labSock, []string{"nodeweight", "-m", "nodeb"}, result{"The weight of the cluster node nodeb is 100\n", "", 0}},
		{"nodeweight unknown", labSock, []string{"nodeweight", "nodez"}, result{"", "Error. Maybe due to incorrect node name.\n", 11}},
		{"nodeweight no node", labSock, []string{"nodeweight"}, result{"", "Not enough parameters.\n", 11}},

		{"nodesite", labSock, []string{"nodesite", "nodeb"}, result{"\n", "", 0}},
		{"nodesite -m", labSock, []string{"nodesite", "-m", "nodeb"}, result{"The site of the cluster node nodeb is \n", "", 0}},
		{"nodesite unknown", labSock, []string{"nodesite", "nodez"}, result{"", "Error. May be due to incorrect node name\n", 11}},

		{"listhblinks", labSock, []string{"listhblinks", "nodeb"}, result{"\thb1\n\thb0\n", "", 0}},
		{"listhblinks -v", labSock, []string{"listhblinks", "-v", "nodeb"}, result{"\thb1\tup\n\thb0\tdead\n", "", 0}},
		{"listhblinks -m", labSock, []string{"listhblinks", "nodea", "-m"},
			result{"\tthis node has the following heartbeat links:\n\thb0\n", "", 0}},
		{"listhblinks ping node", labSock, []string{"listhblinks", "-v", "10.77.0.254"}, result{"\t10.77.0.254\tup\n", "", 0}},
		{"listhblinks unknown", labSock, []string{"listhblinks", "nodez"}, result{"",
			errPrefix + "Cannot start heartbeat link interface walk.\n" + errPrefix + "REASON: EINVAL\n", 13}},
		{"listhblinks no node", labSock, []string{"listhblinks", "-v"}, result{"", "No enough parameter.\n", 11}},

		{"hblinkstatus up", labSock, []string{"hblinkstatus", "nodeb", "hb1"}, result{"up\n", "", 0}},
		{"hblinkstatus dead", labSock, []string{"hblinkstatus", "nodeb", "hb0"}, result{"dead\n", "", 1}},
		{"hblinkstatus -m", labSock, []string{"hblinkstatus", "-m", "nodeb", "hb0"},
			result{"The node nodeb's heartbeat link hb0 is dead\n", "", 1}},
		{"hblinkstatus unknown link", labSock, []string{"hblinkstatus", "nodeb", "hb7"}, result{"",
			errPrefix + "Cannot get heartbeat link status\n" + errPrefix + "REASON: \n", 13}},
		{"hblinkstatus one operand", labSock, []string{"hblinkstatus", "nodeb"}, result{"", "No enough parameter.\n", 11}},

		{"rscstatus", labSock, []string{"rscstatus"}, result{"local\n", "", 0}},
		{"rscstatus -m", labSock, []string{"rscstatus", "-m"}, result{"This node is holding local resources.\n", "", 0}},
		{"rscstatus pacemaker", pcmkSock, []string{"rscstatus"}, result{"",
			errPrefix + "Cannot get cluster resource status of a pacemaker cluster; try crm_mon\n", 1}},
		{"rscstatus unmanaged", unmanagedSock, []string{"rscstatus"}, result{"",
			errPrefix + "Cannot get cluster resource status\n" +
				errPrefix + "REASON: resources are not managed by this heartbeatd\n", 13}},

		{"hbparameter keepalive", labSock, []string{"hbparameter", "-p", "keepalive"}, result{"1\n", "", 0}},
		{"hbparameter attached", labSock, []string{"hbparameter", "-pdeadping"}, result{"8000ms\n", "", 0}},
		{"hbparameter hbversion", labSock, []string{"hbparameter", "-p", "hbversion"},
			result{"3.0.6 (node: 958e11be8686759f1b99204c17812f2c2633b169)\n", "", 0}},
		{"hbparameter -m", labSock, []string{"hbparameter", "-m", "-p", "auto_failback"},
			result{"Heartbeat parameter auto_failback's value: on\n", "", 0}},
		{"hbparameter unset", labSock, []string{"hbparameter", "-p", "warntime"}, result{"",
			errPrefix + "Cannot get parameter warntime's value\n" + errPrefix + "REASON: \n", 1}},
		{"hbparameter no name", labSock, []string{"hbparameter"}, result{"", errPrefix + "parameter name required\n", 11}},
		{"hbparameter -p without argument", labSock, []string{"hbparameter", "-p"}, result{"",
			"hbparameter: option requires an argument -- 'p'\n" + errPrefix + "Error: getopt returnedcharacter code ?.\n", 11}},

		{"clientstatus local online", labSock, []string{"clientstatus", "nodea", "ipfail"}, result{"online\n", "", 0}},
		{"clientstatus local offline", labSock, []string{"clientstatus", "nodea", "mon"}, result{"offline\n", "", 1}},
		{"clientstatus -m is plain", labSock, []string{"clientstatus", "-m", "nodea", "ipfail"}, result{"online\n", "", 0}},
		{"clientstatus dead node", labSock, []string{"clientstatus", "nodeb", "ipfail"}, result{"offline\n", "", 1}},
		{"clientstatus remote online", peerSock, []string{"clientstatus", "nodeb", "ipfail"}, result{"online\n", "", 0}},
		{"clientstatus remote offline", peerSock, []string{"clientstatus", "nodeb", "mon", "2000"}, result{"offline\n", "", 1}},
		{"clientstatus remote silent", quietSock, []string{"clientstatus", "nodeb", "ipfail", "50"}, result{"",
			errPrefix + "Cannot get heartbeat client ipfail's status\n" + errPrefix + "REASON: No timely response.\n", 13}},
		{"clientstatus unknown node", labSock, []string{"clientstatus", "nodez", "ipfail", "50"}, result{"",
			errPrefix + "Cannot get heartbeat client ipfail's status\n" + errPrefix + "REASON: No timely response.\n", 13}},
		{"clientstatus no client", labSock, []string{"clientstatus", "nodeb"}, result{"", "No enough parameter.\n", 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.socket, 0, tc.args...)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("cl_status %s (-want +got):\n%s", strings.Join(tc.args, " "), d)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	mute := rawServer(t, nil) // accepts, reads, never answers
	for _, args := range [][]string{{"hbstatus"}, {"nodestatus", "nodea"}} {
		got := run(t, mute, 100*time.Millisecond, args...)
		if d := cmp.Diff(result{"", "", exitTimeout}, got); d != "" {
			t.Errorf("cl_status %v against a mute daemon (-want +got):\n%s", args, d)
		}
	}
}

// TestTimeoutMidRun: the limit covers the whole run, not one request.
func TestTimeoutMidRun(t *testing.T) {
	n := 0
	stop := make(chan struct{})
	defer close(stop)
	slow := rawServer(t, func(req *wire.Message) *wire.Message {
		n++ // one connection, so requests arrive in order
		if n > 1 {
			<-stop // answer signon only
		}
		return wire.New(api.TypeResponse).Add(api.FieldReqType, req.Get(api.FieldReqType)).
			Add(api.FieldPValue, "3.0.6").Add(api.FieldResult, api.ResultOK)
	})
	got := run(t, slow, 100*time.Millisecond, "listnodes")
	if d := cmp.Diff(result{"", "", exitTimeout}, got); d != "" {
		t.Errorf("cl_status listnodes (-want +got):\n%s", d)
	}
}

func TestGetopt(t *testing.T) {
	tests := []struct {
		args       []string
		optstr     string
		opts       []option
		operands   []string
		complaints []string
	}{
		{[]string{"-mv", "x"}, "mv", []option{{c: 'm'}, {c: 'v'}}, []string{"x"}, nil},
		{[]string{"x", "-m", "y"}, "m", []option{{c: 'm'}}, []string{"x", "y"}, nil},
		{[]string{"-p", "keepalive"}, "mp:", []option{{c: 'p', arg: "keepalive"}}, nil, nil},
		{[]string{"-mpkeepalive"}, "mp:", []option{{c: 'm'}, {c: 'p', arg: "keepalive"}}, nil, nil},
		{[]string{"--", "-m"}, "m", nil, []string{"-m"}, nil},
		{[]string{"-"}, "m", nil, []string{"-"}, nil},
		{[]string{"-z"}, "m", []option{{c: '?'}}, nil, []string{"cmd: invalid option -- 'z'"}},
		{[]string{"-:"}, "p:", []option{{c: '?'}}, nil, []string{"cmd: invalid option -- ':'"}},
		{[]string{"-p"}, "p:", []option{{c: '?'}}, nil, []string{"cmd: option requires an argument -- 'p'"}},
	}
	for _, tc := range tests {
		opts, operands, complaints := getopt("cmd", tc.args, tc.optstr)
		if d := cmp.Diff(tc.opts, opts, cmp.AllowUnexported(option{})); d != "" {
			t.Errorf("getopt(%q, %q) options (-want +got):\n%s", tc.args, tc.optstr, d)
		}
		if d := cmp.Diff(tc.operands, operands); d != "" {
			t.Errorf("getopt(%q, %q) operands (-want +got):\n%s", tc.args, tc.optstr, d)
		}
		if d := cmp.Diff(tc.complaints, complaints); d != "" {
			t.Errorf("getopt(%q, %q) complaints (-want +got):\n%s", tc.args, tc.optstr, d)
		}
	}
}
