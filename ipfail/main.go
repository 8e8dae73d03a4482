// Command ipfail is heartbeat's ipfail for heartbeatd (see docs/ipfail.8.md).
//
// heartbeatd runs it from ha.cf's `respawn hacluster <path>/ipfail` line. It
// talks to the daemon through the client API at /run/heartbeat/register,
// or the socket the environment variable HA_API_SOCKET names, and logs
// where heartbeat tells its children to (HA_LOGFACILITY, HA_LOGFILE,
// HA_DEBUGLOG, HA_debug), as "ipfail" on node HA_CURHOST.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/hasuite/hasuite/heartbeatd/api"
	"github.com/hasuite/hasuite/internal/logging"
	"github.com/hasuite/hasuite/ipfail/engine"
)

func main() {
	terminal := flag.Bool("d", false, "also log everything to stderr")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-d]\n", filepath.Base(os.Args[0]))
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	debug, _ := strconv.Atoi(os.Getenv("HA_debug"))
	if *terminal && debug == 0 {
		debug = 1
	}
	opts := logging.Options{
		Ident:     "ipfail",
		Node:      os.Getenv("HA_CURHOST"),
		Facility:  os.Getenv("HA_LOGFACILITY"),
		File:      os.Getenv("HA_LOGFILE"),
		DebugFile: os.Getenv("HA_DEBUGLOG"),
		Debug:     debug,
		Terminal:  *terminal,
	}
	log, flush, err := logging.Setup(opts)
	if err != nil {
		// A log file we may not write (it belongs to root) must not stop
		// ipfail: log to syslog and stderr instead.
		fileErr := err
		opts.File, opts.DebugFile, opts.Terminal = "", "", true
		if opts.Facility == "" {
			opts.Facility = "daemon"
		}
		if log, flush, err = logging.Setup(opts); err != nil {
			fmt.Fprintf(os.Stderr, "ipfail: %v\n", err)
			os.Exit(1)
		}
		log.WithError(fileErr).Warn("cannot open the log files; logging to syslog and stderr")
	}
	socket := os.Getenv("HA_API_SOCKET")
	if socket == "" {
		socket = api.DefaultSocket
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	rc := engine.Run(ctx, engine.Options{Socket: socket, Log: log})
	stop()
	flush()
	os.Exit(rc)
}
