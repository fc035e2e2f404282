package compare

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/imload/imload/compare/tolerance"
)

// Tolerance is how much worse a figure may get (package tolerance, which
// scenario validation shares).
type Tolerance = tolerance.Tolerance

// DefaultTolerances apply to every operation unless overridden.
func DefaultTolerances() []Tolerance { return tolerance.Defaults() }

// ParseTolerances reads a comma-separated list such as
// "login.p99=10%,errors.rate=0.05pp,max=off" (tolerance.ParseList).
func ParseTolerances(s string) ([]Tolerance, error) { return tolerance.ParseList(s) }

// ParseTolerance reads one "KEY=VALUE" (tolerance.Parse).
func ParseTolerance(s string) (Tolerance, error) { return tolerance.Parse(s) }

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
