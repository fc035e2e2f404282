package compare

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/imload/imload/policy"
)

func TestJudge(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name           string
		stat           string
		change, lo, hi float64
		tol            Tolerance
		rankP          float64
		rankWeak       bool
		want           Verdict
	}{
		{"interval above tolerance", "p99", 1.2, 1.12, 1.3, Tolerance{Value: 0.1}, nan, false, Regressed},
		{"interval straddles tolerance", "p99", 1.12, 1.08, 1.16, Tolerance{Value: 0.1}, nan, false, NoChange},
		{"interval above 1, below tolerance", "p99", 1.05, 1.02, 1.08, Tolerance{Value: 0.1}, nan, false, NoChange},
		{"tolerance 0: above 1", "p99", 1.05, 1.02, 1.08, Tolerance{}, nan, false, Regressed},
		{"faster beyond tolerance", "p50", 0.8, 0.75, 0.88, Tolerance{Value: 0.1}, nan, false, Improved},
		{"faster, within 1/(1+t)", "p50", 0.93, 0.91, 0.95, Tolerance{Value: 0.1}, nan, false, NoChange},
		{"throughput down beyond", "throughput", 0.8, 0.75, 0.85, Tolerance{Value: 0.05}, nan, false, Regressed},
		{"throughput up beyond", "throughput", 1.2, 1.1, 1.3, Tolerance{Value: 0.05}, nan, false, Improved},
		{"errors up beyond pp", "errors.rate", 0.01, 0.006, 0.014, Tolerance{Value: 0.005}, nan, false, Regressed},
		{"errors up within pp", "errors.rate", 0.004, 0.001, 0.007, Tolerance{Value: 0.005}, nan, false, NoChange},
		{"errors down beyond pp", "errors.rate", -0.01, -0.014, -0.006, Tolerance{Value: 0.005}, nan, false, Improved},
		{"off: still judged at 0", "max", 1.5, 1.1, 2, Tolerance{Off: true, Value: 0.9}, nan, false, Regressed},
		{"rank test disagrees", "p99", 1.2, 1.12, 1.3, Tolerance{Value: 0.1}, 0.4, false, NoChange},
		{"rank test agrees", "p99", 1.2, 1.12, 1.3, Tolerance{Value: 0.1}, 0.01, false, Regressed},
		{"weak rank test ignored", "p99", 1.2, 1.12, 1.3, Tolerance{Value: 0.1}, 0.4, true, Regressed},
		{"no interval, no test", "p99", 1.5, nan, nan, Tolerance{Value: 0.1}, nan, false, NoVerdict},
		{"no interval, rank test significant", "p99", 1.5, nan, nan, Tolerance{Value: 0.1}, 0.01, false, Regressed},
		{"no interval, rank test significant, small change", "p99", 1.05, nan, nan, Tolerance{Value: 0.1}, 0.01, false, NoChange},
		{"no interval, rank test not significant", "p99", 1.5, nan, nan, Tolerance{Value: 0.1}, 0.3, false, NoChange},
		{"no interval, weak test", "p99", 1.5, nan, nan, Tolerance{Value: 0.1}, 0.3, true, NoVerdict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &Figure{Stat: c.stat, Difference: c.stat == "errors.rate", Change: Num(c.change), Lo: Num(c.lo), Hi: Num(c.hi), RankP: Num(c.rankP), rankWeak: c.rankWeak}
			judge(f, c.tol, 0.05)
			if f.Verdict != c.want {
				t.Errorf("verdict %s, want %s", f.Verdict, c.want)
			}
		})
	}
}

func TestParseTolerances(t *testing.T) {
	got, err := ParseTolerances("login.p99=10%, errors.rate=0.05pp,p99.9=2.5%,logout.max=off,login.throughput=5%")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tolerance{{Op: "login", Stat: "p99", Value: 0.1}, {Stat: "errors.rate", Value: 0.0005},
		{Stat: "p99.9", Value: 0.025}, {Op: "logout", Stat: "max", Off: true}, {Op: "login", Stat: "throughput", Value: 0.05}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Op != want[i].Op || got[i].Stat != want[i].Stat || got[i].Off != want[i].Off || math.Abs(got[i].Value-want[i].Value) > 1e-12 {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := got[1].String(); s != "0.05pp" {
		t.Errorf("String = %q", s)
	}
	for _, c := range []struct{ in, msg string }{
		{"login.p99", "want KEY=VALUE"},
		{"login.p98=10%", "unknown figure"},
		{"login.p99=10", "takes a value like 10%"},
		{"errors.rate=0.1%", "takes a value like 0.05pp"},
		{"login.p99=-5%", "takes a value like 10%"},
		{"login.p99=NaN%", "takes a value like 10%"},
		{"log-in.p99=5%", "is not a name"},
		{"login.p99=5%,p50=x", "col 14"},
	} {
		_, err := ParseTolerances(c.in)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.msg)
		}
	}
}

