package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Dist is a distribution of durations, written in YAML either as a plain
// duration ("5s": constant) or as a mapping:
//
//	{dist: constant, value: 5s}
//	{dist: uniform, min: 1s, max: 9s}
//	{dist: exponential, mean: 5s}
//	{dist: lognormal, median: 2s, p99: 30s}
//	{dist: empirical, percentiles: {p0: 100ms, p50: 1s, p90: 4s, p100: 20s}}
//
// Empirical distributions interpolate linearly between the given
// percentiles; p0 (the smallest value) and p100 (the largest) are required.
// A Dist with no Kind is the constant Value.
type Dist struct {
	Kind        string              `yaml:"dist" json:"dist"`
	Value       Duration            `yaml:"value,omitempty" json:"value,omitempty"`
	Min         Duration            `yaml:"min,omitempty" json:"min,omitempty"`
	Max         Duration            `yaml:"max,omitempty" json:"max,omitempty"`
	Mean        Duration            `yaml:"mean,omitempty" json:"mean,omitempty"`
	Median      Duration            `yaml:"median,omitempty" json:"median,omitempty"`
	P99         Duration            `yaml:"p99,omitempty" json:"p99,omitempty"`
	Percentiles map[string]Duration `yaml:"percentiles,omitempty" json:"percentiles,omitempty"`

	// points caches the empirical percentiles, sorted; set by Load.
	points []pctPoint
}

// Distribution kinds.
const (
	DistConstant    = "constant"
	DistUniform     = "uniform"
	DistExponential = "exponential"
	DistLognormal   = "lognormal"
	DistEmpirical   = "empirical"
)

// DistKinds lists the distribution kinds.
var distKinds = []string{DistConstant, DistUniform, DistExponential, DistLognormal, DistEmpirical}

// DistKinds returns the distribution kinds.
func DistKinds() []string { return slices.Clone(distKinds) }

// distParams names the keys each kind uses.
func distParams(kind string) []string {
	switch kind {
	case DistConstant:
		return []string{"value"}
	case DistUniform:
		return []string{"min", "max"}
	case DistExponential:
		return []string{"mean"}
	case DistLognormal:
		return []string{"median", "p99"}
	case DistEmpirical:
		return []string{"percentiles"}
	}
	return nil
}

// z99 is the standard normal quantile at 0.99.
const z99 = 2.3263478740408408

// Constant returns the distribution that is always d.
func Constant(d time.Duration) Dist { return Dist{Kind: DistConstant, Value: Duration(d)} }

// pctPoint is one empirical percentile: q in [0,1], v in nanoseconds.
type pctPoint struct{ q, v float64 }

// ParsePercentile reads a percentile key "p50" or "p99.9" as a number in
// [0, 100].
func ParsePercentile(key string) (float64, error) {
	rest, ok := strings.CutPrefix(key, "p")
	if !ok || rest == "" || strings.ContainsAny(rest, "+-eE_") {
		return 0, fmt.Errorf("percentile keys look like p0, p50, p99.9 or p100, got %q", key)
	}
	q, err := strconv.ParseFloat(rest, 64)
	if err != nil || q < 0 || q > 100 {
		return 0, fmt.Errorf("percentile keys look like p0, p50, p99.9 or p100 (0 to 100), got %q", key)
	}
	return q, nil
}

// empiricalPoints sorts the percentiles; it returns nil when any key is bad.
func (d *Dist) empiricalPoints() []pctPoint {
	pts := make([]pctPoint, 0, len(d.Percentiles))
	for k, v := range d.Percentiles {
		q, err := ParsePercentile(k)
		if err != nil {
			return nil
		}
		pts = append(pts, pctPoint{q / 100, float64(v)})
	}
	slices.SortFunc(pts, func(a, b pctPoint) int { return cmpFloat(a.q, b.q) })
	return pts
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lognormal returns mu and sigma of the underlying normal, in log-nanoseconds.
func (d *Dist) lognormal() (mu, sigma float64) {
	mu = math.Log(float64(d.Median))
	sigma = (math.Log(float64(d.P99)) - mu) / z99
	return mu, sigma
}

// toDuration converts nanoseconds, clamping to the representable range.
func toDuration(ns float64) time.Duration {
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= 0 || math.IsNaN(ns):
		return 0
	}
	return time.Duration(ns)
}

// Sample draws one duration using r. The same r state gives the same
// result. The Dist must be valid (Load checks it; see Validate).
func (d *Dist) Sample(r *rand.Rand) time.Duration {
	switch d.Kind {
	case DistUniform:
		lo, hi := float64(d.Min), float64(d.Max)
		return toDuration(lo + r.Float64()*(hi-lo))
	case DistExponential:
		return toDuration(float64(d.Mean) * r.ExpFloat64())
	case DistLognormal:
		mu, sigma := d.lognormal()
		return toDuration(math.Exp(mu + sigma*r.NormFloat64()))
	case DistEmpirical:
		pts := d.points
		if pts == nil {
			pts = d.empiricalPoints()
		}
		return toDuration(interpolate(pts, r.Float64()))
	}
	return d.Value.D()
}

