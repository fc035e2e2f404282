package mau

import (
	"errors"
	"fmt"
	"math"

	"github.com/imload/imload/internal/yamlpos"
)

// Pricing turns a month's MAU into money: the first Included users are
// free, the rest are billed per thousand in graduated tiers. Tier i covers
// MAU from the previous tier's UpTo (exclusive) to its own UpTo
// (inclusive); UpTo 0 means no limit and only the last tier may have it. A
// user is billed at the price of the tier their rank falls in, pro rata (no
// rounding up to whole thousands):
//
//	pricing:
//	  currency: USD
//	  included: 1000
//	  tiers:
//	    - {up_to: 100000, per_thousand: 2.8}
//	    - {up_to: 0, per_thousand: 1.2}
//
// gives 99,000 × 2.8/1000 + 50,000 × 1.2/1000 = 337.2 for 150,000 MAU.
// A Pricing without tiers costs nothing.
type Pricing struct {
	Currency string `yaml:"currency,omitempty" json:"currency,omitempty"`
	Included int    `yaml:"included,omitempty" json:"included,omitempty"`
	Tiers    []Tier `yaml:"tiers,omitempty" json:"tiers,omitempty"`
}

// Tier is one price band.
type Tier struct {
	UpTo        int     `yaml:"up_to" json:"up_to"`
	PerThousand float64 `yaml:"per_thousand" json:"per_thousand"`
}

// Validate says what is wrong with the pricing.
func (p Pricing) Validate() error { return p.validate("pricing") }

// validate names problems under path ("mau.pricing").
func (p Pricing) validate(path string) error {
	var errs []error
	if p.Included < 0 {
		errs = append(errs, yamlpos.Errorf(path+".included", "must be >= 0, got %d", p.Included))
	}
	prev := 0
	for i, t := range p.Tiers {
		last := i == len(p.Tiers)-1
		switch {
		case t.UpTo == 0 && !last:
			errs = append(errs, yamlpos.Errorf(fmt.Sprintf("%s.tiers[%d].up_to", path, i), "0 (no limit) is allowed only in the last tier"))
		case t.UpTo != 0 && last:
			errs = append(errs, yamlpos.Errorf(fmt.Sprintf("%s.tiers[%d].up_to", path, i), "the last tier must have up_to: 0 (no limit), got %d", t.UpTo))
		case t.UpTo < 0 || (t.UpTo != 0 && t.UpTo <= prev):
			errs = append(errs, yamlpos.Errorf(fmt.Sprintf("%s.tiers[%d].up_to", path, i), "must be above the previous tier's %d, got %d", prev, t.UpTo))
		}
		if !(t.PerThousand >= 0) || math.IsInf(t.PerThousand, 0) {
			errs = append(errs, yamlpos.Errorf(fmt.Sprintf("%s.tiers[%d].per_thousand", path, i), "must be a price >= 0, got %v", t.PerThousand))
		}
		if t.UpTo > prev {
			prev = t.UpTo
		}
	}
	return errors.Join(errs...)
}

// Cost returns the price of one month's MAU.
func (p Pricing) Cost(mau int) float64 {
	cost := 0.0
	lo := 0
	for _, t := range p.Tiers {
		hi := t.UpTo
		if hi == 0 || hi > mau {
			hi = mau
		}
		if from := max(lo, p.Included); hi > from {
			cost += float64(hi-from) * t.PerThousand / 1000
		}
		if t.UpTo == 0 || t.UpTo >= mau {
			break
		}
		lo = t.UpTo
	}
	return cost
}
