package judge

import (
	"fmt"
	"strings"
)

// placeholders says what each placeholder of a pattern stands for.
// code quotes a name (identity for plain text, backquotes for Markdown).
func placeholders(code func(string) string) string {
	list := func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = code(n)
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprintf("%s is %s; %s is %s; %s is %s (any case), optional; "+
		"%s is a verdict class: %s; %s is a percentile such as p50, p99, p99.9; %s a target's code such as code_70001",
		code("<op>"), list(OpNames()), code("<event>"), list(EventNames()),
		code("<platform>"), list(platformNames()), code("<class>"), list(classNames), code("pN"), code("code_N"))
}

// unitText says how a value of the entry is written and reported.
func (m *Metric) unitText() string {
	switch m.Kind {
	case KindDuration:
		return "duration (250ms, 1.5s; reported in seconds)"
	case KindPercent:
		return "percentage (0.1%) or fraction, " + m.Unit
	case KindCount:
		return "whole number of " + m.Unit
	case KindRate:
		return m.Unit
	}
	return ""
}

// Summary lists every metric pattern on one line, for the JSON Schema's
// description of thresholds.
func Summary() string {
	pats := make([]string, 0, len(catalogue))
	for _, m := range catalogue {
		pats = append(pats, m.Pattern())
	}
	plain := func(s string) string { return s }
	return "Metrics: " + strings.Join(pats, ", ") + ". " + placeholders(plain) +
		". Latencies are over successful operations only; errors.rate is (failed + timed out) / attempted."
}

// Markdown returns the catalogue as a Markdown table with the placeholders
// explained below it, as the README shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| metric | value | meaning |\n|---|---|---|\n")
	for _, m := range catalogue {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.Pattern(), m.unitText(), m.Doc)
	}
	ticks := func(s string) string { return "`" + s + "`" }
	b.WriteString("\n" + placeholders(ticks) + ".\n")
	return b.String()
}
