package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/health"
)

// writeLagged puts a run whose generator lagged on the first line of its
// report: its figures measure imload as much as the target.
func writeLagged(w io.Writer, g *health.Report) error {
	if g == nil || !g.Lagged {
		return nil
	}
	_, err := fmt.Fprintf(w, "WARNING: the load generator lagged (%s): these figures measure imload as much as the target; shard the run or give imload more CPU\n", strings.Join(g.Reasons, "; "))
	return err
}

// writeGenerator prints the generator's health line.
func writeGenerator(w io.Writer, g *health.Report) error {
	if g == nil {
		return nil
	}
	_, err := fmt.Fprintf(w, "\n%s\n", g.String())
	return err
}

// CapacityAnswer is the one-line answer of a capacity search, e.g.
// "capacity 780 logins/s (95% interval 770–790), bound by the target:
// login.p99 < 100ms" or "capacity ≥ 1600 logins/s: bound by the generator,
// shard it".
func CapacityAnswer(c *capacity.Report) string {
	unit := capacityUnit(c.Vary)
	switch c.Bound {
	case capacity.BoundGenerator:
		if c.Sustained == 0 {
			return fmt.Sprintf("capacity not measured: bound by the generator from the first step (%s %s); shard it or give imload a quieter machine", num(firstLoad(c)), unit)
		}
		return fmt.Sprintf("capacity ≥ %s %s: bound by the generator, shard it", num(c.Sustained), unit)
	case capacity.BoundMax:
		for _, r := range c.Repeats {
			if r.OutOfSteps {
				return fmt.Sprintf("capacity ≥ %s %s: every step passed until max_steps ran out; raise capacity.max_steps or from", num(c.Sustained), unit)
			}
		}
		return fmt.Sprintf("capacity ≥ %s %s: every step passed up to max; raise capacity.max", num(c.Sustained), unit)
	}
	s := fmt.Sprintf("capacity %s %s", num(c.Sustained), unit)
	switch c.IntervalKind {
	case "t95":
		s += fmt.Sprintf(" (95%% interval %s–%s over %d repeats)", num(c.Interval[0]), num(c.Interval[1]), len(c.Repeats))
	case "bracket":
		s += fmt.Sprintf(" (passes at %s, fails at %s)", num(c.Interval[0]), num(c.Interval[1]))
	}
	s += ", bound by the target"
	if len(c.BoundBy) > 0 {
		s += ": " + strings.Join(c.BoundBy, ", ")
	}
	return s
}

func firstLoad(c *capacity.Report) float64 {
	if len(c.Steps) == 0 {
		return 0
	}
	return c.Steps[0].Load
}

func capacityUnit(vary string) string {
	if vary == capacity.VaryDevices {
		return "devices"
	}
	return "logins/s"
}

