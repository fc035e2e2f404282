package compare

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/imload/imload/compare/tolerance"
	"github.com/imload/imload/health"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

// Defaults of Options.
const (
	DefaultResamples  = 2000
	DefaultConfidence = 0.95
	DefaultSeed       = 1
)

// Options says how to compare.
type Options struct {
	// Resamples is the number of bootstrap resamples (default 2000).
	Resamples int
	// Confidence is the level of the intervals, in (0, 1) (default 0.95);
	// the rank test's alpha is 1 - Confidence.
	Confidence float64
	// Seed seeds the bootstrap (default 1): one seed, one answer.
	Seed uint64
	// Block fixes the block length in seconds; 0 uses the rule of
	// blockLen (the rounded square root of the run's seconds).
	Block int
	// Tolerances override the defaults (see DefaultTolerances); later ones
	// win over earlier ones of the same key.
	Tolerances []Tolerance
	// KeepLagged keeps the seconds in which a run's generator lagged
	// (generator.go); by default they are left out of the per-second
	// series on both sides.
	KeepLagged bool
}

func (o *Options) defaults() {
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		o.Confidence = DefaultConfidence
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
}

// Run is one results file and the name it is shown by (its path).
type Run struct {
	Name string
	File *results.File
}

// ErrDifferentScenarios is returned (wrapped) for runs of different
// scenarios.
var ErrDifferentScenarios = errors.New("runs of different scenarios")

// Stats are the figures compared for every operation, in table order.
var Stats = tolerance.Stats

var statQuantiles = []float64{0.5, 0.9, 0.99, 0.999}

