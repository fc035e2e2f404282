package ws

import (
	"context"
	"fmt"
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
