package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// TextOptions chooses what WriteText prints.
type TextOptions struct {
	// Platforms adds the per-platform rows (point values) under each
	// operation's all-platform rows.
	Platforms bool
}

// WriteText prints the comparison as a terminal table: what differs, the
// warnings, one row per figure, the oracle's verdict counts and the MAU,
// and a closing line with the number of regressions.
func WriteText(w io.Writer, r *Result, o TextOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "compare: base %s; new %s\n", names(r.Base), names(r.New))
	m := r.Method
	fmt.Fprintf(&b, "intervals: %.0f%%, %s, %d resamples, seed %d, %s\n", 100*m.Confidence, m.Bootstrap, m.Resamples, m.Seed, m.BlockRule)
	if m.RankTest != "" {
		fmt.Fprintf(&b, "rank test: %s\n", m.RankTest)
	}
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "differs: %s\n", d)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", x)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tplatform\tbase\tnew\tchange\tinterval\ttolerance\trank p\tverdict\t")
	for _, f := range r.Figures {
		if f.Platform != "all" && !o.Platforms {
			continue
		}
		tol := f.Tolerance
		if !f.Gated {
			tol = "off"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f.Metric(), f.Platform,
			FormatValue(f.Unit, float64(f.Base)), FormatValue(f.Unit, float64(f.New)),
			FormatChange(f.Difference, float64(f.Change)), FormatInterval(f.Difference, float64(f.Lo), float64(f.Hi)),
			tol, formatP(float64(f.RankP)), f.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Kickout) > 0 {
		b.WriteString("\nkickout oracle verdicts (summed over each side's runs)\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "class\tbase\tnew\t")
		for _, c := range r.Kickout {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", c.Name, formatCount(float64(c.Base)), formatCount(float64(c.New)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.MAU) > 0 {
		b.WriteString("\nMAU by strategy and month (mean over each side's runs)\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "strategy month\tbase\tnew\t")
		for _, c := range r.MAU {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", c.Name, formatCount(float64(c.Base)), formatCount(float64(c.New)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\n")
	if r.Regressions > 0 {
		fmt.Fprintf(&b, "REGRESSED: %d figures beyond their tolerance: %s\n", r.Regressions, strings.Join(r.RegressedFigures(), ", "))
	} else {
		b.WriteString("no regression beyond the tolerances\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RegressedFigures names the gated figures that regressed: "login.p99",
// "login.p99 (iPhone)".
func (r *Result) RegressedFigures() []string {
	var out []string
	for _, f := range r.Figures {
		if f.Gated && f.Verdict == Regressed {
			n := f.Metric()
			if f.Platform != "all" {
				n += " (" + f.Platform + ")"
			}
			out = append(out, n)
		}
	}
	return out
}

// WriteJSON writes the comparison as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("compare: encoding JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func names(rs []RunInfo) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s (seed %d)", r.Name, r.Seed))
	}
	return strings.Join(out, ", ")
}

// FormatValue writes a figure's value in its unit: a duration of three
// significant digits, a percentage, or a number per second; "-" for none.
func FormatValue(unit string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	switch unit {
	case "fraction":
		return strconv.FormatFloat(100*v, 'f', 3, 64) + "%"
	case "per_second":
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return fmtDur(time.Duration(v))
}

// FormatChange writes a ratio as a signed percentage ("+10.2%") and a
// difference of fractions in percentage points ("+0.050pp").
func FormatChange(diff bool, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if diff {
		return fmt.Sprintf("%+.3fpp", 100*v)
	}
	return fmt.Sprintf("%+.1f%%", 100*(v-1))
}

// FormatInterval writes an interval of changes, as FormatChange does.
func FormatInterval(diff bool, lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "-"
	}
	return "[" + FormatChange(diff, lo) + ", " + FormatChange(diff, hi) + "]"
}

func formatP(p float64) string {
	if math.IsNaN(p) {
		return "-"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

func formatCount(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtDur rounds a duration to three significant digits.
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	digits := int(math.Floor(math.Log10(float64(d)))) + 1
	if digits > 3 {
		p := time.Duration(math.Pow10(digits - 3))
		d = d.Round(p)
	}
	return d.String()
}
