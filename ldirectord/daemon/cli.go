// cli.go: the classic ldirectord command line: options, config lookup, pid files and actions.

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hasuite/hasuite/internal/outfmt"
	"github.com/hasuite/hasuite/ldirectord/config"
)

// Version is what -v prints (classic's version string, then ours).
const Version = "Linux Director v1.186-ha (hasuite)"

// Environment variables the command line reads.
const (
	// EnvConfDirs overrides the config search path (colon-separated;
	// default /etc/ha.d:/etc/ha.d/conf).
	EnvConfDirs = "HASUITE_LDIRECTORD_CONFDIRS"
	// EnvRunDir overrides where pid files live (default /run).
	EnvRunDir = "HASUITE_LDIRECTORD_RUNDIR"
	// EnvForeground marks the detached daemon process started by start.
	EnvForeground = "HASUITE_LDIRECTORD_FOREGROUND"
	// EnvCfgName passes the config name (pid file, log lines) to it.
	EnvCfgName = "HASUITE_LDIRECTORD_CFGNAME"
)

// LSB exit codes and classic's.
const (
	exitOK         = 0
	exitFail       = 1
	exitConfig     = 2
	exitNotRunning = 3
	exitUsage      = 255
)

var actions = []string{"start", "stop", "restart", "try-restart", "reload", "force-reload", "status"}

// Env is what Main takes from its surroundings; tests replace parts.
type Env struct {
	Stdout, Stderr io.Writer
	ConfDirs       []string // config search path; nil = EnvConfDirs, else /etc/ha.d, /etc/ha.d/conf
	RunDir         string   // pid file directory; "" = EnvRunDir, else /run
	Foreground     bool     // run the daemon here (the detached child, or tests)
	ConfigOpts     config.Options
	// Serve runs the daemon in this process until it is told to stop.
	Serve func(inv Invocation) error
	// CheckDataPlane tells whether the data plane cfg asks for can be used
	// (for IPVS: the kernel has it and lets us read the table). start and
	// restart call it before they change anything; nil skips the check.
	CheckDataPlane func(cfg *config.Config) error
	// Exe is the program start re-executes to detach and execute= runs;
	// "" = /proc/self/exe.
	Exe string
	// StopTimeout bounds how long stop and restart wait for the daemon to
	// exit; 0 = 60s.
	StopTimeout time.Duration
}

// Invocation is one resolved command line.
type Invocation struct {
	Debug      bool   // -d: foreground, log to stderr, no pid file
	ConfigPath string // the config file found (absolute)
	CfgName    string // the pid file's and log lines' config name
	PidFile    string // "" = none (-d)
	Config     *config.Config
	Action     string
}

// Main runs the ldirectord command line args (without the program name)
// and returns the exit status.
func Main(args []string, env Env) int {
	if env.Stdout == nil {
		env.Stdout = os.Stdout
	}
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	if env.ConfDirs == nil {
		if v := os.Getenv(EnvConfDirs); v != "" {
			env.ConfDirs = filepath.SplitList(v)
		} else {
			env.ConfDirs = []string{"/etc/ha.d", "/etc/ha.d/conf"}
		}
	}
	if env.RunDir == "" {
		if env.RunDir = os.Getenv(EnvRunDir); env.RunDir == "" {
			env.RunDir = "/run"
		}
	}
	if os.Getenv(EnvForeground) == "1" {
		env.Foreground = true
	}
	// The markers are for this process only: the ldirectord commands that
	// execute= and reload run must not inherit them (a foreground "start"
	// would never return). detach sets them again for its child.
	cfgName := os.Getenv(EnvCfgName)
	os.Unsetenv(EnvForeground)
	os.Unsetenv(EnvCfgName)
	if env.Exe == "" {
		env.Exe = "/proc/self/exe"
	}
	if env.StopTimeout == 0 {
		env.StopTimeout = 60 * time.Second
	}
	c := &cli{env: env, cfgName: cfgName}
	return c.run(args)
}

type cli struct {
	env     Env
	cfgName string // EnvCfgName as this process got it
}

