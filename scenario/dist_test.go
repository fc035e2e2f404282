package scenario

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// decodeDist reads a Dist from YAML as Load does.
func decodeDist(t *testing.T, src string) Dist {
	t.Helper()
	var d Dist
	if err := yamlUnmarshal([]byte(src), &d); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return d
}

// draw returns n samples in seconds, sorted.
func draw(d *Dist, n int, seed uint64) []float64 {
	r := newRand(seed)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = d.Sample(r).Seconds()
	}
	slices.Sort(xs)
	return xs
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// quantile of sorted xs, q in [0,1].
func quantile(xs []float64, q float64) float64 { return xs[int(q*float64(len(xs)-1))] }

// sortSearch returns how many of sorted xs are <= x.
func sortSearch(xs []float64, x float64) int {
	i, _ := slices.BinarySearchFunc(xs, x, func(a, b float64) int {
		if a <= b {
			return -1
		}
		return 1
	})
	return i
}

func within(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.4f, want %.4f ± %.1f%%", what, got, want, relTol*100)
	}
}

func TestSampleStatistics(t *testing.T) {
	const n = 200_000
	t.Run("constant", func(t *testing.T) {
		d := decodeDist(t, "1500ms")
		xs := draw(&d, 1000, 1)
		if xs[0] != 1.5 || xs[len(xs)-1] != 1.5 {
			t.Errorf("constant drew %v..%v", xs[0], xs[len(xs)-1])
		}
	})
	t.Run("uniform", func(t *testing.T) {
		d := decodeDist(t, "{dist: uniform, min: 1s, max: 9s}")
		xs := draw(&d, n, 2)
		if xs[0] < 1 || xs[len(xs)-1] > 9 {
			t.Errorf("outside [1s, 9s]: %v..%v", xs[0], xs[len(xs)-1])
		}
		within(t, "mean", mean(xs), 5, 0.01)
		within(t, "p25", quantile(xs, 0.25), 3, 0.02)
		within(t, "p75", quantile(xs, 0.75), 7, 0.02)
	})
	t.Run("exponential", func(t *testing.T) {
		d := decodeDist(t, "{dist: exponential, mean: 5s}")
		xs := draw(&d, n, 3)
		within(t, "mean", mean(xs), 5, 0.03)
		within(t, "median", quantile(xs, 0.5), 5*math.Ln2, 0.03)
		within(t, "p99", quantile(xs, 0.99), 5*math.Log(100), 0.05)
	})
	t.Run("lognormal", func(t *testing.T) {
		d := decodeDist(t, "{dist: lognormal, median: 2s, p99: 30s}")
		xs := draw(&d, n, 4)
		within(t, "median", quantile(xs, 0.5), 2, 0.03)
		within(t, "p99", quantile(xs, 0.99), 30, 0.05)
		within(t, "mean", mean(xs), d.MeanValue().Seconds(), 0.05)
	})
	t.Run("empirical", func(t *testing.T) {
		d := decodeDist(t, "{dist: empirical, percentiles: {p0: 100ms, p50: 1s, p90: 4s, p100: 20s}}")
		xs := draw(&d, n, 5)
		if xs[0] < 0.1 || xs[len(xs)-1] > 20 {
			t.Errorf("outside [p0, p100]: %v..%v", xs[0], xs[len(xs)-1])
		}
		// The empirical CDF at the given and at interpolated points.
		for _, c := range []struct{ at, want float64 }{{1, 0.5}, {4, 0.9}, {0.55, 0.25}, {12, 0.95}} {
			got := float64(len(xs[:sortSearch(xs, c.at)])) / float64(len(xs))
			if math.Abs(got-c.want) > 0.005 {
				t.Errorf("P(X <= %gs) = %.4f, want %.3f ± 0.005", c.at, got, c.want)
			}
		}
		// Mean of the piecewise-linear distribution: trapezoids.
		want := 0.5*(0.1+1)/2 + 0.4*(1+4)/2 + 0.1*(4+20)/2
		within(t, "mean", mean(xs), want, 0.02)
		within(t, "MeanValue", d.MeanValue().Seconds(), want, 1e-9)
	})
}

