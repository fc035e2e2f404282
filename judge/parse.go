package judge

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	OpLT Op = "<"
	OpLE Op = "<="
	OpGT Op = ">"
	OpGE Op = ">="
	OpEQ Op = "=="
	OpNE Op = "!="
)

// Threshold is a parsed threshold expression such as "login.p99 < 250ms":
// the run passes it when Eval(actual) is true for the actual value of
// Metric, measured in the unit of Kind.
type Threshold struct {
	// Metric is the full metric path, e.g. "login.p99", "errors.rate".
	Metric string
	// Subject is the metric path before the statistic: "login",
	// "kickout.late", or "" for "errors.rate" (all operations).
	Subject string
	// Stat is the last segment, or "errors.rate": "p99", "p99.9", "max",
	// "min", "mean", "count", "rate", "errors.rate", "violations",
	// "mismatches", "end".
	Stat string
	// Quantile is the percentile of a pNN statistic (99.9 for p99.9), 100
	// for max, 0 otherwise.
	Quantile float64
	Op       Op
	// Value is in the unit of Kind: seconds, a fraction, a count or a number
	// per second.
	Value float64
	Kind  Kind
	// Text is the value as written ("250ms", "0.1%").
	Text string
	// Ref is the metric resolved against the catalogue: its entry and the
	// operation, platform, quantile or code it names.
	Ref Ref
	// AbortOnFail ends the run as soon as the threshold fails: written as
	// a trailing "abort_on_fail" ("errors.count < 10 abort_on_fail"). See
	// Parse for the metrics it is allowed on.
	AbortOnFail bool
}

// abortOnFail is the word that asks for AbortOnFail.
const abortOnFail = "abort_on_fail"

// LatencyBound reports whether the threshold is an upper bound on a
// latency ("login.p99 < 100ms").
func (t Threshold) LatencyBound() bool {
	return t.Kind == KindDuration && (t.Op == OpLT || t.Op == OpLE)
}

// Monotone reports whether the metric only grows during a run (a count),
// so that part of a run may already decide the verdict (see Settled).
func (t Threshold) Monotone() bool { return t.Kind == KindCount }

// Settled reports whether actual, measured over part of a run, already
// decides the verdict for the whole run: a count only grows, so a bound
// from above (<, <=, ==) that it has crossed fails for good, and a bound
// from below (>, >=) that it has reached passes for good. A threshold on
// any other kind is settled only by the whole run.
func (t Threshold) Settled(actual float64) bool {
	if !t.Monotone() {
		return false
	}
	switch t.Op {
	case OpLT, OpLE, OpEQ:
		return !t.Eval(actual)
	case OpGT, OpGE:
		return t.Eval(actual)
	}
	return false
}

// String returns the expression in canonical spacing: "login.p99 < 250ms".
func (t Threshold) String() string {
	s := t.Metric + " " + string(t.Op) + " " + t.Text
	if t.AbortOnFail {
		s += " " + abortOnFail
	}
	return s
}

// Eval reports whether actual, in the unit of Kind, satisfies the threshold.
func (t Threshold) Eval(actual float64) bool {
	switch t.Op {
	case OpLT:
		return actual < t.Value
	case OpLE:
		return actual <= t.Value
	case OpGT:
		return actual > t.Value
	case OpGE:
		return actual >= t.Value
	case OpEQ:
		return actual == t.Value
	case OpNE:
		return actual != t.Value
	}
	return false
}

// ThresholdError is a problem in a threshold expression at a column
// (1-based, in bytes).
type ThresholdError struct {
	Col int
	Msg string
}

func (e *ThresholdError) Error() string { return fmt.Sprintf("col %d: %s", e.Col, e.Msg) }

// Parse parses "metric op value", e.g. "login.p99 < 250ms",
// "errors.rate < 0.1%", "kickout.violations == 0", "login.rate > 50", and
// resolves the metric against the catalogue: a name no entry stands for is
// an error at its column, with the closest name the catalogue knows.
//
// The operator is one of < <= > >= == !=. The value is in the unit of the
// metric's kind: a duration with its unit (250ms, 1.5s) for latencies; a
// percentage (or a fraction from 0 to 1) for error rates; a whole number for
// counts; a number per second for rates.
//
// A trailing abort_on_fail ("errors.count < 10 abort_on_fail") ends the run
// as soon as the threshold fails, with the results written and marked
// aborted: a count bounded from above when it crosses the bound (it can no
// longer pass); any other metric of the recorder (rates, latencies) when it
// fails on the figures so far, checked every second, as k6's abortOnFail
// does. It is refused on a count bounded from below and on the kickout and
// MAU metrics, which are known only at the end.
func Parse(s string) (Threshold, error) {
	p := &thresholdParser{s: s}
	return p.parse()
}

type thresholdParser struct {
	s   string
	pos int
}

