// Package resources runs the resources of haresources groups: the built-in
// IPaddr, IPaddr2, ldirectord and LVSSyncDaemonSwap agents, and any
// executable in resource.d/ or init.d/ called as heartbeat 3.0.6 calls it.
package resources

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/internal/kernel"
)

// Agent starts, stops and checks one resource of a group.
//
// Start and Stop must be idempotent: starting a running resource and stopping
// a stopped one succeed. Running reports whether the resource is up, with
// the classic "is it running?" meaning (spec §4: the script's status output,
// not its exit code).
type Agent interface {
	// Name is the resource as written in haresources, e.g.
	// "IPaddr::10.0.0.100/24/eth0" or "httpd".
	Name() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Running(ctx context.Context) (bool, error)
}

// ARP is how many gratuitous ARP repeats an IP agent sends and how far apart.
// Each repeat is one request and one reply, half an interval apart (send_arp).
type ARP struct {
	Repeats  int
	Interval time.Duration
}

// Classic gratuitous ARP settings: IPaddr 10 repeats 500 ms apart (20 frames,
// 250 ms apart), IPaddr2 5 repeats 200 ms apart (10 frames, 100 ms apart).
var (
	DefaultIPaddrARP  = ARP{Repeats: 10, Interval: 500 * time.Millisecond}
	DefaultIPaddr2ARP = ARP{Repeats: 5, Interval: 200 * time.Millisecond}
)

// Env is what agents need from the daemon.
type Env struct {
	ConfDir string // /etc/ha.d: scripts are looked up in ConfDir/resource.d
	InitDir string // /etc/init.d: the second place scripts are looked up
	RunDir  string // /run/heartbeat: agents keep their state in RunDir/rsctmp

	// Vars are extra environment variables for scripts ("HA_NAME=value").
	Vars []string
	// ScriptTimeout bounds one script run (start, stop or status); 0 = none.
	ScriptTimeout time.Duration

	IPaddrARP, IPaddr2ARP ARP

	// Ldirectord is the ldirectord binary the built-in ldirectord agent runs.
	Ldirectord string

	Net kernel.Net // addresses, routes, ARP; a fake in unit tests
	Log logrus.FieldLogger
}
