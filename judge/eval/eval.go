// Package eval judges thresholds: it answers each entry of the judge
// catalogue from a run's results (the recorder's snapshot, the kickout
// oracle's report, the MAU report, a capacity search's answer) and says
// whether each threshold passed.
//
// It sits beside judge rather than in it because judge is a leaf that
// scenario validation imports, and evaluation needs metrics, check, mau and
// capacity.
// Every catalogue entry has an answer here and every answer an entry
// (TestEveryEntryAnswered walks the catalogue both ways).
package eval

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/check"
	"github.com/imload/imload/judge"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
)

// Inputs are the results of one run that thresholds are judged against.
type Inputs struct {
	// Metrics is the recorder's snapshot (of a run of phases).
	Metrics *metrics.Snapshot
	// Kickout is the oracle's report; nil when the oracle was off.
	Kickout *check.Report
	// MAU is the report of a month simulation; nil for a run of phases. A
	// month simulation whose app sessions fed a recorder and the oracle
	// (maurun.Execute) gives Metrics and Kickout too; without them it
	// measures nothing but the mau metrics.
	MAU *mau.Report
	// Capacity is a capacity search's answer; nil for any other run. The
	// capacity metrics are judged against it alone, once the search ended.
	Capacity *capacity.Report
}

// ErrNotJudged marks a threshold whose metric had nothing to measure: no
// samples, no attempts, no login checked. Such a threshold fails, with
// the reason as its error.
var ErrNotJudged = errors.New("not judged")

// Thresholds judges each threshold against in.
func Thresholds(ths []judge.Threshold, in Inputs) []results.Threshold {
	out := make([]results.Threshold, 0, len(ths))
	for _, th := range ths {
		r := results.Threshold{Expr: th.String(), Metric: th.Metric}
		v, err := Value(th, in)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Actual = v
			r.Pass = th.Eval(v)
		}
		out = append(out, r)
	}
	return out
}

// Metric returns the value of a metric by name, e.g. "login.p99" (seconds),
// in the unit of its kind.
func Metric(name string, in Inputs) (float64, error) {
	ref, err := judge.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("metric %q: %w", name, err)
	}
	return answer(name, ref, in)
}

// Value returns the actual value of th's metric, in the unit of its kind.
func Value(th judge.Threshold, in Inputs) (float64, error) {
	ref := th.Ref
	if ref.Metric == nil {
		var err error
		if ref, err = judge.Lookup(th.Metric); err != nil {
			return 0, err
		}
	}
	return answer(th.Metric, ref, in)
}

func answer(name string, ref judge.Ref, in Inputs) (float64, error) {
	m := ref.Metric
	switch {
	case m.Source == judge.FromCapacity && in.Capacity == nil:
		return 0, errors.New("capacity metrics are measured only by a scenario with a capacity section, once its search has ended")
	case m.Source != judge.FromCapacity && in.Capacity != nil && in.Metrics == nil:
		return 0, fmt.Errorf("%s is judged on each step of a capacity search (its SLO), not on the answer (allowed: %s)", name, strings.Join(namesOf(judge.FromCapacity), ", "))
	case m.Source == judge.FromMAU && in.MAU == nil:
		return 0, errors.New("mau metrics are measured only by a scenario with a mau section")
	case m.Source != judge.FromMAU && in.MAU != nil && !measuredInMonth(m.Source, in):
		return 0, fmt.Errorf("%s is not measured by a month simulation (allowed: %s)", name, strings.Join(namesOf(judge.FromMAU), ", "))
	case m.Source == judge.FromKickout && in.Kickout == nil:
		return 0, errors.New("the kickout oracle is off (checks.kickout.enabled: false)")
	case m.Source == judge.FromKickout && in.Kickout.Checks.Logins == 0:
		return 0, fmt.Errorf("%w: the kickout oracle checked no login", ErrNotJudged)
	case m.Source == judge.FromMetrics && in.Metrics == nil:
		return 0, fmt.Errorf("%w: no metrics were recorded", ErrNotJudged)
	}
	f, ok := answers[m.ID]
	if !ok {
		return 0, fmt.Errorf("metric %q has no answer", name) // TestEveryEntryAnswered keeps this unreachable
	}
	return f(ref, in)
}

