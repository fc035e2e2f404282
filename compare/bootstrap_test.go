package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The merged per-second histograms give the quantiles HdrHistogram gives
// for the same values merged in one histogram.
func TestPoolQuantilesMatchHdr(t *testing.T) {
	f := synth(synthSpec{seconds: 12, perSec: 300, phi: 0.7, sd: 0.3, seed: 3})
	runs := []Run{{Name: "a", File: f}}
	sides, g, hasHist, err := opSeries("login", runs, runs, nil)
	if err != nil || !hasHist {
		t.Fatalf("opSeries: %v, hasHist %v", err, hasHist)
	}
	p := newPool(g)
	whole(p, sides[0])
	qs := []float64{0.5, 0.9, 0.99, 0.999, 1}
	got := make([]float64, len(qs))
	p.quantilesNs(g, qs, got)

	var all *hdr.Histogram
	for _, h := range f.Metrics.Series.Ops["login"].Latency {
		if h.Count() == 0 {
			continue
		}
		d := h.Histogram()
		if all == nil {
			all = hdr.New(d.LowestTrackableValue(), d.HighestTrackableValue(), int(d.SignificantFigures()))
		}
		all.Merge(d)
	}
	if p.total != all.TotalCount() || p.total != 12*300 {
		t.Fatalf("pool holds %d values, hdr %d, want %d", p.total, all.TotalCount(), 12*300)
	}
	unit := float64(f.Metrics.Histogram.UnitNs)
	for i, q := range qs {
		want := float64(all.ValueAtQuantile(100*q)) * unit
		if got[i] != want {
			t.Errorf("q=%v: pool %v ns, hdr %v ns", q, got[i], want)
		}
	}
}

// Every second appears in a circular block resample with the same chance,
// and a resample has as many seconds as the run.
func TestResampleUniformAndFull(t *testing.T) {
	const n = 10
	r := make(runSecs, n)
	for i := range r {
		r[i] = sec{ok: int64(1) << (3 * i)} // distinct bits: ok sums decode
	}
	g := &grid{unitNs: 1}
	p := newPool(g)
	rng := rand.New(rand.NewPCG(1, 2))
	var hits [n]int
	const trials = 20000
	for range trials {
		resample(p, []runSecs{r}, 0, rng)
		if p.seconds != n {
			t.Fatalf("resample of %d seconds", p.seconds)
		}
		for i := range n {
			hits[i] += int(p.ok>>(3*i)) & 7
		}
	}
	for i, h := range hits {
		if mean := float64(h) / trials; math.Abs(mean-1) > 0.05 {
			t.Errorf("second %d appears %.3f times a resample, want 1", i, mean)
		}
	}
}

func TestBlockLenRule(t *testing.T) {
	for _, c := range []struct{ n, fixed, want int }{
		{0, 0, 1}, {1, 0, 1}, {5, 0, 2}, {9, 0, 3}, {100, 0, 10}, {3600, 0, 60}, {10, 5, 5}, {3, 5, 3},
	} {
		if got := blockLen(c.n, c.fixed); got != c.want {
			t.Errorf("blockLen(%d, %d) = %d, want %d", c.n, c.fixed, got, c.want)
		}
	}
}

// coverage compares trials pairs of synthetic runs where NEW is BASE with
// every latency times k (so every quantile's true ratio is k), each run an
// independent draw, and returns the share of p99 intervals that cover k and
// the share whose lower end is above 1.
func coverage(t *testing.T, spec synthSpec, block, trials int, k float64) (covered, above float64) {
	t.Helper()
	for i := range trials {
		spec.seed = uint64(1000 + 2*i)
		spec.factor = 1
		b := synth(spec)
		spec.seed++
		spec.factor = k
		n := synth(spec)
		r, err := Compare([]Run{{"base", b}}, []Run{{"new", n}}, Options{Resamples: 400, Seed: uint64(i + 1), Block: block})
		if err != nil {
			t.Fatal(err)
		}
		f := find(r, "login", "all", "p99")
		if float64(f.Lo) <= k && k <= float64(f.Hi) {
			covered++
		}
		if float64(f.Lo) > 1 {
			above++
		}
	}
	return covered / float64(trials), above / float64(trials)
}

