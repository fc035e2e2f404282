package ws

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
)

// BenchmarkLoginRoundTrip measures login → login_result through the driver
// against the in-test server on loopback. Each login switches the account
// (alice, bob, alice, ...), so every one is a fresh login, not a repeat.
func BenchmarkLoginRoundTrip(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			srv := newFakeServer(b)
			d := newTestDriver(b, srv.URL())
			cs := make([]*Conn, conns)
			for i := range cs {
				cs[i] = dial(b, d, policy.Android, fmt.Sprint("bench-", i))
			}
			var next atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism((conns + 1) / 2) // GOMAXPROCS × this many goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(1) - 1
				c := cs[int(i)%conns]
				users := [2]string{fmt.Sprint("alice-", i), fmt.Sprint("bob-", i)}
				for k := 0; pb.Next(); k++ {
					r, err := c.Login(ctx, driver.LoginRequest{UserID: users[k&1], UserSig: "ok"})
					if err != nil || r.Code != 0 {
						b.Errorf("login: %+v, %v", r, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
		})
	}
}

// BenchmarkConnect measures dial + upgrade + hello/hello_ok + Close.
func BenchmarkConnect(b *testing.B) {
	srv := newFakeServer(b)
	d := newTestDriver(b, srv.URL())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.Dial(ctx, driver.Device{Platform: policy.Web, Instance: "w"})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
}

// BenchmarkHoldConns opens and logs in 1000 connections per iteration and
// reports the heap and goroutines each costs while idle. The in-test server
// lives in the same process, so the figures cover both ends.
func BenchmarkHoldConns(b *testing.B) {
	const n = 1000
	srv := newFakeServer(b)
	d := newTestDriver(b, srv.URL())
	ctx := context.Background()
	var heap, gor float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		cs := make([]*Conn, n)
		for i := range cs {
			c, err := d.Dial(ctx, driver.Device{Platform: policy.Web, Instance: fmt.Sprint("w", i)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Login(ctx, driver.LoginRequest{UserID: fmt.Sprint("hold-", i), UserSig: "ok"}); err != nil {
				b.Fatal(err)
			}
			cs[i] = c
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(after.HeapInuse-before.HeapInuse) / n / 1024
		gor += float64(runtime.NumGoroutine()-g0) / n
		for _, c := range cs {
			c.Close()
		}
	}
	b.ReportMetric(heap/float64(b.N), "KiB/conn")
	b.ReportMetric(gor/float64(b.N), "goroutines/conn")
}