// measuredInMonth reports whether a month simulation gave the input of
// source.
func measuredInMonth(source judge.Source, in Inputs) bool {
	switch source {
	case judge.FromMetrics:
		return in.Metrics != nil
	case judge.FromKickout:
		return in.Kickout != nil
	}
	return false
}

// namesOf lists the patterns of one source's entries.
func namesOf(src judge.Source) []string {
	var out []string
	for _, m := range judge.Catalogue() {
		if m.Source == src {
			out = append(out, m.Pattern())
		}
	}
	return out
}

type answerFunc func(r judge.Ref, in Inputs) (float64, error)

// answers holds, per catalogue entry ID, how the value is found.
var answers = map[string]answerFunc{
	"op.count":           opCount(func(o metrics.OpStats) int64 { return o.Count }),
	"op.ok.count":        opCount(func(o metrics.OpStats) int64 { return o.OK }),
	"op.failed.count":    opCount(func(o metrics.OpStats) int64 { return o.Failed }),
	"op.timed_out.count": opCount(func(o metrics.OpStats) int64 { return o.TimedOut }),
	"op.cancelled.count": opCount(func(o metrics.OpStats) int64 { return o.Cancelled }),
	"op.errors.count":    opCount(func(o metrics.OpStats) int64 { return o.Failed + o.TimedOut }),
	"op.errors.rate": func(r judge.Ref, in Inputs) (float64, error) {
		o := in.Metrics.OpPlatform(r.Name, r.Platform)
		return errorRate(o.Failed+o.TimedOut, o.Completed())
	},
	"op.code.count": func(r judge.Ref, in Inputs) (float64, error) {
		return float64(in.Metrics.OpPlatform(r.Name, r.Platform).Codes[r.Code]), nil
	},
	"op.rate": func(r judge.Ref, in Inputs) (float64, error) {
		return in.Metrics.OpPlatform(r.Name, r.Platform).Rate(), nil
	},
	"op.min":      opDist(metrics.Dist.Min),
	"op.max":      opDist(metrics.Dist.Max),
	"op.mean":     opDist(metrics.Dist.Mean),
	"op.quantile": opDist(nil),

	"errors.count": func(_ judge.Ref, in Inputs) (float64, error) {
		errs, _ := in.Metrics.Errors()
		return float64(errs), nil
	},
	"errors.rate": func(_ judge.Ref, in Inputs) (float64, error) {
		return errorRate(in.Metrics.Errors())
	},

	"kick_notice.count": func(r judge.Ref, in Inputs) (float64, error) {
		return float64(in.Metrics.KickDelay(r.Platform).Samples()), nil
	},
	"kick_notice.min":      kickDist(metrics.Dist.Min),
	"kick_notice.max":      kickDist(metrics.Dist.Max),
	"kick_notice.mean":     kickDist(metrics.Dist.Mean),
	"kick_notice.quantile": kickDist(nil),

	"event.count": func(r judge.Ref, in Inputs) (float64, error) {
		return float64(in.Metrics.EventCount(r.Name, r.Platform)), nil
	},
	"event.rate": func(r judge.Ref, in Inputs) (float64, error) {
		d := in.Metrics.Duration()
		if d <= 0 {
			return 0, nil
		}
		return float64(in.Metrics.EventCount(r.Name, r.Platform)) / d.Seconds(), nil
	},

	"online.max": func(_ judge.Ref, in Inputs) (float64, error) { return float64(in.Metrics.OnlineMax()), nil },
	"online.end": func(_ judge.Ref, in Inputs) (float64, error) { return float64(in.Metrics.OnlineEnd()), nil },

	"kickout.violations": func(_ judge.Ref, in Inputs) (float64, error) {
		return float64(in.Kickout.Violations()), nil
	},
	"kickout.class.count": func(r judge.Ref, in Inputs) (float64, error) {
		c, err := check.ParseClass(r.Name)
		if err != nil {
			return 0, err
		}
		return float64(in.Kickout.Count(c)), nil
	},
	"kickout.latency.count": func(_ judge.Ref, in Inputs) (float64, error) {
		return float64(in.Kickout.KickLatency.Count()), nil
	},
	"kickout.latency.max": kickLatency(func(l *check.Latency, _ float64) time.Duration { return l.Max() }),
	"kickout.latency.quantile": kickLatency(func(l *check.Latency, q float64) time.Duration {
		return l.Quantile(q) // Quantile takes a percentile
	}),

	"mau.mismatches": func(_ judge.Ref, in Inputs) (float64, error) {
		return float64(len(in.MAU.Mismatches)), nil
	},

	"capacity.sustained": func(_ judge.Ref, in Inputs) (float64, error) {
		if len(in.Capacity.Repeats) == 0 {
			return 0, fmt.Errorf("%w: the capacity search measured no step", ErrNotJudged)
		}
		return in.Capacity.Sustained, nil
	},
	"capacity.interval.low":  capacityInterval(0),
	"capacity.interval.high": capacityInterval(1),
}

