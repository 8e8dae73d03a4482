// Error type and collection for the ldirectord.cf parser.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
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

// errList collects the errors and warnings of one parse.
type errList struct {
	file  string
	errs  []error
	warns []error
}

func (l *errList) add(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l *errList) warn(line int, format string, args ...any) {
	l.warns = append(l.warns, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// byLine orders errors by line, keeping the order of those on one line.
func byLine(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(a.(*Error).Line, b.(*Error).Line) })
}

// warnings returns the warnings' texts in line order.
func (l *errList) warnings() []string {
	byLine(l.warns)
	var out []string
	for _, w := range l.warns {
		out = append(out, w.Error())
	}
	return out
}

// err returns nil, the only error, or all of them joined.
func (l *errList) err() error {
	byLine(l.errs)
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}
