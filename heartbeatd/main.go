// Command heartbeatd is hasuite's drop-in replacement for the heartbeat 3.0.6
// daemon in haresources (R1) mode. See docs/heartbeatd.8.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hasuite/hasuite/heartbeatd/config"
	"github.com/hasuite/hasuite/heartbeatd/daemon"
	"github.com/hasuite/hasuite/internal/logging"
)

func main() {
	var (
		debugTerm  = flag.Bool("d", false, "run in the foreground, debug logging to the terminal")
		foreground = flag.Bool("f", false, "run in the foreground (systemd)")
		kill       = flag.Bool("k", false, "stop the running daemon and wait for it to exit")
		reload     = flag.Bool("r", false, "make the running daemon reload its configuration")
		status     = flag.Bool("s", false, "report whether the daemon is running")
		verbose    = flag.Bool("v", false, "print the parsed configuration")
		version    = flag.Bool("V", false, "print the version")
		defaults   = flag.Bool("D", false, "print the default ha.cf values")
		check      = flag.Bool("t", false, "check the configuration and exit")
		noRsc      = flag.Bool("M", false, "do not manage resources (heartbeats and the client API only)")
		_          = flag.Bool("l", false, "accepted for compatibility (no realtime scheduling)")
		confDir    = flag.String("confdir", "/etc/ha.d", "configuration directory")
		stateDir   = flag.String("statedir", "/var/lib/heartbeat", "state directory (hb_uuid, hb_generation)")
		runDir     = flag.String("rundir", "/run/heartbeat", "runtime directory (API socket)")
		pidFile    = flag.String("pidfile", "/run/heartbeat.pid", "pid file")
		nodeName   = flag.String("node", "", "this node's name (default: nodeinfo, else uname -n)")
		initDir    = flag.String("initdir", "/etc/init.d", "where resource scripts not in <confdir>/resource.d are found")
		ldirectord = flag.String("ldirectord", "", "the ldirectord the built-in ldirectord agent runs (default: next to heartbeatd, else PATH)")
	)
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: heartbeatd [-dDkMrsvVlft] [-confdir DIR] [-statedir DIR] [-rundir DIR] [-pidfile FILE] [-node NAME]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(1)
	}

	switch {
	case *version:
		fmt.Println(daemon.HeartbeatVersion)
		return
	case *defaults:
		printDefaults()
		return
	case *kill:
		exitOn(daemon.Stop(*pidFile, 60*time.Second))
		return
	case *reload:
		// Check the files first: the daemon keeps its running
		// configuration when they are broken, and the caller (systemctl
		// reload, the init script) must hear why with a non-zero exit.
		exitOn(checkFiles(*confDir, *nodeName))
		_, err := daemon.Signal(*pidFile, syscall.SIGHUP)
		exitOn(err)
		return
	case *status:
		os.Exit(printStatus(*pidFile, *confDir, *nodeName))
	}

	node := *nodeName
	if node == "" {
		n, err := daemon.NodeName(*confDir)
		exitOn(err)
		node = n
	}
	node = strings.ToLower(node)
	files, err := daemon.Load(*confDir, node)
	exitOn(err)
	for _, w := range files.HA.Warnings {
		fmt.Fprintln(os.Stderr, "WARN:", w)
	}
	if *check {
		fmt.Printf("%s: configuration OK for node %s\n", *confDir, node)
		return
	}
	if *verbose {
		fmt.Printf("%+v\n", *files.HA)
	}
	if !*foreground && !*debugTerm {
		exitOn(detach(*pidFile))
		return
	}

	ha := files.HA
	debug := ha.Debug
	if *debugTerm && debug == 0 {
		debug = 1
	}
	log, closeLog, err := logging.Setup(logging.Options{
		Node: node, Facility: ha.LogFacility, File: ha.LogFile, DebugFile: ha.DebugFile,
		Debug: debug, Terminal: *debugTerm || (ha.LogFacility == "" && ha.LogFile == "" && ha.DebugFile == ""),
	})
	exitOn(err)
	defer closeLog()
	daemon.ShareLogFiles(ha.LogFile, ha.DebugFile)
	exitOn(daemon.WritePidFile(*pidFile))
	defer os.Remove(*pidFile)

	ctx, cancel := context.WithCancel(context.Background())
	reloads := make(chan struct{}, 1)
	handleSignals(log, cancel, reloads)
	d := daemon.New(daemon.Options{ConfDir: *confDir, StateDir: *stateDir, RunDir: *runDir,
		InitDir: *initDir, NoResources: *noRsc, Ldirectord: *ldirectord}, node, files, log)
	if err := d.Run(ctx, reloads); err != nil {
		log.WithError(err).Error("heartbeatd failed")
		closeLog()
		os.Remove(*pidFile)
		exitOn(err)
	}
}

// checkFiles loads and validates the configuration in confDir for node (or
// the node name heartbeat would pick).
func checkFiles(confDir, node string) error {
	if node == "" {
		n, err := daemon.NodeName(confDir)
		if err != nil {
			return err
		}
		node = n
	}
	_, err := daemon.Load(confDir, strings.ToLower(node))
	return err
}

// handleSignals maps TERM to a graceful stop, HUP to reload and USR1/USR2 to
// debug level up/down; INT is ignored as heartbeat does.
func handleSignals(log *logrus.Logger, stop func(), reloads chan<- struct{}) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT)
	go func() {
		for s := range sigs {
			switch s {
			case syscall.SIGTERM:
				stop()
			case syscall.SIGHUP:
				select {
				case reloads <- struct{}{}:
				default:
				}
			case syscall.SIGUSR1:
				if log.GetLevel() < logrus.TraceLevel {
					log.SetLevel(log.GetLevel() + 1)
				}
			case syscall.SIGUSR2:
				if log.GetLevel() > logrus.InfoLevel {
					log.SetLevel(log.GetLevel() - 1)
				}
			}
		}
	}()
}

// detach starts the daemon in the background (-f, new session) and returns
// once it has written its pid file, as the classic daemon() start does.
func detach(pidFile string) error {
	args := append([]string{"-f"}, os.Args[1:]...)
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(10 * time.Second)
	for {
		if pid, ok := daemon.RunningPid(pidFile); ok && pid == cmd.Process.Pid {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("heartbeatd exited during start-up (%v); see its log", err)
		case <-deadline:
			return fmt.Errorf("heartbeatd did not write %s within 10s; see its log", pidFile)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// printStatus prints heartbeat -s output and returns its exit status.
func printStatus(pidFile, confDir, node string) int {
	pid, ok := daemon.RunningPid(pidFile)
	if !ok {
		fmt.Println("heartbeat is stopped. No process")
		return 3
	}
	if node == "" {
		node, _ = daemon.NodeName(confDir)
	}
	fmt.Printf("heartbeat OK [pid %s et al] is running on %s [%s]...\n", strconv.Itoa(pid), node, node)
	return 0
}

func printDefaults() {
	ha, err := config.ParseHACF("defaults", strings.NewReader(""))
	exitOn(err)
	keys := make([]string, 0, len(ha.Params))
	for k := range ha.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("%s %s\n", k, ha.Params[k])
	}
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "heartbeatd:", err)
		os.Exit(1)
	}
}