func (p *thresholdParser) errf(pos int, format string, args ...any) error {
	return &ThresholdError{Col: pos + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *thresholdParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func (p *thresholdParser) parse() (Threshold, error) {
	var t Threshold
	p.skipSpace()
	if p.pos == len(p.s) {
		return t, p.errf(p.pos, "empty threshold; write metric, operator and value, e.g. login.p99 < 250ms")
	}
	start := p.pos
	segs, segPos, err := p.metricName()
	if err != nil {
		return t, err
	}
	t.Metric = p.s[start:p.pos]
	ref, col, msg := resolve(t.Metric, segs, segPos)
	if msg != "" {
		return t, p.errf(col, "%s", msg)
	}
	t.Ref, t.Kind, t.Quantile = ref, ref.Metric.Kind, ref.Quantile
	last := len(segs) - 1
	t.Stat, t.Subject = segs[last], strings.Join(segs[:last], ".")
	if t.Stat == "rate" && last >= 1 && segs[last-1] == "errors" {
		t.Stat, t.Subject = "errors.rate", strings.Join(segs[:last-1], ".")
	}
	if t.Stat == "max" && t.Kind == KindDuration {
		t.Quantile = 100
	}

	p.skipSpace()
	opPos := p.pos
	for _, op := range []Op{OpLE, OpGE, OpEQ, OpNE, OpLT, OpGT} {
		if strings.HasPrefix(p.s[p.pos:], string(op)) {
			t.Op = op
			p.pos += len(op)
			break
		}
	}
	if t.Op == "" {
		return t, p.errf(opPos, "expected an operator (allowed: <, <=, >, >=, ==, !=)")
	}
	p.skipSpace()
	valPos := p.pos
	end := p.pos
	for end < len(p.s) && p.s[end] != ' ' && p.s[end] != '\t' {
		end++
	}
	text := p.s[valPos:end]
	p.pos = end
	p.skipSpace()
	if rest := strings.TrimRight(p.s[p.pos:], " \t"); rest == abortOnFail {
		if err := p.canAbort(&t); err != nil {
			return t, err
		}
		t.AbortOnFail = true
		p.pos = len(p.s)
	}
	if p.pos < len(p.s) {
		return t, p.errf(p.pos, "unexpected %q after the value", p.s[p.pos:])
	}
	if text == "" {
		return t, p.errf(valPos, "expected a value after %s", t.Op)
	}
	t.Text = text
	v, err := thresholdValue(t.Kind, text)
	if err != nil {
		return t, p.errf(valPos, "%s for %s, got %q", err.Error(), t.Stat, text)
	}
	t.Value = v
	return t, nil
}

// canAbort says why t may not carry abort_on_fail (nil: it may): the
// run's recorder must measure it while the run goes on (the kickout
// oracle and the MAU report judge only at the end), and a count must be
// bounded from above, since only then can part of a run make it fail for
// good.
func (p *thresholdParser) canAbort(t *Threshold) error {
	if t.Ref.Metric.Source != FromMetrics {
		return p.errf(p.pos, "%s: %s is known only at the end of the run; it applies to metrics the recorder measures as the run goes", abortOnFail, t.Metric)
	}
	if t.Monotone() && t.Op != OpLT && t.Op != OpLE && t.Op != OpEQ {
		return p.errf(p.pos, "%s: a count with %s cannot fail before the run ends (use <, <= or ==)", abortOnFail, t.Op)
	}
	return nil
}

// isQuantileInt matches "p" and digits: p50, p99.
func isQuantileInt(s string) bool {
	if len(s) < 2 || s[0] != 'p' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isQuantileFrac matches p99.9.
func isQuantileFrac(s string) bool {
	i, f, ok := strings.Cut(s, ".")
	if !ok || !isQuantileInt(i) || f == "" {
		return false
	}
	for j := 0; j < len(f); j++ {
		if !isDigit(f[j]) {
			return false
		}
	}
	return true
}

// thresholdValue reads text in the unit kind asks for.
func thresholdValue(kind Kind, text string) (float64, error) {
	switch kind {
	case KindDuration:
		d, err := time.ParseDuration(text)
		if err != nil || strings.HasPrefix(text, "-") || strings.HasPrefix(text, "+") {
			return 0, fmt.Errorf("expected a duration like 250ms")
		}
		return d.Seconds(), nil
	case KindPercent:
		if num, ok := strings.CutSuffix(text, "%"); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || !plainNumber(num) || f < 0 || f > 100 {
				return 0, fmt.Errorf("expected a percentage from 0%% to 100%% like 0.1%%")
			}
			return f / 100, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !plainNumber(text) || f < 0 || f > 1 {
			return 0, fmt.Errorf("expected a percentage like 0.1%% (or a fraction from 0 to 1)")
		}
		return f, nil
	case KindCount:
		n, err := strconv.ParseUint(text, 10, 53)
		if err != nil {
			return 0, fmt.Errorf("expected a whole number like 100")
		}
		return float64(n), nil
	case KindRate:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !plainNumber(text) || f < 0 {
			return 0, fmt.Errorf("expected a number per second like 50")
		}
		return f, nil
	}
	return 0, fmt.Errorf("unknown kind")
}

// plainNumber accepts digits with at most one dot: no sign, exponent,
// hexadecimal, Inf or NaN.
func plainNumber(s string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case isDigit(c):
			digits++
		default:
			return false
		}
	}
	return dots <= 1 && digits > 0
}

// metricName reads identifiers joined by dots (p99.9 is one segment) and
// returns them with their byte offsets.
func (p *thresholdParser) metricName() (segs []string, segPos []int, err error) {
	for {
		if p.pos >= len(p.s) || !isIdentStart(p.s[p.pos]) {
			return nil, nil, p.errf(p.pos, "expected a metric name such as login.p99 (letters, digits, _ and dots)")
		}
		b := p.pos
		for p.pos < len(p.s) && isIdentChar(p.s[p.pos]) {
			p.pos++
		}
		// A quantile's fraction: p99.9 is one segment.
		if isQuantileInt(p.s[b:p.pos]) && p.pos+1 < len(p.s) && p.s[p.pos] == '.' && isDigit(p.s[p.pos+1]) {
			p.pos++
			for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
				p.pos++
			}
		}
		segs = append(segs, p.s[b:p.pos])
		segPos = append(segPos, b)
		if p.pos < len(p.s) && p.s[p.pos] == '.' {
			p.pos++
			continue
		}
		break
	}
	return segs, segPos, nil
}
