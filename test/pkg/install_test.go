// install_test.go: `make install DESTDIR=… [PREFIX=…]` gives exactly the
// expected files, modes and links.

package pkg

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// entry is one installed path: a file's mode or a link's target.
type entry struct {
	mode fs.FileMode // permission bits of a regular file
	link string      // target of a symbolic link
}

func (e entry) String() string {
	if e.link != "" {
		return "-> " + e.link
	}
	return fmt.Sprintf("%04o", e.mode)
}

// expectedTree is what make install should lay out under prefix (relative,
// e.g. "usr"), from the fixed binaries and the repository's etc/ files.
func expectedTree(t *testing.T, prefix string) map[string]entry {
	exe := entry{mode: 0o755}
	want := map[string]entry{
		prefix + "/sbin/heartbeatd":             exe,
		prefix + "/sbin/ipfail":                 exe,
		prefix + "/sbin/ldirectord":             exe,
		prefix + "/bin/cl_status":               exe,
		prefix + "/share/heartbeat/hb_standby":  exe,
		prefix + "/share/heartbeat/hb_takeover": exe,
		prefix + "/lib/heartbeat/ipfail":        {link: "../../sbin/ipfail"},
		prefix + "/libexec/heartbeat/ipfail":    {link: "../../sbin/ipfail"},
		"etc/ha.d/resource.d/ldirectord":        {link: "/" + prefix + "/sbin/ldirectord"},
	}
	for _, pat := range []string{"etc/systemd/*.service", "etc/systemd/*.socket", "etc/systemd/*.timer"} {
		for _, f := range repoFiles(t, pat) {
			want[prefix+"/lib/systemd/system/"+filepath.Base(f)] = entry{mode: 0o644}
		}
	}
	for _, f := range repoFiles(t, "etc/init.d/*") {
		want[f] = exe
	}
	for _, f := range append(repoFiles(t, "etc/logrotate.d/*"), repoFiles(t, "etc/default/*")...) {
		want[f] = entry{mode: 0o644}
	}
	for _, f := range repoFiles(t, "docs/*.[158].md") {
		page := strings.TrimSuffix(filepath.Base(f), ".md")
		want[prefix+"/share/man/man"+page[len(page)-1:]+"/"+page+".gz"] = entry{mode: 0o644}
	}
	want[prefix+"/share/man/man1/hb_takeover.1.gz"] = entry{link: "hb_standby.1.gz"}
	filepath.WalkDir(filepath.Join(repo, "etc/ha.d"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(filepath.Join(repo, "etc"), p)
			want[prefix+"/share/doc/hasuite/examples/"+rel] = entry{mode: 0o644}
		}
		return nil
	})
	return want
}

// installedTree lists every file and link under root; directories must be 0755.
func installedTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if info.Mode().Perm() != 0o755 {
				t.Errorf("directory %s: mode %04o, want 0755", rel, info.Mode().Perm())
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[rel] = entry{link: target}
		default:
			got[rel] = entry{mode: info.Mode().Perm()}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func compareTrees(t *testing.T, got, want map[string]entry) {
	t.Helper()
	var paths []string
	for p := range want {
		paths = append(paths, p)
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		g, inGot := got[p]
		w, inWant := want[p]
		switch {
		case !inGot:
			t.Errorf("missing: %s (%v)", p, w)
		case !inWant:
			t.Errorf("unexpected: %s (%v)", p, g)
		case g != w:
			t.Errorf("%s: %v, want %v", p, g, w)
		}
	}
}

func TestInstallTree(t *testing.T) {
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	runMake(t, filepath.Join(tmp, "bin"), "install", "DESTDIR="+dest)
	compareTrees(t, installedTree(t, dest), expectedTree(t, "usr"))

	// The relative ipfail links resolve inside the tree.
	for _, l := range []string{"usr/lib/heartbeat/ipfail", "usr/libexec/heartbeat/ipfail"} {
		if _, err := os.Stat(filepath.Join(dest, l)); err != nil {
			t.Errorf("%s does not resolve: %v", l, err)
		}
	}
	// Units and scripts are installed as written when PREFIX is /usr.
	for _, f := range repoFiles(t, "etc/systemd/*.service") {
		src, _ := os.ReadFile(filepath.Join(repo, f))
		dst, _ := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system", filepath.Base(f)))
		if string(src) != string(dst) {
			t.Errorf("%s changed on installation with PREFIX=/usr", f)
		}
	}
	// The manual pages are the rendered docs/ pages, gzip -9n.
	for _, f := range repoFiles(t, "docs/*.[158].md") {
		page := strings.TrimSuffix(filepath.Base(f), ".md")
		checkManGzip(t, filepath.Join(dest, "usr/share/man/man"+page[len(page)-1:], page+".gz"), page)
	}
	// The installed binaries run.
	if out, err := exec.Command(filepath.Join(dest, "usr/sbin/heartbeatd"), "-h").CombinedOutput(); err != nil {
		t.Errorf("installed heartbeatd -h: %v\n%s", err, out)
	}
}

func TestInstallPrefix(t *testing.T) {
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	runMake(t, filepath.Join(tmp, "bin"), "install", "DESTDIR="+dest, "PREFIX=/opt/hasuite")
	compareTrees(t, installedTree(t, dest), expectedTree(t, "opt/hasuite"))
	// Units and init scripts name the binaries where PREFIX put them.
	installed := append(repoFiles(t, "etc/init.d/*"), "")
	for _, f := range repoFiles(t, "etc/systemd/*.service") {
		installed = append(installed, "opt/hasuite/lib/systemd/system/"+filepath.Base(f))
	}
	for _, f := range installed {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dest, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "/usr/sbin/") {
			t.Errorf("%s still names /usr/sbin/ with PREFIX=/opt/hasuite", f)
		}
		if strings.Contains(filepath.Base(f), "heartbeat") && !strings.Contains(string(b), "/opt/hasuite/sbin/heartbeatd") {
			t.Errorf("%s does not name /opt/hasuite/sbin/heartbeatd", f)
		}
	}
}

func TestMaintainerScriptsShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed")
	}
	scripts := []string{"postinst", "prerm", "postrm", "stage.sh"}
	for i, s := range scripts {
		scripts[i] = filepath.Join(repo, "packaging/deb", s)
	}
	if out, err := exec.Command("shellcheck", append([]string{"-s", "sh"}, scripts...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
