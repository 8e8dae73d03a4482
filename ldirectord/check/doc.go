// doc.go: the package API: what a check targets, what it reports, and which checks exist.

// Package check holds ldirectord's real-server health checks, one file per
// checker in the style of blackbox_exporter and seesaw: a Checker probes one
// Target once and reports a Result. Intervals, failurecount/rise counting,
// jitter and state transitions belong to the runner, not here.
//
// The whole-check deadline comes from ctx: the runner sets checktimeout for
// connect/external/external-perl and negotiatetimeout for negotiate checks
// (spec §2.4). Every checker honours it hard: sockets get the deadline and are
// closed when ctx ends, child processes are killed with their process group,
// so no check blocks past it (unlike classic nntp, which had no timeout, §8.4).
//
// Implemented (checktype, then negotiate service):
//
//	connect            TCP connect and close; on a UDP virtual, ping
//	ping               ICMP echo (IPv4 and IPv6) until a reply or the deadline
//	on, off            no check: on is always up, off always reports ErrOff
//	external           checkcommand VIP|FWM VPORT RIP RPORT, exit 0 = up
//	external-perl      perl checkcommand VIP|FWM VPORT RIP RPORT, exit 0 = up
//	negotiate none     always up (also service "")
//	negotiate http, https, http_proxy, smtp, submission, pop, imap, nntp,
//	          ftp, simpletcp, dns, radius, sip, ldap, ldaps, imaps, pops,
//	          mysql, pgsql, oracle
//
// Not implemented yet (For returns an error wrapping ErrNotImplemented):
// checktype combined ("combined" or any value with a digit: the runner's
// job, alternating negotiate and connect).
//
// Differences from classic ldirectord 4.12 (to go into docs/compat.md):
//   - receive is a Go (RE2) regular expression, unanchored like Perl's; Perl
//     only syntax (look-around, backreferences) is an error, not a match.
//   - https: the certificate is not verified unless TLS.Verify is set (classic
//     meant to skip verification but bookworm's LWP verified the chain
//     anyway); with Verify, chain and hostname are both checked. SNI is sent:
//     TLS.ServerName, else virtualhost (classic sent none). §8.5.
//   - http: a full URL in request works at virtual level too (classic built a
//     broken URL there); User-Agent is "hasuite-ldirectord"; a relative
//     redirect keeps the Host header (virtualhost), where LWP sent its own.
//   - ping: classic made checkcount tries of checktimeout each; here one check
//     sends an echo request every second until a reply or the ctx deadline
//     (the runner can make that checkcount × checktimeout).
//   - simpletcp and ftp with an empty receive accept any answer (classic reused
//     Perl's last successful pattern, §8.13); ftp needs every step (login,
//     cwd /, binary, passive, retrieve) to succeed, where classic ignored
//     errors and only matched what was retrieved.
//   - ftp opens the data connection to the real's address at the passive port
//     (not to the address the server advertises) and uses EPSV for IPv6.
//   - pop logs in with USER/PASS only (no APOP); imap with LOGIN.
//   - external and external-perl children are killed with SIGKILL, whole
//     process group, at the deadline (classic: SIGTERM to the child only);
//     external-perl runs in a separate perl process, not in the daemon.
//   - dns: an empty receive accepts any A/PTR answer (classic always failed,
//     §8.13); no resolver search list; over UDP unless the virtual is tcp,
//     and over TCP again when the UDP answer is truncated.
//   - radius sends Message-Authenticator and checks the response
//     authenticator; sip passes on any "SIP/2.0 200" status line.
//   - imaps, pops and ldaps take the https TLS options (no verification by
//     default); ldap sends the bind even when anonymous, as Net::LDAP.
//   - mysql, pgsql and oracle use pure-Go drivers (no DBD needed, so no
//     daemon exit), run request once (classic: twice) and honour the
//     deadline (classic had none); pgsql tries TLS first, like sslmode=prefer.
package check

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Target is one real server to check, with the per-check parameters of its
// virtual service as ldirectord.cf gives them (per-real request/receive
// already override the virtual's).
type Target struct {
	// Virtual is the virtual service address and port; zero for a fwmark service.
	Virtual netip.AddrPort
	// FWMark is the firewall mark of a fwmark service, else 0.
	FWMark uint32
	// Protocol is the virtual's protocol: tcp, udp or fwm.
	Protocol string
	// Real is the real server's address and configured port (0 when omitted).
	Real netip.AddrPort
	// CheckPort is the checkport directive, 0 when unset; see Port.
	CheckPort uint16
	// Service is the negotiate service (http, smtp, ...; "" or none).
	Service string
	// Request is the request as configured (ldirectord.cf gives it a leading /).
	Request string
	// Receive is the regular expression an answer must match; "" accepts any.
	Receive string
	// VirtualHost is the HTTP Host header (and default TLS server name).
	VirtualHost string
	// HTTPMethod is GET or HEAD; "" means GET.
	HTTPMethod string
	// Login, Passwd, Database and Secret are the credentials of the
	// negotiate checks that log in.
	Login, Passwd, Database, Secret string
	// CheckCommand is the program of external and external-perl checks.
	CheckCommand string
	// TLS holds the https options.
	TLS TLSOptions
}

// TLSOptions are the https check's TLS settings (new: classic had none).
type TLSOptions struct {
	// Verify checks the certificate chain and that it names ServerName
	// (else the real's IP). Off by default, as classic intended.
	Verify bool
	// CAFile is a PEM bundle to verify against instead of the system roots.
	CAFile string
	// ServerName is sent as SNI and verified; "" means VirtualHost. An IP
	// address is never sent as SNI.
	ServerName string
}

// Result is the outcome of one check.
type Result struct {
	// OK says the real server passed.
	OK bool
	// Err says why it did not (nil when OK); for the log and monitor file.
	Err error
	// Latency is how long the check took.
	Latency time.Duration
}

// Checker probes a target once, within ctx's deadline. The checkers here
// are stateless values, safe for concurrent use; only KeepAlive
// (checkkeepalive) holds a connection, one per real.
type Checker interface {
	Check(ctx context.Context, t Target) Result
}

// ErrNotImplemented marks check types and services this package lacks so far.
var ErrNotImplemented = errors.New("not implemented")

// ErrOff is the result of checktype off: nothing was checked.
var ErrOff = errors.New("checktype off: not checked")

// Port is the port a check uses: checkport, else the real's port, else the
// service's default port (spec §3).
func (t Target) Port() uint16 {
	switch {
	case t.CheckPort != 0:
		return t.CheckPort
	case t.Real.Port() != 0:
		return t.Real.Port()
	}
	return ServicePort(t.Service)
}

// ServicePort is a negotiate service's default port, 0 for none or unknown.
func ServicePort(service string) uint16 {
	return servicePorts[service]
}

var servicePorts = map[string]uint16{
	"ftp": 21, "smtp": 25, "dns": 53, "http": 80, "pop": 110, "nntp": 119,
	"imap": 143, "ldap": 389, "https": 443, "submission": 587, "ldaps": 636,
	"imaps": 993, "pops": 995, "oracle": 1521, "radius": 1812,
	"http_proxy": 3128, "mysql": 3306, "sip": 5060, "pgsql": 5432,
}
