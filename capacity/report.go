package capacity

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Report is a capacity search's answer, the section "capacity" of
// results.json.
type Report struct {
	Vary      string  `json:"vary"`
	Precision float64 `json:"precision"`
	// Sustained is the largest load that passed the SLO (the mean over the
	// repeats; for a lower bound, bound generator or max, the least); Interval its 95% confidence interval (Student's t over the
	// repeats; one repeat: [sustained, least failing load), the bracket).
	Sustained float64    `json:"sustained"`
	Interval  [2]float64 `json:"interval"`
	// IntervalKind says which: "t95" or "bracket".
	IntervalKind string `json:"interval_kind"`
	// Bound: target (a step failed the SLO), generator (imload gave out
	// first: Sustained is a lower bound) or max (every step up to max
	// passed: a lower bound too).
	Bound string `json:"bound"`
	// BoundBy names the thresholds that failed at the least failing loads.
	BoundBy []string `json:"bound_by,omitempty"`
	// Require is the CI gate (0: none); Met whether Sustained reaches it.
	Require float64  `json:"require,omitempty"`
	Met     bool     `json:"met"`
	Repeats []Repeat `json:"repeats"`
	Steps   []Step   `json:"steps"`
	Knee    *Knee    `json:"knee,omitempty"`
	USL     *USL     `json:"usl,omitempty"`
	// Little counts the steps whose Little's-law check did not hold.
	LittleFlags int `json:"little_flags"`
}

// conclude sets the answer from the repeats and explains the steps.
func (r *Report) conclude() {
	var xs []float64
	r.Bound = BoundTarget
	for _, rp := range r.Repeats {
		xs = append(xs, rp.Sustained)
		// The weakest claim wins: a generator-bound repeat makes the whole
		// answer a lower bound.
		switch {
		case rp.Bound == BoundGenerator:
			r.Bound = BoundGenerator
		case rp.Bound == BoundMax && r.Bound == BoundTarget:
			r.Bound = BoundMax
		}
	}
	if len(xs) == 0 {
		return
	}
	r.Sustained = stat.Mean(xs, nil)
	if r.Bound != BoundTarget {
		// Lower bounds: the one every repeat supports.
		r.Sustained = slices.Min(xs)
	}
	if len(xs) > 1 {
		sd := stat.StdDev(xs, nil)
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
		h := t * sd / math.Sqrt(float64(len(xs)))
		r.Interval, r.IntervalKind = [2]float64{r.Sustained - h, r.Sustained + h}, "t95"
	} else {
		hi := r.Repeats[0].FailedAt
		if hi == 0 {
			hi = r.Sustained
		}
		r.Interval, r.IntervalKind = [2]float64{r.Sustained, hi}, "bracket"
	}
	if r.Bound == BoundGenerator {
		r.Interval = [2]float64{}
		r.IntervalKind = ""
	}
	r.Met = r.Require <= 0 || r.Sustained >= r.Require
	for i, rp := range r.Repeats {
		for _, s := range r.Steps {
			if s.Repeat == i && s.Load == rp.FailedAt && !s.Pass {
				for _, f := range s.Failed {
					if !slices.Contains(r.BoundBy, f) {
						r.BoundBy = append(r.BoundBy, f)
					}
				}
			}
		}
	}
	for _, s := range r.Steps {
		if s.Little != "" {
			r.LittleFlags++
		}
	}
	r.Knee = kneedle(r.Steps)
	if r.Vary == VaryRate {
		r.USL = fitUSL(r.Steps)
	}
}