func TestSampleDeterministic(t *testing.T) {
	for _, src := range []string{
		"2s",
		"{dist: uniform, min: 1s, max: 9s}",
		"{dist: exponential, mean: 5s}",
		"{dist: lognormal, median: 2s, p99: 30s}",
		"{dist: empirical, percentiles: {p0: 0s, p99.9: 3s, p100: 1m}}",
	} {
		t.Run(src, func(t *testing.T) {
			d := decodeDist(t, src)
			a, b := draw(&d, 500, 42), draw(&d, 500, 42)
			if !slices.Equal(a, b) {
				t.Error("same seed, different samples")
			}
			if c := draw(&d, 500, 43); d.Kind != DistConstant && slices.Equal(a, c) {
				t.Error("different seeds, same samples")
			}
		})
	}
}

// TestEmpiricalWithoutCache checks that a Dist built in Go samples the same
// as one decoded (which caches its sorted percentiles).
func TestEmpiricalWithoutCache(t *testing.T) {
	decoded := decodeDist(t, "{dist: empirical, percentiles: {p0: 10ms, p50: 1s, p100: 2s}}")
	built := Dist{Kind: DistEmpirical, Percentiles: map[string]Duration{
		"p0": Duration(10 * time.Millisecond), "p50": Duration(time.Second), "p100": Duration(2 * time.Second),
	}}
	if built.points != nil || decoded.points == nil {
		t.Fatal("expected the decoded Dist to cache its points and the built one not to")
	}
	if a, b := draw(&decoded, 1000, 9), draw(&built, 1000, 9); !slices.Equal(a, b) {
		t.Error("cached and uncached empirical samples differ")
	}
}

func TestSampleAllocs(t *testing.T) {
	for _, src := range []string{"{dist: lognormal, median: 2s, p99: 30s}", "{dist: empirical, percentiles: {p0: 0s, p50: 1s, p100: 2s}}"} {
		d := decodeDist(t, src)
		r := newRand(1)
		if a := testing.AllocsPerRun(1000, func() { d.Sample(r) }); a != 0 {
			t.Errorf("%s: %v allocs per sample, want 0", src, a)
		}
	}
}

func TestSampleClampsHugeValues(t *testing.T) {
	d := Dist{Kind: DistLognormal, Median: Duration(time.Hour), P99: Duration(math.MaxInt64 / 2)}
	r := newRand(1)
	for range 10000 {
		if v := d.Sample(r); v < 0 {
			t.Fatalf("negative sample %v", v)
		}
	}
}

func TestDistDecodeForms(t *testing.T) {
	cases := []struct {
		src  string
		want Dist
	}{
		{"250ms", Dist{Kind: DistConstant, Value: Duration(250 * time.Millisecond)}},
		{"0", Dist{Kind: DistConstant}},
		{"1h30m", Dist{Kind: DistConstant, Value: Duration(90 * time.Minute)}},
		{"{dist: constant, value: 2s}", Dist{Kind: DistConstant, Value: Duration(2 * time.Second)}},
		{"{dist: uniform, min: 0s, max: 0s}", Dist{Kind: DistUniform}},
		{"{dist: exponential, mean: 10s}", Dist{Kind: DistExponential, Mean: Duration(10 * time.Second)}},
		{"{dist: lognormal, median: 1s, p99: 2s}", Dist{Kind: DistLognormal, Median: Duration(time.Second), P99: Duration(2 * time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			if got := decodeDist(t, c.src); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDistDecodeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"5", "1:1: expected a duration like 250ms, 2s or 1h30m (units: ns, us, ms, s, m, h), got 5 (a number needs a unit)"},
		{"-2s", "1:1: must be >= 0, got -2s"},
		{"{dist: uniform, min: 2s}", "1:1: max: required by a uniform distribution"},
		{"{dist: uniform, min: -1s, max: 1s}", "1:22: min: must be >= 0, got -1s"},
		{"{dist: lognormal, median: 0s, p99: 1s}", "1:27: median: must be > 0, got 0s"},
		{"{dist: empirical, percentiles: {p50: 1s}}", "1:32: percentiles: p0 is required: the smallest value\n1:32: percentiles: p100 is required: the largest value"},
		{"{dist: empirical, percentiles: {p0: 1s, p050: 2s, p50: 3s, p100: 4s}}", "1:51: percentiles.p50: same percentile as p050"},
		{"{dist: constant, value: 1s, min: 2s}", "1:29: min: not used by a constant distribution (allowed: value)"},
		{"{dist: exponential}", "1:1: mean: required by an exponential distribution"},
		{"{dist: 3}", "1:8: dist: unknown distribution \"3\" (allowed: constant, uniform, exponential, lognormal, empirical)"},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			var d Dist
			err := yamlUnmarshal([]byte(c.src), &d)
			if err == nil || err.Error() != c.want {
				t.Errorf("got\n%v\nwant\n%s", err, c.want)
			}
		})
	}
}

