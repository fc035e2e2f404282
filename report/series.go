package report

import (
	"math"
	"slices"
	"sort"

	"github.com/imload/imload/metrics"
)

// second is one operation in one second of the series. Latencies are in
// milliseconds, NaN when unknown (no attempts, or no per-second histogram
// for the operation).
type second struct {
	attempted, ok, failed, timedOut, cancelled int64
	p50, p99, max, mean                        float64
}

// opSeconds is one operation's per-second rows, all platforms together.
type opSeconds struct {
	op string
	// quantiles: the operation kept a histogram per second, so p50 and p99
	// are known for the seconds with attempts.
	quantiles bool
	rows      []second
}

// perSecond reads the per-second series of s, operations in event order.
func perSecond(s *metrics.Snapshot) []opSeconds {
	if s == nil || s.Series.Seconds == 0 {
		return nil
	}
	names := seriesOps(s)
	unitMs := float64(s.Histogram.UnitNs) / 1e6
	out := make([]opSeconds, 0, len(names))
	for _, op := range names {
		os := s.Series.Ops[op]
		o := opSeconds{op: op, quantiles: len(os.Latency) > 0, rows: make([]second, s.Series.Seconds)}
		for i := range o.rows {
			r := second{
				ok: at(os.OK, i), failed: at(os.Failed, i), timedOut: at(os.TimedOut, i), cancelled: at(os.Cancelled, i),
				p50: math.NaN(), p99: math.NaN(), max: math.NaN(), mean: math.NaN(),
			}
			r.attempted = r.ok + r.failed + r.timedOut + r.cancelled
			timed := r.ok // the series' max and sum are of the successes
			if s.Histogram.LatencyOf == "" {
				timed = r.attempted // a file of an earlier version: of every attempt
			}
			if timed > 0 {
				r.max = float64(at(os.MaxNs, i)) / 1e6
				r.mean = float64(at(os.SumNs, i)) / 1e6 / float64(timed)
			}
			if i < len(os.Latency) && os.Latency[i].Count() > 0 {
				h := os.Latency[i].Histogram()
				// The histogram gives a bucket's highest equivalent value,
				// which may pass the exact maximum of the second.
				r.p50 = math.Min(float64(h.ValueAtQuantile(50))*unitMs, r.max)
				r.p99 = math.Min(float64(h.ValueAtQuantile(99))*unitMs, r.max)
			}
			o.rows[i] = r
		}
		out = append(out, o)
	}
	return out
}

// seriesOps lists the operations with a per-second series: those of
// OpNames first (event order), then any others by name.
func seriesOps(s *metrics.Snapshot) []string {
	var names []string
	for _, op := range s.OpNames() {
		if s.Series.Ops[op] != nil {
			names = append(names, op)
		}
	}
	var rest []string
	for op, os := range s.Series.Ops {
		if os != nil && !slices.Contains(names, op) {
			rest = append(rest, op)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

func at(xs []int64, i int) int64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}
