package scenario

import (
	"fmt"

	"github.com/imload/imload/judge"
)

// Threshold is a parsed threshold expression such as "login.p99 < 250ms".
// The metrics, their kinds and units and the expression syntax are the
// judge catalogue's; scenario validation resolves every threshold against it.
type Threshold = judge.Threshold

// ThresholdError is a problem in a threshold expression at a column
// (1-based, in bytes).
type ThresholdError = judge.ThresholdError

// ParseThreshold parses a threshold expression and resolves its metric
// against the catalogue (see judge.Parse).
func ParseThreshold(s string) (Threshold, error) { return judge.Parse(s) }

// ParseThresholds parses threshold expressions; errors say which one, after
// the prefix where (e.g. "file 1: ").
func ParseThresholds(exprs []string, where string) ([]Threshold, error) {
	ths := make([]Threshold, 0, len(exprs))
	for i, e := range exprs {
		th, err := ParseThreshold(e)
		if err != nil {
			return nil, fmt.Errorf("%sthresholds[%d]: %w", where, i, err)
		}
		ths = append(ths, th)
	}
	return ths, nil
}

// ThresholdList returns the scenario's thresholds parsed: as Load or
// Prepare left them, or parsed here for a scenario built without either.
func (s *Scenario) ThresholdList() ([]Threshold, error) {
	if len(s.ParsedThresholds) == len(s.Thresholds) {
		return s.ParsedThresholds, nil
	}
	return ParseThresholds(s.Thresholds, "")
}
