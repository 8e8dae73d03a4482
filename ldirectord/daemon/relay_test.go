// relay_test.go: the smtp directive's address forms reach the alert sender as host:port.

package daemon

import (
	"strings"
	"testing"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/config"
)

func TestAlertRelayAddress(t *testing.T) {
	for _, tc := range []struct{ smtp, want string }{
		{"mail.example.org", "mail.example.org:25"},
		{"mail.example.org:2525", "mail.example.org:2525"},
		{"10.0.0.9", "10.0.0.9:25"},
		{"[2001:db8::25]", "[2001:db8::25]:25"},
		{"2001:db8::25", "[2001:db8::25]:25"},
		{"[2001:db8::25]:587", "[2001:db8::25]:587"},
	} {
		t.Run(tc.smtp, func(t *testing.T) {
			cfg, err := config.Parse("x.cf", strings.NewReader("smtp="+tc.smtp+"\nvirtual=10.255.0.1:80\n    real=127.0.0.1:1 masq\n    emailalert=\"ops@example.org\"\n"), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			d := New(Options{Config: cfg, IPVS: &kernel.FakeIPVS{}, Hostname: "director",
				SendMail: func(addr, from string, to []string, msg []byte) error {
					got = append(got, addr)
					return nil
				}})
			d.status = config.Running
			d.alert(&cfg.Virtuals[0], "test")
			d.hooks.Wait()
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("sent via %q, want %q", got, tc.want)
			}
		})
	}
}
