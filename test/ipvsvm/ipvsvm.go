// Package ipvsvm runs jobs inside a throw-away qemu VM booted with Debian's
// kernel (which has IPVS) with ip_vs and its schedulers loaded: the suites
// that need a real IPVS run there, since the development machines' kernel
// has none.
//
// The VM (see /work/shared/notes/ipvs-vm.md for the measured facts) is
// qemu's microvm in software emulation (KVM is unusable here) booting the
// ELF vmlinux through PVH. A small initramfs (busybox, the modules, an init
// script) loads the modules, mounts the host's / read-only over virtio-9p
// with a tmpfs overlay on top, and chroots into it, so host binaries (the
// test binary, ipvsadm, ip, perl) run unchanged at their host paths. The
// job directory is shared read-write at its host path. The job's output
// goes to the serial console between the markers "IPVSVM-READY" and
// "IPVSVM-RC=<status>", and into output.log in the job directory.
//
// test/ipvsvm/prepare.sh (run by test/deps.sh as root) installs qemu and
// ipvsadm and unpacks the kernel and busybox into the cache,
// $HASUITE_IPVSVM_CACHE or /var/cache/hasuite/ipvsvm.
//
// Typical use from a test (one VM boot for all the guest tests):
//
//	func TestVM(t *testing.T) { ipvsvm.RunTests(t, ipvsvm.GoTest{Run: "^TestGuest"}) }
//	func TestGuestSomething(t *testing.T) { ipvsvm.GuestOnly(t); ... }
package ipvsvm

// ipvsvm.go: finding the kernel and qemu, and running one job in a VM.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hasuite/hasuite/test/netns"
)

// Environment variables.
const (
	// EnvCache overrides the directory prepare.sh fills.
	EnvCache = "HASUITE_IPVSVM_CACHE"
	// EnvGuest is "1" in the environment of every job: code inside the VM.
	EnvGuest = "HASUITE_IPVSVM_GUEST"
)

// DefaultCache is where prepare.sh puts the kernel when EnvCache is unset.
const DefaultCache = "/var/cache/hasuite/ipvsvm"

// Defaults of a Job. Boot takes 3-5 s on a 2-core host and a Go test binary
// a few more; the timeout leaves room for a loaded machine.
const (
	DefaultTimeout = 120 * time.Second
	DefaultMem     = 256 // MiB; the guest uses ~30 after boot
)

// Exit statuses in Result.RC that do not come from the job.
const (
	RCTimeout  = 124 // the job did not end in time; qemu was killed
	RCNoStatus = 125 // the VM ended without reporting a status (panic, init failure)
)

// Markers on the serial console.
const (
	markReady = "IPVSVM-READY"
	markRC    = "IPVSVM-RC="
	markError = "IPVSVM-ERROR"
)

// Kernel is a prepared guest: the kernel, its modules and busybox.
type Kernel struct {
	Qemu       string // qemu-system-x86_64
	Release    string // e.g. 6.1.0-56-amd64
	Vmlinux    string // ELF kernel, booted through PVH
	ModulesDir string // .../lib/modules/<release>/kernel
	Busybox    string // static busybox for the initramfs
}

// Find locates qemu and the prepared kernel; the error says what is
// missing and how to get it.
func Find() (*Kernel, error) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, errors.New("qemu-system-x86_64 not installed (run test/deps.sh as root)")
	}
	dir := os.Getenv(EnvCache)
	if dir == "" {
		dir = DefaultCache
	}
	rel, err := os.ReadFile(filepath.Join(dir, "kernel-release"))
	if err != nil {
		return nil, fmt.Errorf("no prepared IPVS kernel in %s (run test/deps.sh or test/ipvsvm/prepare.sh as root): %w", dir, err)
	}
	k := &Kernel{
		Qemu:    qemu,
		Release: strings.TrimSpace(string(rel)),
		Vmlinux: filepath.Join(dir, "vmlinux"),
		Busybox: filepath.Join(dir, "busybox"),
	}
	k.ModulesDir = filepath.Join(dir, "linux", "lib", "modules", k.Release, "kernel")
	for _, p := range []string{k.Vmlinux, k.Busybox, k.ModulesDir} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("IPVS kernel in %s incomplete (run test/ipvsvm/prepare.sh as root): %w", dir, err)
		}
	}
	return k, nil
}