// The 95 % interval of the p99 ratio covers the true ratio at about its
// nominal rate, per-second latencies lognormal around a mildly
// autocorrelated level; and a 10 % slowdown is seen most of the time.
func TestBootstrapCoverage(t *testing.T) {
	trials := 150
	if quick() {
		trials = 50
	}
	spec := synthSpec{seconds: 40, perSec: 200, phi: 0.5, sd: 0.05}
	cov, above := coverage(t, spec, 0, trials, 1.1)
	t.Logf("p99 ratio 1.1: covered in %.1f%% of %d pairs, interval above 1 in %.1f%%", 100*cov, trials, 100*above)
	if cov < 0.87 || cov > 0.995 {
		t.Errorf("coverage %.1f%%, want about 95%%", 100*cov)
	}
	if above < 0.6 {
		t.Errorf("a 10%% slowdown shows in only %.1f%% of the pairs", 100*above)
	}
	// No slowdown: the interval lies above 1 in about 2.5 % of the pairs.
	_, falseAbove := coverage(t, spec, 0, trials, 1)
	t.Logf("p99 ratio 1: interval above 1 in %.1f%%", 100*falseAbove)
	if falseAbove > 0.08 {
		t.Errorf("with no slowdown the interval lies above 1 in %.1f%% of the pairs", 100*falseAbove)
	}
}

// Blocks of seconds matter when seconds are alike their neighbours: with a
// strongly autocorrelated level, resampling single seconds (block 1)
// covers the true ratio less often than the block rule does.
func TestBlocksRespectAutocorrelation(t *testing.T) {
	if quick() {
		t.Skip("long: 2 x 80 pairs of 100 s runs")
	}
	spec := synthSpec{seconds: 100, perSec: 100, phi: 0.8, sd: 0.06}
	blocks, _ := coverage(t, spec, 0, 80, 1.1)
	single, _ := coverage(t, spec, 1, 80, 1.1)
	t.Logf("coverage: blocks of 10 s %.1f%%, single seconds %.1f%%", 100*blocks, 100*single)
	if blocks < single+0.04 {
		t.Errorf("blocks cover %.1f%%, single seconds %.1f%%: blocks should cover clearly more", 100*blocks, 100*single)
	}
	if blocks < 0.8 {
		t.Errorf("blocks cover only %.1f%%", 100*blocks)
	}
}

// The same file on both sides: every ratio is 1, every difference 0, and
// every verdict no change.
func TestIdenticalRunsNoChange(t *testing.T) {
	f := synth(synthSpec{seconds: 20, perSec: 200, phi: 0.5, sd: 0.2, seed: 9, failShare: 0.02})
	r, err := Compare([]Run{{"a", f}}, []Run{{"a", f}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Regressions != 0 {
		t.Errorf("%d regressions", r.Regressions)
	}
	for _, fg := range r.Figures {
		if fg.Platform != "all" {
			continue
		}
		want := 1.0
		if fg.Difference {
			want = 0
		}
		if float64(fg.Change) != want {
			t.Errorf("%s: change %v, want %v", fg.Metric(), fg.Change, want)
		}
		if fg.Verdict != NoChange {
			t.Errorf("%s: verdict %s, want no change", fg.Metric(), fg.Verdict)
		}
		if !(float64(fg.Lo) <= want && want <= float64(fg.Hi)) {
			t.Errorf("%s: interval [%v, %v] misses %v", fg.Metric(), fg.Lo, fg.Hi, want)
		}
	}
}

// One seed, one answer; another seed, other resamples.
func TestSeedReproducible(t *testing.T) {
	b := synth(synthSpec{seconds: 15, perSec: 100, seed: 1})
	n := synth(synthSpec{seconds: 15, perSec: 100, seed: 2})
	run := func(seed uint64) *Figure {
		r, err := Compare([]Run{{"b", b}}, []Run{{"n", n}}, Options{Seed: seed, Resamples: 300})
		if err != nil {
			t.Fatal(err)
		}
		return find(r, "login", "all", "p99")
	}
	a1, a2, c := run(5), run(5), run(6)
	if a1.Lo != a2.Lo || a1.Hi != a2.Hi {
		t.Errorf("seed 5 twice: [%v, %v] then [%v, %v]", a1.Lo, a1.Hi, a2.Lo, a2.Hi)
	}
	if a1.Lo == c.Lo && a1.Hi == c.Hi {
		t.Errorf("seeds 5 and 6 give the same interval [%v, %v]", a1.Lo, a1.Hi)
	}
}
