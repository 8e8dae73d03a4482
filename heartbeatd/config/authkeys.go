// authkeys parser and permission check (spec §3).
package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/hasuite/hasuite/internal/conferr"
)

// MaxAuthNum is the highest authkeys entry number (MAXAUTH-1).
const MaxAuthNum = 15

// AuthEntry is one "N method [key]" line.
type AuthEntry struct {
	Num    int
	Method string // crc, md5 or sha1
	Key    string // "" for crc
	Line   int
}

// AuthKeys is a parsed authkeys file: Active is the outbound entry ("auth N");
// every entry is accepted inbound.
type AuthKeys struct {
	File    string
	Active  int
	Entries map[int]AuthEntry
}

// Nums lists the entry numbers in ascending order.
func (a *AuthKeys) Nums() []int {
	nums := make([]int, 0, len(a.Entries))
	for n := range a.Entries {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

// LoadAuthKeys reads the authkeys file at path. Like classic heartbeat it
// refuses a file that its group or others may read; write bits are not
// checked.
func LoadAuthKeys(path string) (*AuthKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading authkeys: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("loading authkeys: %w", err)
	}
	if mode := st.Mode().Perm(); mode&0o044 != 0 {
		return nil, &Error{File: path, Msg: fmt.Sprintf(
			"bad permissions %#o on keyfile: it must not be readable by group or others (600 recommended)", mode)}
	}
	return ParseAuthKeys(path, f)
}

// ParseAuthKeys parses authkeys text from r; file names it in errors.
// Errors never contain a key.
//
// Differences from classic, on purpose: "auth N" may come after entry N
// (classic then reports the entry as not found); a repeated entry or auth
// line is an error (classic keeps the last); a fourth token is an error
// (classic ignores it, so a key with a space silently loses its tail).
func ParseAuthKeys(file string, r io.Reader) (*AuthKeys, error) {
	a := &AuthKeys{File: file, Active: -1, Entries: map[int]AuthEntry{}}
	errs := conferr.List{File: file}
	authLine := 0
	bad := map[int]bool{} // entries with errors: no second "no entry" error
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if text == "" && err != nil {
			if err != io.EOF {
				return nil, fmt.Errorf("reading %s: %w", file, err)
			}
			break
		}
		// Only whole lines are comments: '#' may appear inside a key.
		bp := strings.TrimLeft(text, whitespace)
		if bp == "" || bp[0] == '#' {
			continue
		}
		f := splitAny(bp, whitespace)
		if f[0] == "auth" {
			switch {
			case authLine > 0:
				errs.Add(line, "duplicate auth line (first at line %d)", authLine)
			case len(f) != 2:
				errs.Add(line, "invalid auth line: want \"auth N\"")
			default:
				n, err := parseAuthNum(f[1])
				if err != nil {
					errs.Add(line, "invalid auth line: %v", err)
					break
				}
				a.Active, authLine = n, line
			}
			continue
		}
		e, err := parseAuthEntry(f)
		if err != nil {
			errs.Add(line, "%v", err)
			bad[e.Num] = true
			continue
		}
		if old, dup := a.Entries[e.Num]; dup {
			errs.Add(line, "duplicate entry %d (first at line %d)", e.Num, old.Line)
			continue
		}
		e.Line = line
		a.Entries[e.Num] = e
	}
	switch _, ok := a.Entries[a.Active]; {
	case authLine == 0:
		errs.Add(0, "missing auth directive (want \"auth N\" naming the entry used to sign)")
	case !ok && !bad[a.Active]:
		errs.Add(authLine, "auth %d: no entry %d in the file", a.Active, a.Active)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

func parseAuthNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || strings.Trim(s, "0123456789") != "" || n > MaxAuthNum {
		return 0, fmt.Errorf("invalid entry number %q: want 0..%d", s, MaxAuthNum)
	}
	return n, nil
}

// parseAuthEntry reads the fields of an "N method [key]" line.
func parseAuthEntry(f []string) (AuthEntry, error) {
	n, err := parseAuthNum(f[0])
	if err != nil {
		if strings.Trim(f[0], "0123456789") == "" {
			return AuthEntry{Num: -1}, err
		}
		// Not shown: a stray word here may be a key.
		return AuthEntry{Num: -1}, fmt.Errorf("invalid line: want \"N method [key]\" or \"auth N\"")
	}
	if len(f) < 2 {
		return AuthEntry{Num: n}, fmt.Errorf("entry %d: invalid line: want \"N method [key]\" or \"auth N\"", n)
	}
	e := AuthEntry{Num: n, Method: f[1]}
	switch e.Method {
	case "crc":
		if len(f) > 2 {
			return e, fmt.Errorf("entry %d: auth method crc does not use a key", n)
		}
	case "md5", "sha1":
		if len(f) < 3 {
			return e, fmt.Errorf("entry %d: auth method %s requires a key", n, e.Method)
		}
		if len(f) > 3 {
			return e, fmt.Errorf("entry %d: the key must be a single word without blanks", n)
		}
		e.Key = f[2]
	default:
		// The value is not shown: a line missing its method has the key here.
		return e, fmt.Errorf("entry %d: unknown auth method (want crc, md5 or sha1)", n)
	}
	return e, nil
}