func (c *cli) usage() int {
	fmt.Fprintln(c.env.Stderr, "Usage: ldirectord [-d] [-t] [-h] [-v] [--] [configfile] {start|stop|restart|try-restart|reload|force-reload|status}")
	fmt.Fprintln(c.env.Stderr, "       ldirectord [--json | -o json] [configfile] status")
	fmt.Fprintln(c.env.Stderr, "  -d  debug: stay in the foreground, log to the terminal, no pid file")
	fmt.Fprintln(c.env.Stderr, "  -t  check the configuration file and exit (0 = valid, 1 = errors)")
	fmt.Fprintln(c.env.Stderr, "  -v  print the version;  -h  this help")
	return exitUsage
}

func (c *cli) run(args []string) int {
	var debug, test bool
	args, jsonOut, ok := outfmt.JSON(args)
	if !ok {
		fmt.Fprintln(c.env.Stderr, "-o takes json or text")
		return c.usage()
	}
	i := 0
opts:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			i++
			break opts
		case a == "--debug":
			debug = true
		case a == "--help":
			c.usage()
			return exitOK
		case a == "--version":
			fmt.Fprintln(c.env.Stdout, Version)
			return exitOK
		case strings.HasPrefix(a, "--"):
			fmt.Fprintf(c.env.Stderr, "Unknown option: %s\n", a[2:])
			return c.usage()
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, f := range a[1:] {
				switch f {
				case 'd':
					debug = true
				case 't':
					test = true
				case 'h', '?':
					c.usage()
					return exitOK
				case 'v':
					fmt.Fprintln(c.env.Stdout, Version)
					return exitOK
				default:
					fmt.Fprintf(c.env.Stderr, "Unknown option: %c\n", f)
					return c.usage()
				}
			}
		default:
			break opts
		}
	}
	pos := args[i:]
	if test {
		if len(pos) > 0 && slices.Contains(actions, pos[len(pos)-1]) {
			pos = pos[:len(pos)-1]
		}
		if len(pos) > 1 {
			return c.usage()
		}
		name := "ldirectord.cf"
		if len(pos) == 1 {
			name = pos[0]
		}
		return c.test(name)
	}
	if len(pos) < 1 || len(pos) > 2 {
		return c.usage()
	}
	inv := Invocation{Action: pos[len(pos)-1], Debug: debug}
	if !slices.Contains(actions, inv.Action) || (jsonOut && inv.Action != "status") {
		return c.usage()
	}
	name := "ldirectord.cf"
	inv.CfgName = "ldirectord"
	if len(pos) == 2 {
		name = pos[0]
		inv.CfgName = filepath.Base(name)
	}
	if c.env.Foreground && c.cfgName != "" {
		inv.CfgName = c.cfgName
	}
	if !debug {
		inv.PidFile = filepath.Join(c.env.RunDir, "ldirectord."+inv.CfgName+".pid")
	}
	path, found := c.lookup(name)
	inv.ConfigPath = path

	// status and stop work from the pid file alone: a broken or missing
	// config never harms a running daemon (classic deleted its pid file).
	switch inv.Action {
	case "status":
		if jsonOut {
			return c.statusJSON(inv, found)
		}
		return c.status(inv)
	case "stop":
		return c.stop(inv)
	}
	if !found {
		fmt.Fprintf(c.env.Stderr, "Config file %s not found\n", name)
		return exitFail
	}
	cfg, err := config.Load(path, c.env.ConfigOpts)
	if err != nil {
		c.printConfigErr(err)
		return exitConfig
	}
	inv.Config = cfg
	switch inv.Action {
	case "start":
		return c.start(inv)
	case "reload", "force-reload":
		return c.reload(inv)
	case "try-restart":
		if _, ok := runningPid(inv.PidFile); !ok {
			return exitOK
		}
		fallthrough
	default: // restart
		if st := c.checkDataPlane(inv); st != exitOK {
			return st // the running daemon is left alone
		}
		if st := c.stop(inv); st != exitOK {
			return st
		}
		return c.start(inv)
	}
}

