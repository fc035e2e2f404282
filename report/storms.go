package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/imload/imload/storm"
)

// writeStorms prints the storm figures of a run, one block per event.
func writeStorms(w io.Writer, fs []storm.Figures) error {
	if len(fs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "storms\n")
	for _, f := range fs {
		fmt.Fprintf(tw, "  events[%d] %s at %.1fs (%s)\n", f.Index, f.Action, f.AtS, f.Detail)
		fmt.Fprintf(tw, "    devices\taffected %d, disrupted %d, recovered %d\n", f.Affected, f.Disrupted, f.Recovered)
		fmt.Fprintf(tw, "    back online\tp50 %s, p95 %s, p99 %s (window %.2fs)\n", secs(f.RecoveryP50), secs(f.RecoveryP95), secs(f.RecoveryP99), f.WindowS)
		fmt.Fprintf(tw, "    peaks\t%.0f connects/s, %.0f logins/s (offered over 100 ms: %.0f/s, %.0f/s)\n", f.PeakConnects, f.PeakLogins, f.PeakOfferedConnects, f.PeakOfferedLogins)
		fmt.Fprintf(tw, "    amplification\t%.2f connects, %.2f logins+resumes per recovered device (%d, %d attempts)\n", f.Amplification, f.LoginAmplification, f.Attempts, f.LoginAttempts)
		fmt.Fprintf(tw, "    came back by\t%d resumes, %d repeat logins, %d fresh logins\n", f.Resumes, f.RepeatLogins, f.FreshLogins)
		fmt.Fprintf(tw, "    refusals\tlogin rate %d, login buckets %d, flapping %d\n", f.Refusals.LoginRate, f.Refusals.LoginBuckets, f.Refusals.Flapping)
		verdict := "ok"
		if f.Violations() > 0 {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "    verdicts\t%s: %d lost resumable sessions; %s\n", verdict, f.LostResumable, kickoutLine(f.Kickout))
	}
	return tw.Flush()
}

// kickoutLine says what the kickout oracle judged in a storm's window.
func kickoutLine(k *storm.Kickout) string {
	if k == nil {
		return "kickout oracle off"
	}
	return fmt.Sprintf("kickout oracle in the window: %d kicks judged, %d violations, %d undecided", k.Kicks, k.Violations, k.Undecided)
}

// secs formats a recovery time ("never" when the devices did not reach it).
func secs(v *float64) string {
	if v == nil {
		return "never"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64) + "s"
}

type stormsView struct {
	Rows   []stormRow
	Charts []chart
}

type stormRow struct {
	Event, Detail                  string
	Affected, Disrupted, Recovered int
	P50, P95, P99                  string
	PeakConnects, PeakLogins       string
	Amplification                  string
	Resumes, Repeats, Fresh        int
	Refusals                       string
	Lost                           int
	Kicks, Violations, Undecided   string
	ViolationsFail                 bool
}

func stormsOf(fs []storm.Figures) *stormsView {
	if len(fs) == 0 {
		return nil
	}
	v := &stormsView{}
	for _, f := range fs {
		v.Rows = append(v.Rows, stormRow{
			Event:    fmt.Sprintf("events[%d] %s at %.1fs", f.Index, f.Action, f.AtS),
			Detail:   f.Detail,
			Affected: f.Affected, Disrupted: f.Disrupted, Recovered: f.Recovered,
			P50: secs(f.RecoveryP50), P95: secs(f.RecoveryP95), P99: secs(f.RecoveryP99),
			PeakConnects:  fmt.Sprintf("%.0f (%.0f)", f.PeakConnects, f.PeakOfferedConnects),
			PeakLogins:    fmt.Sprintf("%.0f (%.0f)", f.PeakLogins, f.PeakOfferedLogins),
			Amplification: fmt.Sprintf("%.2f / %.2f", f.Amplification, f.LoginAmplification),
			Resumes:       f.Resumes, Repeats: f.RepeatLogins, Fresh: f.FreshLogins,
			Refusals: fmt.Sprintf("%d / %d / %d", f.Refusals.LoginRate, f.Refusals.LoginBuckets, f.Refusals.Flapping),
			Lost:     f.LostResumable, Kicks: "n/a", Violations: "n/a", Undecided: "n/a",
		})
		if k := f.Kickout; k != nil {
			row := &v.Rows[len(v.Rows)-1]
			row.Kicks, row.Violations, row.Undecided = strconv.FormatInt(k.Kicks, 10), strconv.FormatInt(k.Violations, 10), strconv.FormatInt(k.Undecided, 10)
			row.ViolationsFail = k.Violations > 0
		}
		if len(f.Series.Online) > 0 {
			v.Charts = append(v.Charts, stormChart(f))
		}
	}
	return v
}

// stormChart draws online devices and connects and logins per second
// around one event; the x axis counts seconds from the event.
func stormChart(f storm.Figures) chart {
	id := chartID("storm", strconv.Itoa(f.Index), f.Action)
	// The series runs to the end of the run; the chart shows 5 s past the
	// recovery window.
	n := min(len(f.Series.Online), max(int(math.Ceil(f.AtS+f.WindowS))+5-int(f.Series.StartS), 1))
	labels := make([]string, n)
	at := int(f.AtS)
	for i := range labels {
		labels[i] = strconv.Itoa(int(f.Series.StartS) + i - at)
	}
	ints := func(vs []int) []opts.LineData {
		out := make([]opts.LineData, len(vs))
		for i, v := range vs {
			out[i] = opts.LineData{Value: v}
		}
		return out
	}
	l := charts.NewLine()
	title := fmt.Sprintf("events[%d] %s", f.Index, f.Action)
	l.SetGlobalOptions(append(commonOpts(id, title, "seconds from the event; online devices at each second's end, attempts per second"),
		charts.WithXAxisOpts(opts.XAxis{Name: "s from the event", NameLocation: "middle", NameGap: 28, Type: "category"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithYAxisOpts(opts.YAxis{Name: "devices, per second"}))...)
	l.SetXAxis(labels)
	l.AddSeries("online", ints(f.Series.Online[:n]), lineOpts())
	l.AddSeries("connects/s", ints(f.Series.Connects[:n]), lineOpts())
	l.AddSeries("logins/s", ints(f.Series.Logins[:n]), lineOpts())
	return snippet(id, l)
}
