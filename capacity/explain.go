package capacity

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// Knee is the knee of the latency curve: the load past which login p99
// climbs fastest relative to its rise so far (Kneedle: Satopää et al.,
// 2011, on the steps' loads and p99s normalised to [0, 1], for a convex
// increasing curve).
type Knee struct {
	Load       float64 `json:"load"`
	LoginP99Ns int64   `json:"login_p99_ns"`
}

// curve returns the steps that measured the target (not generator bound),
// one point per load (the mean p99 when repeats measured it again), by load.
func curve(steps []Step) (x, y []float64) {
	sum := map[float64][2]float64{}
	for _, s := range steps {
		if s.GeneratorBound || s.Logins == 0 {
			continue
		}
		v := sum[s.Load]
		sum[s.Load] = [2]float64{v[0] + float64(s.LoginP99Ns), v[1] + 1}
	}
	for l := range sum {
		x = append(x, l)
	}
	sort.Float64s(x)
	for _, l := range x {
		y = append(y, sum[l][0]/sum[l][1])
	}
	return x, y
}

// kneedle finds the knee of the p99 curve; nil with fewer than 3 loads or
// a curve that does not bend upwards.
func kneedle(steps []Step) *Knee {
	x, y := curve(steps)
	if len(x) < 3 {
		return nil
	}
	x0, x1, y0, y1 := x[0], x[len(x)-1], y[0], y[0]
	for _, v := range y {
		y0, y1 = math.Min(y0, v), math.Max(y1, v)
	}
	if x1 == x0 || y1 == y0 {
		return nil
	}
	best, at := 0.0, -1
	for i := range x {
		xn, yn := (x[i]-x0)/(x1-x0), (y[i]-y0)/(y1-y0)
		// Convex increasing: the knee is where the curve lies furthest
		// below the diagonal.
		if d := xn - yn; d > best {
			best, at = d, i
		}
	}
	if at < 0 {
		return nil
	}
	return &Knee{Load: x[at], LoginP99Ns: int64(y[at])}
}

// USL is a fit of the Universal Scalability Law, X(N) = λN / (1 + σ(N−1) +
// κN(N−1)), to the steps' concurrency N (logins in flight) and throughput X
// (successful logins per second).
type USL struct {
	Lambda float64 `json:"lambda"` // throughput of one in flight
	Sigma  float64 `json:"sigma"`  // contention
	Kappa  float64 `json:"kappa"`  // coherency
	// PeakN and PeakX: the concurrency of the highest throughput and that
	// throughput (κ ≈ 0: no peak; PeakX is then the asymptote λ/σ and
	// PeakN 0; σ ≈ 0 too: linear scaling, both 0).
	PeakN float64 `json:"peak_n"`
	PeakX float64 `json:"peak_x"`
	// R2 is the coefficient of determination of the fit; Points how many
	// steps it is over.
	R2     float64 `json:"r2"`
	Points int     `json:"points"`
}

func uslX(lambda, sigma, kappa, n float64) float64 {
	return lambda * n / (1 + sigma*(n-1) + kappa*n*(n-1))
}

// fitUSL fits the law by least squares (Nelder–Mead over λ > 0, σ in
// [0, 1], κ ≥ 0); nil with fewer than 4 usable steps.
func fitUSL(steps []Step) *USL {
	var ns, xs []float64
	for _, s := range steps {
		if s.GeneratorBound || s.InFlight <= 0 || s.Throughput <= 0 {
			continue
		}
		ns, xs = append(ns, s.InFlight), append(xs, s.Throughput)
	}
	if len(ns) < 4 {
		return nil
	}
	// The first guess: λ from the least loaded step.
	lam0 := xs[0] / ns[0]
	for i := range ns {
		lam0 = math.Max(lam0, xs[i]/ns[i])
	}
	param := func(p []float64) (l, s, k float64) {
		return math.Exp(p[0]), 1 / (1 + math.Exp(-p[1])), math.Exp(p[2])
	}
	sse := func(p []float64) float64 {
		l, s, k := param(p)
		var e float64
		for i := range ns {
			d := uslX(l, s, k, ns[i]) - xs[i]
			e += d * d
		}
		return e
	}
	res, err := optimize.Minimize(optimize.Problem{Func: sse}, []float64{math.Log(lam0), -3, -12}, &optimize.Settings{MajorIterations: 5000}, &optimize.NelderMead{})
	if err != nil && res == nil {
		return nil
	}
	l, s, k := param(res.X)
	var mean, tot float64
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	for _, x := range xs {
		tot += (x - mean) * (x - mean)
	}
	u := &USL{Lambda: l, Sigma: s, Kappa: k, Points: len(ns)}
	if tot > 0 {
		u.R2 = 1 - res.F/tot
	}
	if k > 1e-9 && s < 1 {
		u.PeakN = math.Sqrt((1 - s) / k)
		u.PeakX = uslX(l, s, k, u.PeakN)
	} else if s > 1e-6 {
		u.PeakX = l / s
	}
	return u
}

// LittleTolerance is how far in-flight may stray from rate × latency
// before a step is flagged.
const LittleTolerance = 0.25

// CheckLittle compares a step's logins in flight with rate × mean latency
// (Little's law, L = λW) and says what a deviation means: more in flight
// than predicted is a queue the window's answered logins do not show (the
// latency of logins still unanswered), fewer is load that was not sent (a
// saturated generator, or logins refused before they queued).
func CheckLittle(inFlight, rate, meanLatencySec float64) (predicted float64, flag string) {
	predicted = rate * meanLatencySec
	if predicted <= 0 && inFlight <= 0 {
		return 0, ""
	}
	dev := inFlight/math.Max(predicted, 1e-12) - 1
	switch {
	case math.Abs(inFlight-predicted) < 1: // less than one login apart: nothing to say
		return predicted, ""
	case dev > LittleTolerance:
		return predicted, "hidden queue: more logins in flight than rate × latency"
	case dev < -LittleTolerance:
		return predicted, "load not delivered: fewer logins in flight than rate × latency"
	}
	return predicted, ""
}