// lookup finds the config as classic does: in each config directory, then
// as given. The result is absolute, so the daemon can reread it after
// changing to /.
func (c *cli) lookup(name string) (string, bool) {
	var cands []string
	for _, d := range c.env.ConfDirs {
		cands = append(cands, filepath.Join(d, name))
	}
	cands = append(cands, name)
	for _, p := range cands {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
			return p, true
		}
	}
	if len(c.env.ConfDirs) > 0 && !filepath.IsAbs(name) {
		return filepath.Join(c.env.ConfDirs[0], name), false
	}
	return name, false
}

func (c *cli) printConfigErr(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(c.env.Stderr, "ldirectord: "+strings.TrimPrefix(line, "load ldirectord config: "))
	}
}

// test is -t: parse the config, print warnings and errors.
func (c *cli) test(name string) int {
	path, found := c.lookup(name)
	if !found {
		fmt.Fprintf(c.env.Stderr, "Config file %s not found\n", name)
		return exitFail
	}
	cfg, err := config.Load(path, c.env.ConfigOpts)
	if err != nil {
		c.printConfigErr(err)
		return exitFail
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(c.env.Stderr, "ldirectord: warning: "+w)
	}
	fmt.Fprintf(c.env.Stdout, "%s: configuration OK (%d virtual services)\n", path, len(cfg.Virtuals))
	return exitOK
}

func (c *cli) status(inv Invocation) int {
	pid, ok := runningPid(inv.PidFile)
	switch {
	case ok:
		fmt.Fprintf(c.env.Stderr, "ldirectord for %s is running with pid: %d\n", inv.ConfigPath, pid)
		return exitOK
	case pid > 0:
		fmt.Fprintf(c.env.Stdout, "ldirectord stale pid file %s for %s\n", inv.PidFile, inv.ConfigPath)
		return exitFail
	}
	fmt.Fprintf(c.env.Stdout, "ldirectord is stopped for %s\n", inv.ConfigPath)
	return exitNotRunning
}

// stop sends SIGTERM and waits for the daemon to exit (classic did not
// wait; waiting lets cleanstop finish before systemd or restart go on).
func (c *cli) stop(inv Invocation) int {
	pid, ok := runningPid(inv.PidFile)
	if !ok {
		return exitOK
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(c.env.Stderr, "ldirectord: stop: %v\n", err)
		return exitFail
	}
	for deadline := time.Now().Add(c.env.StopTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !alive(pid) {
			return exitOK
		}
	}
	fmt.Fprintf(c.env.Stderr, "ldirectord for %s (pid %d) did not exit within %s\n", inv.ConfigPath, pid, c.env.StopTimeout)
	return exitFail
}

func (c *cli) reload(inv Invocation) int {
	pid, ok := runningPid(inv.PidFile)
	if !ok {
		fmt.Fprintf(c.env.Stderr, "ldirectord is stopped for %s\n", inv.ConfigPath)
		return exitFail
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		fmt.Fprintf(c.env.Stderr, "ldirectord: reload: %v\n", err)
		return exitFail
	}
	c.execute(inv)
	return exitOK
}

func (c *cli) start(inv Invocation) int {
	if _, ok := runningPid(inv.PidFile); ok && !inv.Debug {
		return exitOK
	}
	for _, w := range inv.Config.Warnings {
		fmt.Fprintln(c.env.Stderr, "ldirectord: warning: "+w)
	}
	if st := c.checkDataPlane(inv); st != exitOK {
		return st
	}
	if err := checkWritable(inv); err != nil {
		fmt.Fprintf(c.env.Stderr, "ldirectord: cannot start for %s: %v; nothing was changed\n", inv.ConfigPath, err)
		return exitFail
	}
	c.execute(inv)
	if !inv.Debug && !inv.Config.Supervised && !c.env.Foreground {
		if err := c.detach(inv); err != nil {
			fmt.Fprintln(c.env.Stderr, "ldirectord:", err)
			return exitFail
		}
		return exitOK
	}
	if c.env.Serve == nil {
		fmt.Fprintln(c.env.Stderr, "ldirectord: no daemon to run")
		return exitFail
	}
	if err := c.env.Serve(inv); err != nil {
		fmt.Fprintln(c.env.Stderr, "ldirectord:", err)
		return exitFail
	}
	return exitOK
}

