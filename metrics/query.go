package metrics

import (
	"errors"
	"slices"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// ErrNoSamples says that a latency statistic was asked of a histogram that
// holds no values (judge/eval wraps it).
var ErrNoSamples = errors.New("no samples")

// Dist is a latency distribution read from a snapshot histogram.
type Dist struct {
	h    *hdr.PackedHistogram
	unit time.Duration
}

// Samples returns the number of values.
func (d Dist) Samples() int64 {
	if d.h == nil {
		return 0
	}
	return d.h.TotalCount()
}

// Quantile returns the latency at quantile q in [0, 1] (0.99 for p99): the
// highest value equivalent, at the histogram's precision, to the q-th value.
// It is 0 without samples.
func (d Dist) Quantile(q float64) time.Duration {
	if d.Samples() == 0 {
		return 0
	}
	return time.Duration(d.h.ValueAtPercentile(q*100)) * d.unit
}

// Min returns the smallest latency (at the histogram's precision).
func (d Dist) Min() time.Duration {
	if d.Samples() == 0 {
		return 0
	}
	return time.Duration(d.h.Min()) * d.unit
}

// Max returns the largest latency (at the histogram's precision).
func (d Dist) Max() time.Duration {
	if d.Samples() == 0 {
		return 0
	}
	return time.Duration(d.h.Max()) * d.unit
}

// Mean returns the mean latency (at the histogram's precision).
func (d Dist) Mean() time.Duration {
	if d.Samples() == 0 {
		return 0
	}
	return time.Duration(d.h.Mean() * float64(d.unit))
}

// OpStats is one operation, on one platform or all.
type OpStats struct {
	Kind     string
	Platform policy.Platform // "" for all platforms
	// Count is the attempts: OK + Failed + TimedOut + Cancelled.
	Count, OK, Failed, TimedOut, Cancelled int64
	Codes                                  map[int]int64
	// Reasons: code → the messages of the failed operations (see Reasons).
	Reasons map[int]*Reasons
	// Duration is the run's wall duration that Rate divides by.
	Duration time.Duration
	Dist
}

// Rate returns attempts per second over the run's duration.
func (o OpStats) Rate() float64 { return perSecond(o.Count, o.Duration) }

// Completed returns the attempts that were not cut off: Count - Cancelled.
func (o OpStats) Completed() int64 { return o.Count - o.Cancelled }

// ErrorRate returns the share of the completed attempts (cancelled ones are
// in no error rate) that failed or timed out.
func (o OpStats) ErrorRate() float64 { return ratio(o.Failed+o.TimedOut, o.Completed()) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// OpNames returns the operations that the snapshot holds, in event order.
func (s *Snapshot) OpNames() []string {
	var out []string
	for k := event.Connect; k <= event.Heartbeat; k++ {
		if len(s.Ops[k.String()]) > 0 {
			out = append(out, k.String())
		}
	}
	return out
}

// EventNames returns the non-operation kinds that the snapshot counted, in
// event order.
func (s *Snapshot) EventNames() []string {
	var out []string
	for k := event.Kicked; k <= event.LastKind; k++ {
		if len(s.Events[k.String()]) > 0 {
			out = append(out, k.String())
		}
	}
	return out
}

// Platforms returns the platforms seen for an operation, an event kind or
// "kick_notice": the seven in policy.Platforms order, then others by name.
func (s *Snapshot) Platforms(kind string) []policy.Platform {
	var keys []policy.Platform
	switch {
	case kind == "kick_notice":
		for p := range s.KickNotice {
			keys = append(keys, p)
		}
	case s.Ops[kind] != nil:
		for p := range s.Ops[kind] {
			keys = append(keys, p)
		}
	default:
		for p := range s.Events[kind] {
			keys = append(keys, p)
		}
	}
	sortPlatforms(keys)
	return keys
}

func sortPlatforms(ps []policy.Platform) {
	slices.SortFunc(ps, func(a, b policy.Platform) int {
		ia, ib := policy.Index(a), policy.Index(b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
}

// Op returns an operation over all platforms; an operation the snapshot
// does not hold gives zero counts.
func (s *Snapshot) Op(kind string) OpStats { return s.OpPlatform(kind, "") }

// OpPlatform returns an operation on one platform ("" for all).
func (s *Snapshot) OpPlatform(kind string, p policy.Platform) OpStats {
	o := OpStats{Kind: kind, Platform: p, Duration: s.Duration(), Dist: Dist{unit: s.Histogram.Unit()}}
	var hs []*Hist
	var cells []*OpCell
	for q, c := range s.Ops[kind] {
		if p != "" && q != p {
			continue
		}
		cells = append(cells, c)
		o.OK += c.OK
		o.Failed += c.Failed
		o.TimedOut += c.TimedOut
		o.Cancelled += c.Cancelled
		for code, n := range c.Codes {
			if o.Codes == nil {
				o.Codes = map[int]int64{}
			}
			o.Codes[code] += n
		}
		hs = append(hs, c.Latency)
	}
	o.Count = o.OK + o.Failed + o.TimedOut + o.Cancelled
	o.Reasons = mergedReasons(cells)
	o.h = s.mergeHists(hs)
	return o
}

// KickDelay returns the displacement-to-notice delay of kicks on one
// platform ("" for all).
func (s *Snapshot) KickDelay(p policy.Platform) Dist {
	var hs []*Hist
	for q, h := range s.KickNotice {
		if p == "" || q == p {
			hs = append(hs, h)
		}
	}
	return Dist{h: s.mergeHists(hs), unit: s.Histogram.Unit()}
}

// EventCount returns how often a non-operation kind happened on one platform
// ("" for all).
func (s *Snapshot) EventCount(kind string, p policy.Platform) int64 {
	var n int64
	for q, c := range s.Events[kind] {
		if p == "" || q == p {
			n += c
		}
	}
	return n
}

// mergeHists returns one histogram of all of hs (nil for none), never one of
// the snapshot's own.
func (s *Snapshot) mergeHists(hs []*Hist) *hdr.PackedHistogram {
	var out *Hist
	for _, h := range hs {
		if h.Count() == 0 {
			continue
		}
		if out == nil {
			out = h.clone()
			continue
		}
		_ = out.merge(h)
	}
	if out == nil {
		return nil
	}
	return out.p
}

// Errors returns the failed and timed-out attempts of all operations, and
// the completed attempts: all but the cancelled ones, which are in no error
// rate.
func (s *Snapshot) Errors() (errs, completed int64) {
	for _, byPlat := range s.Ops {
		for _, c := range byPlat {
			errs += c.Failed + c.TimedOut
			completed += c.Attempted() - c.Cancelled
		}
	}
	return errs, completed
}

// Cancelled returns the operations of every kind that the run's end cut
// off.
func (s *Snapshot) Cancelled() int64 {
	var n int64
	for _, byPlat := range s.Ops {
		for _, c := range byPlat {
			n += c.Cancelled
		}
	}
	return n
}

// OnlineMax returns the most instances online at once: the largest of the
// per-second maxima.
func (s *Snapshot) OnlineMax() int64 {
	var m int64
	for _, v := range s.Series.OnlineMax {
		m = max(m, v)
	}
	return m
}

// OnlineEnd returns the instances online at the end of the last second.
func (s *Snapshot) OnlineEnd() int64 {
	if n := len(s.Series.OnlineEnd); n > 0 {
		return s.Series.OnlineEnd[n-1]
	}
	return 0
}

func kindByName(name string) (event.Kind, bool) {
	for k := event.Connect; k <= event.LastKind; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
