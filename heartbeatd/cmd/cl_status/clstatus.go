// cl_status sub-commands over heartbeatd's client API, with classic output and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/wire"
	"github.com/hasuite/hasuite/internal/outfmt"
)

// Exit codes of classic cl_status (spec §8.2).
const (
	exitOK      = 0
	exitFail    = 1  // normal failure: node or link dead, heartbeat stopped, parameter unset
	exitParam   = 11 // bad sub-command, option or argument
	exitTimeout = 12 // no answer within the time limit
	exitUnknown = 13 // anything else
)

// DefaultTimeout is classic cl_status's alarm(5): the whole run, not one request.
const DefaultTimeout = 5 * time.Second

// Options are the environment of one cl_status run.
type Options struct {
	Socket  string           // API socket path
	Timeout time.Duration    // limit for the whole run; 0 means DefaultTimeout
	PID     int              // shown in error lines
	Host    string           // shown in error lines; "" means os.Hostname (uname's nodename)
	Now     func() time.Time // clock for error lines; nil means time.Now
}

// helpScreen is classic cl_status's usage text (typos included).
const helpScreen = `Usage: cl_status <sub-command> [<options>] [<parameters>]

Sub-commands:
clientstatus <node-name> <client-id> [<timeout>]
	Show the status of heartbeat clients.
hblinkstatus <node-name> <link-name>
	Show the status of a heartbeat link
hbstatus
	Indicate if heartbeat is running on the local system.
	Options:
		-v	verbose: also add "listnodes -v" output
listnodes [<option>]
	List the nodes in the cluster.
	Options:
		-p	list only 'ping' type nodes
		-n	list only 'normal' type nodes
		-v	verbose: also list type and status,
			then add "listhblinks -v" output
listhblinks <node-name>
	List the network interfaces used as hearbeat links.
	Options:
		-v	verbose: list link status as well
nodestatus <node-name>
	List the node status.
nodeweight <node-name>
	List the node weight.
nodesite <node-name>
	List the node site.
nodetype <node-name>
	List the nodes of a given type.
rscstatus
	Show the status of cluster resources.
hbparameter -p <parameter-name>
	Retrieve the value of a cluster parameter.
	As for the valid parameter names, please refer to the man page.
`

// command is one sub-command; needSignon commands fail with exit 1 when
// heartbeatd does not answer.
type command struct {
	name       string
	needSignon bool
	run        func(t *tool, args []string) int
}

var commands = []command{
	{"hbstatus", false, (*tool).hbstatus},
	{"listnodes", true, (*tool).listnodes},
	{"nodestatus", true, (*tool).nodestatus},
	{"nodeweight", true, (*tool).nodeweight},
	{"nodesite", true, (*tool).nodesite},
	{"nodetype", true, (*tool).nodetype},
	{"listhblinks", true, (*tool).listhblinks},
	{"hblinkstatus", true, (*tool).hblinkstatus},
	{"clientstatus", true, (*tool).clientstatus},
	{"rscstatus", true, (*tool).rscstatus},
	{"rscgroups", true, (*tool).rscgroups},
	{"hbparameter", true, (*tool).hbparameter},
}

// tool is the state of one run.
type tool struct {
	ctx    context.Context
	out    io.Writer
	errw   io.Writer
	opt    Options
	name   string // the sub-command, getopt's argv[0]
	client *api.Client
	human  bool // -m
	json   bool // --json or -o json

	signedOn     bool
	signedOnAPI  bool   // signed on with signon (not an older heartbeatd's probe)
	refused      bool   // heartbeatd answered but did not accept us
	signonWhy    string // why signon failed
	hbversion    string
	hasVersion   bool
	pacemaker    string // from the signon reply
	hasPacemaker bool
}

// timeoutExit unwinds a run whose time limit expired, like classic's SIGALRM
// handler calling exit(12) wherever the program happens to be.
type timeoutExit struct{}

