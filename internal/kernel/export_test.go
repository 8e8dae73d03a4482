// export_test.go: internals for the external tests.

package kernel

// Frame builders, for decoding checks in kernel_test.
var (
	ARPFrame  = arpFrame
	NAMessage = naMessage
)
