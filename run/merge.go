package run

import (
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
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
	ths, err := scenario.ParseThresholds(exprs, "file 1: ")
	if err != nil {
		return nil, err
	}
	f.Thresholds = eval.Thresholds(ths, eval.Inputs{Metrics: f.Metrics, Kickout: f.Kickout, MAU: f.MAU})
	return &Outcome{File: f, Kickout: f.Kickout, Passed: results.Passed(f.Thresholds)}, nil
}
