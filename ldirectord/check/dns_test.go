// dns_test.go: the dns check against a loopback UDP and TCP responder.

package check

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"
)

// dnsAnswer answers req from a small zone (big.example.com is truncated over
// UDP). The UDP server also sends a stray reply with the wrong ID first,
// which the check must skip.
func dnsAnswer(t *testing.T, req []byte, proto string) []byte {
	var m dnsmessage.Message
	if err := m.Unpack(req); err != nil || len(m.Questions) != 1 {
		t.Errorf("bad query: %v", err)
		return nil
	}
	q := m.Questions[0]
	m.Response, m.RecursionAvailable = true, true
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Type: q.Type, Class: dnsmessage.ClassINET, TTL: 60}
	a := func(ip string) dnsmessage.Resource {
		return dnsmessage.Resource{Header: hdr, Body: &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()}}
	}
	switch q.Name.String() + " " + q.Type.String() {
	case "www.example.com. TypeA":
		m.Answers = []dnsmessage.Resource{a("192.0.2.1"), a("192.0.2.2")}
	case "1.2.0.192.in-addr.arpa. TypePTR":
		m.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("www.example.com.")}}}
	case "big.example.com. TypeA":
		if proto == "udp" {
			m.Truncated = true
			break
		}
		m.Answers = []dnsmessage.Resource{a("192.0.2.9")}
	case "alias.example.com. TypeA":
		hdr.Type = dnsmessage.TypeCNAME
		m.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("elsewhere.example.net.")}}}
	case "b.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. TypePTR":
		m.Answers = []dnsmessage.Resource{{Header: hdr, Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("v6.example.com.")}}}
	default:
		m.RCode = dnsmessage.RCodeNameError
	}
	out, err := m.Pack()
	if err != nil {
		t.Error(err)
	}
	return out
}

// dnsServer serves the zone over UDP and TCP on one loopback port and
// records the questions it saw.
func dnsServer(t *testing.T) (netip.AddrPort, func() []string) {
	t.Helper()
	ln := listen(t)
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	var seen []string
	record := func(req []byte, proto string) {
		var m dnsmessage.Message
		if m.Unpack(req) == nil && len(m.Questions) == 1 {
			mu.Lock()
			seen = append(seen, proto+" "+m.Questions[0].Name.String()+" "+m.Questions[0].Type.String())
			mu.Unlock()
		}
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			record(buf[:n], "udp")
			out := dnsAnswer(t, buf[:n], "udp")
			stray := append([]byte(nil), out...)
			stray[0] ^= 0xff
			pc.WriteTo(stray, from)
			pc.WriteTo(out, from)
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				req := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				record(req, "tcp")
				out := dnsAnswer(t, req, "tcp")
				c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
			}()
		}
	}()
	return addrPort(t, ln.Addr()), func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := seen
		seen = nil
		return s
	}
}

func TestDNS(t *testing.T) {
	real, seen := dnsServer(t)
	for _, tt := range []struct {
		name   string
		t      Target
		ok     bool
		errHas string
		want   []string
	}{
		{"A matches", Target{Request: "/www.example.com", Receive: `^192\.0\.2\.2$`}, true, "", []string{"udp www.example.com. TypeA"}},
		{"A over tcp", Target{Protocol: "tcp", Request: "/www.example.com", Receive: "192.0.2.1"}, true, "", []string{"tcp www.example.com. TypeA"}},
		{"fwm uses udp", Target{Protocol: "fwm", Request: "/www.example.com.", Receive: "192.0.2.1"}, true, "", []string{"udp www.example.com. TypeA"}},
		{"empty receive, any A", Target{Request: "/www.example.com"}, true, "", []string{"udp www.example.com. TypeA"}},
		{"no match", Target{Request: "/www.example.com", Receive: "192.0.2.3"}, false, `no answer matches "192.0.2.3": 192.0.2.1 192.0.2.2`, []string{"udp www.example.com. TypeA"}},
		{"truncated, again over tcp", Target{Request: "/big.example.com", Receive: "192.0.2.9"}, true, "", []string{"udp big.example.com. TypeA", "tcp big.example.com. TypeA"}},
		{"PTR", Target{Request: "/192.0.2.1", Receive: "www.example"}, true, "", []string{"udp 1.2.0.192.in-addr.arpa. TypePTR"}},
		{"PTR IPv6", Target{Protocol: "tcp", Request: "/2001:db8::1b", Receive: "^v6"}, true, "", []string{"tcp b.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. TypePTR"}},
		{"NXDOMAIN", Target{Request: "/nx.example.com", Receive: "."}, false, "RCodeNameError", []string{"udp nx.example.com. TypeA"}},
		{"CNAME only", Target{Request: "/alias.example.com"}, false, "no TypeA record in the answer", []string{"udp alias.example.com. TypeA"}},
		{"empty request", Target{Request: "/"}, false, "dns: empty request", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = real
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := DNS{}.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			if diff := cmp.Diff(tt.want, seen()); diff != "" {
				t.Errorf("questions (-want +got):\n%s", diff)
			}
		})
	}
}

// A UDP server that never answers: the check ends at the deadline.
func TestDNSSilent(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := DNS{}.Check(ctx, Target{Real: addrPort(t, pc.LocalAddr()), Request: "/www.example.com", Receive: "x"})
	if r.OK || !strings.Contains(errString(r.Err), "deadline exceeded") || r.Latency > 2*time.Second {
		t.Errorf("Check = %+v, want a deadline error after about 200ms", r)
	}
}
