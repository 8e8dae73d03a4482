// dns.go: negotiate dns: an A (or, for an address, PTR) query to the real, answer matching receive.

package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS asks the real for request (its leading '/' removed): an A query, or a
// PTR query when request is an IP address, over TCP when the virtual is tcp
// and UDP otherwise (then TCP again for a truncated answer), with recursion
// desired. It passes when an A address or PTR name of the answer matches
// receive; an empty receive accepts any A or PTR answer (classic always
// failed then, §8.13). Names are queried as given (fully qualified): no
// search list.
type DNS struct{}

// Check sends the query.
func (DNS) Check(ctx context.Context, t Target) Result {
	return run(ctx, func() error { return checkDNS(ctx, t) })
}

func checkDNS(ctx context.Context, t Target) error {
	re, err := receiveRE(t.Receive)
	if err != nil {
		return err
	}
	q, err := dnsQuestion(strings.TrimPrefix(t.Request, "/"))
	if err != nil {
		return err
	}
	id := uint16(rand.Uint32())
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{q},
	}
	pkt, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("dns query %s: %w", q.Name, err)
	}
	network := "udp"
	if t.Protocol == "tcp" {
		network = "tcp"
	}
	resp, err := dnsExchange(ctx, t, network, id, pkt)
	if errors.Is(err, errTruncated) {
		resp, err = dnsExchange(ctx, t, "tcp", id, pkt) // as resolvers do
	}
	if err != nil {
		return fmt.Errorf("dns %s %s to %s: %w", q.Type, q.Name, hostport(t), err)
	}
	if resp.RCode != dnsmessage.RCodeSuccess {
		return fmt.Errorf("dns %s %s: %s", q.Type, q.Name, resp.RCode)
	}
	var got []string
	for _, a := range resp.Answers {
		var s string
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			s = netip.AddrFrom4(b.A).String()
		case *dnsmessage.PTRResource:
			s = b.PTR.String()
		default:
			continue
		}
		if a.Header.Type != q.Type {
			continue
		}
		if re == nil || re.MatchString(s) {
			return nil
		}
		got = append(got, s)
	}
	if len(got) == 0 {
		return fmt.Errorf("dns %s %s: no %s record in the answer", q.Type, q.Name, q.Type)
	}
	return fmt.Errorf("dns %s %s: no answer matches %q: %s", q.Type, q.Name, t.Receive, truncate(strings.Join(got, " "), 200))
}

// dnsQuestion is the A question for a name, the PTR question for an address.
func dnsQuestion(request string) (dnsmessage.Question, error) {
	if request == "" {
		return dnsmessage.Question{}, fmt.Errorf("dns: empty request")
	}
	typ, name := dnsmessage.TypeA, request
	if a, err := netip.ParseAddr(request); err == nil {
		typ, name = dnsmessage.TypePTR, reverseName(a)
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return dnsmessage.Question{}, fmt.Errorf("dns request %q: %w", request, err)
	}
	return dnsmessage.Question{Name: n, Type: typ, Class: dnsmessage.ClassINET}, nil
}

// reverseName is the in-addr.arpa or ip6.arpa name of a.
func reverseName(a netip.Addr) string {
	a = a.Unmap()
	var b strings.Builder
	s := a.AsSlice()
	if a.Is4() {
		for i := len(s) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "%d.", s[i])
		}
		return b.String() + "in-addr.arpa."
	}
	const hex = "0123456789abcdef"
	for i := len(s) - 1; i >= 0; i-- {
		b.WriteByte(hex[s[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[s[i]>>4])
		b.WriteByte('.')
	}
	return b.String() + "ip6.arpa."
}

// errTruncated is a UDP answer with the TC bit: ask again over TCP.
var errTruncated = errors.New("answer truncated")

// dnsExchange sends the query pkt over network and returns the answer.
func dnsExchange(ctx context.Context, t Target, network string, id uint16, pkt []byte) (*dnsmessage.Message, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, hostport(t))
	if err != nil {
		return nil, err
	}
	defer bind(ctx, c)()
	var resp dnsmessage.Message
	if network == "tcp" {
		err = dnsTCP(c, pkt, id, &resp)
	} else {
		err = dnsUDP(c, pkt, id, &resp)
	}
	return &resp, err
}

// dnsUDP sends pkt and reads datagrams until the reply with id arrives.
func dnsUDP(c net.Conn, pkt []byte, id uint16, resp *dnsmessage.Message) error {
	if _, err := c.Write(pkt); err != nil {
		return err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if err := resp.Unpack(buf[:n]); err != nil || !resp.Response || resp.ID != id {
			continue // not our answer: keep waiting, as resolvers do
		}
		if resp.Truncated {
			return errTruncated
		}
		return nil
	}
}

// dnsTCP sends pkt with its length prefix and reads one reply.
func dnsTCP(c net.Conn, pkt []byte, id uint16, resp *dnsmessage.Message) error {
	out := binary.BigEndian.AppendUint16(nil, uint16(len(pkt)))
	if _, err := c.Write(append(out, pkt...)); err != nil {
		return err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if err := resp.Unpack(buf); err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	if !resp.Response || resp.ID != id {
		return fmt.Errorf("answer is not a response to query %d", id)
	}
	return nil
}