func TestDistValidate(t *testing.T) {
	s := Duration(time.Second)
	cases := []struct {
		d    Dist
		want string // "" for valid
	}{
		{Dist{Value: s}, ""},
		{Dist{Kind: DistConstant}, ""},
		{Dist{Kind: DistUniform, Min: s, Max: s}, ""},
		{Dist{Kind: DistUniform, Min: 2 * s, Max: s}, "max: must be >= min (2s), got 1s"},
		{Dist{Kind: DistExponential}, "mean: must be > 0, got 0s"},
		{Dist{Kind: DistExponential, Mean: s, Max: s}, "max: not used by an exponential distribution (allowed: mean)"},
		{Dist{Kind: DistLognormal, Median: s, P99: s}, "p99: must be > median (1s), got 1s"},
		{Dist{Kind: DistEmpirical, Percentiles: map[string]Duration{"p0": 0, "p100": s}}, ""},
		{Dist{Kind: DistEmpirical, Percentiles: map[string]Duration{"p0": s, "p100": 0}}, "percentiles.p100: must be >= p0 (1s): percentiles must not decrease, got 0s"},
		{Dist{Kind: "gamma"}, `dist: unknown distribution "gamma" (allowed: constant, uniform, exponential, lognormal, empirical)`},
	}
	for _, c := range cases {
		t.Run(c.d.String(), func(t *testing.T) {
			err := c.d.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case c.want != "" && (err == nil || err.Error() != c.want):
				t.Errorf("got %v, want %s", err, c.want)
			}
		})
	}
}

func TestParsePercentile(t *testing.T) {
	for key, want := range map[string]float64{"p0": 0, "p50": 50, "p99.9": 99.9, "p100": 100} {
		if got, err := ParsePercentile(key); err != nil || got != want {
			t.Errorf("ParsePercentile(%q) = %v, %v", key, got, err)
		}
	}
	for _, key := range []string{"", "p", "50", "p-1", "p101", "p1e1", "pinf", "p+5", "P50"} {
		if _, err := ParsePercentile(key); err == nil {
			t.Errorf("ParsePercentile(%q) accepted", key)
		}
	}
}

func TestDistString(t *testing.T) {
	d := decodeDist(t, "{dist: empirical, percentiles: {p100: 2s, p0: 0s, p99.9: 1s}}")
	if got := d.String(); got != "empirical(p0=0s, p99.9=1s, p100=2s)" {
		t.Errorf("got %q", got)
	}
	if got := DistKinds(); !strings.Contains(strings.Join(got, ","), "lognormal") {
		t.Errorf("DistKinds() = %v", got)
	}
}

func BenchmarkSample(b *testing.B) {
	for _, src := range []string{
		"2s",
		"{dist: uniform, min: 1s, max: 9s}",
		"{dist: exponential, mean: 5s}",
		"{dist: lognormal, median: 2s, p99: 30s}",
		"{dist: empirical, percentiles: {p0: 100ms, p50: 1s, p90: 4s, p99: 10s, p100: 20s}}",
	} {
		var d Dist
		if err := yamlUnmarshal([]byte(src), &d); err != nil {
			b.Fatal(err)
		}
		b.Run(d.Kind, func(b *testing.B) {
			r := newRand(1)
			var sum time.Duration
			for b.Loop() {
				sum += d.Sample(r)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Msamples/s")
		})
	}
}
