package scenario

import (
	"fmt"

	"github.com/imload/imload/compare/tolerance"
)

// Compare is a scenario's compare section: how imload compare (and imload
// run --baseline) judges a run of this scenario against a baseline.
type Compare struct {
	// MaxRegression are tolerances in the syntax of --max-regression, one
	// or a comma-separated list an entry ("login.p99=10%",
	// "errors.rate=0.05pp", "logout.max=off"); the command line's come
	// after them, and win over them for the same figure.
	MaxRegression []string `yaml:"max_regression,omitempty" json:"max_regression,omitempty"`
	// Tolerances are MaxRegression parsed (set by Load; not in YAML).
	Tolerances []tolerance.Tolerance `yaml:"-" json:"-"`
}

func compareDocs() map[string]fieldDoc {
	return map[string]fieldDoc{
		"compare":                {desc: "How imload compare and imload run --baseline judge a run of this scenario against a baseline (README, \"Comparing runs\")."},
		"compare.max_regression": {desc: "Tolerances, as --max-regression takes them: [OP.]STAT=N% (pp for errors.rate) or off, e.g. [\"login.p99=10%\", \"errors.rate=0.05pp\"]. STAT is one of p50, p90, p99, p99.9, max, errors.rate, throughput; the command line's tolerances win over these for the same figure."},
	}
}

func (v *validator) compare() {
	c := v.s.Compare
	if c == nil {
		return
	}
	c.Tolerances = nil
	for i, s := range c.MaxRegression {
		ts, err := tolerance.ParseList(s)
		if err != nil {
			v.errf(fmt.Sprintf("compare.max_regression[%d]", i), "%v", err)
			continue
		}
		c.Tolerances = append(c.Tolerances, ts...)
	}
}
