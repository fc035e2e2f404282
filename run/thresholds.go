package run

import (
	"github.com/imload/imload/check"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

// evalThresholds judges each threshold against the run's metrics and the
// kickout report (nil when the oracle was off). The judge catalogue and
// judge/eval say what each metric is and answer it.
func evalThresholds(ths []scenario.Threshold, snap *metrics.Snapshot, kick *check.Report) []results.Threshold {
	return eval.Thresholds(ths, eval.Inputs{Metrics: snap, Kickout: kick})
}
