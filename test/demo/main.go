// Command demo is "make demo": a highly available LVS cluster in network
// namespaces on this machine (a router, a client, two directors running
// heartbeatd, ipfail and ldirectord over nftables, three web servers and a
// sorry server), narrated step by step with what the client sees.
//
//	demo [-bin DIR] [-ci] [-keep]  run it (root); -ci (or DEMO_CI=1): no
//	                        pauses or colours, exit 0 only if every step
//	                        was seen; -keep: leave the cluster running
//	demo -down              remove what an interrupted run left behind
//	demo -configs DIR       write the directors' files for real machines
//	demo serve -name N      the web server it runs in each namespace
//
// make demo builds it as bin/hasuite-demo.
//
// It uses only addresses inside the namespaces it creates, and removes
// every namespace and process it created at the end, also on Ctrl-C.
package main

// main.go: flags, the run's lifetime (pid file, signals, cleanup) and the exit status.

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "demo serve:", err)
			os.Exit(1)
		}
		return
	}
	bin := flag.String("bin", "bin", "directory holding heartbeatd, ipfail, ldirectord (make build)")
	ci := flag.Bool("ci", os.Getenv("DEMO_CI") == "1", "non-interactive: no pauses or colours; exit 0 only if every step was observed")
	down := flag.Bool("down", false, "remove what an interrupted demo left behind, and exit")
	keep := flag.Bool("keep", false, "leave the cluster running at the end (make demo-down removes it)")
	configs := flag.String("configs", "", "write the directors' /etc/ha.d files, for real machines, into this directory, and exit")
	flag.Parse()
	if *configs != "" {
		if err := writeConfigs(*configs); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		fmt.Printf("demo: wrote ha.cf, authkeys, haresources and ldirectord.cf to %s\n", *configs)
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (it creates network namespaces): sudo make demo")
		os.Exit(2)
	}
	if *down {
		stopRunning()
		if err := (*lab)(nil).down(); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		fmt.Println("demo: cleaned up")
		return
	}
	os.Exit(run(*bin, *ci, *keep))
}

// pidFile marks a running demo.
var pidFile = filepath.Join(os.TempDir(), prefix+".pid")

// runningPid returns the pid of a live demo, or 0.
func runningPid() int {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// stopRunning asks a running demo to stop (it cleans up) and waits.
func stopRunning() {
	pid := runningPid()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

func run(bin string, ci, keep bool) int {
	if pid := runningPid(); pid != 0 {
		fmt.Fprintf(os.Stderr, "demo: another demo is running (pid %d); make demo-down stops it\n", pid)
		return 2
	}
	if _, err := exec.LookPath("ip"); err != nil {
		fmt.Fprintln(os.Stderr, "demo: needs the ip command (iproute2)")
		return 2
	}
	bin, _ = filepath.Abs(bin)
	for _, b := range []string{"heartbeatd", "ipfail", "ldirectord", "cl_status"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			fmt.Fprintf(os.Stderr, "demo: %s: run make build first (or give -bin)\n", err)
			return 2
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 2
	}
	l := &lab{}
	if len(demoNamespaces()) > 0 {
		fmt.Println("demo: removing what an interrupted run left behind")
	}
	if err := l.down(); err != nil {
		fmt.Fprintln(os.Stderr, "demo: cleaning up an earlier run:", err)
		return 2
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 2
	}
	os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)

	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			if err := l.down(); err != nil {
				fmt.Fprintln(os.Stderr, "demo: cleanup:", err)
			}
			os.Remove(pidFile)
		})
	}
	defer func() {
		if !keep {
			cleanup()
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var interrupted atomic.Bool
	go func() {
		s := <-sigs
		interrupted.Store(true)
		fmt.Fprintf(os.Stderr, "\ndemo: %v: removing every namespace and process it created\n", s)
		cleanup()
		os.Exit(130)
	}()

	d := &demo{
		lab: l, bin: bin, self: self, c: newClient(2 * time.Second),
		n:   &narrator{w: os.Stdout, t0: time.Now(), color: !ci && isTerminal(os.Stdout), pause: !ci},
		web: map[string]*proc{}, hbStart: map[string]time.Time{},
	}
	if err := d.run(); err != nil {
		if interrupted.Load() {
			select {} // the steps failed because the cleanup runs: it exits
		}
		fmt.Fprintf(os.Stderr, "\ndemo: FAILED: %v\n", err)
		d.dumpLogs()
		return 1
	}
	d.n.heading("Done in %.0f s: every step was observed.", time.Since(d.n.t0).Seconds())
	if keep {
		signal.Stop(sigs)
		fmt.Printf("The cluster keeps running. Try:\n"+
			"  ip netns exec %s curl http://%s/\n"+
			"  ip netns exec %s nft list table inet ldirectord\n"+
			"  HA_API_SOCKET=%s %s/cl_status rscstatus\n"+
			"The configs and logs are under %s. make demo-down removes it all.\n",
			ns("client"), vip, ns(director1), socket(director1), bin, workDir)
		os.Remove(pidFile)
		return 0
	}
	fmt.Println("Removing every namespace and process it created.")
	fmt.Println("The same files for real machines: bin/hasuite-demo -configs DIR (README.md).")
	return 0
}

// dumpLogs prints the tail of every daemon's log after a failure.
func (d *demo) dumpLogs() {
	for _, dr := range directors {
		t := d.tree(dr.name)
		for _, f := range []string{t.haLog(), t.ldLog(), filepath.Join(t.dir, "heartbeatd.stderr"), filepath.Join(t.dir, "ldirectord.stderr")} {
			b, err := os.ReadFile(f)
			if err != nil || len(b) == 0 {
				continue
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(lines) > 25 {
				lines = lines[len(lines)-25:]
			}
			fmt.Fprintf(os.Stderr, "--- %s (last %d lines) ---\n%s\n", f, len(lines), strings.Join(lines, "\n"))
		}
	}
}

// isTerminal reports whether f is a terminal (for colours).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeConfigs writes the directors' files for real machines into dir.
func writeConfigs(dir string) error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return tree{dir: dir, forHosts: true}.write(hex.EncodeToString(b))
}