// checkDataPlane runs Env.CheckDataPlane: on failure it says why on stderr
// and returns exitFail (classic's status for a failed start).
func (c *cli) checkDataPlane(inv Invocation) int {
	if c.env.CheckDataPlane == nil {
		return exitOK
	}
	if err := c.env.CheckDataPlane(inv.Config); err != nil {
		fmt.Fprintf(c.env.Stderr, "ldirectord: cannot start for %s: %v\n", inv.ConfigPath, dataPlaneError(err))
		return exitFail
	}
	return exitOK
}

// checkWritable makes sure the daemon will be able to write its pid file
// and open its log file: a read-only or full run directory, or a log
// directory that cannot be written, is a start failure that says so and
// touches nothing, rather than a daemon that exits unseen (detached, its
// error goes nowhere) or runs logging nowhere. Classic opened the log
// file while parsing the config, so it refused too (exit 2). A full disk
// under the log file alone does not stop a start: writing the log then
// fails line by line, reported as appendFile says.
func checkWritable(inv Invocation) error {
	if inv.PidFile != "" {
		probe := inv.PidFile + ".tmp"
		if err := os.WriteFile(probe, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			os.Remove(probe)
			return fmt.Errorf("pid file: %w", err)
		}
		os.Remove(probe)
	}
	if !inv.Debug && !inv.Config.Supervised && strings.HasPrefix(inv.Config.LogFile, "/") {
		f, err := os.OpenFile(inv.Config.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("logfile: %w", err)
		}
		f.Close()
	}
	return nil
}

// detach starts the daemon in the background (new session, stdio on
// /dev/null, working directory /) and returns once it has written its pid
// file, as heartbeatd's detach does.
func (c *cli) detach(inv Invocation) error {
	args := []string{"--", inv.ConfigPath}
	args = append(args, "start")
	cmd := exec.Command(c.env.Exe, args...)
	cmd.Args[0] = "ldirectord"
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), EnvForeground+"=1", EnvCfgName+"="+inv.CfgName,
		EnvConfDirs+"="+strings.Join(c.env.ConfDirs, string(filepath.ListSeparator)), EnvRunDir+"="+c.env.RunDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(10 * time.Second)
	for {
		if pid, ok := runningPid(inv.PidFile); ok && pid == cmd.Process.Pid {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("ldirectord exited during start-up (%v); see its log", err)
		case <-deadline:
			return fmt.Errorf("ldirectord did not write %s within 10s; see its log", inv.PidFile)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// execute runs "ldirectord NAME ACTION" for each execute= config.
func (c *cli) execute(inv Invocation) {
	if inv.Config == nil {
		return
	}
	for _, name := range inv.Config.Execute {
		ctx, cancel := context.WithTimeout(context.Background(), c.env.StopTimeout+15*time.Second)
		cmd := exec.CommandContext(ctx, c.env.Exe, name, inv.Action)
		cmd.Args[0] = "ldirectord"
		cmd.Stdout, cmd.Stderr = c.env.Stdout, c.env.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(c.env.Stderr, "ldirectord: execute %s %s: %v\n", name, inv.Action, err)
		}
		cancel()
	}
}

// runningPid reads a pid file: the pid and whether that process is a
// running ldirectord. A pid > 0 with false means a stale pid file.
func runningPid(pidFile string) (int, bool) {
	if pidFile == "" {
		return 0, false
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !alive(pid) {
		return pid, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil && !strings.Contains(string(cmdline), "ldirectord") {
		return pid, false
	}
	return pid, true
}

// alive reports whether pid exists (and is not a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
		return false
	}
	return true
}

// writePidFile records our pid, refusing when another ldirectord runs.
func writePidFile(pidFile string) error {
	if pid, ok := runningPid(pidFile); ok && pid != os.Getpid() {
		return fmt.Errorf("ldirectord is already running with pid %d (%s)", pid, pidFile)
	}
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, pidFile); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}
