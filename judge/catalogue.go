package judge

import (
	"strconv"
	"strings"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// Kind says what a threshold's value measures, and so the unit of the
// actual value Eval expects.
type Kind int

// Threshold kinds.
const (
	// KindDuration: seconds (a float64; "250ms" is 0.25), written with a
	// unit.
	KindDuration Kind = iota + 1
	// KindPercent: a fraction ("0.1%" is 0.001).
	KindPercent
	// KindCount: a whole number of things.
	KindCount
	// KindRate: things per second.
	KindRate
)

func (k Kind) String() string {
	switch k {
	case KindDuration:
		return "duration"
	case KindPercent:
		return "percent"
	case KindCount:
		return "count"
	case KindRate:
		return "rate"
	}
	return "unknown"
}

// Source says which result of a run answers a metric.
type Source int

// Sources.
const (
	// FromMetrics: the recorder's snapshot (metrics.Snapshot).
	FromMetrics Source = iota + 1
	// FromKickout: the kickout oracle's report (check.Report).
	FromKickout
	// FromMAU: the month simulation's report (mau.Report).
	FromMAU
	// FromCapacity: a capacity search's answer (capacity.Report), judged
	// once the search has ended, never on its steps (a scenario's other
	// thresholds are the SLO each step is judged by).
	FromCapacity
)

func (s Source) String() string {
	switch s {
	case FromMetrics:
		return "metrics"
	case FromKickout:
		return "kickout"
	case FromMAU:
		return "mau"
	case FromCapacity:
		return "capacity"
	}
	return "unknown"
}

// segKind is what one dot-separated segment of a metric name may be.
type segKind int

const (
	segLit      segKind = iota // the literal text
	segOp                      // an operation: connect, login, ...
	segEvent                   // an event kind: kicked, sig_expired, ...
	segPlatform                // optional: a platform (any case) or "unknown"
	segClass                   // a verdict class of the kickout oracle
	segQuantile                // pN or pN.N, 0 < N <= 100
	segCode                    // code_N: a target's code
	numSegKinds
)

type seg struct {
	kind segKind
	lit  string
}

func lit(s string) seg { return seg{kind: segLit, lit: s} }

var (
	op       = seg{kind: segOp}
	ev       = seg{kind: segEvent}
	platform = seg{kind: segPlatform}
	class    = seg{kind: segClass}
	quantile = seg{kind: segQuantile}
	code     = seg{kind: segCode}
)

// Metric is one entry of the catalogue: a family of metric names such as
// "<op>[.<platform>].pN".
type Metric struct {
	// ID names the entry for the evaluator ("op.quantile").
	ID   string
	segs []seg
	Kind Kind
	// Unit says what a count or a rate counts ("operations",
	// "instances"); durations are seconds, percents fractions.
	Unit   string
	Source Source
	Doc    string
}

// Pattern returns the names the entry stands for:
// "<op>[.<platform>].pN".
func (m *Metric) Pattern() string {
	var b strings.Builder
	for i, s := range m.segs {
		if s.kind == segPlatform {
			b.WriteString("[.<platform>]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(describe(s))
	}
	return b.String()
}

// Example returns one name the entry stands for, e.g. "login.p99".
func (m *Metric) Example() string {
	parts := make([]string, 0, len(m.segs))
	for _, s := range m.segs {
		switch s.kind {
		case segLit:
			parts = append(parts, s.lit)
		case segOp:
			parts = append(parts, "login")
		case segEvent:
			parts = append(parts, "kicked")
		case segClass:
			parts = append(parts, classNames[0])
		case segQuantile:
			parts = append(parts, "p99")
		case segCode:
			parts = append(parts, "code_70001")
		}
	}
	return strings.Join(parts, ".")
}

func describe(s seg) string {
	switch s.kind {
	case segLit:
		return s.lit
	case segOp:
		return "<op>"
	case segEvent:
		return "<event>"
	case segPlatform:
		return "<platform>"
	case segClass:
		return "<class>"
	case segQuantile:
		return "pN"
	case segCode:
		return "code_N"
	}
	return "?"
}

// catalogue is every threshold metric, in the order the docs list them.
// Adding a metric: an entry here and its answer in judge/eval (see
// docs/ARCHITECTURE.md).
var catalogue = []*Metric{
	{ID: "op.count", segs: []seg{op, platform, lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations attempted: ok + failed + timed out + cancelled"},
	{ID: "op.ok.count", segs: []seg{op, platform, lit("ok"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations that succeeded"},
	{ID: "op.failed.count", segs: []seg{op, platform, lit("failed"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations failed: the target answered with an error code, or the transport failed"},
	{ID: "op.timed_out.count", segs: []seg{op, platform, lit("timed_out"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations without an answer within target.timeout"},
	{ID: "op.cancelled.count", segs: []seg{op, platform, lit("cancelled"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations the run's end (or an interrupt) cut off before they had an outcome; in no error rate"},
	{ID: "op.errors.count", segs: []seg{op, platform, lit("errors"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations failed or timed out"},
	{ID: "op.errors.rate", segs: []seg{op, platform, lit("errors"), lit("rate")}, Kind: KindPercent, Unit: "of completed attempts", Source: FromMetrics,
		Doc: "(failed + timed out) / (attempted - cancelled), of this operation"},
	{ID: "op.code.count", segs: []seg{op, platform, code, lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations the target answered with code N (0: failed without a code)"},
	{ID: "op.rate", segs: []seg{op, platform, lit("rate")}, Kind: KindRate, Unit: "operations per second", Source: FromMetrics,
		Doc: "operations attempted per second of the run"},
	{ID: "op.min", segs: []seg{op, platform, lit("min")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "least latency of the successful operations"},
	{ID: "op.max", segs: []seg{op, platform, lit("max")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "greatest latency of the successful operations"},
	{ID: "op.mean", segs: []seg{op, platform, lit("mean")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "mean latency of the successful operations"},
	{ID: "op.quantile", segs: []seg{op, platform, quantile}, Kind: KindDuration, Source: FromMetrics,
		Doc: "latency percentile of the successful operations (p50, p99, p99.9)"},

	{ID: "errors.count", segs: []seg{lit("errors"), lit("count")}, Kind: KindCount, Unit: "operations", Source: FromMetrics,
		Doc: "operations of every kind failed or timed out"},
	{ID: "errors.rate", segs: []seg{lit("errors"), lit("rate")}, Kind: KindPercent, Unit: "of completed attempts", Source: FromMetrics,
		Doc: "(failed + timed out) / (attempted - cancelled), over every operation (connects, logins, logouts, resumes, heartbeats)"},

	{ID: "kick_notice.count", segs: []seg{lit("kick_notice"), platform, lit("count")}, Kind: KindCount, Unit: "kicks", Source: FromMetrics,
		Doc: "kicks whose displacement-to-notice delay the kicked device knows"},
	{ID: "kick_notice.min", segs: []seg{lit("kick_notice"), platform, lit("min")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "least displacement-to-notice delay, as the kicked devices measured it"},
	{ID: "kick_notice.max", segs: []seg{lit("kick_notice"), platform, lit("max")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "greatest displacement-to-notice delay"},
	{ID: "kick_notice.mean", segs: []seg{lit("kick_notice"), platform, lit("mean")}, Kind: KindDuration, Source: FromMetrics,
		Doc: "mean displacement-to-notice delay"},
	{ID: "kick_notice.quantile", segs: []seg{lit("kick_notice"), platform, quantile}, Kind: KindDuration, Source: FromMetrics,
		Doc: "displacement-to-notice delay percentile"},

	{ID: "event.count", segs: []seg{ev, platform, lit("count")}, Kind: KindCount, Unit: "events", Source: FromMetrics,
		Doc: "how often devices suffered or did this"},
	{ID: "event.rate", segs: []seg{ev, platform, lit("rate")}, Kind: KindRate, Unit: "events per second", Source: FromMetrics,
		Doc: "events per second of the run"},

	{ID: "online.max", segs: []seg{lit("online"), lit("max")}, Kind: KindCount, Unit: "instances", Source: FromMetrics,
		Doc: "most instances online at once (per second's maximum, over the run)"},
	{ID: "online.end", segs: []seg{lit("online"), lit("end")}, Kind: KindCount, Unit: "instances", Source: FromMetrics,
		Doc: "instances online at the end of the run's last second"},

	{ID: "kickout.violations", segs: []seg{lit("kickout"), lit("violations")}, Kind: KindCount, Unit: "verdicts", Source: FromKickout,
		Doc: "verdicts of every violation class"},
	{ID: "kickout.class.count", segs: []seg{lit("kickout"), class, lit("count")}, Kind: KindCount, Unit: "verdicts", Source: FromKickout,
		Doc: "verdicts of one class (undecided is not a violation)"},
	{ID: "kickout.latency.count", segs: []seg{lit("kickout"), lit("latency"), lit("count")}, Kind: KindCount, Unit: "kicks", Source: FromKickout,
		Doc: "kicks with a measured kick latency (displacement at the target to the kicked device's notice)"},
	{ID: "kickout.latency.max", segs: []seg{lit("kickout"), lit("latency"), lit("max")}, Kind: KindDuration, Source: FromKickout,
		Doc: "greatest kick latency"},
	{ID: "kickout.latency.quantile", segs: []seg{lit("kickout"), lit("latency"), quantile}, Kind: KindDuration, Source: FromKickout,
		Doc: "kick latency percentile"},
	{ID: "kickout.latency.count", segs: []seg{lit("kickout"), lit("late"), lit("count")}, Kind: KindCount, Unit: "kicks", Source: FromKickout,
		Doc: "the same as kickout.latency.count"},
	{ID: "kickout.latency.max", segs: []seg{lit("kickout"), lit("late"), lit("max")}, Kind: KindDuration, Source: FromKickout,
		Doc: "the same as kickout.latency.max"},
	{ID: "kickout.latency.quantile", segs: []seg{lit("kickout"), lit("late"), quantile}, Kind: KindDuration, Source: FromKickout,
		Doc: "the same as kickout.latency.pN"},

	{ID: "mau.mismatches", segs: []seg{lit("mau"), lit("mismatches")}, Kind: KindCount, Unit: "mismatches", Source: FromMAU,
		Doc: "numbers on which the harness's and the server's MAU/DAU counts disagree (a scenario with a mau section)"},

	// A capacity search's load is arrivals per second (vary: rate) or
	// devices (vary: devices): a number, written and read as a rate is.
	{ID: "capacity.sustained", segs: []seg{lit("capacity"), lit("sustained")}, Kind: KindRate, Unit: capacityUnit, Source: FromCapacity,
		Doc: "the sustained capacity a search found (results.json capacity.sustained): the mean over its repeats; when bound by the generator or by max, the least (a lower bound). The same gate as capacity.require"},
	{ID: "capacity.interval.low", segs: []seg{lit("capacity"), lit("interval"), lit("low")}, Kind: KindRate, Unit: capacityUnit, Source: FromCapacity,
		Doc: "low end of the sustained capacity's interval (95% t over the repeats; one repeat: the sustained load itself); not judged when bound by the generator"},
	{ID: "capacity.interval.high", segs: []seg{lit("capacity"), lit("interval"), lit("high")}, Kind: KindRate, Unit: capacityUnit, Source: FromCapacity,
		Doc: "high end of that interval (one repeat: the least failing load); not judged when bound by the generator"},
}

// capacityUnit is the unit of the capacity metrics.
const capacityUnit = "number: arrivals per second (vary: rate) or devices (vary: devices)"

// Catalogue returns every entry, in the order the docs list them. Entries
// sharing an ID are spellings of one measure (kickout.late.* and
// kickout.latency.*).
func Catalogue() []*Metric { return catalogue }

// classNames are the kickout oracle's verdict classes, as check names them
// (judge/eval tests that the two agree).
var classNames = []string{"wrong_victim", "missing_kick", "spurious_kick",
	"over_limit", "late_kick", "ghost_session", "lost_session", "webhook_mismatch",
	"wrong_refusal", "no_order", "undecided"}

// ClassNames returns the verdict classes kickout.<class>.count accepts.
func ClassNames() []string { return append([]string(nil), classNames...) }

// UnknownPlatform is the platform segment of events that carry none, as the
// recorder names it (judge/eval tests that the two agree).
const UnknownPlatform policy.Platform = "unknown"

// OpNames returns the operations <op> stands for, in event order.
func OpNames() []string {
	var out []string
	for k := event.Connect; k <= event.Heartbeat; k++ {
		out = append(out, k.String())
	}
	return out
}

// EventNames returns the event kinds <event> stands for, in event order.
func EventNames() []string {
	var out []string
	for k := event.Kicked; k <= event.LastKind; k++ {
		out = append(out, k.String())
	}
	return out
}

func platformNames() []string {
	out := make([]string, 0, len(policy.Platforms)+1)
	for _, p := range policy.Platforms {
		out = append(out, string(p))
	}
	return append(out, string(UnknownPlatform))
}

// options returns the concrete values of a placeholder segment (nil for
// quantile and code, which are open-ended).
func options(k segKind) []string {
	switch k {
	case segOp:
		return OpNames()
	case segEvent:
		return EventNames()
	case segPlatform:
		return platformNames()
	case segClass:
		return classNames
	}
	return nil
}

// Ref is a metric name resolved against the catalogue.
type Ref struct {
	Metric *Metric
	// Name is the operation, event kind or verdict class the name selects
	// ("" when its entry has none).
	Name string
	// Platform is the platform segment in canonical spelling ("" for all).
	Platform policy.Platform
	// Quantile is the percentile of a pN segment (99.9 for p99.9).
	Quantile float64
	// Code is the N of a code_N segment.
	Code int
}

// segMatch reports whether text fills s, and records what it selects in r.
// A segment that has the right shape but an impossible value (p101) gives
// an error.
func segMatch(s seg, text string, r *Ref) (bool, string) {
	switch s.kind {
	case segLit:
		return text == s.lit, ""
	case segOp, segEvent, segClass:
		for _, n := range options(s.kind) {
			if n == text {
				r.Name = text
				return true, ""
			}
		}
	case segPlatform:
		if p, err := policy.ParsePlatform(text); err == nil {
			r.Platform = p
			return true, ""
		}
		if text == string(UnknownPlatform) {
			r.Platform = UnknownPlatform
			return true, ""
		}
	case segQuantile:
		if !isQuantileInt(text) && !isQuantileFrac(text) {
			return false, ""
		}
		q, err := strconv.ParseFloat(text[1:], 64)
		if err != nil || q <= 0 || q > 100 {
			return false, "quantile " + text + " out of range (allowed: p0.1 to p100)"
		}
		r.Quantile = q
		return true, ""
	case segCode:
		digits, ok := strings.CutPrefix(text, "code_")
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			return false, ""
		}
		n, err := strconv.Atoi(digits)
		if err != nil {
			return false, ""
		}
		r.Code = n
		return true, ""
	}
	return false, ""
}