// Run executes cl_status with args (without the program name) and returns
// the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, opt Options) (rc int) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Host == "" {
		opt.Host, _ = os.Hostname()
	}
	args, jsonOut, formatOK := outfmt.JSON(args)
	if !formatOK {
		fmt.Fprintln(stderr, "cl_status: -o takes json or text")
		return exitParam
	}
	if len(args) == 0 || (len(args) == 1 && args[0] == "-h") {
		fmt.Fprint(stdout, helpScreen)
		return exitOK
	}
	t := &tool{out: stdout, errw: stderr, opt: opt, name: args[0], json: jsonOut}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		t.logErr("%s: invalid sub-command.", args[0])
		return exitParam
	}

	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	t.ctx = ctx
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(timeoutExit); !ok {
				panic(r)
			}
			rc = exitTimeout
		}
	}()
	t.signon()
	if t.client != nil {
		defer t.signoff()
	}
	if !t.signedOn && cmd.needSignon {
		t.logErr("Cannot signon with heartbeat")
		t.logErr("REASON: %s", t.signonWhy)
		return exitFail
	}
	return cmd.run(t, args[1:])
}

// logErr prints an error line the way Debian's cl_log does on stderr
// (syslog format): "Nov 22 00:35:49 nodea cl_status: [PID]: ERROR: ...".
func (t *tool) logErr(format string, a ...any) {
	fmt.Fprintf(t.errw, "%s %s cl_status: [%d]: ERROR: %s\n", t.opt.Now().Format("Jan 02 15:04:05"),
		t.opt.Host, t.opt.PID, fmt.Sprintf(format, a...))
}

func (t *tool) printf(format string, a ...any) { fmt.Fprintf(t.out, format, a...) }

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// reason is the REASON text for a failed request.
func reason(err error) string {
	var re *api.ResultError
	if errors.As(err, &re) {
		if re.Info != "" {
			return re.Info
		}
		return "result " + re.Result
	}
	return err.Error()
}

// signon connects and signs on as a casual client like classic cl_status.
// The signon reply caches hbversion and pacemaker. A refusing daemon still
// reports its deadtime, which tells it from a stopped one. A heartbeatd
// without signon (older hasuite) is probed with getparm hbversion instead.
func (t *tool) signon() {
	c, err := api.DialContext(t.ctx, t.opt.Socket, 0)
	if err != nil {
		if isTimeout(err) {
			panic(timeoutExit{})
		}
		t.signonWhy = "hb_api_signon: Can't initiate connection to heartbeat"
		return
	}
	m, err := c.Signon(t.ctx, "")
	var re *api.ResultError
	switch {
	case err == nil:
		t.client, t.signedOn, t.signedOnAPI = c, true, true
		t.hbversion, t.hasVersion = m.Lookup(api.FieldHBVersion)
		t.pacemaker, t.hasPacemaker = m.Lookup(api.FieldPacemaker)
		return
	case isTimeout(err):
		c.Close()
		panic(timeoutExit{})
	case errors.As(err, &re) && hasField(m, api.FieldDeadtime):
		c.Close()
		t.refused = true
		t.signonWhy = re.Info
		return
	case errors.As(err, &re) && strings.HasPrefix(re.Info, "unknown request type"):
		t.probe(c)
		return
	}
	c.Close()
	t.signonWhy = "hb_api_signon: " + reason(err)
}

func hasField(m *wire.Message, name string) bool {
	if m == nil {
		return false
	}
	_, ok := m.Lookup(name)
	return ok
}

// probe checks an older heartbeatd that answers queries without signon.
func (t *tool) probe(c *api.Client) {
	m, err := c.RequestContext(t.ctx, api.ReqGetParm, api.FieldPName, "hbversion")
	if err != nil {
		c.Close()
		if isTimeout(err) {
			panic(timeoutExit{})
		}
		var re *api.ResultError
		t.refused = errors.As(err, &re)
		t.signonWhy = "hb_api_signon: " + reason(err)
		return
	}
	t.client = c
	t.signedOn = true
	t.hbversion, t.hasVersion = m.Lookup(api.FieldPValue)
}

