// Command ours is the benchmark's hasuite ldirectord: the real daemon
// (daemon.Main, daemon.Serve) over kernel.FakeIPVS, since the benchmark's
// machine may have no IPVS. Every changing IPVS call is appended to the
// file named by $LDCHECK_OPS as one line, "UNIXNANO OP SERVICE REAL
// WEIGHT" (see bench/ldcheck's ParseOps), so the benchmark can time the
// reaction to a failure.
package main

// main.go: the daemon, the recording IPVS backend.

import (
	"bufio"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/hasuite/hasuite/internal/kernel"
	"github.com/hasuite/hasuite/ldirectord/daemon"
)

func main() {
	if path := os.Getenv("LDCHECK_CPUPROFILE"); path != "" {
		profile(path)
	}
	os.Exit(daemon.Main(os.Args[1:], daemon.Env{
		Serve: func(inv daemon.Invocation) error {
			rec, err := newRecorder(os.Getenv("LDCHECK_OPS"))
			if err != nil {
				return err
			}
			defer rec.close()
			return daemon.Serve(inv, daemon.ServeOptions{IPVS: rec})
		},
	}))
}

// profile writes a CPU profile of the first $LDCHECK_CPUPROFILE_SECS
// seconds (default 30) to path, for finding hot spots at scale.
func profile(path string) {
	secs, err := strconv.Atoi(os.Getenv("LDCHECK_CPUPROFILE_SECS"))
	if err != nil || secs <= 0 {
		secs = 30
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}

// recorder is a FakeIPVS that logs its changing calls with a timestamp.
type recorder struct {
	kernel.FakeIPVS
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func newRecorder(path string) (*recorder, error) {
	r := &recorder{}
	if path == "" {
		return r, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	r.f, r.w = f, bufio.NewWriter(f)
	return r, nil
}

func (r *recorder) close() {
	if r.f != nil {
		r.w.Flush()
		r.f.Close()
	}
}

// log writes one op line; it is flushed at once (ops are rare after start).
func (r *recorder) log(op string, svc kernel.ServiceKey, real string, weight int) {
	if r.f == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%d %s %s %s %d\n", time.Now().UnixNano(), op, svc, real, weight)
	r.w.Flush()
}

func (r *recorder) NewService(s kernel.Service) error {
	r.log("add-service", s.ServiceKey, "-", -1)
	return r.FakeIPVS.NewService(s)
}

func (r *recorder) UpdateService(s kernel.Service) error {
	r.log("edit-service", s.ServiceKey, "-", -1)
	return r.FakeIPVS.UpdateService(s)
}

func (r *recorder) DelService(k kernel.ServiceKey) error {
	r.log("del-service", k, "-", -1)
	return r.FakeIPVS.DelService(k)
}

func (r *recorder) NewDest(k kernel.ServiceKey, d kernel.Dest) error {
	r.log("add", k, d.String(), d.Weight)
	return r.FakeIPVS.NewDest(k, d)
}

func (r *recorder) UpdateDest(k kernel.ServiceKey, d kernel.Dest) error {
	r.log("edit", k, d.String(), d.Weight)
	return r.FakeIPVS.UpdateDest(k, d)
}

func (r *recorder) DelDest(k kernel.ServiceKey, d kernel.Dest) error {
	r.log("del", k, d.String(), 0)
	return r.FakeIPVS.DelDest(k, d)
}
