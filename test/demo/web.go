// web.go: the demo's web server ("demo serve"): every page answers with the server's name; /healthz answers OK until SIGUSR1 breaks it (SIGUSR2 mends it).

package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// healthPage is what ldirectord's negotiate check requests, and
// healthOK what it expects in the answer (ldirectord.cf request and receive).
const (
	healthPage = "healthz"
	healthOK   = "OK"
)

// serve runs the web server until killed.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("name", "", "the name every page answers with")
	listen := fs.String("listen", ":80", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var broken atomic.Bool
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range sigs {
			broken.Store(s == syscall.SIGUSR1)
		}
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/"+healthPage, func(w http.ResponseWriter, _ *http.Request) {
		if broken.Load() {
			http.Error(w, "database unreachable", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, healthOK)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, *name)
	})
	return http.ListenAndServe(*listen, mux)
}
