// Package conferr is the error type of hasuite's configuration parsers:
// every problem names its file and line ("ha.cf:12: ..."), and one parse
// collects all of them, plus warnings, instead of stopping at the first.
package conferr

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

// List collects the errors and warnings of one parse of File.
type List struct {
	File  string
	errs  []error
	warns []error
}

// Add records an error at line (0: the file as a whole).
func (l *List) Add(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.File, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Warn records a warning at line.
func (l *List) Warn(line int, format string, args ...any) {
	l.warns = append(l.warns, &Error{File: l.File, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// SortByLine orders errors and warnings by line, keeping the order of
// those on one line.
func (l *List) SortByLine() {
	for _, errs := range [][]error{l.errs, l.warns} {
		slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(a.(*Error).Line, b.(*Error).Line) })
	}
}

// Err returns nil, the only error, or all of them joined.
func (l *List) Err() error {
	switch len(l.errs) {
	case 0:
		return nil
	case 1:
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}

// Warnings returns the warnings' texts.
func (l *List) Warnings() []string {
	var out []string
	for _, w := range l.warns {
		out = append(out, w.Error())
	}
	return out
}