// interpolate returns the value at quantile u in [0,1) of the piecewise-linear
// distribution through pts.
func interpolate(pts []pctPoint, u float64) float64 {
	if len(pts) == 0 {
		return 0
	}
	if u <= pts[0].q {
		return pts[0].v
	}
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if u <= b.q {
			if b.q == a.q {
				return b.v
			}
			return a.v + (u-a.q)/(b.q-a.q)*(b.v-a.v)
		}
	}
	return pts[len(pts)-1].v
}

// MeanValue returns the expected value of the distribution.
func (d *Dist) MeanValue() time.Duration {
	switch d.Kind {
	case DistUniform:
		return (d.Min.D() + d.Max.D()) / 2
	case DistExponential:
		return d.Mean.D()
	case DistLognormal:
		mu, sigma := d.lognormal()
		return toDuration(math.Exp(mu + sigma*sigma/2))
	case DistEmpirical:
		pts := d.points
		if pts == nil {
			pts = d.empiricalPoints()
		}
		var m float64
		for i := 1; i < len(pts); i++ {
			m += (pts[i].q - pts[i-1].q) * (pts[i].v + pts[i-1].v) / 2
		}
		return toDuration(m)
	}
	return d.Value.D()
}

// String formats the distribution as YAML's flow form would, e.g.
// "exponential(mean=10s)".
func (d *Dist) String() string {
	switch d.Kind {
	case DistUniform:
		return fmt.Sprintf("uniform(min=%s, max=%s)", d.Min, d.Max)
	case DistExponential:
		return fmt.Sprintf("exponential(mean=%s)", d.Mean)
	case DistLognormal:
		return fmt.Sprintf("lognormal(median=%s, p99=%s)", d.Median, d.P99)
	case DistEmpirical:
		pts := d.empiricalPoints()
		parts := make([]string, len(pts))
		for i, p := range pts {
			parts[i] = fmt.Sprintf("p%s=%s", strconv.FormatFloat(p.q*100, 'f', -1, 64), time.Duration(p.v))
		}
		return "empirical(" + strings.Join(parts, ", ") + ")"
	}
	return d.Value.String()
}

// distProblem is a problem with one parameter: key is relative to the Dist
// ("min", "percentiles.p50"; "" for the whole).
type distProblem struct {
	key, msg string
	atKey    bool // report at the key rather than the value
}

// problems checks the parameters. has reports whether a key was given.
func (d *Dist) problems(has func(key string) bool) []distProblem {
	var ps []distProblem
	add := func(key, format string, args ...any) {
		ps = append(ps, distProblem{key: key, msg: fmt.Sprintf(format, args...)})
	}
	allowed := strings.Join(distKinds, ", ")
	if d.Kind == "" {
		add("dist", "required: the kind of distribution (allowed: %s)", allowed)
		return ps
	}
	params := distParams(d.Kind)
	if params == nil {
		add("dist", "unknown distribution %q (allowed: %s)", d.Kind, allowed)
		return ps
	}
	for _, k := range []string{"value", "min", "max", "mean", "median", "p99", "percentiles"} {
		if has(k) && !slices.Contains(params, k) {
			ps = append(ps, distProblem{key: k, atKey: true,
				msg: fmt.Sprintf("not used by %s distribution (allowed: %s)", article(d.Kind), strings.Join(params, ", "))})
		}
	}
	for _, k := range params {
		if !has(k) {
			add(k, "required by %s distribution", article(d.Kind))
		}
	}
	nonNeg := func(key string, v Duration) {
		if has(key) && v < 0 {
			add(key, "must be >= 0, got %s", v)
		}
	}
	switch d.Kind {
	case DistConstant:
		nonNeg("value", d.Value)
	case DistUniform:
		nonNeg("min", d.Min)
		if has("min") && has("max") && d.Min >= 0 && d.Max < d.Min {
			add("max", "must be >= min (%s), got %s", d.Min, d.Max)
		}
	case DistExponential:
		if has("mean") && d.Mean <= 0 {
			add("mean", "must be > 0, got %s", d.Mean)
		}
	case DistLognormal:
		if has("median") && d.Median <= 0 {
			add("median", "must be > 0, got %s", d.Median)
		} else if has("median") && has("p99") && d.P99 <= d.Median {
			add("p99", "must be > median (%s), got %s", d.Median, d.P99)
		}
	case DistEmpirical:
		ps = append(ps, d.percentileProblems(has("percentiles"))...)
	}
	return ps
}

