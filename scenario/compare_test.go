package scenario

import (
	"strings"
	"testing"
)

// A compare section's tolerances are read in --max-regression's syntax,
// one or a list an entry; a bad one is reported at its node.
func TestCompareSection(t *testing.T) {
	base := "population: {users: 10}\nphases: [{model: open, rate: 1, duration: 1s}]\n"
	s, err := Parse([]byte(base+"compare:\n  max_regression: [\"login.p99=10%\", \"errors.rate=0.05pp,max=off\"]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Compare.Tolerances
	if len(ts) != 3 || ts[0].Key() != "login.p99" || ts[0].Value != 0.1 || ts[1].Key() != "errors.rate" || ts[1].Value != 0.0005 || !ts[2].Off {
		t.Fatalf("tolerances %+v", ts)
	}
	_, err = Parse([]byte(base+"compare:\n  max_regression: [\"login.p99=10%\", \"lgoin.p990=10%\"]\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), `c.yaml:4:37: compare.max_regression[1]: col 1: tolerance "lgoin.p990=10%": unknown figure`) {
		t.Errorf("got %v", err)
	}
	_, err = Parse([]byte(base+"compare:\n  max_regresion: [\"login.p99=10%\"]\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "max_regresion") {
		t.Errorf("misspelt key: %v", err)
	}
}
