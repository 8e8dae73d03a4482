// Start-up checks of a parsed ha.cf (spec §2 "Startup checks").
package config

import (
	"slices"
	"time"

	"github.com/hasuite/hasuite/internal/conferr"
	"github.com/hasuite/hasuite/internal/hbtime"
)

// Validate runs classic heartbeat's start-up checks for the node named
// localNode (uname -n): at least one medium, at least one node including
// the local one, deadtime and deadping above twice keepalive, initdead not
// below deadtime, no autojoin (hasuite always runs R1, haresources mode),
// and some logging. A short initdead only adds a warning to c.Warnings.
// Errors name the line of the directive concerned, else just the file.
// Authkeys are checked separately (LoadAuthKeys).
func (c *HACF) Validate(localNode string) error {
	errs := conferr.List{File: c.File}
	c.validateMemberlist(&errs)
	if len(c.Media) == 0 && c.Memberlist == nil {
		errs.Add(0, "no heartbeat media defined (need a bcast, mcast, mcast6, ucast or ucast6 line)")
	}
	if len(c.Nodes) == 0 {
		errs.Add(0, "no nodes defined (need a node line)")
	}
	if local := asciiLower(localNode); !slices.Contains(c.Nodes, local) {
		errs.Add(0, "current node [%s] not in configuration: declare it with \"node %s\" (node names must equal uname -n)", local, local)
	}
	if c.Deadtime <= 2*c.Keepalive {
		errs.Add(c.lineOf("deadtime", "keepalive"), "deadtime (%s) must be greater than twice keepalive (%s)",
			hbtime.Format(c.Deadtime), hbtime.Format(c.Keepalive))
	}
	// Like classic, a defaulted deadping (= deadtime) is not checked twice.
	if c.set("deadping") && c.Deadping <= 2*c.Keepalive {
		errs.Add(c.lineOf("deadping"), "deadping (%s) must be greater than twice keepalive (%s)",
			hbtime.Format(c.Deadping), hbtime.Format(c.Keepalive))
	}
	if c.Initdead < c.Deadtime {
		errs.Add(c.lineOf("initdead", "deadtime"), "initdead (%s) must not be smaller than deadtime (%s)",
			hbtime.Format(c.Initdead), hbtime.Format(c.Deadtime))
	} else if c.Initdead < 10*time.Second {
		c.warn(c.lineOf("initdead", "deadtime"), "initdead (%s) may be too small: it allows for slow network start-up and should be at least deadtime and 10s",
			hbtime.Format(c.Initdead))
	}
	if c.AutoJoin != "" && c.AutoJoin != "none" {
		errs.Add(c.lineOf("autojoin"), "autojoin %s conflicts with haresources (R1) resource management; remove it or set it to none", c.AutoJoin)
	}
	if c.set("use_logd") && !c.UseLogd && c.LogFile == "" && c.DebugFile == "" && !c.syslogEnabled() {
		errs.Add(c.lineOf("use_logd"), "use_logd is off but no logfacility, logfile or debugfile is set")
	}
	return errs.Err()
}

// lineOf returns the line of the first of names that ha.cf set, else 0.
func (c *HACF) lineOf(names ...string) int {
	for _, n := range names {
		if l, ok := c.lines[n]; ok {
			return l
		}
	}
	return 0
}
