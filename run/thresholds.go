package run

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

// evalThresholds judges each threshold against the run's metrics and the
// kickout report (nil when the oracle was off).
func evalThresholds(ths []scenario.Threshold, snap *metrics.Snapshot, kick *check.Report) []results.Threshold {
	return judgeThresholds(ths, snap, kick, nil)
}

// judgeThresholds is evalThresholds for any run: the mau metrics are judged
// against the MAU report of a month simulation (m nil: the run had none;
// m set: it was one, and measured nothing else).
func judgeThresholds(ths []scenario.Threshold, snap *metrics.Snapshot, kick *check.Report, m *mau.Report) []results.Threshold {
	out := make([]results.Threshold, 0, len(ths))
	for _, th := range ths {
		r := results.Threshold{Expr: th.String(), Metric: th.Metric}
		var v float64
		var err error
		switch {
		case th.Subject == "mau" || strings.HasPrefix(th.Subject, "mau."):
			v, err = mauValue(th, m)
		case m != nil:
			err = fmt.Errorf("%s is not measured by a month simulation (allowed: %s)", th.Metric, mauMetrics)
		case th.Subject == "kickout" || strings.HasPrefix(th.Subject, "kickout."):
			v, err = kickoutValue(th, kick)
		default:
			v, err = snap.Value(th.Metric)
		}
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

// mauMetrics lists the metrics of a month simulation.
const mauMetrics = "mau.mismatches"

// mauValue answers the mau metrics: mau.mismatches, the numbers on which
// the harness's and the server's counts disagree.
func mauValue(th scenario.Threshold, m *mau.Report) (float64, error) {
	if m == nil {
		return 0, errors.New("mau metrics are measured only by a scenario with a mau section")
	}
	if th.Metric == "mau.mismatches" {
		return float64(len(m.Mismatches)), nil
	}
	return 0, fmt.Errorf("unknown mau metric %q (allowed: %s)", th.Metric, mauMetrics)
}

// kickoutValue answers the kickout metrics: kickout.violations,
// kickout.late.pNN / max / mean (seconds), kickout.<class>.count.
func kickoutValue(th scenario.Threshold, rep *check.Report) (float64, error) {
	if rep == nil {
		return 0, errors.New("the kickout oracle is off (checks.kickout.enabled: false)")
	}
	switch {
	case th.Subject == "kickout" && th.Stat == "violations":
		return float64(rep.Violations()), nil
	case th.Subject == "kickout.late" || th.Subject == "kickout.latency":
		l := &rep.KickLatency
		if l.Count() == 0 {
			return 0, errors.New("no kick latency was measured")
		}
		switch {
		case th.Stat == "max":
			return l.Max().Seconds(), nil
		case th.Stat == "count":
			return float64(l.Count()), nil
		case th.Quantile > 0:
			return l.Quantile(th.Quantile).Seconds(), nil // Quantile takes a percentile
		}
	case strings.HasPrefix(th.Subject, "kickout.") && th.Stat == "count":
		c, err := check.ParseClass(strings.TrimPrefix(th.Subject, "kickout."))
		if err != nil {
			return 0, err
		}
		return float64(rep.Count(c)), nil
	}
	return 0, fmt.Errorf("unknown kickout metric %q (allowed: kickout.violations, kickout.latency.p99 and other quantiles, kickout.latency.max (kickout.late.* is the same measure), kickout.CLASS.count)", th.Metric)
}

// scenarioThresholds returns the scenario's thresholds parsed: as Load or
// Prepare left them, or parsed here for a scenario built without either.
func scenarioThresholds(sc *scenario.Scenario) ([]scenario.Threshold, error) {
	if len(sc.ParsedThresholds) == len(sc.Thresholds) {
		return sc.ParsedThresholds, nil
	}
	return parseThresholds(sc.Thresholds, "")
}

// parseThresholds parses threshold expressions; errors say which one, after
// the prefix where (e.g. "file 1: ").
func parseThresholds(exprs []string, where string) ([]scenario.Threshold, error) {
	ths := make([]scenario.Threshold, 0, len(exprs))
	for i, e := range exprs {
		th, err := scenario.ParseThreshold(e)
		if err != nil {
			return nil, fmt.Errorf("%sthresholds[%d]: %w", where, i, err)
		}
		ths = append(ths, th)
	}
	return ths, nil
}
