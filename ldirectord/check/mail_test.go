// mail_test.go: the smtp, pop, imap and nntp checks against scripted loopback servers.

package check

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// script answers each command by its first word; QUIT/LOGOUT close.
func script(answers map[string]string) func(string) (string, bool) {
	return func(l string) (string, bool) {
		w := strings.Fields(l)
		if len(w) == 0 {
			return "", false
		}
		key := strings.ToUpper(w[0])
		if len(w) > 1 && strings.HasPrefix(w[0], "a") {
			key = strings.ToUpper(w[1]) // IMAP tag
		}
		return answers[key], key == "QUIT" || key == "LOGOUT"
	}
}

func TestSocketCheckers(t *testing.T) {
	smtpOK := map[string]string{"EHLO": "250-mx\r\n250 PIPELINING\r\n", "QUIT": "221 bye\r\n"}
	smtpNoEHLO := map[string]string{"EHLO": "502 no\r\n", "HELO": "250 mx\r\n", "QUIT": "221 bye\r\n"}
	popOK := map[string]string{"USER": "+OK\r\n", "PASS": "+OK logged in\r\n", "QUIT": "+OK\r\n"}
	popBadPass := map[string]string{"USER": "+OK\r\n", "PASS": "-ERR denied\r\n", "QUIT": "+OK\r\n"}
	imapOK := map[string]string{"LOGIN": "* CAPABILITY IMAP4rev1\r\na1 OK done\r\n", "LOGOUT": "* BYE\r\na2 OK\r\n"}
	imapNo := map[string]string{"LOGIN": "a1 NO bad\r\n", "LOGOUT": "* BYE\r\na2 OK\r\n"}
	for _, tt := range []struct {
		name     string
		c        Checker
		t        Target
		greeting string
		answers  map[string]string
		ok       bool
		err      string // the error's end
		want     []string
	}{
		{"smtp", SMTP{}, Target{}, "220 mx ESMTP\r\n", smtpOK, true, "", []string{"EHLO", "QUIT"}},
		{"smtp helo fallback", SMTP{}, Target{}, "220 mx\r\n", smtpNoEHLO, true, "", []string{"EHLO", "HELO", "QUIT"}},
		{"smtp busy", SMTP{}, Target{}, "421 busy\r\n", smtpOK, false, `smtp greeting: 421 "busy"`, nil},
		{"smtp hello refused", SMTP{}, Target{}, "220 mx\r\n", map[string]string{"EHLO": "550 no\r\n", "HELO": "550 no\r\n"}, false, `smtp hello: 550 "no"`, []string{"EHLO", "HELO"}},
		{"pop no login", POP{}, Target{}, "+OK POP3 ready\r\n", popOK, true, "", []string{"QUIT"}},
		{"pop login", POP{}, Target{Login: "u", Passwd: "p"}, "+OK POP3 ready\r\n", popOK, true, "", []string{"USER u", "PASS p", "QUIT"}},
		{"pop bad password", POP{}, Target{Login: "u", Passwd: "p"}, "+OK POP3 ready\r\n", popBadPass, false, `pop PASS: "-ERR denied"`, []string{"USER u", "PASS p"}},
		{"pop bad greeting", POP{}, Target{}, "-ERR go away\r\n", popOK, false, `pop greeting: "-ERR go away"`, nil},
		{"imap no login", IMAP{}, Target{}, "* OK IMAP ready\r\n", imapOK, true, "", []string{"a2 LOGOUT"}},
		{"imap login", IMAP{}, Target{Login: "u", Passwd: `p"q`}, "* OK IMAP ready\r\n", imapOK, true, "", []string{`a1 LOGIN "u" "p\"q"`, "a2 LOGOUT"}},
		{"imap login refused", IMAP{}, Target{Login: "u", Passwd: "p"}, "* OK IMAP ready\r\n", imapNo, false, `imap login: "a1 NO bad"`, []string{`a1 LOGIN "u" "p"`}},
		{"imap bye", IMAP{}, Target{}, "* BYE overloaded\r\n", imapOK, false, `imap greeting: "* BYE overloaded"`, nil},
		{"nntp ready", NNTP{}, Target{}, "200 news ready\r\n", nil, true, "", nil},
		{"nntp refused", NNTP{}, Target{}, "502 no permission\r\n", nil, false, `nntp greeting: "502 no permission"`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			real, lines := serveScript(t, tt.greeting, script(tt.answers))
			tt.t.Real = real
			r := tt.c.Check(context.Background(), tt.t)
			if r.OK != tt.ok || !strings.HasSuffix(errString(r.Err), tt.err) || (tt.ok && r.Err != nil) {
				t.Errorf("Check = %+v, want OK %v and an error ending %q", r, tt.ok, tt.err)
			}
			got := lines()
			for i, l := range got {
				if strings.HasPrefix(l, "EHLO ") || strings.HasPrefix(l, "HELO ") {
					got[i] = l[:4] // the local host name varies
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("server got (-want +got):\n%s", diff)
			}
		})
	}
}
