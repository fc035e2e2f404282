package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/results"
)

// kickoutOf is the kickout oracle's report of f (nil: none).
func kickoutOf(f *results.File) (*check.Report, error) { return f.Kickout, nil }

// mauOf is the MAU report of f (nil: none).
func mauOf(f *results.File) (*mau.Report, error) { return f.MAU, nil }

// countRows are the oracle's verdict counts (summed over each side's runs)
// and the MAU of each strategy and month (the mean over each side's runs),
// where any run has them.
func countRows(base, next []Run, warn *[]string) (kick, months []Count) {
	var kb, kn [check.NumClasses]float64
	var haveKick [2]int
	type key struct{ strategy, month string }
	var order []key
	sums := map[key]*[2]float64{}
	var mauRuns [2]int
	for side, rs := range [][]Run{base, next} {
		for _, r := range rs {
			k, err := kickoutOf(r.File)
			if err != nil {
				*warn = append(*warn, fmt.Sprintf("%s: kickout section left out: %v", r.Name, err))
			}
			if k != nil {
				haveKick[side]++
				for c := check.Class(0); c < check.NumClasses; c++ {
					if side == 0 {
						kb[c] += float64(k.Verdicts[c].Count)
					} else {
						kn[c] += float64(k.Verdicts[c].Count)
					}
				}
			}
			m, err := mauOf(r.File)
			if err != nil {
				*warn = append(*warn, fmt.Sprintf("%s: mau section left out: %v", r.Name, err))
			}
			if m == nil {
				continue
			}
			mauRuns[side]++
			for _, st := range m.Strategies {
				for _, mo := range st.Months {
					k := key{st.Name, mo.Month}
					if sums[k] == nil {
						sums[k] = &[2]float64{}
						order = append(order, k)
					}
					sums[k][side] += float64(mo.MAU)
				}
			}
		}
	}
	if haveKick[0]+haveKick[1] > 0 {
		for c := check.Class(0); c < check.NumClasses; c++ {
			b, n := kb[c], kn[c]
			if haveKick[0] == 0 {
				b = math.NaN()
			}
			if haveKick[1] == 0 {
				n = math.NaN()
			}
			kick = append(kick, Count{Name: c.String(), Base: Num(b), New: Num(n), Violation: c.Violation()})
		}
	}
	slices.SortStableFunc(order, func(a, b key) int {
		if a.strategy != b.strategy {
			return 0
		}
		if a.month < b.month {
			return -1
		}
		if a.month > b.month {
			return 1
		}
		return 0
	})
	for _, k := range order {
		s := sums[k]
		b, n := math.NaN(), math.NaN()
		if mauRuns[0] > 0 {
			b = s[0] / float64(mauRuns[0])
		}
		if mauRuns[1] > 0 {
			n = s[1] / float64(mauRuns[1])
		}
		months = append(months, Count{Name: k.strategy + " " + k.month, Base: Num(b), New: Num(n)})
	}
	return kick, months
}
