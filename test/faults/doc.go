// Package faults holds the root-only fault suites of heartbeatd: hostile
// input against a running pair in network namespaces, checked through the
// daemon's drop counters, its cluster state and its log.
package faults