// signoff ends a signed-on session the way classic hb_api_delete does.
func (t *tool) signoff() {
	if t.signedOnAPI {
		t.client.Signoff(t.ctx)
	}
	t.client.Close()
}

// query sends one request; an expired time limit ends the run with exit 12.
func (t *tool) query(reqtype string, fields ...string) (*wire.Message, error) {
	m, err := t.client.RequestContext(t.ctx, reqtype, fields...)
	if err != nil && isTimeout(err) {
		panic(timeoutExit{})
	}
	return m, err
}

// queryAll is query for list requests.
func (t *tool) queryAll(reqtype string, fields ...string) ([]*wire.Message, error) {
	ms, err := t.client.RequestAllContext(t.ctx, reqtype, fields...)
	if err != nil && isTimeout(err) {
		panic(timeoutExit{})
	}
	return ms, err
}

// param returns a heartbeat parameter; hbversion comes from signon.
func (t *tool) param(name string) (string, bool, error) {
	if name == "hbversion" && t.hasVersion {
		return t.hbversion, true, nil
	}
	if name == "pacemaker" && t.hasPacemaker {
		return t.pacemaker, true, nil
	}
	m, err := t.query(api.ReqGetParm, api.FieldPName, name)
	if err != nil {
		return "", false, err
	}
	v, ok := m.Lookup(api.FieldPValue)
	return v, ok, nil
}

// pacemakerEnabled follows classic is_pacemaker_enabled, except that an
// unset parameter means "not enabled": heartbeatd never runs Pacemaker.
func (t *tool) pacemakerEnabled() (bool, string) {
	v, ok, _ := t.param("pacemaker")
	if !ok {
		return false, ""
	}
	b, valid := strToBool(v)
	return b || !valid, v
}

// strToBool is cluster-glue's cl_str_to_boolean.
func strToBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "y", "1":
		return true, true
	case "false", "off", "no", "n", "0":
		return false, true
	}
	return false, false
}

// options runs getopt, printing its complaints; '?' stays in the result.
func (t *tool) options(args []string, optstr string) ([]option, []string) {
	opts, operands, complaints := getopt(t.name, args, optstr)
	for _, c := range complaints {
		fmt.Fprintln(t.errw, c)
	}
	return opts, operands
}

// simpleOptions handles sub-commands whose only option is -m; ok is false
// (exit 11) on any other option.
func (t *tool) simpleOptions(args []string) ([]string, bool) {
	opts, operands := t.options(args, "m")
	for _, o := range opts {
		if o.c != 'm' {
			t.logErr("Error: getopt returnedcharacter %c.", o.c) // sic
			return nil, false
		}
		t.human = true
	}
	return operands, true
}

func (t *tool) hbstatus(args []string) int {
	opts, _ := t.options(args, "mv")
	verbose := false
	for _, o := range opts { // classic ignores unknown options here
		switch o.c {
		case 'm':
			t.human = true
		case 'v':
			verbose = true
		}
	}
	if t.json {
		return t.hbstatusJSON(verbose)
	}
	if !t.signedOn {
		rc := exitFail
		if t.refused {
			t.printf("Heartbeat is apparently running on this machine, but refuses my connection\n")
			rc = exitOK
		} else {
			t.printf("Heartbeat is stopped on this machine.\n")
		}
		if verbose && t.signonWhy != "" {
			t.printf("(%s)\n", t.signonWhy)
		}
		return rc
	}
	if !verbose {
		t.printf("Heartbeat is running on this machine.\n")
		return exitOK
	}
	pm, pmValue := t.pacemakerEnabled()
	if t.human {
		if t.hasVersion {
			t.printf("Heartbeat version %s\n", t.hbversion)
		} else {
			t.printf("Heartbeat is running on this machine.\n")
		}
		if pm {
			t.printf("Resources controlled by Pacemaker.\n")
		} else {
			t.printf("Resources controlled by \"haresources\"\n")
		}
	} else {
		version := "unknown"
		if t.hasVersion {
			version = t.hbversion
		}
		t.printf("version:\t%s\n", version)
		if pm {
			t.printf("managed by:\tpacemaker\t(%s)\n", pmValue)
		} else {
			t.printf("managed by:\t\"haresources\"\n")
		}
	}
	t.listNodes(false, false, true)
	return exitOK
}

