package metrics

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/clock"
)

// BenchmarkObserve feeds a realistic mix (logins with per-second histograms,
// connects, heartbeats, kicks, logouts over 10 s of run time) from parallel
// goroutines. After the warm-up every histogram, map entry and per-second
// slot exists, so steady state allocates nothing per event.
func BenchmarkObserve(b *testing.B) {
	evs := genEvents(11, 1<<16, t0, 10*time.Second)
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(10*time.Second))))
	for i := range evs {
		r.Observe(&evs[i])
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919) // each goroutine walks the events from its own place
		for pb.Next() {
			r.Observe(&evs[i&(1<<16-1)])
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if s := r.Snapshot(); s.Op("login").Count == 0 {
		b.Fatal("nothing recorded")
	}
}