// Require returns the kernel, or skips the test (fails it when
// HASUITE_REQUIRE_ROOT_SUITES=1) when qemu or the kernel is missing. With
// -short (make unit) it always skips.
func Require(t testing.TB) *Kernel {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no IPVS VM")
	}
	k, err := Find()
	if err != nil {
		netns.Skip(t, "IPVS VM unavailable: "+err.Error())
	}
	return k
}

// InGuest reports whether the code runs inside the VM.
func InGuest() bool { return os.Getenv(EnvGuest) == "1" }

// Job is what runs in one VM.
type Job struct {
	// Script is run by /bin/sh (the host's) as root in the chroot of the
	// host's root, with Env and EnvGuest=1 set and WorkDir as the current
	// directory.
	Script string
	// WorkDir is the directory the script starts in; default "/".
	WorkDir string
	// Env holds extra "NAME=value" variables.
	Env []string
	// Dir is the host directory shared read-write with the guest at the
	// same path: run.sh, output.log and rc are written there, and the job
	// may leave files there. Default: a temporary directory, removed after
	// the run.
	Dir string
	// Modules are loaded in addition to BaseModules (with dependencies).
	Modules []string
	// Timeout bounds the whole run, boot included; default DefaultTimeout.
	Timeout time.Duration
	// Mem is the guest's memory in MiB; default DefaultMem.
	Mem int
	// CPUs is the number of virtual CPUs; default 1.
	CPUs int
}

// Result is the outcome of a job.
type Result struct {
	// RC is the script's exit status, or RCTimeout or RCNoStatus.
	RC int
	// Output is the script's standard output and error.
	Output string
	// Console is everything on the serial console.
	Console string
	// Ready is the time from starting qemu to the job starting (boot and
	// module loading); Wall is the whole run.
	Ready, Wall time.Duration
}