func TestToleranceLookupAndUnknown(t *testing.T) {
	b := synth(synthSpec{seconds: 10, perSec: 50, seed: 1})
	n := synth(synthSpec{seconds: 10, perSec: 50, seed: 2})
	r, err := Compare([]Run{{"b", b}}, []Run{{"n", n}}, Options{Resamples: 100,
		Tolerances: []Tolerance{{Stat: "p99", Value: 0.2}, {Op: "login", Stat: "p50", Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if f := find(r, "login", "all", "p99"); f.Tolerance != "20%" || !f.Gated {
		t.Errorf("login.p99: tolerance %s gated %v", f.Tolerance, f.Gated)
	}
	if f := find(r, "login", "all", "p50"); f.Gated {
		t.Errorf("login.p50 is gated with tolerance off")
	}
	if f := find(r, "login", "all", "p90"); f.Tolerance != "5%" {
		t.Errorf("login.p90: default tolerance %s, want 5%%", f.Tolerance)
	}
	_, err = Compare([]Run{{"b", b}}, []Run{{"n", n}}, Options{Resamples: 10, Tolerances: []Tolerance{{Op: "lgoin", Stat: "p99"}}})
	if err == nil || !strings.Contains(err.Error(), "lgoin.p99 matches no figure") {
		t.Errorf("typo in a tolerance: %v", err)
	}
}

func TestRefusesDifferentScenarios(t *testing.T) {
	b := synth(synthSpec{seconds: 5, perSec: 20, seed: 1})
	n := synth(synthSpec{seconds: 5, perSec: 20, seed: 2, scenario: "other"})
	_, err := Compare([]Run{{"b.json", b}}, []Run{{"n.json", n}}, Options{})
	if !errors.Is(err, ErrDifferentScenarios) || !strings.Contains(err.Error(), `n.json is "other"`) {
		t.Errorf("error %v", err)
	}
}

func TestDifferencesListed(t *testing.T) {
	b := synth(synthSpec{seconds: 5, perSec: 20, seed: 1})
	n := synth(synthSpec{seconds: 5, perSec: 20, seed: 2})
	n.Environment.CPUs = 8
	n.Environment.Version = "v2"
	n.Environment.Target = b.Environment.Target
	r, err := Compare([]Run{{"b", b}}, []Run{{"n", n}}, Options{Resamples: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Differences, "\n")
	for _, want := range []string{"seed: base 1; new 2", "imload version: base test; new v2", "CPUs: base 2; new 8"} {
		if !strings.Contains(got, want) {
			t.Errorf("differences lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "target") {
		t.Errorf("the target is the same but listed:\n%s", got)
	}
}

// A clear slowdown of one side is regressed on every latency quantile, and
// the rank test across replicates agrees; per-platform figures get their
// verdict from the rank test alone.
func TestReplicatesRankTest(t *testing.T) {
	plats := []policy.Platform{policy.Android, policy.IPhone}
	var base, next []Run
	for i := range 5 {
		base = append(base, Run{"b", synth(synthSpec{seconds: 10, perSec: 100, seed: uint64(10 + i), platforms: plats})})
		next = append(next, Run{"n", synth(synthSpec{seconds: 10, perSec: 100, seed: uint64(20 + i), factor: 1.5, platforms: plats})})
	}
	r, err := Compare(base, next, Options{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"p50", "p90", "p99"} {
		f := find(r, "login", "all", st)
		if f.Verdict != Regressed || !(float64(f.RankP) < 0.05) {
			t.Errorf("%s: verdict %s, rank p %v", st, f.Verdict, f.RankP)
		}
		pf := find(r, "login", string(policy.IPhone), st)
		if pf == nil || pf.Verdict != Regressed {
			t.Errorf("%s on iPhone: %+v", st, pf)
		}
	}
	if r.Method.RankTest == "" {
		t.Error("no rank test recorded in the method")
	}
}
