// man_test.go: `make man` renders every docs/NAME.S.md to a man page that
// groff formats without a warning, with its .TH header and NAME line.

package pkg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hasuite/hasuite/test/netns"
)

// manuals is the manual each section's pages name in .TH.
var manuals = map[string]string{"1": "User Commands", "5": "File Formats", "8": "System Administration"}

var thLine = regexp.MustCompile(`(?m)^\.TH ([^ ]+) ([0-9]) "([0-9-]*)" "hasuite" "([^"]+)"$`)

// checkManPage checks a rendered page's header, NAME section and body.
func checkManPage(t *testing.T, page string, roff []byte) {
	t.Helper()
	name, section := page[:len(page)-2], page[len(page)-1:]
	m := thLine.FindSubmatch(roff)
	if m == nil {
		t.Errorf("%s: no .TH NAME S \"date\" \"hasuite\" \"manual\" line:\n%.300s", page, roff)
		return
	}
	if string(m[1]) != strings.ToUpper(name) || string(m[2]) != section || string(m[4]) != manuals[section] {
		t.Errorf("%s: header %q", page, m[0])
	}
	// whatis/lexgrog want "name \- description" right after .SH NAME.
	if !regexp.MustCompile(`(?m)^\.SH NAME\n` + regexp.QuoteMeta(name) + `(, [a-z_]+)* \\- \S`).Match(roff) {
		t.Errorf("%s: NAME section is not \"%s \\- description\"", page, name)
	}
	for _, sh := range []string{".SH SYNOPSIS", ".SH DESCRIPTION", ".SH SEE ALSO"} {
		if !bytes.Contains(roff, []byte("\n"+sh+"\n")) {
			t.Errorf("%s: no %s", page, sh)
		}
	}
	// Markdown that leaked through unrendered.
	for _, leak := range []string{"`", "**", "\n: ", "MD2MAN"} {
		if bytes.Contains(roff, []byte(leak)) {
			t.Errorf("%s: raw Markdown %q in the page", page, leak)
		}
	}
}

// checkManGzip checks an installed page: gzip without name or time (-9n),
// holding a valid page.
func checkManGzip(t *testing.T, path, page string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if z.Name != "" || !z.ModTime.IsZero() {
		t.Errorf("%s: gzip header keeps name %q, time %v (want gzip -n)", path, z.Name, z.ModTime)
	}
	roff, err := io.ReadAll(z)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	checkManPage(t, page, roff)
}

func TestManPages(t *testing.T) {
	tmp := t.TempDir()
	runMake(t, tmp, "man")
	sources := repoFiles(t, "docs/*.[158].md")
	if len(sources) < 9 {
		t.Fatalf("only %d pages in docs/: %v", len(sources), sources)
	}
	groff, groffErr := exec.LookPath("groff")
	for _, src := range sources {
		page := strings.TrimSuffix(filepath.Base(src), ".md")
		roff, err := os.ReadFile(filepath.Join(tmp, "man", page))
		if err != nil {
			t.Error(err)
			continue
		}
		checkManPage(t, page, roff)
		if groffErr != nil {
			continue
		}
		// Every warning on (-ww) but "cannot adjust line" (-Wbreak), which
		// only says a long word left a justified line short.
		cmd := exec.Command(groff, "-man", "-t", "-Tutf8", "-ww", "-Wbreak", "-z", filepath.Join(tmp, "man", page))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff %s: %v\n%s", page, err, stderr.String())
		}
	}
	if groffErr != nil {
		netns.Skip(t, fmt.Sprintf("checked %d pages' roff but not their formatting: groff is not installed (test/deps.sh installs groff-base)", len(sources)))
	}
}

// TestManRejectsRawHTML: a <word> outside code would vanish from the page,
// so the converter refuses it.
func TestManRejectsRawHTML(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.8.md")
	if err := os.WriteFile(src, []byte("# bad(8)\n\n## NAME\n\nbad - sends <us> nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./internal/tools/md2man", "-o", filepath.Join(dir, "out"), src)
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "raw HTML") {
		t.Errorf("md2man accepted raw HTML: %v\n%s", err, out)
	}
}
