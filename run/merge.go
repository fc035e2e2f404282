package run

import (
	"github.com/imload/imload/results"
)

// MergeFiles combines the results of the shards of one run
// (results.Merge: metrics, kickout verdicts and MAU accounting) and judges
// the thresholds again over the merged data, from the expressions the shards
// recorded. Outcome.Passed says whether every threshold passed.
func MergeFiles(files ...*results.File) (*Outcome, error) {
	f, err := results.Merge(files...)
	if err != nil {
		return nil, err
	}
	exprs := make([]string, len(files[0].Thresholds))
	for i, t := range files[0].Thresholds {
		exprs[i] = t.Expr
	}
	ths, err := parseThresholds(exprs, "file 1: ")
	if err != nil {
		return nil, err
	}
	f.Thresholds = judgeThresholds(ths, f.Metrics, f.Kickout, f.MAU)
	return &Outcome{File: f, Kickout: f.Kickout, Passed: passed(f.Thresholds)}, nil
}
