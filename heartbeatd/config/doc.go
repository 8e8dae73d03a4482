// Package config loads heartbeat 3.0.6's R1 configuration files: ha.cf,
// authkeys and haresources, into validated models.
//
// The parsers follow the measured behaviour in
// spec/heartbeat-3.0.6.md §2-§4. Every error names the file and, where a
// line exists, the line (an *Error); several errors come back joined with
// errors.Join. Where classic heartbeat is buggy the intended behaviour is
// implemented and the difference is described next to the code.
//
// None of the three files is INI-shaped, so github.com/go-ini/ini is not
// used here: see the comment at the top of hacf.go.
package config