// capacityInterval answers one end of the sustained capacity's interval;
// a generator-bound answer has none (it is a lower bound).
func capacityInterval(end int) answerFunc {
	return func(_ judge.Ref, in Inputs) (float64, error) {
		c := in.Capacity
		if c.IntervalKind == "" {
			return 0, fmt.Errorf("%w: the answer has no interval (bound %s: a lower bound)", ErrNotJudged, c.Bound)
		}
		return c.Interval[end], nil
	}
}

func opCount(f func(metrics.OpStats) int64) answerFunc {
	return func(r judge.Ref, in Inputs) (float64, error) {
		return float64(f(in.Metrics.OpPlatform(r.Name, r.Platform))), nil
	}
}

// errorRate is errs / attempts, where attempts leaves out the cancelled
// operations; with none there is no rate (a run whose every operation was
// cut off has none either).
func errorRate(errs, attempts int64) (float64, error) {
	if attempts == 0 {
		return 0, fmt.Errorf("%w: no operation was attempted", ErrNotJudged)
	}
	return float64(errs) / float64(attempts), nil
}

// opDist answers a latency statistic of successful operations: stat, or
// the quantile of the Ref when stat is nil.
func opDist(stat func(metrics.Dist) time.Duration) answerFunc {
	return func(r judge.Ref, in Inputs) (float64, error) {
		return distValue(in.Metrics.OpPlatform(r.Name, r.Platform).Dist, stat, r.Quantile, "successful "+r.Name)
	}
}

func kickDist(stat func(metrics.Dist) time.Duration) answerFunc {
	return func(r judge.Ref, in Inputs) (float64, error) {
		return distValue(in.Metrics.KickDelay(r.Platform), stat, r.Quantile, "kick notice delay")
	}
}

func distValue(d metrics.Dist, stat func(metrics.Dist) time.Duration, q float64, what string) (float64, error) {
	if d.Samples() == 0 {
		return 0, fmt.Errorf("%w: %w (no %s)", ErrNotJudged, metrics.ErrNoSamples, what)
	}
	if stat == nil {
		return d.Quantile(q / 100).Seconds(), nil
	}
	return stat(d).Seconds(), nil
}

func kickLatency(f func(l *check.Latency, q float64) time.Duration) answerFunc {
	return func(r judge.Ref, in Inputs) (float64, error) {
		l := &in.Kickout.KickLatency
		if l.Count() == 0 {
			return 0, fmt.Errorf("%w: no kick latency was measured", ErrNotJudged)
		}
		return f(l, r.Quantile).Seconds(), nil
	}
}