func (d *Dist) percentileProblems(given bool) []distProblem {
	if !given {
		return nil
	}
	var ps []distProblem
	type kq struct {
		key string
		q   float64
		v   Duration
	}
	var list []kq
	keys := make([]string, 0, len(d.Percentiles))
	for k := range d.Percentiles {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		q, err := ParsePercentile(k)
		if err != nil {
			ps = append(ps, distProblem{key: "percentiles." + k, msg: err.Error(), atKey: true})
			continue
		}
		v := d.Percentiles[k]
		if v < 0 {
			ps = append(ps, distProblem{key: "percentiles." + k, msg: fmt.Sprintf("must be >= 0, got %s", v)})
		}
		list = append(list, kq{k, q, v})
	}
	if len(ps) > 0 {
		return ps
	}
	slices.SortStableFunc(list, func(a, b kq) int { return cmpFloat(a.q, b.q) })
	for i := 1; i < len(list); i++ {
		if list[i].q == list[i-1].q {
			ps = append(ps, distProblem{key: "percentiles." + list[i].key, atKey: true,
				msg: fmt.Sprintf("same percentile as %s", list[i-1].key)})
		} else if list[i].v < list[i-1].v {
			ps = append(ps, distProblem{key: "percentiles." + list[i].key,
				msg: fmt.Sprintf("must be >= %s (%s): percentiles must not decrease, got %s", list[i-1].key, list[i-1].v, list[i].v)})
		}
	}
	if len(list) == 0 || list[0].q != 0 {
		ps = append(ps, distProblem{key: "percentiles", msg: "p0 is required: the smallest value"})
	}
	if len(list) == 0 || list[len(list)-1].q != 100 {
		ps = append(ps, distProblem{key: "percentiles", msg: "p100 is required: the largest value"})
	}
	return ps
}

// Validate checks the parameters of a Dist built in Go (Load checks the ones
// it reads). Zero parameters of the kind count as given.
func (d *Dist) Validate() error {
	params := distParams(d.Kind)
	has := func(key string) bool {
		if slices.Contains(params, key) {
			return true
		}
		switch key {
		case "value":
			return d.Value != 0
		case "min":
			return d.Min != 0
		case "max":
			return d.Max != 0
		case "mean":
			return d.Mean != 0
		case "median":
			return d.Median != 0
		case "p99":
			return d.P99 != 0
		case "percentiles":
			return len(d.Percentiles) > 0
		}
		return false
	}
	if d.Kind == "" {
		return nil // the constant Value
	}
	es := &Errors{}
	for _, p := range d.problems(has) {
		es.add(&Error{Field: p.key, Msg: p.msg})
	}
	return es.finish()
}

// decodeNode reads a plain duration (a constant) or one of the mapping forms,
// and checks the parameters at their nodes.
func (d *Dist) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		var v Duration
		bad := len(dec.bad)
		v.decodeNode(dec, n, path)
		if len(dec.bad) == bad {
			if v < 0 {
				dec.badAt(n, path, "must be >= 0, got %s", v)
				return
			}
			*d = Dist{Kind: DistConstant, Value: v}
		}
		return
	}
	if n.Kind != yaml.MappingNode {
		dec.badAt(n, path, "expected a duration like 2s or a mapping such as {dist: exponential, mean: 10s}, got %s", describe(n))
		return
	}
	type distFields Dist // the same fields, without decodeNode
	var f distFields
	bad := len(dec.bad)
	dec.decodeStruct(n, reflect.ValueOf(&f).Elem(), path)
	if len(dec.bad) > bad {
		return
	}
	nd := Dist(f)
	has := func(key string) bool { return dec.present(joinPath(path, key)) }
	problems := nd.problems(has)
	for _, p := range problems {
		full := joinPath(path, p.key)
		at := dec.node(full)
		if p.atKey {
			at = dec.keyNode(full)
		}
		dec.badAt(at, full, "%s", p.msg)
	}
	if len(problems) > 0 {
		return
	}
	if nd.Kind == DistEmpirical {
		nd.points = nd.empiricalPoints()
	}
	*d = nd
}

// UnmarshalYAML reads a plain duration or a mapping form.
func (d *Dist) UnmarshalYAML(n *yaml.Node) error {
	dec := newDecoder("")
	dec.decode(n, reflect.ValueOf(d).Elem(), "")
	return dec.errs.finish()
}

// article puts "a" or "an" before a kind name.
func article(kind string) string {
	if kind != "" && strings.IndexByte("aeio", kind[0]) >= 0 {
		return "an " + kind
	}
	return "a " + kind
}