// Result is a comparison: what was compared, how, and each figure with its
// verdict.
type Result struct {
	Base []RunInfo `json:"base"`
	New  []RunInfo `json:"new"`
	// Differences says what differs between the runs besides the results
	// (seed, target, imload version, CPUs...), one line each.
	Differences []string `json:"differences,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Method      Method   `json:"method"`
	Figures     []Figure `json:"figures"`
	Kickout     []Count  `json:"kickout,omitempty"`
	MAU         []Count  `json:"mau,omitempty"`
	// Regressions counts the gated figures whose verdict is regressed.
	Regressions int `json:"regressions"`

	// BaseRuns and NewRuns are the compared files, for renderers.
	BaseRuns []Run `json:"-"`
	NewRuns  []Run `json:"-"`
}

// RunInfo describes one compared file.
type RunInfo struct {
	Name        string `json:"name"`
	Scenario    string `json:"scenario"`
	Seed        int64  `json:"seed"`
	Seconds     int    `json:"seconds"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

// Method records how the intervals were made.
type Method struct {
	Bootstrap  string  `json:"bootstrap"`
	Resamples  int     `json:"resamples"`
	Confidence float64 `json:"confidence"`
	Seed       uint64  `json:"seed"`
	// BlockRule is "sqrt" or "fixed N s"; BlockSeconds the lengths used,
	// per run, base runs first.
	BlockRule    string `json:"block_rule"`
	BlockSeconds []int  `json:"block_seconds"`
	RankTest     string `json:"rank_test,omitempty"`
	// LeftOut counts, per run (base runs first), the seconds left out of
	// the per-second series because the generator lagged in them.
	LeftOut []int `json:"left_out_seconds"`
}

// Verdict of one figure.
type Verdict string

// Verdicts.
const (
	Improved  Verdict = "improved"
	Regressed Verdict = "regressed"
	NoChange  Verdict = "no change"
	// NoVerdict: no interval could be made (no per-second data for the
	// figure, or no samples on a side).
	NoVerdict Verdict = "n/a"
)

// Figure is one statistic of one operation on one platform ("all": every
// platform together), on both sides.
type Figure struct {
	Op       string `json:"op"`
	Platform string `json:"platform"`
	Stat     string `json:"stat"`
	// Unit of Base and New: "ns" (latencies), "fraction" (errors.rate),
	// "per_second" (throughput: successful operations per second).
	Unit string `json:"unit"`
	Base Num    `json:"base"`
	New  Num    `json:"new"`
	// Change is NEW/BASE for every statistic except errors.rate, where it
	// is NEW-BASE (a difference of fractions); Lo and Hi bound it at the
	// method's confidence (NaN/null without an interval).
	Change     Num    `json:"change"`
	Difference bool   `json:"difference,omitempty"`
	Lo         Num    `json:"lo"`
	Hi         Num    `json:"hi"`
	Tolerance  string `json:"tolerance"`
	Gated      bool   `json:"gated"`
	// RankP is the Mann-Whitney U test's p-value over the per-run values,
	// with at least two runs a side.
	RankP   Num     `json:"rank_p"`
	Verdict Verdict `json:"verdict"`
	Note    string  `json:"note,omitempty"`

	// rankWeak: too few runs for the rank test to reject at alpha.
	rankWeak bool
}

// Metric is the figure's name in tolerances: "login.p99".
func (f *Figure) Metric() string { return f.Op + "." + f.Stat }

// Count is one counted thing on both sides, summed over each side's runs
// (kickout verdicts), or averaged (MAU).
type Count struct {
	Name string `json:"name"`
	Base Num    `json:"base"`
	New  Num    `json:"new"`
	// Violation marks kickout verdict classes that are violations.
	Violation bool `json:"violation,omitempty"`
}

// Num is a float64 that is written as null when it is NaN or infinite.
type Num float64

// MarshalJSON writes null for NaN and infinities.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

func nan() Num { return Num(math.NaN()) }

// Compare compares the NEW runs with the BASE runs. It refuses runs of
// different scenarios (ErrDifferentScenarios) and empty sides.
func Compare(base, next []Run, o Options) (*Result, error) {
	o.defaults()
	if len(base) == 0 || len(next) == 0 {
		return nil, errors.New("compare: give at least one results file a side")
	}
	for _, r := range slices.Concat(base, next) {
		if r.File == nil || r.File.Metrics == nil {
			return nil, fmt.Errorf("compare: %s holds no metrics", r.Name)
		}
	}
	if err := sameScenario(base, next); err != nil {
		return nil, err
	}
	tols, err := resolveTolerances(o.Tolerances)
	if err != nil {
		return nil, err
	}
	res := &Result{BaseRuns: base, NewRuns: next}
	for _, r := range base {
		res.Base = append(res.Base, info(r))
	}
	for _, r := range next {
		res.New = append(res.New, info(r))
	}
	res.Differences = differences(base, next)
	res.Warnings = warnings(base, next)
	lagged := make([][]bool, 0, len(base)+len(next))
	for _, r := range slices.Concat(base, next) {
		l := laggedSeconds(r.File, health.DefaultLimits)
		res.Warnings = append(res.Warnings, generatorWarnings(r, l, o.KeepLagged)...)
		if o.KeepLagged {
			l = nil
		}
		lagged = append(lagged, l)
		n := 0
		for _, x := range l {
			if x {
				n++
			}
		}
		res.Method.LeftOut = append(res.Method.LeftOut, n)
	}
	res.Method = Method{
		LeftOut:    res.Method.LeftOut,
		Bootstrap:  "circular block bootstrap over the per-second series, each run resampled on its own",
		Resamples:  o.Resamples,
		Confidence: o.Confidence,
		Seed:       o.Seed,
		BlockRule:  "sqrt: blocks of round(sqrt(seconds)) s",
	}
	if o.Block > 0 {
		res.Method.BlockRule = fmt.Sprintf("fixed: blocks of %d s", o.Block)
	}
	for i, r := range slices.Concat(base, next) {
		res.Method.BlockSeconds = append(res.Method.BlockSeconds, blockLen(r.File.Metrics.Series.Seconds-res.Method.LeftOut[i], o.Block))
	}
	if len(base) >= 2 && len(next) >= 2 {
		res.Method.RankTest = fmt.Sprintf("Mann-Whitney U over the per-run values, alpha %.3g", 1-o.Confidence)
	}
	for _, op := range opNames(base, next) {
		figs, err := compareOp(op, base, next, lagged, &o)
		if err != nil {
			return nil, err
		}
		res.Figures = append(res.Figures, figs...)
	}
	used := map[string]bool{}
	for i := range res.Figures {
		f := &res.Figures[i]
		t, key := tols.lookup(f.Op, f.Stat)
		used[key] = true
		f.Tolerance, f.Gated = t.String(), !t.Off
		judge(f, t, 1-o.Confidence)
		if f.Gated && f.Verdict == Regressed {
			res.Regressions++
		}
	}
	for _, t := range o.Tolerances {
		if !used[t.Key()] {
			return nil, fmt.Errorf("compare: tolerance %s matches no figure (operations compared: %s)", t.Key(), strings.Join(opNames(base, next), ", "))
		}
	}
	res.Kickout, res.MAU = countRows(base, next, &res.Warnings)
	return res, nil
}

func info(r Run) RunInfo {
	f := r.File
	return RunInfo{Name: r.Name, Scenario: f.Scenario, Seed: f.Seed, Seconds: f.Metrics.Series.Seconds, Interrupted: f.Interrupted}
}

func sameScenario(base, next []Run) error {
	first := base[0]
	for _, r := range slices.Concat(base, next) {
		if r.File.Scenario != first.File.Scenario {
			return fmt.Errorf("compare: refusing to compare runs of different scenarios: %s is scenario %q, %s is %q: %w",
				first.Name, first.File.Scenario, r.Name, r.File.Scenario, ErrDifferentScenarios)
		}
	}
	return nil
}

// differences lists what the results files record about the runs that is
// not the same on every run.
func differences(base, next []Run) []string {
	props := []struct {
		name string
		get  func(f *results.File) string
	}{
		{"scenario file", func(f *results.File) string { return f.ScenarioFile }},
		{"seed", func(f *results.File) string { return strconv.FormatInt(f.Seed, 10) }},
		// The embedded server listens on a new loopback port each run: only
		// a named target's URL is part of what the run was.
		{"target", func(f *results.File) string {
			t := f.Environment.Target
			if t.Kind == "embedded" {
				return t.Kind
			}
			return strings.TrimSpace(t.Kind + " " + t.URL)
		}},
		{"imload version", func(f *results.File) string { return f.Environment.Version }},
		{"CPUs", func(f *results.File) string { return strconv.Itoa(f.Environment.CPUs) }},
		{"Go version", func(f *results.File) string { return f.Environment.GoVersion }},
		{"OS/arch", func(f *results.File) string { return f.Environment.OS + "/" + f.Environment.Arch }},
		{"shard", func(f *results.File) string { return f.Shard }},
		{"merged from", func(f *results.File) string { return strconv.Itoa(f.MergedFrom) }},
		{"histogram", func(f *results.File) string {
			h := f.Metrics.Histogram
			return fmt.Sprintf("unit %dns, %d/%d digits", h.UnitNs, h.Digits, h.SeriesDigits)
		}},
	}
	var out []string
	for _, p := range props {
		vals := func(rs []Run) []string {
			var vs []string
			for _, r := range rs {
				if v := p.get(r.File); !slices.Contains(vs, v) {
					vs = append(vs, v)
				}
			}
			return vs
		}
		b, n := vals(base), vals(next)
		if len(b) == 1 && len(n) == 1 && b[0] == n[0] {
			continue
		}
		show := func(vs []string) string {
			for i, v := range vs {
				if v == "" {
					vs[i] = "(none)"
				}
			}
			return strings.Join(vs, ", ")
		}
		out = append(out, fmt.Sprintf("%s: base %s; new %s", p.name, show(b), show(n)))
	}
	return out
}

func warnings(base, next []Run) []string {
	var out []string
	for _, r := range slices.Concat(base, next) {
		if r.File.Interrupted {
			out = append(out, r.Name+": the run was interrupted; it covers only the part that ran")
		}
		if r.File.Metrics.Series.Seconds == 0 {
			out = append(out, r.Name+": no per-second series; its figures have no interval")
		}
	}
	return out
}

// opNames lists the operations of any run, in event order.
func opNames(base, next []Run) []string {
	var out []string
	for _, r := range slices.Concat(base, next) {
		for _, op := range r.File.Metrics.OpNames() {
			if !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	return out
}

// values are the figures of one pool, in Stats order.
type values [7]float64

func (g *grid) stats(p *pool, hasHist bool) values {
	var v values
	q := make([]float64, len(statQuantiles))
	if hasHist {
		p.quantilesNs(g, statQuantiles, q)
	} else {
		for i := range q {
			q[i] = math.NaN()
		}
	}
	copy(v[:4], q)
	att := p.ok + p.failed + p.timedOut
	v[4], v[5], v[6] = math.NaN(), math.NaN(), math.NaN()
	if att > 0 {
		v[4] = float64(p.maxNs)
		v[5] = float64(p.failed+p.timedOut) / float64(att)
	}
	if p.seconds > 0 {
		v[6] = float64(p.ok) / float64(p.seconds)
	}
	return v
}

// change is NEW/BASE, or NEW-BASE for errors.rate (index 5).
func change(i int, b, n float64) float64 {
	if i == 5 {
		return n - b
	}
	if b == 0 && n == 0 {
		return 1
	}
	return n / b
}

func unitOf(i int) string {
	switch i {
	case 5:
		return "fraction"
	case 6:
		return "per_second"
	}
	return "ns"
}

// compareOp makes the figures of one operation: all platforms with
// intervals from the per-second series, then each platform, point values
// only (the per-second series hold all platforms together).
func compareOp(op string, base, next []Run, lagged [][]bool, o *Options) ([]Figure, error) {
	sides, g, hasHist, err := opSeries(op, base, next, lagged)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(op))
	rng := rand.New(rand.NewPCG(o.Seed, h.Sum64()))

	var pt [2]values
	var boots [2][]values
	for s := range 2 {
		p := newPool(g)
		whole(p, sides[s])
		pt[s] = g.stats(p, hasHist)
		boots[s] = make([]values, o.Resamples)
	}
	// A run with no second left (none recorded, or every one lagged) adds
	// nothing to its side's resamples; a side needs one run with seconds.
	haveSeries := true
	for s := range sides {
		kept := 0
		for _, r := range sides[s] {
			if len(r) > 0 {
				kept++
			}
		}
		haveSeries = haveSeries && kept > 0
	}
	if haveSeries {
		p := newPool(g)
		for b := range o.Resamples {
			for s := range 2 {
				resample(p, sides[s], o.Block, rng)
				boots[s][b] = g.stats(p, hasHist)
			}
		}
	}
	// Per-run values for the rank test.
	var perRun [2][]values
	for s := range 2 {
		p := newPool(g)
		for _, r := range sides[s] {
			whole(p, []runSecs{r})
			perRun[s] = append(perRun[s], g.stats(p, hasHist))
		}
	}
	var out []Figure
	alpha := 1 - o.Confidence
	for i, stat := range Stats {
		f := Figure{Op: op, Platform: "all", Stat: stat, Unit: unitOf(i), Difference: i == 5,
			Base: Num(pt[0][i]), New: Num(pt[1][i]), Change: Num(change(i, pt[0][i], pt[1][i])), Lo: nan(), Hi: nan(), RankP: nan()}
		if i < 4 && !hasHist {
			// Without per-second histograms the quantiles come from the
			// run histograms, with no interval.
			b, n := mergedOp(base, op, ""), mergedOp(next, op, "")
			f.Base, f.New = Num(b.quantile(statQuantiles[i])), Num(n.quantile(statQuantiles[i]))
			f.Change = Num(change(i, float64(f.Base), float64(f.New)))
			f.Note = "no per-second histograms for " + op + ": no interval"
		} else if haveSeries {
			cs := make([]float64, o.Resamples)
			for b := range cs {
				cs[b] = change(i, boots[0][b][i], boots[1][b][i])
			}
			if lo, hi, ok := percentileInterval(cs, o.Confidence); ok {
				f.Lo, f.Hi = Num(lo), Num(hi)
			} else {
				f.Note = "too few samples for an interval"
			}
		} else {
			f.Note = "no per-second series: no interval"
		}
		f.RankP = rankTest(perRun[0], perRun[1], i, alpha, &f)
		out = append(out, f)
	}
	out = append(out, platformFigures(op, base, next, alpha)...)
	return out, nil
}

// rankTest runs the Mann-Whitney U test over the per-run values of stat i,
// with two runs or more a side; NaN otherwise.
func rankTest(b, n []values, i int, alpha float64, f *Figure) Num {
	if len(b) < 2 || len(n) < 2 {
		return nan()
	}
	col := func(vs []values) []float64 {
		var out []float64
		for _, v := range vs {
			if !math.IsNaN(v[i]) {
				out = append(out, v[i])
			}
		}
		return out
	}
	bs, ns := col(b), col(n)
	if len(bs) < 2 || len(ns) < 2 {
		return nan()
	}
	th := benchmath.Thresholds{CompareAlpha: alpha}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(bs, &th), benchmath.NewSample(ns, &th))
	if len(c.Warnings) > 0 {
		// Too few runs for the test to ever reject at alpha: it does not
		// weigh in the verdict.
		f.rankWeak = true
	}
	return Num(c.P)
}

// opSeries reads the per-second series of op from every run: the seconds
// per run, per side, on one grid, without the seconds lagged marks (per
// run, in base-then-new order); hasHist is true when every run kept
// per-second histograms for op.
func opSeries(op string, base, next []Run, lagged [][]bool) (sides [2][]runSecs, g *grid, hasHist bool, err error) {
	all := slices.Concat(base, next)
	hasHist = true
	var unit int64
	for _, r := range all {
		s := r.File.Metrics
		os := s.Series.Ops[op]
		if os == nil || len(os.Latency) == 0 {
			hasHist = false
		}
		if unit == 0 {
			unit = s.Histogram.UnitNs
		} else if unit != s.Histogram.UnitNs {
			return sides, nil, false, fmt.Errorf("compare: %s: histogram unit %d ns differs from the other runs' %d ns", r.Name, s.Histogram.UnitNs, unit)
		}
	}
	type rawSec struct {
		sec
		vals []int64
	}
	raw := make([][]rawSec, len(all))
	seen := map[int64]bool{}
	for ri, r := range all {
		s := r.File.Metrics
		os := s.Series.Ops[op]
		n := s.Series.Seconds
		raw[ri] = make([]rawSec, n)
		if os == nil {
			continue
		}
		for t := range n {
			rs := &raw[ri][t]
			rs.ok, rs.failed, rs.timedOut, rs.maxNs = at(os.OK, t), at(os.Failed, t), at(os.TimedOut, t), at(os.MaxNs, t)
			if !hasHist || t >= len(os.Latency) || os.Latency[t].Count() == 0 {
				continue
			}
			for _, b := range os.Latency[t].Histogram().Distribution() {
				if b.Count == 0 {
					continue
				}
				rs.vals = append(rs.vals, b.To)
				rs.buckets = append(rs.buckets, bucket{count: b.Count})
				seen[b.To] = true
			}
		}
	}
	g = &grid{unitNs: cmp.Or(unit, 1)}
	for v := range seen {
		g.values = append(g.values, v)
	}
	slices.Sort(g.values)
	index := make(map[int64]int32, len(g.values))
	for i, v := range g.values {
		index[v] = int32(i)
	}
	for ri := range all {
		rs := make(runSecs, len(raw[ri]))
		for t := range raw[ri] {
			x := raw[ri][t]
			for j := range x.buckets {
				x.buckets[j].idx = index[x.vals[j]]
			}
			rs[t] = x.sec
		}
		if ri < len(lagged) {
			rs = keepSeconds(rs, lagged[ri])
		}
		side := 0
		if ri >= len(base) {
			side = 1
		}
		sides[side] = append(sides[side], rs)
	}
	return sides, g, hasHist, nil
}

func at(xs []int64, i int) int64 {
	if i < len(xs) {
		return xs[i]
	}
	return 0
}

// opTotals is one operation (on one platform, or all) over a side's runs,
// from the run histograms.
type opTotals struct {
	ok, failed, timedOut int64
	seconds              float64
	snap                 *metrics.Snapshot // the runs' op cells merged
	platform             policy.Platform
	op                   string
}

func (t opTotals) quantile(q float64) float64 {
	d := t.snap.OpPlatform(t.op, t.platform)
	if d.Samples() == 0 {
		return math.NaN()
	}
	return float64(d.Quantile(q))
}

func (t opTotals) max() float64 {
	d := t.snap.OpPlatform(t.op, t.platform)
	if t.ok+t.failed+t.timedOut == 0 || d.Samples() == 0 {
		return math.NaN()
	}
	return float64(d.Max())
}

// mergedOp merges op (on platform p, "" for all) over runs, from the run
// histograms, leaving the per-second series out.
func mergedOp(runs []Run, op string, p policy.Platform) opTotals {
	t := opTotals{snap: &metrics.Snapshot{}, platform: p, op: op}
	for _, r := range runs {
		s := r.File.Metrics
		c := &metrics.Snapshot{Start: s.Start, End: s.End, Histogram: s.Histogram, Ops: map[string]map[policy.Platform]*metrics.OpCell{op: s.Ops[op]}}
		// One spec per side was checked by differences; a merge error here
		// leaves the side's quantiles out rather than mixing geometries.
		if err := t.snap.Merge(c); err != nil {
			t.snap = &metrics.Snapshot{}
			return t
		}
		st := s.OpPlatform(op, p)
		t.ok += st.OK
		t.failed += st.Failed
		t.timedOut += st.TimedOut
		t.seconds += s.Duration().Seconds()
	}
	return t
}

func (t opTotals) values() values {
	var v values
	for i, q := range statQuantiles {
		v[i] = t.quantile(q)
	}
	v[4] = t.max()
	v[5], v[6] = math.NaN(), math.NaN()
	if att := t.ok + t.failed + t.timedOut; att > 0 {
		v[5] = float64(t.failed+t.timedOut) / float64(att)
	}
	if t.seconds > 0 {
		v[6] = float64(t.ok) / t.seconds
	}
	return v
}

// platformFigures are op's figures per platform, when a side saw more than
// one platform: point values from the run histograms, and the rank test
// with replicates.
func platformFigures(op string, base, next []Run, alpha float64) []Figure {
	var plats []policy.Platform
	for _, r := range slices.Concat(base, next) {
		for _, p := range r.File.Metrics.Platforms(op) {
			if !slices.Contains(plats, p) {
				plats = append(plats, p)
			}
		}
	}
	if len(plats) < 2 {
		return nil
	}
	var out []Figure
	for _, p := range plats {
		b, n := mergedOp(base, op, p).values(), mergedOp(next, op, p).values()
		var perRun [2][]values
		for s, rs := range [][]Run{base, next} {
			for _, r := range rs {
				perRun[s] = append(perRun[s], mergedOp([]Run{r}, op, p).values())
			}
		}
		for i, stat := range Stats {
			f := Figure{Op: op, Platform: string(p), Stat: stat, Unit: unitOf(i), Difference: i == 5,
				Base: Num(b[i]), New: Num(n[i]), Change: Num(change(i, b[i], n[i])), Lo: nan(), Hi: nan(),
				Note: "per platform: point values (the per-second series hold all platforms together)"}
			f.RankP = rankTest(perRun[0], perRun[1], i, alpha, &f)
			out = append(out, f)
		}
	}
	return out
}
