package run

import (
	"github.com/imload/imload/check"
	"github.com/imload/imload/judge/eval"
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
// m set: it was one, and measured nothing else). The judge catalogue and
// judge/eval say what each metric is and answer it.
func judgeThresholds(ths []scenario.Threshold, snap *metrics.Snapshot, kick *check.Report, m *mau.Report) []results.Threshold {
	return eval.Thresholds(ths, eval.Inputs{Metrics: snap, Kickout: kick, MAU: m})
}

// scenarioThresholds returns the scenario's thresholds parsed
// (scenario.ThresholdList).
func scenarioThresholds(sc *scenario.Scenario) ([]scenario.Threshold, error) {
	return sc.ThresholdList()
}

// parseThresholds parses threshold expressions (scenario.ParseThresholds).
func parseThresholds(exprs []string, where string) ([]scenario.Threshold, error) {
	return scenario.ParseThresholds(exprs, where)
}
