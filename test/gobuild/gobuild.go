// Package gobuild compiles this module's commands once per test binary,
// for suites that run the real binaries.
package gobuild

// gobuild.go: Once, the build and the removal of what it built.

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// Once builds its packages at the first Build and keeps the result; a
// package-level Once in a suite, removed by its TestMain.
type Once struct {
	once sync.Once
	dir  string
	err  error
}

// Build compiles pkgs (import paths of main packages) into one temporary
// directory the first time it is called and returns that directory; later
// calls return the same, or fail the test with the same build error.
func (o *Once) Build(t testing.TB, pkgs ...string) string {
	t.Helper()
	o.once.Do(func() {
		if o.dir, o.err = os.MkdirTemp("", "hasuite-build-"); o.err != nil {
			return
		}
		out, err := exec.Command("go", append([]string{"build", "-o", o.dir + "/"}, pkgs...)...).CombinedOutput()
		if err != nil {
			o.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.dir
}

// Remove deletes what Build made; call it from TestMain after m.Run.
func (o *Once) Remove() {
	if o.dir != "" {
		os.RemoveAll(o.dir)
	}
}
