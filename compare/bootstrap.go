package compare

import (
	"math"
	"math/rand/v2"
	"slices"
)

// bucket is one populated bucket of a per-second histogram: an index into
// the grid of an operation and the count there.
type bucket struct {
	idx   int32
	count int64
}

// sec is one operation in one second of one run.
type sec struct {
	buckets              []bucket
	ok, failed, timedOut int64
	maxNs                int64
}

// runSecs is one operation's seconds in one run, in time order.
type runSecs []sec

// grid maps the distinct bucket values (a bucket's highest equivalent value,
// in histogram units) of one operation, over every run of both sides, to
// indices in ascending order, so that merging the histograms of any choice
// of seconds is adding counts into one array.
type grid struct {
	values []int64
	unitNs int64
}

// pool is a multiset of seconds of one side merged: the sum of their
// histograms and counters.
type pool struct {
	counts               []int64
	total                int64
	ok, failed, timedOut int64
	maxNs                int64
	seconds              int
}

func newPool(g *grid) *pool { return &pool{counts: make([]int64, len(g.values))} }

func (p *pool) reset() {
	clear(p.counts)
	p.total, p.ok, p.failed, p.timedOut, p.maxNs, p.seconds = 0, 0, 0, 0, 0, 0
}

func (p *pool) add(s *sec) {
	for _, b := range s.buckets {
		p.counts[b.idx] += b.count
		p.total += b.count
	}
	p.ok += s.ok
	p.failed += s.failed
	p.timedOut += s.timedOut
	p.maxNs = max(p.maxNs, s.maxNs)
	p.seconds++
}

// quantilesNs returns the latency in nanoseconds at each quantile of qs (in
// [0, 1], ascending), by the rule of HdrHistogram's ValueAtPercentile: the
// value of the bucket where the count reaches round(q·total), at least 1.
// Without samples every entry is NaN.
func (p *pool) quantilesNs(g *grid, qs []float64, out []float64) {
	if p.total == 0 {
		for i := range qs {
			out[i] = math.NaN()
		}
		return
	}
	var cum int64
	j := 0
	for i, c := range p.counts {
		if c == 0 {
			continue
		}
		cum += c
		for j < len(qs) && cum >= rank(qs[j], p.total) {
			out[j] = float64(g.values[i] * g.unitNs)
			j++
		}
		if j == len(qs) {
			return
		}
	}
	for ; j < len(qs); j++ {
		out[j] = float64(g.values[len(g.values)-1] * g.unitNs)
	}
}

// rank is HdrHistogram's target count for quantile q of total values.
func rank(q float64, total int64) int64 {
	r := q*float64(total) + 0.5
	if !(r >= 1) {
		return 1
	}
	if r >= float64(total) {
		return total
	}
	return int64(r)
}

// blockLen is the block length rule: the rounded square root of the number
// of seconds, at least 1 (a 9 s run uses blocks of 3 s, a 100 s run blocks
// of 10 s), unless fixed is positive, which is then used (at most n).
func blockLen(n, fixed int) int {
	if n <= 0 {
		return 1
	}
	if fixed > 0 {
		return min(fixed, n)
	}
	return max(1, int(math.Round(math.Sqrt(float64(n)))))
}

// resample fills p with one circular block bootstrap resample of each run:
// for a run of n seconds, ceil(n/L) blocks of L consecutive seconds (L by
// blockLen), each starting at a uniformly drawn second and wrapping past
// the end, cut to n seconds, so the resample has as many seconds as the
// run and every second the same chance to appear.
func resample(p *pool, runs []runSecs, fixed int, rng *rand.Rand) {
	p.reset()
	for _, r := range runs {
		n := len(r)
		if n == 0 {
			continue
		}
		l := blockLen(n, fixed)
		for taken := 0; taken < n; {
			start := rng.IntN(n)
			for j := 0; j < l && taken < n; j++ {
				p.add(&r[(start+j)%n])
				taken++
			}
		}
	}
}

// whole fills p with every second of every run.
func whole(p *pool, runs []runSecs) {
	p.reset()
	for _, r := range runs {
		for i := range r {
			p.add(&r[i])
		}
	}
}

// percentileInterval returns the (1-conf)/2 and (1+conf)/2 empirical
// quantiles of xs, NaN ignored; ok is false when fewer than half the
// resamples gave a value.
func percentileInterval(xs []float64, conf float64) (lo, hi float64, ok bool) {
	vs := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vs = append(vs, x)
		}
	}
	if len(vs) == 0 || 2*len(vs) < len(xs) {
		return math.NaN(), math.NaN(), false
	}
	slices.Sort(vs)
	a := (1 - conf) / 2
	return empirical(vs, a), empirical(vs, 1-a), true
}

// empirical is the q-quantile of sorted vs, interpolated between order
// statistics.
func empirical(vs []float64, q float64) float64 {
	if len(vs) == 1 {
		return vs[0]
	}
	pos := q * float64(len(vs)-1)
	i := int(math.Floor(pos))
	if i >= len(vs)-1 {
		return vs[len(vs)-1]
	}
	f := pos - float64(i)
	return vs[i]*(1-f) + vs[i+1]*f
}
