// fuzz_test.go: fuzz target for the hb_generation state file.

package daemon

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzGeneration: whatever hb_generation holds, the next generation is
// its number plus one (or an error naming the file, which is then left
// as it was), and the file written back reads as that generation.
func FuzzGeneration(f *testing.F) {
	for _, s := range []string{"     1700000000\n", "7", "", "x\n", "-1\n", "18446744073709551615\n", "18446744073709551614\n", " 12 \n\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "hb_generation")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		gen, err := nextGeneration(dir, time.Unix(1700000000, 0))
		old, perr := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			after, _ := os.ReadFile(path)
			if perr == nil && old != math.MaxUint64 || !strings.Contains(err.Error(), path) || string(after) != string(data) {
				t.Fatalf("nextGeneration of %q: %v (file now %q)", data, err, after)
			}
			return
		}
		if perr != nil || gen != old+1 || gen == 0 {
			t.Fatalf("nextGeneration of %q = %d", data, gen)
		}
		b, _ := os.ReadFile(path)
		if back, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil || back != gen {
			t.Fatalf("file after %d holds %q", gen, b)
		}
	})
}
