// ldap_test.go: the ldap and ldaps checks against a minimal loopback LDAP server.

package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/google/go-cmp/cmp"
)

// LDAP result codes the test server uses.
const (
	ldapSuccess      = 0
	ldapNoSuchObject = 32
	ldapInvalidCreds = 49
)

// ldapServer answers simple binds (anonymous, or cn=admin,dc=example,dc=com
// with password secret) and base searches: dc=example,dc=com has one entry,
// ou=twins,dc=example,dc=com oddly returns two, anything else is
// noSuchObject. Each session's operations go to the returned channel.
func ldapServer(t *testing.T, cfg *tls.Config) (netip.AddrPort, chan []string) {
	t.Helper()
	var ln net.Listener = listen(t)
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	seen := make(chan []string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			seen <- ldapSession(c)
			c.Close()
		}
	}()
	return addrPort(t, ln.Addr()), seen
}

func ldapSession(c net.Conn) []string {
	var ops []string
	for {
		p, err := ber.ReadPacket(c)
		if err != nil || len(p.Children) < 2 {
			return ops
		}
		id := p.Children[0].Value
		op := p.Children[1]
		reply := func(tag ber.Tag, body ...*ber.Packet) {
			m := ber.NewSequence("message")
			m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "id"))
			o := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "op")
			for _, b := range body {
				o.AppendChild(b)
			}
			m.AppendChild(o)
			c.Write(m.Bytes())
		}
		str := func(s string) *ber.Packet {
			return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
		}
		result := func(tag ber.Tag, code int) {
			reply(tag, ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "code"), str(""), str(""))
		}
		switch op.Tag {
		case 0: // BindRequest
			name, _ := op.Children[1].Value.(string)
			pw := op.Children[2].Data.String()
			ops = append(ops, fmt.Sprintf("bind %q", name))
			code := ldapInvalidCreds
			if name == "" && pw == "" || name == "cn=admin,dc=example,dc=com" && pw == "secret" {
				code = ldapSuccess
			}
			result(1, code)
		case 3: // SearchRequest
			base, _ := op.Children[0].Value.(string)
			ops = append(ops, fmt.Sprintf("search %q scope %v", base, op.Children[1].Value))
			entry := func(dn string) {
				reply(4, str(dn), ber.NewSequence("attributes"))
			}
			switch base {
			case "dc=example,dc=com":
				entry(base)
				result(5, ldapSuccess)
			case "ou=twins,dc=example,dc=com":
				entry(base)
				entry("cn=other," + base)
				result(5, ldapSuccess)
			default:
				result(5, ldapNoSuchObject)
			}
		case 2: // UnbindRequest
			return append(ops, "unbind")
		default:
			return append(ops, fmt.Sprintf("op %d", op.Tag))
		}
	}
}

func TestLDAP(t *testing.T) {
	plain, plainSeen := ldapServer(t, nil)
	cfg, caFile := testTLS(t)
	secure, secureSeen := ldapServer(t, cfg)
	const admin = "cn=admin,dc=example,dc=com"
	for _, tt := range []struct {
		name   string
		c      LDAP
		real   netip.AddrPort
		seen   chan []string
		t      Target
		ok     bool
		errHas string
		want   []string
	}{
		{"anonymous", LDAP{}, plain, plainSeen, Target{Request: "/dc=example,dc=com"}, true, "",
			[]string{`bind ""`, `search "dc=example,dc=com" scope 0`, "unbind"}},
		{"login, DN matches", LDAP{}, plain, plainSeen, Target{Request: "/dc=example,dc=com", Login: admin, Passwd: "secret", Receive: "^dc=example"}, true, "",
			[]string{`bind "cn=admin,dc=example,dc=com"`, `search "dc=example,dc=com" scope 0`, "unbind"}},
		{"DN does not match", LDAP{}, plain, plainSeen, Target{Request: "/dc=example,dc=com", Receive: "ou=people"}, false, `DN "dc=example,dc=com" does not match "ou=people"`,
			[]string{`bind ""`, `search "dc=example,dc=com" scope 0`, "unbind"}},
		{"bad password", LDAP{}, plain, plainSeen, Target{Request: "/dc=example,dc=com", Login: admin, Passwd: "wrong"}, false, "Invalid Credentials",
			[]string{`bind "cn=admin,dc=example,dc=com"`, "unbind"}},
		{"no such object", LDAP{}, plain, plainSeen, Target{Request: "/ou=gone,dc=example,dc=com"}, false, "No Such Object",
			[]string{`bind ""`, `search "ou=gone,dc=example,dc=com" scope 0`, "unbind"}},
		{"two entries", LDAP{}, plain, plainSeen, Target{Request: "/ou=twins,dc=example,dc=com"}, false, "2 entries, want 1",
			[]string{`bind ""`, `search "ou=twins,dc=example,dc=com" scope 0`, "unbind"}},
		{"ldaps", LDAP{TLS: true}, secure, secureSeen, Target{Request: "/dc=example,dc=com", TLS: TLSOptions{Verify: true, CAFile: caFile}}, true, "",
			[]string{`bind ""`, `search "dc=example,dc=com" scope 0`, "unbind"}},
		{"ldaps unknown CA", LDAP{TLS: true}, secure, secureSeen, Target{Request: "/dc=example,dc=com", TLS: TLSOptions{Verify: true}}, false, "certificate signed by unknown authority",
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Real = tt.real
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := tt.c.Check(ctx, tt.t)
			if r.OK != tt.ok || !strings.Contains(errString(r.Err), tt.errHas) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error containing %q", r, tt.ok, tt.errHas)
			}
			select {
			case got := <-tt.seen:
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("server saw (-want +got):\n%s", diff)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server session did not end")
			}
		})
	}
}
