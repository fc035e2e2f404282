package scenario

import (
	"math/rand/v2"

	"github.com/imload/imload/policy"
)

// PlatformWeight is one platform's share of arriving devices.
type PlatformWeight struct {
	Platform policy.Platform
	Weight   float64 // in (0, 1]; the weights of a mix sum to 1
}

// PlatformMix returns the platform shares of a loaded scenario in the fixed
// order of policy.Platforms (never map order), weights summing to 1.
func (s *Scenario) PlatformMix() []PlatformWeight {
	var sum float64
	mix := make([]PlatformWeight, 0, len(s.Platforms))
	for _, p := range policy.Platforms {
		if w := s.Platforms[string(p)]; w > 0 {
			mix = append(mix, PlatformWeight{p, w})
			sum += w
		}
	}
	for i := range mix {
		mix[i].Weight /= sum
	}
	return mix
}

// PickPlatform chooses a platform from mix by weight with one draw of r.
// An empty mix gives Android.
func PickPlatform(mix []PlatformWeight, r *rand.Rand) policy.Platform {
	if len(mix) == 0 {
		return policy.Android
	}
	u := r.Float64()
	for _, pw := range mix {
		if u < pw.Weight {
			return pw.Platform
		}
		u -= pw.Weight
	}
	return mix[len(mix)-1].Platform
}