func num(x float64) string {
	if x == float64(int64(x)) {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%.1f", x)
}

func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// writeCapacity prints a capacity search: the answer, the gate, a table of
// the steps, the knee, the USL fit and the Little's-law flags.
func writeCapacity(w io.Writer, c *capacity.Report) error {
	if c == nil {
		return nil
	}
	ew := &errW{w: w}
	fmt.Fprintf(ew, "\n%s\n", CapacityAnswer(c))
	if c.Require > 0 {
		verdict := "met"
		if !c.Met {
			verdict = "NOT met"
		}
		fmt.Fprintf(ew, "require %s %s: %s\n", num(c.Require), capacityUnit(c.Vary), verdict)
	}
	t := tabwriter.NewWriter(ew, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(t, "rep\tstep\tstage\t%s\tverdict\tlogins\tok/s\tp50\tp99\terrors\tonline\tin flight\tλ·W\tgen lag p99\tsend lag p99\tgen CPU\t\n", c.Vary)
	for _, s := range c.Steps {
		v := "pass"
		switch {
		case s.GeneratorBound:
			v = "generator_bound"
		case !s.Pass:
			v = "FAIL"
		}
		fmt.Fprintf(t, "%d\t%d\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%.2f%%\t%d\t%.1f\t%.1f\t%s\t%s\t%.0f%%\t\n",
			s.Repeat+1, s.Index+1, s.Stage, num(s.Load), v, s.Logins, s.Throughput, dur(s.LoginP50Ns), dur(s.LoginP99Ns),
			100*s.ErrorRate, s.Online, s.InFlight, s.Predicted, dur(s.LagP99Ns), dur(s.SendLagP99Ns), 100*s.CPU)
	}
	t.Flush()
	for _, s := range c.Steps {
		if s.GeneratorBound {
			fmt.Fprintf(ew, "step %d.%d at %s: generator bound: %s\n", s.Repeat+1, s.Index+1, num(s.Load), strings.Join(s.Reasons, "; "))
		} else if len(s.Failed) > 0 {
			fmt.Fprintf(ew, "step %d.%d at %s failed: %s\n", s.Repeat+1, s.Index+1, num(s.Load), strings.Join(s.Failed, "; "))
		}
		if s.TargetDespiteLag != "" {
			fmt.Fprintf(ew, "step %d.%d at %s: the target's failure although the generator lagged (%s): %s\n",
				s.Repeat+1, s.Index+1, num(s.Load), strings.Join(s.Reasons, "; "), s.TargetDespiteLag)
		}
		if s.Little != "" {
			fmt.Fprintf(ew, "step %d.%d at %s: Little's law: %s (%.1f in flight, rate × latency %.1f)\n", s.Repeat+1, s.Index+1, num(s.Load), s.Little, s.InFlight, s.Predicted)
		}
	}
	if k := c.Knee; k != nil {
		fmt.Fprintf(ew, "knee of the latency curve (Kneedle): %s %s, login p99 %s\n", num(k.Load), capacityUnit(c.Vary), dur(k.LoginP99Ns))
	}
	if u := c.USL; u != nil {
		peak := fmt.Sprintf("peak %.0f logins/s at %.1f in flight", u.PeakX, u.PeakN)
		switch {
		case u.PeakN == 0 && u.PeakX == 0:
			peak = "linear over the steps (σ ≈ κ ≈ 0): no peak in sight"
		case u.PeakN == 0:
			peak = fmt.Sprintf("no peak (κ ≈ 0): throughput levels off at %.0f logins/s", u.PeakX)
		}
		fmt.Fprintf(ew, "Universal Scalability Law over %d steps: σ %.4f, κ %.6f, λ %.1f/s; %s; R² %.3f\n", u.Points, u.Sigma, u.Kappa, u.Lambda, peak, u.R2)
	}
	return ew.err
}

type errW struct {
	w   io.Writer
	err error
}

func (e *errW) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// capacityView is the capacity section of the HTML page.
type capacityView struct {
	Answer string
	Vary   string
	Notes  []string
	Rows   [][16]string
	Chart  *chart
}

func capacityOf(c *capacity.Report) *capacityView {
	v := &capacityView{Answer: CapacityAnswer(c), Vary: c.Vary}
	var txt strings.Builder
	_ = writeCapacity(&txt, c)
	for _, line := range strings.Split(txt.String(), "\n") {
		if strings.HasPrefix(line, "require ") || strings.HasPrefix(line, "knee ") || strings.HasPrefix(line, "Universal ") || strings.HasPrefix(line, "step ") {
			v.Notes = append(v.Notes, line)
		}
	}
	for _, s := range c.Steps {
		verdict := "pass"
		switch {
		case s.GeneratorBound:
			verdict = "generator_bound"
		case !s.Pass:
			verdict = "FAIL"
		}
		v.Rows = append(v.Rows, [16]string{fmt.Sprint(s.Repeat + 1), fmt.Sprint(s.Index + 1), s.Stage, num(s.Load), verdict,
			fmt.Sprint(s.Logins), fmt.Sprintf("%.1f", s.Throughput), dur(s.LoginP50Ns), dur(s.LoginP99Ns), fmt.Sprintf("%.2f%%", 100*s.ErrorRate),
			fmt.Sprint(s.Online), fmt.Sprintf("%.1f", s.InFlight), fmt.Sprintf("%.1f", s.Predicted), dur(s.LagP99Ns), dur(s.SendLagP99Ns), fmt.Sprintf("%.0f%%", 100*s.CPU)})
	}
	if ch, ok := capacityChart(c); ok {
		v.Chart = &ch
	}
	return v
}

// capacityChart draws login p50 and p99, the error rate and the
// generator's lag against the load, one point per load (means over the
// steps that measured it).
func capacityChart(c *capacity.Report) (chart, bool) {
	type acc struct{ p50, p99, errs, lag, n float64 }
	by := map[float64]*acc{}
	var loads []float64
	for _, s := range c.Steps {
		a := by[s.Load]
		if a == nil {
			a = &acc{}
			by[s.Load] = a
			loads = append(loads, s.Load)
		}
		a.p50 += float64(s.LoginP50Ns) / 1e6
		a.p99 += float64(s.LoginP99Ns) / 1e6
		a.errs += 100 * s.ErrorRate
		a.lag += float64(s.LagP99Ns) / 1e6
		a.n++
	}
	if len(loads) < 2 {
		return chart{}, false
	}
	slices.Sort(loads)
	labels := make([]string, len(loads))
	series := [4][]float64{}
	for i, l := range loads {
		a := by[l]
		labels[i] = num(l)
		for k, v := range []float64{a.p50, a.p99, a.errs, a.lag} {
			series[k] = append(series[k], v/a.n)
		}
	}
	id := chartID("capacity", "steps")
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, "Capacity search: latency by load", CapacityAnswer(c)),
		charts.WithXAxisOpts(opts.XAxis{Name: capacityUnit(c.Vary), NameLocation: "middle", NameGap: 28, Type: "category"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithYAxisOpts(opts.YAxis{Name: "ms (errors: %)", Type: "value"}),
	)...)
	l.SetXAxis(labels)
	for k, name := range []string{"login p50 (ms)", "login p99 (ms)", "errors (%)", "generator lag p99 (ms)"} {
		l.AddSeries(name, lineData(series[k]), lineOpts())
	}
	return snippet(id, l), true
}
