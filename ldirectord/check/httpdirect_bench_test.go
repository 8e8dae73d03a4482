// httpdirect_bench_test.go: the CPU a plain http check costs, server included.

package check

import (
	"bytes"
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHTTPCheck runs plain http checks against a loopback server
// answering as bench/ldcheck's ldserver does (200, Content-Length, close),
// 64 at a time, and reports the process's CPU per check (user and system,
// the server's share included: compare runs, not absolute values).
func BenchmarkHTTPCheck(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var buf [1024]byte
				n := 0
				for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) && n < len(buf) {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
				}
				c.Write(resp)
			}()
		}
	}()
	target := Target{Protocol: "tcp", Real: addrPort(b, ln.Addr()), Request: "/", Receive: "ok"}
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r := HTTP{Service: "http"}.Check(ctx, target)
			cancel()
			if !r.OK {
				b.Error(r.Err)
				return
			}
		}
	})
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	us := func(t0, t1 syscall.Timeval) float64 {
		return float64(time.Duration(t1.Nano()-t0.Nano())) / float64(time.Microsecond) / float64(b.N)
	}
	b.ReportMetric(us(r0.Utime, r1.Utime), "user-µs/op")
	b.ReportMetric(us(r0.Stime, r1.Stime), "sys-µs/op")
}
