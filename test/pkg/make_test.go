// make_test.go: running the repository's make targets into a temporary directory.

package pkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// repo is the repository's root, two levels above this package.
var repo, _ = filepath.Abs("../..")

// runMake runs make with args in the repository, its binaries going to a
// temporary BIN so the work tree's bin/ is not touched.
func runMake(t *testing.T, bin string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", append([]string{"-s", "-C", repo, "BIN=" + bin}, args...)...)
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
}

// repoFiles returns the regular files matching pattern in the repository,
// relative to it.
func repoFiles(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(repo, pattern))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range m {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			rel, _ := filepath.Rel(repo, f)
			files = append(files, rel)
		}
	}
	return files
}