func (t *tool) listnodes(args []string) int {
	opts, _ := t.options(args, "mpnv")
	var verbose, pingOnly, normalOnly bool
	for _, o := range opts {
		switch o.c {
		case 'm':
			t.human = true
		case 'v':
			verbose = true
		case 'p':
			pingOnly = true
		case 'n':
			normalOnly = true
		default:
			t.logErr("Error: getopt returnedcharacter code %c.", o.c)
			return exitParam
		}
	}
	if t.json {
		nodes, rc := t.nodeList(normalOnly, pingOnly, verbose)
		if rc == exitOK {
			t.emit(nodesJSON{Nodes: nodes})
		}
		return rc
	}
	return t.listNodes(normalOnly, pingOnly, verbose)
}

// listNodes prints the node walk; both filters together mean no filter.
func (t *tool) listNodes(normalOnly, pingOnly, verbose bool) int {
	replies, err := t.queryAll(api.ReqNodeList)
	if err != nil {
		t.logErr("Cannot start node walk.")
		t.logErr("REASON: %s", reason(err))
		return exitUnknown
	}
	if normalOnly && pingOnly {
		normalOnly, pingOnly = false, false
	}
	if t.human {
		t.printf("The nodes are as follow:\n")
	}
	// Classic's client library prepends each reply to its list, so the
	// walk runs in the reverse of the daemon's (configuration) order.
	for _, m := range slices.Backward(replies) {
		node, ok := m.Lookup(api.FieldNode)
		if !ok {
			continue
		}
		typ := m.Get(api.FieldNodeType)
		if (normalOnly && typ != api.NodeNormal) || (pingOnly && typ != api.NodePing) {
			continue
		}
		if !verbose {
			t.printf("%s\n", node)
			continue
		}
		t.printf("\n%s\t%s\t(nodetype: %s)\n", node, m.Get(api.FieldStatus), typ)
		t.listLinks(node, true)
	}
	return exitOK
}

// nodeQuery asks a one-node question; on failure it prints classic's message
// for an unknown node (exit 11) or, when the daemon failed, an error (exit 13).
func (t *tool) nodeQuery(args []string, notEnough, unknown, reqtype, field string) (node, value string, rc int) {
	operands, ok := t.simpleOptions(args)
	if !ok {
		return "", "", exitParam
	}
	if len(operands) < 1 {
		fmt.Fprintln(t.errw, notEnough)
		return "", "", exitParam
	}
	node = operands[0]
	m, err := t.query(reqtype, api.FieldNode, node)
	var re *api.ResultError
	switch {
	case errors.As(err, &re):
		fmt.Fprintln(t.errw, unknown)
		return node, "", exitParam
	case err != nil:
		t.logErr("Cannot get %s of node %s", reqtype, node)
		t.logErr("REASON: %s", reason(err))
		return node, "", exitUnknown
	}
	v, ok := m.Lookup(field)
	if !ok {
		fmt.Fprintln(t.errw, unknown)
		return node, "", exitParam
	}
	return node, v, exitOK
}

const (
	mayBeBadNode   = "Error. May be due to incorrect node name"
	maybeBadNode   = "Error. Maybe due to incorrect node name."
	notEnoughParms = "Not enough parameters."
	noEnoughParm   = "No enough parameter."
)

func (t *tool) nodestatus(args []string) int {
	node, status, rc := t.nodeQuery(args, notEnoughParms, mayBeBadNode, api.ReqNodeStatus, api.FieldStatus)
	if rc != exitOK {
		return rc
	}
	if t.json {
		t.emit(nodeStatusJSON{Node: node, Status: status})
	} else if t.human {
		t.printf("The cluster node %s is %s\n", node, status)
	} else {
		t.printf("%s\n", status)
	}
	switch status {
	case "active", "up", "ping":
		return exitOK
	}
	return exitFail
}

