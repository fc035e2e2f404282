package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Mix is a weighted choice of platforms: the platform mix of a scenario or
// of a month simulation. The one pick every device and app user goes
// through; the zero Mix is Android alone.
type Mix struct {
	plats []Platform
	cum   []float64 // cumulative weights, in the order of plats
}

// NewMix reads weights by platform name (any letter case). The names are
// taken in sorted order, never map order, so that a draw depends on the
// weights alone. A name that is not a platform, a platform named twice and
// a weight that is not a finite number > 0 are reported and left out; when
// nothing is left the mix is Android alone.
func NewMix(weights map[string]float64) (Mix, error) {
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	slices.Sort(names)
	var m Mix
	var errs []error
	total := 0.0
	for _, name := range names {
		p, err := ParsePlatform(name)
		w := weights[name]
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case !(w > 0) || math.IsInf(w, 0):
			errs = append(errs, fmt.Errorf("weight of %s must be > 0, got %v", name, w))
			continue
		case slices.Contains(m.plats, p):
			errs = append(errs, fmt.Errorf("platform %s is named twice (names are case-insensitive)", p))
			continue
		}
		total += w
		m.plats = append(m.plats, p)
		m.cum = append(m.cum, total)
	}
	return m, errors.Join(errs...)
}

// Pick returns the platform that u, a uniform draw in [0, 1), falls on:
// the first whose cumulative weight exceeds u times the total weight.
func (m Mix) Pick(u float64) Platform {
	if len(m.plats) == 0 {
		return Android
	}
	w := u * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if w < c {
			return m.plats[i]
		}
	}
	return m.plats[len(m.plats)-1]
}

// Platforms returns the platforms of the mix with their shares (summing to
// 1), in the mix's order.
func (m Mix) Platforms() ([]Platform, []float64) {
	if len(m.plats) == 0 {
		return []Platform{Android}, []float64{1}
	}
	total := m.cum[len(m.cum)-1]
	shares := make([]float64, len(m.cum))
	prev := 0.0
	for i, c := range m.cum {
		shares[i] = (c - prev) / total
		prev = c
	}
	return slices.Clone(m.plats), shares
}
