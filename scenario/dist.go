package scenario

import (
	"math/rand/v2"
	"time"
)

// Dist is a distribution of durations, written in YAML either as a plain
// duration ("5s": constant) or as a mapping:
//
//	{dist: constant, value: 5s}
//	{dist: uniform, min: 1s, max: 9s}
//	{dist: exponential, mean: 5s}
//	{dist: lognormal, median: 2s, p99: 30s}
//	{dist: empirical, percentiles: {p0: 100ms, p50: 1s, p90: 4s, p100: 20s}}
type Dist struct {
	Kind        string              `yaml:"dist" json:"dist"`
	Value       Duration            `yaml:"value,omitempty" json:"value,omitempty"`
	Min         Duration            `yaml:"min,omitempty" json:"min,omitempty"`
	Max         Duration            `yaml:"max,omitempty" json:"max,omitempty"`
	Mean        Duration            `yaml:"mean,omitempty" json:"mean,omitempty"`
	Median      Duration            `yaml:"median,omitempty" json:"median,omitempty"`
	P99         Duration            `yaml:"p99,omitempty" json:"p99,omitempty"`
	Percentiles map[string]Duration `yaml:"percentiles,omitempty" json:"percentiles,omitempty"`
}

// Sample draws one duration using r.
func (d *Dist) Sample(r *rand.Rand) time.Duration {
	// TODO(scenario): implemented by the scenario package work.
	return d.Value.D()
}
