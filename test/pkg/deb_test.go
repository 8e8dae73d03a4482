// deb_test.go: the .deb installed, run, removed and purged in a throwaway root.

package pkg

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// operatorFiles are /etc/ha.d files the operator wrote: purge keeps them.
var operatorFiles = map[string]string{
	"etc/ha.d/ha.cf":       "# the operator's\nlogfile /var/log/ha-log\nkeepalive 200ms\ndeadtime 2\nucast lo 127.0.0.1\nauto_failback on\nnode n1\n",
	"etc/ha.d/authkeys":    "auth 1\n1 sha1 operator-secret\n",
	"etc/ha.d/haresources": "",
	"etc/ha.d/ldirectord.cf": "checktimeout=3\nvirtual=192.0.2.10:80\n\treal=192.0.2.20:80 gate\n" +
		"\tservice=http\n\trequest=\"index.html\"\n\treceive=\"ok\"\n",
}

// hostFiles must be byte-identical after the test: it never touches the
// host's dpkg database or accounts.
var hostFiles = []string{"/var/lib/dpkg/status", "/etc/passwd", "/etc/group", "/etc/shadow"}

func TestDeb(t *testing.T) {
	if os.Geteuid() != 0 {
		netns.Skip(t, "needs root: mounts an overlay in a private mount namespace and chroots")
	}
	for _, c := range []string{"dpkg", "dpkg-deb", "dpkg-query", "unshare", "chroot"} {
		if _, err := exec.LookPath(c); err != nil {
			netns.Skip(t, "needs "+c)
		}
	}
	for _, d := range []string{"/bin", "/sbin", "/lib"} {
		if l, err := os.Readlink(d); err != nil || !strings.HasPrefix(l, "usr/") {
			netns.Skip(t, "needs a merged-/usr host ("+d+" -> usr/...): the throwaway root overlays /usr only")
		}
	}
	before := hashFiles(t)
	start := time.Now()

	tmp := t.TempDir()
	runMake(t, filepath.Join(tmp, "bin"), "deb", "DEB_COMPRESS=none")
	debs, _ := filepath.Glob(filepath.Join(tmp, "bin", "hasuite_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	deb := debs[0]
	fields := run(t, "dpkg-deb", "-f", deb, "Package", "Conflicts", "Replaces", "Provides")
	for _, f := range []string{"Package: hasuite", "Conflicts: heartbeat, ldirectord", "Replaces: heartbeat, ldirectord", "Provides: heartbeat, ldirectord"} {
		if !strings.Contains(fields, f) {
			t.Errorf("control lacks %q:\n%s", f, fields)
		}
	}
	t.Logf("make deb: %v", time.Since(start).Round(time.Millisecond))
	// The package carries the manual pages (checked in the package, as a
	// host's dpkg path-exclude may keep them from the installed root).
	contents := run(t, "dpkg-deb", "-c", deb)
	for _, f := range append(repoFiles(t, "docs/*.[158].md"), "hb_takeover.1.md") {
		page := strings.TrimSuffix(filepath.Base(f), ".md")
		if !strings.Contains(contents, "./usr/share/man/man"+page[len(page)-1:]+"/"+page+".gz") {
			t.Errorf("the package lacks the man page %s", page)
		}
	}

	r := newRoot(t, tmp)
	status := func() string {
		out, _ := exec.Command("dpkg-query", "--root="+r.dir, "-W", "-f=${Status}", "hasuite").Output()
		return string(out)
	}

	// Install over stand-ins for Debian's packages, each owning its init
	// script as a conffile: ours replaces them and takes the scripts over.
	for _, name := range []string{"heartbeat", "ldirectord"} {
		r.sh(t, `dpkg --root="$R" -i "$1"`, classicStandIn(t, tmp, name))
	}
	r.sh(t, `dpkg --root="$R" -i "$1"`, deb)
	for _, name := range []string{"heartbeat", "ldirectord"} {
		out, _ := exec.Command("dpkg-query", "--root="+r.dir, "-W", "-f=${Status}", name).Output()
		if s := string(out); s != "install ok config-files" && s != "" && !strings.Contains(s, "not-installed") {
			t.Errorf("classic %s after installing hasuite: %q", name, s)
		}
		if b, _ := os.ReadFile(filepath.Join(r.dir, "etc/init.d", name)); strings.Contains(string(b), "classic stand-in") {
			t.Errorf("/etc/init.d/%s is still the classic package's", name)
		}
	}
	if s := status(); s != "install ok installed" {
		t.Fatalf("after install: status %q", s)
	}
	for _, f := range []string{"usr/sbin/heartbeatd", "usr/sbin/ipfail", "usr/sbin/ldirectord", "usr/bin/cl_status", "usr/share/heartbeat/hb_standby"} {
		if st, err := os.Stat(filepath.Join(r.upper, f)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("after install: %s: %v", f, err)
		}
	}
	r.sh(t, `chroot "$R" /usr/sbin/heartbeatd -h >/dev/null 2>&1`)
	if out := r.sh(t, `chroot "$R" /usr/sbin/ldirectord -t /etc/ha.d/ldirectord.cf 2>&1`); !strings.Contains(out, "configuration OK (1 virtual services)") {
		t.Errorf("ldirectord -t in the installed root: %s", out)
	}
	r.sh(t, `chroot "$R" test -x /usr/libexec/heartbeat/ipfail && chroot "$R" test -x /usr/lib/heartbeat/ipfail`)
	r.sh(t, `chroot "$R" test /etc/ha.d/resource.d/ldirectord -ef /usr/sbin/ldirectord`)
	if out := r.sh(t, `chroot "$R" id hacluster`); !strings.Contains(out, "(haclient)") {
		t.Errorf("hacluster is not in haclient: %s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(r.dir, "var/lib/hasuite/created")); string(b) != "group haclient\nuser hacluster\ndir /var/lib/heartbeat\n" {
		t.Errorf("postinst recorded %q", b)
	}
	// The installed init script starts and stops heartbeatd in the root,
	// in namespaces of its own (network, pids, host name n1).
	if out := r.sh(t, `ip link set lo up
mount -t proc proc "$R/proc"
hostname n1
chroot "$R" /etc/init.d/heartbeat start
chroot "$R" /etc/init.d/heartbeat status
chroot "$R" /etc/init.d/heartbeat stop
if chroot "$R" /etc/init.d/heartbeat status; then echo "still running"; exit 1; fi
umount "$R/proc"`, "--net", "--pid", "--fork", "--uts"); !strings.Contains(out, "is running on n1") || !strings.Contains(out, "heartbeat is stopped") {
		t.Errorf("init script start/stop: %s", out)
	} else {
		t.Logf("init script start, status, stop:\n%s", out)
	}

	conffiles := strings.Fields(r.sh(t, `cat "$R/var/lib/dpkg/info/hasuite.conffiles" 2>/dev/null || true`))
	t.Logf("conffiles: %v", conffiles)

	// Installing again (an upgrade in place) creates nothing twice.
	r.sh(t, `dpkg --root="$R" -i "$1"`, deb)
	if b, _ := os.ReadFile(filepath.Join(r.dir, "var/lib/hasuite/created")); string(b) != "group haclient\nuser hacluster\ndir /var/lib/heartbeat\n" {
		t.Errorf("after reinstall, postinst recorded %q", b)
	}

	// Remove: the binaries go, the conffiles and the account stay.
	r.sh(t, `dpkg --root="$R" -r hasuite`)
	if s := status(); len(conffiles) > 0 && s != "deinstall ok config-files" || len(conffiles) == 0 && s != "" && !strings.Contains(s, "not-installed") {
		t.Errorf("after remove: status %q", s)
	}
	if _, err := os.Lstat(filepath.Join(r.upper, "usr/sbin/heartbeatd")); err == nil {
		t.Error("after remove: heartbeatd is still there")
	}
	for _, c := range conffiles {
		if _, err := os.Stat(filepath.Join(r.dir, c)); err != nil {
			t.Errorf("after remove: conffile %s: %v", c, err)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(r.dir, "etc/passwd")), "hacluster:") {
		t.Error("after remove: hacluster is gone (only purge removes it)")
	}

	// Purge: what postinst created and the conffiles go; the operator's
	// /etc/ha.d files stay; nothing is left in /usr.
	r.sh(t, `dpkg --root="$R" -P hasuite`)
	if s := status(); s != "" && !strings.Contains(s, "not-installed") {
		t.Errorf("after purge: status %q", s)
	}
	for _, c := range append(conffiles, "/var/lib/heartbeat", "/var/lib/hasuite", "/etc/ha.d/resource.d") {
		if _, err := os.Lstat(filepath.Join(r.dir, c)); err == nil {
			t.Errorf("after purge: %s is still there", c)
		}
	}
	for _, f := range []string{"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"} {
		if s := readFile(t, filepath.Join(r.dir, f)); strings.Contains(s, "hacluster:") || strings.Contains(s, "haclient:") {
			t.Errorf("after purge: %s still names hacluster or haclient", f)
		}
	}
	for f, want := range operatorFiles {
		if got := readFile(t, filepath.Join(r.dir, f)); got != want {
			t.Errorf("after purge: the operator's %s is %q", f, got)
		}
	}
	filepath.WalkDir(r.upper, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !isWhiteout(p) {
			t.Errorf("after purge: left in /usr: %s", strings.TrimPrefix(p, r.upper))
		}
		return nil
	})

	if after := hashFiles(t); !bytes.Equal(before, after) {
		t.Error("the host's dpkg status or accounts changed")
	}
	t.Logf("make deb + install, reinstall, remove, purge: %v", time.Since(start).Round(time.Millisecond))
}

// root is a throwaway root: dir holds etc, var and a seeded dpkg database;
// its usr is an overlay of the host's /usr whose changes land in upper,
// mounted only inside the private mount namespace of each sh call.
type root struct {
	dir, upper, work string
}

func newRoot(t *testing.T, tmp string) *root {
	t.Helper()
	r := &root{dir: filepath.Join(tmp, "root"), upper: filepath.Join(tmp, "upper"), work: filepath.Join(tmp, "work")}
	for _, d := range []string{"usr", "etc/ha.d", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
		"var/log", "var/cache", "tmp", "run", "dev", "proc", "root"} {
		mkdir(t, filepath.Join(r.dir, d))
	}
	mkdir(t, filepath.Join(r.upper, "usr"))
	mkdir(t, r.work)
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		if l, err := os.Readlink("/" + d); err == nil {
			if err := os.Symlink(l, filepath.Join(r.dir, d)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Accounts without the ones postinst creates (the host may have them
	// from Debian's heartbeat).
	for _, f := range []string{"passwd", "group", "shadow", "gshadow"} {
		var keep []string
		for _, l := range strings.SplitAfter(readFile(t, "/etc/"+f), "\n") {
			if !strings.HasPrefix(l, "hacluster:") && !strings.HasPrefix(l, "haclient:") {
				keep = append(keep, l)
			}
		}
		writeFile(t, filepath.Join(r.dir, "etc", f), strings.Join(keep, ""), 0o640)
	}
	os.Chmod(filepath.Join(r.dir, "etc/passwd"), 0o644)
	os.Chmod(filepath.Join(r.dir, "etc/group"), 0o644)
	for _, f := range []string{"login.defs", "nsswitch.conf", "ld.so.cache", "ld.so.conf"} {
		if b, err := os.ReadFile("/etc/" + f); err == nil {
			writeFile(t, filepath.Join(r.dir, "etc", f), string(b), 0o644)
		}
	}
	for f, s := range operatorFiles {
		writeFile(t, filepath.Join(r.dir, f), s, 0o600)
	}
	// The dpkg database knows only the packages hasuite depends on, as the
	// host has them.
	writeFile(t, filepath.Join(r.dir, "var/lib/dpkg/status"), run(t, "dpkg-query", "-s", "libc6", "passwd"), 0o644)
	writeFile(t, filepath.Join(r.dir, "var/lib/dpkg/available"), "", 0o644)
	for _, list := range []string{"libc6:" + strings.TrimSpace(run(t, "dpkg", "--print-architecture")), "passwd"} {
		writeFile(t, filepath.Join(r.dir, "var/lib/dpkg/info", list+".list"), "", 0o644)
	}
	return r
}

// sh runs script with R set to the root and the root's /usr and /dev
// mounted, in a private mount namespace; leading args starting with "--"
// are further unshare options, the others $1…; it fails the test on a
// non-zero exit and returns the output.
func (r *root) sh(t *testing.T, script string, args ...string) string {
	t.Helper()
	var ns []string // leading unshare options: further namespaces
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		ns, args = append(ns, args[0]), args[1:]
	}
	setup := `mount -t overlay overlay -o "lowerdir=/usr,upperdir=$UPPER/usr,workdir=$WORK" "$R/usr"
mount --bind /dev "$R/dev"
`
	cmd := exec.Command("unshare", append(append(append([]string{"--mount", "--propagation", "private"}, ns...), "sh", "-euc", setup+script, "sh"), args...)...)
	cmd.Env = append(os.Environ(), "R="+r.dir, "UPPER="+r.upper, "WORK="+r.work, "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// classicStandIn builds a stand-in for Debian's package name: version
// 1:3.0.6, an /etc/init.d/name conffile and nothing else.
func classicStandIn(t *testing.T, tmp, name string) string {
	t.Helper()
	dir := filepath.Join(tmp, "classic-"+name)
	mkdir(t, filepath.Join(dir, "DEBIAN"))
	mkdir(t, filepath.Join(dir, "etc/init.d"))
	writeFile(t, filepath.Join(dir, "DEBIAN/control"), "Package: "+name+"\nVersion: 1:3.0.6-1\nArchitecture: all\n"+
		"Maintainer: test <test@localhost>\nDescription: classic stand-in\n", 0o644)
	writeFile(t, filepath.Join(dir, "DEBIAN/conffiles"), "/etc/init.d/"+name+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "etc/init.d", name), "#!/bin/sh\n# classic stand-in\n", 0o755)
	deb := dir + ".deb"
	run(t, "dpkg-deb", "--root-owner-group", "-Znone", "--build", dir, deb)
	return deb
}

// isWhiteout reports an overlayfs whiteout: the upper layer's mark that a
// file of the host's /usr is deleted in the root (dpkg replaced, then
// removed, a file that Debian's heartbeat or ldirectord has on the host).
func isWhiteout(p string) bool {
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Rdev == 0
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func hashFiles(t *testing.T) []byte {
	h := sha256.New()
	for _, f := range hostFiles {
		b, _ := os.ReadFile(f)
		h.Write(b)
	}
	return h.Sum(nil)
}

func mkdir(t *testing.T, d string) {
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, f string) string {
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, f, s string, mode os.FileMode) {
	if err := os.WriteFile(f, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}
