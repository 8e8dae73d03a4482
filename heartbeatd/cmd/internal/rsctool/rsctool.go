// Package rsctool is hb_standby and hb_takeover: classic usage, output and
// exit codes, with the request sent through heartbeatd's client API instead
// of the FIFO.
//
// Both sign on as a named client (hb_standby, hb_takeover; apiauth allows
// root unless ha.cf says otherwise) and send one cluster message, which
// heartbeatd stamps and transmits like classic ha_clustermsg's:
//
//	hb_standby  [all|foreign|local|failback]  t=ask_resources rsc_hold=<x> info=me  (failback = foreign)
//	hb_takeover [all|local|foreign|failback]  t=hb_takeover rsc_hold=<x>
//
// With membership memberlist, standby is sticky until hb_takeover, and
// `hb_standby none` ends it without claiming anything; auto_failback
// legacy does not refuse standby there (it means on).
package rsctool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/heartbeatd/wire"
)

// Tool selects hb_standby or hb_takeover.
type Tool int

// The tools.
const (
	Standby Tool = iota
	Takeover
)

// DefaultTimeout bounds a whole run.
const DefaultTimeout = 5 * time.Second

// Options are the environment of one run.
type Options struct {
	Prog    string        // $0 in messages: the name the tool was run as
	Socket  string        // API socket path
	Timeout time.Duration // 0 means DefaultTimeout
	Log     func(msg string)
}

// clientName is the API client name each tool signs on as.
func (t Tool) clientName() string {
	if t == Standby {
		return "hb_standby"
	}
	return "hb_takeover"
}

// Run executes the tool with args (without the program name) and returns
// its exit code: 0 when the request was handed to heartbeatd, 1 otherwise.
func Run(ctx context.Context, t Tool, args []string, stdout, stderr io.Writer, opt Options) int {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Log == nil {
		opt.Log = func(string) {}
	}
	usage := func() int {
		fmt.Fprintln(stdout, "usage:")
		fmt.Fprintf(stderr, "%s [all|foreign|local|failback]\n", opt.Prog)
		return 1
	}
	if len(args) >= 2 {
		fmt.Fprintf(stdout, "%s: too many arguments\n", opt.Prog)
		return usage()
	}
	rsc := "all"
	if len(args) == 1 {
		rsc = args[0]
	}
	if t == Takeover && rsc == "--help" {
		return usage()
	}
	switch rsc {
	case "all", "foreign", "local", "failback":
	case "none": // hb_standby only, and only with membership memberlist (checked below)
		if t == Takeover {
			fmt.Fprintf(stdout, "%s: wrong resources(%s).\n", opt.Prog, rsc)
			return usage()
		}
	case "--help": // hb_standby: accepted by the check, then usage
		return usage()
	default:
		fmt.Fprintf(stdout, "%s: wrong resources(%s).\n", opt.Prog, rsc)
		return usage()
	}

	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	c, err := api.DialContext(ctx, opt.Socket, 0)
	if err != nil {
		fmt.Fprintf(stderr, "%s: cannot reach heartbeat: %v\n", opt.Prog, err)
		return 1
	}
	defer c.Close()
	if _, err := c.Signon(ctx, t.clientName()); err != nil {
		why := err.Error()
		var re *api.ResultError
		if errors.As(err, &re) && re.Info != "" {
			why = re.Info
		}
		fmt.Fprintf(stderr, "%s: cannot sign on with heartbeat: %s\n", opt.Prog, why)
		return 1
	}

	var msg *wire.Message
	if t == Standby {
		nway := false
		if m, err := c.RequestContext(ctx, api.ReqGetParm, api.FieldPName, "membership"); err == nil {
			nway = strings.EqualFold(m.Get(api.FieldPValue), "memberlist")
		}
		if rsc == "none" && !nway {
			fmt.Fprintf(stdout, "%s: standby none needs membership memberlist.\n", opt.Prog)
			c.Signoff(ctx)
			return 1
		}
		// Like the init script's "standby": classic heartbeat ignores
		// standby requests with auto_failback legacy.
		if m, err := c.RequestContext(ctx, api.ReqGetParm, api.FieldPName, "auto_failback"); err == nil && !nway &&
			strings.Contains(strings.ToLower(m.Get(api.FieldPValue)), "legacy") {
			fmt.Fprintln(stdout, "auto_failback is set to legacy.  Cannot enter standby.")
			c.Signoff(ctx)
			return 1
		}
		if rsc == "failback" {
			rsc = "foreign"
		}
		opt.Log(fmt.Sprintf("Going standby [%s].", rsc))
		msg = wire.New("ask_resources").Add(api.FieldResources, rsc).Add(api.FieldInfo, "me")
	} else {
		msg = wire.New("hb_takeover").Add(api.FieldResources, rsc)
	}
	if err := c.Send(ctx, msg); err != nil {
		fmt.Fprintf(stderr, "%s: cannot send to heartbeat: %v\n", opt.Prog, err)
		return 1
	}
	// Signing off waits until heartbeatd has handled the message.
	if err := c.Signoff(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: signing off: %v\n", opt.Prog, err)
		return 1
	}
	return 0
}
