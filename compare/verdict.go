package compare

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

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

// DefaultTolerances apply to every operation unless overridden: 5 % for the
// quantiles and throughput, 25 % for the maximum (a single value, noisy by
// nature), 0.1 percentage points for the error rate.
func DefaultTolerances() []Tolerance {
	return []Tolerance{
		{Stat: "p50", Value: 0.05}, {Stat: "p90", Value: 0.05}, {Stat: "p99", Value: 0.05}, {Stat: "p99.9", Value: 0.05},
		{Stat: "max", Value: 0.25}, {Stat: "errors.rate", Value: 0.001}, {Stat: "throughput", Value: 0.05},
	}
}

// ParseTolerances reads a comma-separated list such as
// "login.p99=10%,errors.rate=0.05pp,max=off". A key is [OP.]STAT with STAT
// one of Stats (no OP: every operation); a value is a percentage ("10%")
// for latencies and throughput, percentage points ("0.05pp") for
// errors.rate, or "off".
func ParseTolerances(s string) ([]Tolerance, error) {
	var out []Tolerance
	col := 1
	for part := range strings.SplitSeq(s, ",") {
		t, err := ParseTolerance(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("col %d: %w", col, err)
		}
		out = append(out, t)
		col += len(part) + 1
	}
	return out, nil
}

// ParseTolerance reads one "KEY=VALUE" (see ParseTolerances).
func ParseTolerance(s string) (Tolerance, error) {
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

// tolerances finds the tolerance of a figure: OP.STAT, else STAT, else the
// default.
type tolerances map[string]Tolerance

func resolveTolerances(user []Tolerance) (tolerances, error) {
	m := tolerances{}
	for _, t := range DefaultTolerances() {
		m[t.Key()] = t
	}
	for _, t := range user {
		if !slices.Contains(Stats, t.Stat) {
			return nil, fmt.Errorf("compare: tolerance %s: unknown statistic %q (allowed: %s)", t.Key(), t.Stat, strings.Join(Stats, ", "))
		}
		m[t.Key()] = t
	}
	return m, nil
}

func (m tolerances) lookup(op, stat string) (Tolerance, string) {
	if t, ok := m[op+"."+stat]; ok {
		return t, op + "." + stat
	}
	return m[stat], stat
}

// lowerIsWorse: a drop of throughput is the regression.
func lowerIsWorse(stat string) bool { return stat == "throughput" }

// judge sets f's verdict against tolerance t.
//
// With an interval: regressed when the whole interval lies beyond the
// tolerance on the bad side (for a ratio and tolerance t: above 1+t, or for
// throughput below 1/(1+t); for errors.rate: above +t), improved when it
// lies beyond it on the good side (below 1/(1+t), above 1+t for throughput,
// below -t for errors.rate), no change otherwise. With replicate runs and a
// rank test able to reject at alpha, a p-value at or above alpha turns a
// verdict into no change: the runs do not differ beyond their own spread.
//
// Without an interval (per-platform figures, quantiles of operations with
// no per-second histograms) the verdict needs the rank test: the point
// change beyond the tolerance and p < alpha; n/a when there is no test.
func judge(f *Figure, t Tolerance, alpha float64) {
	tol := t.Value
	if t.Off {
		tol = 0
	}
	lo, hi := float64(f.Lo), float64(f.Hi)
	haveCI := !math.IsNaN(lo) && !math.IsNaN(hi)
	rank := !math.IsNaN(float64(f.RankP)) && !f.rankWeak
	if !haveCI {
		c := float64(f.Change)
		if !rank || math.IsNaN(c) {
			f.Verdict = NoVerdict
			return
		}
		lo, hi = c, c
		if float64(f.RankP) >= alpha {
			f.Verdict = NoChange
			return
		}
	}
	f.Verdict = beyond(f.Stat, f.Difference, lo, hi, tol)
	if haveCI && rank && f.Verdict != NoChange && float64(f.RankP) >= alpha {
		f.Verdict = NoChange
		f.Note = joinNote(f.Note, fmt.Sprintf("the rank test across runs finds no difference (p=%.3g)", float64(f.RankP)))
	}
}

// beyond places the interval [lo, hi] of a change against tolerance tol.
func beyond(stat string, diff bool, lo, hi, tol float64) Verdict {
	if diff {
		switch {
		case lo > tol:
			return Regressed
		case hi < -tol:
			return Improved
		}
		return NoChange
	}
	up, down := 1+tol, 1/(1+tol)
	worse, better := lo > up, hi < down
	if lowerIsWorse(stat) {
		worse, better = hi < down, lo > up
	}
	switch {
	case worse:
		return Regressed
	case better:
		return Improved
	}
	return NoChange
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
