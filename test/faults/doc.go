// Package faults holds the root-only fault suites of heartbeatd, each
// against a running pair in network namespaces: hostile packets (checked
// through the drop counters, the cluster state and the log); kill -9 of
// heartbeatd or ipfail at each phase of a takeover or standby, and
// partitions healed in every auto_failback mode, under a record of the
// VIPs from the kernel's address events; and operational faults: a broken
// reload, a hanging resource script, a read-only or full state directory
// or log file system. docs/testing.md lists the tests.
package faults

// doc.go: the package comment.
