package live

import (
	"math"
	"sync/atomic"
	"time"
)

// The live login p99 is read from a rolling window of per-second latency
// histograms, kept with atomic counters so that Observe stays lock-free.
// Buckets are logarithmic, eight to a doubling (each about 9% wide) from
// 1 µs, so the figure is within a bucket's width of the truth: enough to
// watch a run, not to judge it (the results' histograms do that).
const (
	windowSeconds = 5                 // the span the live p99 covers
	windowSlots   = windowSeconds + 1 // one more, being filled or reset
	perDoubling   = 8
	windowBuckets = 40 * perDoubling // up to 2^40 µs, beyond any timeout
)

type windowSlot struct {
	sec     atomic.Int64 // the Unix second the slot holds
	buckets [windowBuckets]atomic.Uint32
}

type latencyWindow struct {
	slots [windowSlots]windowSlot
}

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	return min(int(math.Log2(us)*perDoubling), windowBuckets-1)
}

// bucketTop is the upper bound of bucket i.
func bucketTop(i int) time.Duration {
	return time.Duration(math.Exp2(float64(i+1)/perDoubling) * float64(time.Microsecond))
}

// add counts one latency at time at. A slot is taken over for a new second
// by the first observer to see it stale; observations racing with that
// reset may be lost, which a live figure can afford.
func (w *latencyWindow) add(at time.Time, d time.Duration) {
	if at.IsZero() {
		return
	}
	sec := at.Unix()
	s := &w.slots[(sec%windowSlots+windowSlots)%windowSlots]
	if old := s.sec.Load(); old != sec {
		switch {
		case old > sec:
			return // a late event for a second whose slot was recycled
		case s.sec.CompareAndSwap(old, sec):
			for i := range s.buckets {
				s.buckets[i].Store(0)
			}
		case s.sec.Load() != sec:
			return
		}
	}
	s.buckets[bucketOf(d)].Add(1)
}

// quantile returns the q-quantile of the latencies of the windowSeconds
// seconds up to now (their bucket's upper bound), and how many there were.
func (w *latencyWindow) quantile(now time.Time, q float64) (time.Duration, int64) {
	var sum [windowBuckets]int64
	var n int64
	cur := now.Unix()
	for i := range w.slots {
		s := &w.slots[i]
		if sec := s.sec.Load(); sec <= cur-windowSeconds || sec > cur {
			continue
		}
		for j := range s.buckets {
			c := int64(s.buckets[j].Load())
			sum[j] += c
			n += c
		}
	}
	if n == 0 {
		return 0, 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for j, c := range sum {
		if seen += c; seen >= rank {
			return bucketTop(j), n
		}
	}
	return bucketTop(windowBuckets - 1), n
}