func (t *tool) nodeweight(args []string) int {
	node, v, rc := t.nodeQuery(args, notEnoughParms, maybeBadNode, api.ReqNodeWeight, api.FieldWeight)
	if rc != exitOK {
		return rc
	}
	weight, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintln(t.errw, maybeBadNode)
		return exitParam
	}
	if t.json {
		t.emit(nodeWeightJSON{Node: node, Weight: weight})
	} else if t.human {
		t.printf("The weight of the cluster node %s is %d\n", node, weight)
	} else {
		t.printf("%d\n", weight)
	}
	return exitOK
}

func (t *tool) nodesite(args []string) int {
	node, site, rc := t.nodeQuery(args, notEnoughParms, mayBeBadNode, api.ReqNodeSite, api.FieldSite)
	if rc != exitOK {
		return rc
	}
	if t.json {
		t.emit(nodeSiteJSON{Node: node, Site: site})
	} else if t.human {
		t.printf("The site of the cluster node %s is %s\n", node, site)
	} else {
		t.printf("%s\n", site)
	}
	return exitOK
}

func (t *tool) nodetype(args []string) int {
	node, typ, rc := t.nodeQuery(args, noEnoughParm, mayBeBadNode, api.ReqNodeType, api.FieldNodeType)
	if rc != exitOK {
		return rc
	}
	if t.json {
		t.emit(nodeTypeJSON{Node: node, Type: typ})
	} else if t.human {
		t.printf("The node %s's type: %s\n", node, typ)
	} else {
		t.printf("%s\n", typ)
	}
	return exitOK
}

func (t *tool) listhblinks(args []string) int {
	opts, operands := t.options(args, "mv")
	verbose := false
	for _, o := range opts {
		switch o.c {
		case 'm':
			t.human = true
		case 'v':
			verbose = true
		default:
			t.logErr("Error: getopt returnedcharacter code %c.", o.c)
			return exitParam
		}
	}
	if len(operands) < 1 {
		fmt.Fprintln(t.errw, noEnoughParm)
		return exitParam
	}
	if t.json {
		links, rc := t.linkList(operands[0])
		if rc == exitOK {
			t.emit(linksJSON{Node: operands[0], Links: links})
		}
		return rc
	}
	return t.listLinks(operands[0], verbose)
}

// listLinks prints a node's heartbeat links, with their status if verbose.
func (t *tool) listLinks(node string, verbose bool) int {
	replies, err := t.queryAll(api.ReqIfList, api.FieldNode, node)
	if err != nil {
		t.logErr("Cannot start heartbeat link interface walk.")
		t.logErr("REASON: %s", reason(err))
		return exitUnknown
	}
	if t.human {
		t.printf("\tthis node has the following heartbeat links:\n")
	}
	// Reversed and without repeats, like classic's client library.
	seen := make(map[string]bool)
	for _, m := range slices.Backward(replies) {
		name, ok := m.Lookup(api.FieldIfName)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		if verbose {
			t.printf("\t%s\t%s\n", name, m.Get(api.FieldStatus))
		} else {
			t.printf("\t%s\n", name)
		}
	}
	return exitOK
}

