package scenario

import "github.com/imload/imload/judge"

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
