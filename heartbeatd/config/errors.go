// Error type shared by the ha.cf, authkeys and haresources parsers.
package config

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a configuration problem in File, at Line when Line > 0.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error formats the problem as "File:Line: Msg", or "File: Msg" when the
// problem belongs to the file as a whole.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// errList collects the errors of one parse or validation.
type errList struct {
	file string
	errs []error
}

func (l *errList) add(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil, the only error, or all of them joined.
func (l *errList) err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}

// Classic heartbeat's separators (heartbeat.h).
const (
	whitespace = " \t\n\r\f"
	delims     = ", \t\n\r\f"
)

// splitAny splits s into the non-empty runs of bytes not in seps.
func splitAny(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && strings.ContainsRune(seps, r) })
}

// asciiLower lower-cases ASCII letters only, like inplace_ascii_strdown.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// position names a file and line for warnings, as Error does.
func position(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}
