package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

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
		return fmt.Sprintf("capacity ≥ %s %s: bound by the generator, shard it", num(c.Sustained), unit)
	case capacity.BoundMax:
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
		if s.Little != "" {
			fmt.Fprintf(ew, "step %d.%d at %s: Little's law: %s (%.1f in flight, rate × latency %.1f)\n", s.Repeat+1, s.Index+1, num(s.Load), s.Little, s.InFlight, s.Predicted)
		}
	}
	if k := c.Knee; k != nil {
		fmt.Fprintf(ew, "knee of the latency curve (Kneedle): %s %s, login p99 %s\n", num(k.Load), capacityUnit(c.Vary), dur(k.LoginP99Ns))
	}
	if u := c.USL; u != nil {
		peak := fmt.Sprintf("peak %.0f logins/s at %.1f in flight", u.PeakX, u.PeakN)
		if u.PeakN == 0 {
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
