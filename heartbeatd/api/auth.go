// Auth: the apiauth table deciding which users and groups may sign on as which client.
package api

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/hasuite/hasuite/heartbeatd/config"
)

// Client names with a special meaning in the apiauth table.
const (
	// AuthAnon authorises casual clients: those that sign on without a name
	// (or with their pid as name), such as cl_status.
	AuthAnon = "anon"
	// AuthDefault authorises named clients that have no entry of their own.
	// Classic has no default entry, so such clients are refused.
	AuthDefault = "default"
)

// classicAuth is classic heartbeat's authorisation of well-known clients
// (config.c), the same list config fills in for unconfigured ones; it is the
// table of a Server until SetAuth or SetConfig is called.
var classicAuth = []config.APIAuth{
	{Client: "ipfail", UIDs: []string{"hacluster"}},
	{Client: "ccm", UIDs: []string{"hacluster"}},
	{Client: "ping", GIDs: []string{"haclient"}},
	{Client: "lha-snmpagent", UIDs: []string{"root"}},
	{Client: AuthAnon, UIDs: []string{"root"}, GIDs: []string{"haclient"}},
}

// hasuiteAuth authorises hasuite's own tools unless ha.cf says otherwise:
// hb_standby and hb_takeover send cluster messages, which classic lets only
// named clients do; classic's scripts wrote to a FIFO only root may open.
var hasuiteAuth = []config.APIAuth{
	{Client: "hb_standby", UIDs: []string{"root"}},
	{Client: "hb_takeover", UIDs: []string{"root"}},
}

// Auth is a resolved apiauth table. The zero value authorises nobody.
type Auth struct {
	entries map[string]authEntry
}

// authEntry holds numeric ids; a nil set places no condition of its own.
type authEntry struct {
	uids, gids map[uint32]bool
}

// allows is cluster-glue's verify_creds: allowed when neither set is given,
// or when uid is in the uid set, or gid in the gid set.
func (e authEntry) allows(uid, gid uint32) bool {
	if e.uids == nil && e.gids == nil {
		return true
	}
	return e.uids[uid] || e.gids[gid]
}

// NewAuth resolves ha.cf apiauth entries (user and group names or numbers)
// and adds the entries for hb_standby and hb_takeover unless entries has
// them. An entry with a name that does not resolve is left out, as classic
// does, and reported in the error; the table is usable either way.
func NewAuth(entries []config.APIAuth) (*Auth, error) {
	return newAuth(entries, lookupUID, lookupGID)
}

func newAuth(entries []config.APIAuth, uidOf, gidOf func(string) (uint32, error)) (*Auth, error) {
	a := &Auth{entries: make(map[string]authEntry)}
	seen := make(map[string]bool)
	var errs []error
	add := func(e config.APIAuth) {
		if seen[e.Client] {
			return
		}
		seen[e.Client] = true
		var ent authEntry
		var err error
		if e.UIDs != nil {
			if ent.uids, err = idSet(e.UIDs, uidOf); err != nil {
				errs = append(errs, fmt.Errorf("apiauth %s: %w", e.Client, err))
				return
			}
		}
		if e.GIDs != nil {
			if ent.gids, err = idSet(e.GIDs, gidOf); err != nil {
				errs = append(errs, fmt.Errorf("apiauth %s: %w", e.Client, err))
				return
			}
		}
		a.entries[e.Client] = ent
	}
	for _, e := range entries {
		add(e)
	}
	for _, e := range hasuiteAuth {
		add(e)
	}
	return a, errors.Join(errs...)
}

func idSet(names []string, lookup func(string) (uint32, error)) (map[uint32]bool, error) {
	set := make(map[uint32]bool, len(names))
	for _, n := range names {
		id, err := lookup(n)
		if err != nil {
			return nil, err
		}
		set[id] = true
	}
	return set, nil
}

// leadingInt is C atoi: optional blanks and sign, then digits; 0 if none.
func leadingInt(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<31 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// lookupUID maps a user name to its uid; a name starting with a digit is a
// number, as in cluster-glue.
func lookupUID(name string) (uint32, error) {
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		return uint32(leadingInt(name)), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("invalid user name %q: %w", name, err)
	}
	id, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	return uint32(id), nil
}

// lookupGID maps a group name to its gid, like lookupUID.
func lookupGID(name string) (uint32, error) {
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		return uint32(leadingInt(name)), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("invalid group name %q: %w", name, err)
	}
	id, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group %q: gid %q: %w", name, g.Gid, err)
	}
	return uint32(id), nil
}

// check decides whether a client may sign on, like classic
// api_check_client_authorization: casual clients use the anon entry, named
// ones their own entry or else the default entry. uid and gid are the
// peer's real credentials. The reason is classic's.
func (a *Auth) check(casual bool, id string, uid, gid uint32) (reason string, ok bool) {
	var ent authEntry
	var found bool
	if casual {
		if ent, found = a.entries[AuthAnon]; !found {
			return "apiauth anon missing", false
		}
	} else if ent, found = a.entries[id]; !found {
		if ent, found = a.entries[AuthDefault]; !found {
			return "no default client auth", false
		}
	}
	if !ent.allows(uid, gid) {
		return "client failed authorization", false
	}
	return "", true
}
