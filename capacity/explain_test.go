package capacity

import (
	"math"
	"testing"
)

// Kneedle on a hockey stick finds the bend.
func TestKneedle(t *testing.T) {
	var steps []Step
	for i, p99 := range []float64{5, 5.2, 5.5, 6, 7, 9, 40, 200} {
		steps = append(steps, Step{Load: float64(100 * (i + 1)), LoginP99Ns: int64(p99 * 1e6), Logins: 1})
	}
	k := kneedle(steps)
	if k == nil || k.Load != 600 {
		t.Fatalf("knee %+v, want at 600", k)
	}
	if kneedle(steps[:2]) != nil {
		t.Fatal("a knee of two points")
	}
}

// The fit recovers the parameters of points drawn from the law.
func TestFitUSL(t *testing.T) {
	const l, s, k = 100.0, 0.05, 0.001
	var steps []Step
	for _, n := range []float64{1, 2, 4, 8, 16, 32, 64} {
		steps = append(steps, Step{InFlight: n, Throughput: uslX(l, s, k, n)})
	}
	u := fitUSL(steps)
	if u == nil || u.R2 < 0.999 {
		t.Fatalf("fit %+v", u)
	}
	if math.Abs(u.Sigma-s) > 0.01 || math.Abs(u.Kappa-k)/k > 0.2 || math.Abs(u.Lambda-l)/l > 0.05 {
		t.Fatalf("fit σ %v κ %v λ %v, want %v %v %v", u.Sigma, u.Kappa, u.Lambda, s, k, l)
	}
	peak := math.Sqrt((1 - s) / k)
	if math.Abs(u.PeakN-peak)/peak > 0.1 {
		t.Fatalf("peak N %v, want %v", u.PeakN, peak)
	}
	if fitUSL(steps[:3]) != nil {
		t.Fatal("a fit over three points")
	}
}

func TestCheckLittle(t *testing.T) {
	if p, f := CheckLittle(4, 800, 0.005); p != 4 || f != "" {
		t.Fatalf("steady: %v %q", p, f)
	}
	if _, f := CheckLittle(40, 800, 0.005); f == "" {
		t.Fatal("a hidden queue not flagged")
	}
	if _, f := CheckLittle(10, 800, 0.05); f == "" {
		t.Fatal("undelivered load not flagged")
	}
}

// Points on a line fit σ ≈ κ ≈ 0: no peak and no asymptote, not an
// overflowing λ/σ.
func TestFitUSLLinear(t *testing.T) {
	var steps []Step
	for _, n := range []float64{1, 2, 4, 8} {
		steps = append(steps, Step{InFlight: n, Throughput: 100 * n})
	}
	u := fitUSL(steps)
	if u == nil || u.PeakN != 0 || u.PeakX != 0 || math.Abs(u.Lambda-100) > 1 {
		t.Fatalf("fit %+v", u)
	}
}
