package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// ErrNoSamples is returned by Value for a latency statistic of a histogram
// that holds no values.
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
	// Count is the attempts: OK + Failed + TimedOut.
	Count, OK, Failed, TimedOut int64
	Codes                       map[int]int64
	// Duration is the run's wall duration that Rate divides by.
	Duration time.Duration
	Dist
}

// Rate returns attempts per second over the run's duration.
func (o OpStats) Rate() float64 { return perSecond(o.Count, o.Duration) }

// ErrorRate returns the share of attempts that failed or timed out.
func (o OpStats) ErrorRate() float64 { return ratio(o.Failed+o.TimedOut, o.Count) }

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
	for k := event.Kicked; k <= event.Misbehaving; k++ {
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
	for q, c := range s.Ops[kind] {
		if p != "" && q != p {
			continue
		}
		o.OK += c.OK
		o.Failed += c.Failed
		o.TimedOut += c.TimedOut
		for code, n := range c.Codes {
			if o.Codes == nil {
				o.Codes = map[int]int64{}
			}
			o.Codes[code] += n
		}
		hs = append(hs, c.Latency)
	}
	o.Count = o.OK + o.Failed + o.TimedOut
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
// all attempts.
func (s *Snapshot) Errors() (errs, attempts int64) {
	for _, byPlat := range s.Ops {
		for _, c := range byPlat {
			errs += c.Failed + c.TimedOut
			attempts += c.Attempted()
		}
	}
	return errs, attempts
}

const allowedMetrics = "allowed: <op>.{count,ok,failed,timed_out,rate,errors.count,errors.rate,code_N.count,min,max,mean,pN} " +
	"for op in connect, login, logout, resume, heartbeat; kick_notice.{count,min,max,mean,pN}; " +
	"<event>.{count,rate} for event in kicked, sig_expired, disconnect, app_kill, switch_user, misbehaving; " +
	"errors.{count,rate}; online.{max,end}; pN is a percentile such as p50, p99, p99.9; " +
	"a platform may follow the op, kick_notice or event (login.Android.p99); " +
	"latencies are in seconds, rates per second, error rates a fraction"

// Value returns a metric by its threshold path, e.g. "login.p99" (seconds),
// "login.count", "login.rate" (per second), "login.errors.rate" (a fraction),
// "errors.rate" (all operations), "connect.max", "kick_notice.p99",
// "kicked.count", "online.max", "login.code_70001.count" (operations the
// target answered with that code); "login.Android.p99" and the like select one
// platform. A latency statistic without samples returns
// an error wrapping ErrNoSamples; an unknown metric, one listing the allowed.
func (s *Snapshot) Value(metric string) (float64, error) {
	name, field, _ := strings.Cut(metric, ".")
	bad := func() (float64, error) {
		return 0, fmt.Errorf("unknown metric %q (%s)", metric, allowedMetrics)
	}
	// An optional platform after the name: login.Android.p99.
	var plat policy.Platform
	if seg, rest, ok := strings.Cut(field, "."); ok && name != "errors" {
		if p, err := policy.ParsePlatform(seg); err == nil {
			plat, field = p, rest
		} else if policy.Platform(seg) == UnknownPlatform {
			plat, field = UnknownPlatform, rest
		}
	}
	switch name {
	case "errors":
		errs, attempts := s.Errors()
		switch field {
		case "count":
			return float64(errs), nil
		case "rate":
			return ratio(errs, attempts), nil
		}
		return bad()
	case "online":
		if plat != "" {
			return bad()
		}
		switch field {
		case "max":
			var m int64
			for _, v := range s.Series.OnlineMax {
				m = max(m, v)
			}
			return float64(m), nil
		case "end":
			if n := len(s.Series.OnlineEnd); n > 0 {
				return float64(s.Series.OnlineEnd[n-1]), nil
			}
			return 0, nil
		}
		return bad()
	case "kick_notice":
		d := s.KickDelay(plat)
		if field == "count" {
			return float64(d.Samples()), nil
		}
		if v, ok, err := distValue(metric, field, d); ok {
			return v, err
		}
		return bad()
	}
	if k, ok := kindByName(name); ok {
		if !k.IsOp() {
			switch field {
			case "count":
				return float64(s.EventCount(name, plat)), nil
			case "rate":
				return perSecond(s.EventCount(name, plat), s.Duration()), nil
			}
			return bad()
		}
		o := s.OpPlatform(name, plat)
		switch field {
		case "count":
			return float64(o.Count), nil
		case "ok":
			return float64(o.OK), nil
		case "failed":
			return float64(o.Failed), nil
		case "timed_out":
			return float64(o.TimedOut), nil
		case "rate":
			return o.Rate(), nil
		case "errors.count":
			return float64(o.Failed + o.TimedOut), nil
		case "errors.rate":
			return o.ErrorRate(), nil
		}
		if c, ok := strings.CutSuffix(field, ".count"); ok {
			if digits, ok := strings.CutPrefix(c, "code_"); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
				if n, err := strconv.Atoi(digits); err == nil {
					return float64(o.Codes[n]), nil
				}
			}
		}
		if v, ok, err := distValue(metric, field, o.Dist); ok {
			return v, err
		}
	}
	return bad()
}

// distValue answers min, max, mean and pN in seconds; ok is false for any
// other field.
func distValue(metric, field string, d Dist) (v float64, ok bool, err error) {
	var get func() time.Duration
	switch field {
	case "min":
		get = d.Min
	case "max":
		get = d.Max
	case "mean":
		get = d.Mean
	default:
		q, isQ := parsePercentile(field)
		if !isQ {
			return 0, false, nil
		}
		get = func() time.Duration { return d.Quantile(q / 100) }
	}
	if d.Samples() == 0 {
		return 0, true, fmt.Errorf("metric %q: %w", metric, ErrNoSamples)
	}
	return get().Seconds(), true, nil
}

func parsePercentile(f string) (float64, bool) {
	if len(f) < 2 || f[0] != 'p' {
		return 0, false
	}
	for _, c := range f[1:] {
		if (c < '0' || c > '9') && c != '.' {
			return 0, false
		}
	}
	q, err := strconv.ParseFloat(f[1:], 64)
	if err != nil || math.IsNaN(q) || q < 0 || q > 100 {
		return 0, false
	}
	return q, true
}

func kindByName(name string) (event.Kind, bool) {
	for k := event.Connect; k <= event.Misbehaving; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
