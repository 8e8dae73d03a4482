module github.com/hasuite/hasuite

go 1.26.0

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/google/go-cmp v0.7.0
	github.com/sirupsen/logrus v1.10.2
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)
