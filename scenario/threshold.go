package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says what a threshold's value measures, and so the unit of the
// actual value Eval expects.
type Kind int

// Threshold kinds.
const (
	// KindDuration: seconds (a float64; "250ms" is 0.25). Quantiles pNN and
	// pNN.N, max, min and mean.
	KindDuration Kind = iota + 1
	// KindPercent: a fraction ("0.1%" is 0.001). errors.rate.
	KindPercent
	// KindCount: a number of events. count, violations and mismatches.
	KindCount
	// KindRate: events per second. rate.
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
	// Stat is the statistic: "p99", "p99.9", "max", "min", "mean", "count",
	// "rate", "errors.rate", "violations" or "mismatches".
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
}

// String returns the expression in canonical spacing: "login.p99 < 250ms".
func (t Threshold) String() string {
	return t.Metric + " " + string(t.Op) + " " + t.Text
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

// ThresholdStats lists the statistics a metric path may end with.
const ThresholdStats = "pNN or pNN.N (quantile), max, min, mean, count, rate, errors.rate, violations, mismatches"

// ParseThreshold parses "metric op value", e.g. "login.p99 < 250ms",
// "errors.rate < 0.1%", "kickout.violations == 0", "login.rate > 50".
//
// The metric is identifiers joined by dots, ending with a statistic (see
// ThresholdStats). The operator is one of < <= > >= == !=. The value is a
// duration for quantiles, max, min and mean; a percentage (or a fraction
// from 0 to 1) for errors.rate; a whole number for count, violations and
// mismatches;
// a number per second for rate.
func ParseThreshold(s string) (Threshold, error) {
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
	var segs []string
	var segPos []int
	for {
		if p.pos >= len(p.s) || !isIdentStart(p.s[p.pos]) {
			return t, p.errf(p.pos, "expected a metric name such as login.p99 (letters, digits, _ and dots)")
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
	t.Metric = p.s[start:p.pos]
	last := len(segs) - 1
	stat, statPos := segs[last], segPos[last]
	subject := segs[:last]
	switch {
	case stat == "rate" && last >= 1 && segs[last-1] == "errors":
		t.Stat, t.Kind = "errors.rate", KindPercent
		subject = segs[:last-1]
	case isQuantileInt(stat) || isQuantileFrac(stat):
		q, err := strconv.ParseFloat(stat[1:], 64)
		if err != nil || q <= 0 || q > 100 {
			return t, p.errf(statPos, "quantile %s out of range (allowed: p0.1 to p100)", stat)
		}
		t.Stat, t.Kind, t.Quantile = stat, KindDuration, q
	case stat == "max":
		t.Stat, t.Kind, t.Quantile = stat, KindDuration, 100
	case stat == "min" || stat == "mean":
		t.Stat, t.Kind = stat, KindDuration
	case stat == "count" || stat == "violations" || stat == "mismatches":
		t.Stat, t.Kind = stat, KindCount
	case stat == "rate":
		t.Stat, t.Kind = stat, KindRate
	default:
		return t, p.errf(statPos, "unknown statistic %q (allowed: %s)", stat, ThresholdStats)
	}
	t.Subject = strings.Join(subject, ".")

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