func (t *tool) hblinkstatus(args []string) int {
	operands, ok := t.simpleOptions(args)
	if !ok {
		return exitParam
	}
	if len(operands) < 2 {
		fmt.Fprintln(t.errw, noEnoughParm)
		return exitParam
	}
	node, link := operands[0], operands[1]
	m, err := t.query(api.ReqIfStatus, api.FieldNode, node, api.FieldIfName, link)
	status, found := "", false
	if err == nil {
		status, found = m.Lookup(api.FieldStatus)
	}
	if !found {
		t.logErr("Cannot get heartbeat link status")
		var re *api.ResultError
		switch {
		case errors.As(err, &re): // classic get_ifstatus keeps no reason for a refusal
			t.logErr("REASON: ")
		case err != nil:
			t.logErr("REASON: %s", reason(err))
		default:
			t.logErr("REASON: no status in reply")
		}
		return exitUnknown
	}
	if t.json {
		t.emit(linkStatusJSON{Node: node, Link: link, Status: status})
	} else if t.human {
		t.printf("The node %s's heartbeat link %s is %s\n", node, link, status)
	} else {
		t.printf("%s\n", status)
	}
	if status == api.LinkUp {
		return exitOK
	}
	return exitFail
}

// clientstatus prints a client's status at a node; the optional third
// operand is how long to wait for a remote node's answer in milliseconds
// (default 500, C atoi semantics; negative waits for the run's limit).
// Exit codes: online 0, offline 1, join 2, leave 3.
func (t *tool) clientstatus(args []string) int {
	operands, ok := t.simpleOptions(args)
	if !ok {
		return exitParam
	}
	if len(operands) < 2 {
		fmt.Fprintln(t.errw, noEnoughParm)
		return exitParam
	}
	wait := 500 * time.Millisecond
	if len(operands) > 2 {
		wait = time.Duration(api.Atoi(operands[2])) * time.Millisecond
	}
	cs, err := t.client.ClientStatus(t.ctx, operands[0], operands[1], wait)
	if err != nil {
		if isTimeout(err) {
			panic(timeoutExit{})
		}
		t.logErr("Cannot get heartbeat client %s's status", operands[1])
		t.logErr("REASON: %s", reason(err))
		return exitUnknown
	}
	if t.json {
		t.emit(clientStatusJSON{Node: operands[0], Client: operands[1], Status: cs})
	} else {
		t.printf("%s\n", cs)
	}
	switch cs {
	case api.ClientOnline:
		return exitOK
	case api.ClientOffline:
		return exitFail
	case api.ClientJoin:
		return 2
	case api.ClientLeave:
		return 3
	}
	return exitUnknown
}

func (t *tool) rscstatus(args []string) int {
	if _, ok := t.simpleOptions(args); !ok {
		return exitParam
	}
	if pm, _ := t.pacemakerEnabled(); pm {
		t.logErr("Cannot get cluster resource status of a pacemaker cluster; try crm_mon")
		return exitFail
	}
	m, err := t.query(api.ReqGetRsc)
	rs, found := "", false
	if err == nil {
		rs, found = m.Lookup(api.FieldResources)
	}
	if !found {
		t.logErr("Cannot get cluster resource status")
		if err != nil {
			t.logErr("REASON: %s", reason(err))
		} else {
			t.logErr("REASON: no resource status in reply")
		}
		return exitUnknown
	}
	if t.json {
		t.emit(rscStatusJSON{Resources: rs})
	} else if t.human {
		t.printf("This node is holding %s resources.\n", rs)
	} else {
		t.printf("%s\n", rs)
	}
	return exitOK
}

func (t *tool) hbparameter(args []string) int {
	opts, _ := t.options(args, "mp:")
	name := ""
	for _, o := range opts {
		switch o.c {
		case 'm':
			t.human = true
		case 'p':
			name = o.arg
		default:
			t.logErr("Error: getopt returnedcharacter code %c.", o.c)
			return exitParam
		}
	}
	if name == "" {
		t.logErr("parameter name required")
		return exitParam
	}
	v, ok, err := t.param(name)
	if !ok {
		why := ""
		if err != nil {
			why = reason(err)
		}
		t.logErr("Cannot get parameter %s's value", name)
		t.logErr("REASON: %s", why)
		return exitFail
	}
	if t.json {
		t.emit(parameterJSON{Parameter: name, Value: v})
	} else if t.human {
		t.printf("Heartbeat parameter %s's value: %s\n", name, v)
	} else {
		t.printf("%s\n", v)
	}
	return exitOK
}
