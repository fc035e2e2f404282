package run

import (
	"testing"

	"github.com/imload/imload/scenario"
)

// Every ordinary run measures its generator: results.json has the
// generator section with its per-second figures and the pacer's sends.
func TestOrdinaryRunHasGeneratorHealth(t *testing.T) {
	sc, err := scenario.Parse([]byte(`
target: {driver: inproc}
population: {users: 50}
behaviour: {hold: {dist: constant, value: 100ms}}
checks: {kickout: {enabled: false}}
phases: [{model: open, duration: 1500ms, rate: 40}]
`), "g.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Execute(t.Context(), Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	g := res.File.Generator
	if g == nil || g.Seconds < 1 || len(g.PerSecond) != g.Seconds || g.Sends != 60 || g.GOMAXPROCS < 1 {
		t.Fatalf("generator %+v", g)
	}
}
