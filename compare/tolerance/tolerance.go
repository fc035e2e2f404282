// Package tolerance is the syntax of imload compare's tolerances
// ("login.p99=10%", "errors.rate=0.05pp", "max=off"): how much worse a
// figure may get before it counts as a regression. It is a leaf, so that
// scenario validation (a scenario's compare section) and compare share it.
package tolerance

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Stats are the figures compared for every operation, in table order.
var Stats = []string{"p50", "p90", "p99", "p99.9", "max", "errors.rate", "throughput"}

// Tolerance is how much worse a figure may get before it counts as a
// regression: for latencies and throughput a relative change (0.1: 10 %),
// for errors.rate a difference of fractions (0.0005: 0.05 percentage
// points). Off leaves the figure out of the exit code; its verdict is still
// shown, against a tolerance of 0.
type Tolerance struct {
	// Op is the operation ("login"); "" for every operation.
	Op    string
	Stat  string
	Value float64
	Off   bool
}

// Key is the tolerance as written before "=": "login.p99", "errors.rate".
func (t Tolerance) Key() string {
	if t.Op == "" {
		return t.Stat
	}
	return t.Op + "." + t.Stat
}

// String is the value as written after "=": "10%", "0.05pp", "off".
func (t Tolerance) String() string {
	switch {
	case t.Off:
		return "off"
	case t.Stat == "errors.rate":
		return strconv.FormatFloat(100*t.Value, 'g', -1, 64) + "pp"
	}
	return strconv.FormatFloat(100*t.Value, 'g', -1, 64) + "%"
}

// Defaults apply to every operation unless overridden: 5 % for the
// quantiles and throughput, 25 % for the maximum (a single value, noisy by
// nature), 0.1 percentage points for the error rate.
func Defaults() []Tolerance {
	return []Tolerance{
		{Stat: "p50", Value: 0.05}, {Stat: "p90", Value: 0.05}, {Stat: "p99", Value: 0.05}, {Stat: "p99.9", Value: 0.05},
		{Stat: "max", Value: 0.25}, {Stat: "errors.rate", Value: 0.001}, {Stat: "throughput", Value: 0.05},
	}
}

// ParseList reads a comma-separated list such as
// "login.p99=10%,errors.rate=0.05pp,max=off". A key is [OP.]STAT with STAT
// one of Stats (no OP: every operation); a value is a percentage ("10%")
// for latencies and throughput, percentage points ("0.05pp") for
// errors.rate, or "off".
func ParseList(s string) ([]Tolerance, error) {
	var out []Tolerance
	col := 1
	for part := range strings.SplitSeq(s, ",") {
		t, err := Parse(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("col %d: %w", col, err)
		}
		out = append(out, t)
		col += len(part) + 1
	}
	return out, nil
}

// Parse reads one "KEY=VALUE" (see ParseList).
func Parse(s string) (Tolerance, error) {
	var t Tolerance
	key, val, ok := strings.Cut(s, "=")
	if !ok {
		return t, fmt.Errorf("tolerance %q: want KEY=VALUE, e.g. login.p99=10%% or errors.rate=0.05pp", s)
	}
	key, val = strings.TrimSpace(key), strings.TrimSpace(val)
	for _, st := range Stats {
		if key == st {
			t.Stat = st
		} else if op, ok := strings.CutSuffix(key, "."+st); ok && op != "" && t.Stat == "" {
			t.Op, t.Stat = op, st
		}
	}
	if t.Stat == "" {
		return t, fmt.Errorf("tolerance %q: unknown figure %q: want [OPERATION.]STAT with STAT one of %s", s, key, strings.Join(Stats, ", "))
	}
	if t.Op != "" && !validOp(t.Op) {
		return t, fmt.Errorf("tolerance %q: operation %q is not a name (letters, digits, _)", s, t.Op)
	}
	if val == "off" {
		t.Off = true
		return t, nil
	}
	suffix, example := "%", "10%"
	if t.Stat == "errors.rate" {
		suffix, example = "pp", "0.05pp"
	}
	num, ok := strings.CutSuffix(val, suffix)
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || !(f >= 0) || math.IsInf(f, 0) || strings.ContainsAny(num, "+-eExXnN") {
		return t, fmt.Errorf("tolerance %q: %s takes a value like %s (or off), got %q", s, t.Stat, example, val)
	}
	t.Value = f / 100
	return t, nil
}

func validOp(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}