// Run boots a VM, runs job in it and returns its result. The error is
// non-nil when the VM could not be run or gave no status (then RC is
// RCTimeout or RCNoStatus and Console tells why), not when the script
// failed.
func (k *Kernel) Run(ctx context.Context, job Job) (*Result, error) {
	start := time.Now()
	if job.Timeout == 0 {
		job.Timeout = DefaultTimeout
	}
	if job.Mem == 0 {
		job.Mem = DefaultMem
	}
	if job.WorkDir == "" {
		job.WorkDir = "/"
	}
	if job.CPUs == 0 {
		job.CPUs = 1
	}
	tmp, err := os.MkdirTemp("", "ipvsvm-")
	if err != nil {
		return nil, fmt.Errorf("ipvsvm: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := job.Dir
	if dir == "" {
		dir = filepath.Join(tmp, "job")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ipvsvm: %w", err)
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("ipvsvm: %w", err)
	}
	for _, f := range []string{"output.log", "rc"} {
		os.Remove(filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte(jobScript(job)), 0o755); err != nil {
		return nil, fmt.Errorf("ipvsvm: writing run.sh: %w", err)
	}
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := k.buildInitramfs(initrd, append(append([]string{}, BaseModules...), job.Modules...), initScript(dir)); err != nil {
		return nil, fmt.Errorf("ipvsvm: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, job.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.Qemu, k.qemuArgs(initrd, dir, job.Mem, job.CPUs)...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("ipvsvm: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ipvsvm: starting qemu: %w", err)
	}
	res := &Result{RC: RCNoStatus}
	gotRC := false
	var console strings.Builder
	// Read the console to its end (qemu's exit) before Wait.
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		console.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, markReady) && res.Ready == 0:
			res.Ready = time.Since(start)
		case strings.HasPrefix(line, markRC):
			if rc, err := strconv.Atoi(line[len(markRC):]); err == nil {
				res.RC, gotRC = rc, true
			}
		}
	}
	_, _ = io.Copy(io.Discard, stdout) // after an over-long line
	werr := cmd.Wait()
	res.Wall = time.Since(start)
	res.Console = console.String()
	if b, err := os.ReadFile(filepath.Join(dir, "output.log")); err == nil {
		res.Output = string(b)
	}
	switch {
	case ctx.Err() != nil:
		res.RC = RCTimeout
		return res, fmt.Errorf("ipvsvm: no result after %v (console tail: %s)", job.Timeout, tail(res.Console, 15))
	case !gotRC:
		return res, fmt.Errorf("ipvsvm: the VM ended without a job status (qemu: %v %s; console tail: %s)",
			werr, strings.TrimSpace(stderr.String()), tail(res.Console, 15))
	}
	return res, nil
}

// qemuArgs is the measured fast configuration (notes/ipvs-vm.md): microvm,
// TCG with a 128 MiB translation cache, PVH boot of the ELF kernel, the
// host's / read-only and the job directory read-write over virtio-9p,
// isa-debug-exit to end at once.
func (k *Kernel) qemuArgs(initrd, jobDir string, mem, cpus int) []string {
	return []string{
		"-M", "microvm,pit=on,pic=on,rtc=on",
		"-accel", "tcg,thread=multi,tb-size=128", "-cpu", "qemu64",
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", k.Vmlinux, "-initrd", initrd,
		// tsc_early_khz and lpj: microvm hangs calibrating the TSC without them.
		// tsc=reliable: TCG's TSC is the host's, but on a busy host the
		// clocksource watchdog (or, with -smp 2, the sync check) marks it
		// unstable and the guest falls back to jiffies, which lose ticks:
		// the guest's clock then runs slow.
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic nokaslr mitigations=off audit=0 tsc=reliable tsc_early_khz=" +
			strconv.Itoa(hostTSCkHz()) + " lpj=8000000",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
		"-device", "virtio-9p-device,fsdev=hostroot,mount_tag=hostroot",
		// A "," in an option value is written ",,".
		"-fsdev", "local,id=job,path=" + strings.ReplaceAll(jobDir, ",", ",,") + ",security_model=none",
		"-device", "virtio-9p-device,fsdev=job,mount_tag=job",
		"-serial", "stdio",
	}
}

// hostTSCkHz is the frequency to give the guest for its TSC. Under TCG the
// guest reads the host's TSC, so a wrong value makes the guest's clock run
// fast or slow (2 GHz on a 2.6 GHz host: 1.3 times fast). The host's "cpu
// MHz" is its TSC rate on these VMs (no frequency scaling); 2 GHz if
// unknown.
func hostTSCkHz() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(k) == "cpu MHz" {
				if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 100 {
					return int(mhz * 1000)
				}
				break
			}
		}
	}
	return 2000000
}

// initScript is the guest's /init (busybox sh): load the modules, build the
// overlay root, share the job directory at jobDir, run jobDir/run.sh in the
// chroot and report its status.
func initScript(jobDir string) string {
	return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
exit_vm() {
	printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	poweroff -f
}
fail() {
	echo "` + markError + ` $*"
	exit_vm 125
}
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do
	insmod "/modules/$m.ko" || echo "` + markError + ` insmod $m"
done </modules/order
opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,ro" hostroot /host || fail mounting the host root
mount -t tmpfs -o mode=0755 tmpfs /rw || fail tmpfs
mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail overlay
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $R/run
J=` + shellQuote(jobDir) + `
mkdir -p "$R$J"
mount -t 9p -o "$opts" job "$R$J" || fail mounting the job directory
ip link set lo up
echo "` + markReady + ` uptime=$(cut -d' ' -f1 /proc/uptime)"
set -o pipefail
chroot $R /bin/sh "$J/run.sh" 2>&1 | tee "$R$J/output.log"
rc=$?
echo "$rc" >"$R$J/rc"
umount "$R$J"
printf '\n` + markRC + `%d\n' "$rc"
[ "$rc" -gt 127 ] && rc=127
exit_vm "$rc"
`
}

// jobScript is run.sh: the environment, the directory, then the script.
func jobScript(job Job) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	env := append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "TMPDIR=/tmp", "LC_ALL=C.UTF-8", EnvGuest + "=1",
	}, job.Env...)
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			b.WriteString("export " + shellQuote(kv) + "\n")
		}
	}
	b.WriteString("cd " + shellQuote(job.WorkDir) + " || exit 126\n")
	b.WriteString(job.Script)
	b.WriteString("\n")
	return b.String()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail returns the last n lines of s on one line, " | "-separated.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
