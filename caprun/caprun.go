package caprun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/event"
	"github.com/imload/imload/health"
	"github.com/imload/imload/judge"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
)

// minTail is the least time each step's load goes on after its measured
// window, so that the window's last operations are answered before the
// step's devices are cancelled; the tail's arrivals are not measured.
const minTail = time.Second

// tailOf is the tail of a step judged by slo: at least minTail, and twice
// the largest latency bound, so that an operation still unanswered when
// the step ends (counted as failed: capacity.UnansweredReason) was slower
// than any bound allows.
func tailOf(slo []scenario.Threshold) time.Duration {
	t := minTail
	for _, th := range slo {
		if th.LatencyBound() {
			t = max(t, 2*time.Duration(th.Value*float64(time.Second)))
		}
	}
	return t
}

// Execute runs o.Scenario's capacity section: a search (package capacity)
// whose every step is a fresh run of the scenario at the step's load, a
// warm-up, then a measured window judged by the scenario's thresholds. The
// results file holds the search's answer and every step.
func Execute(ctx context.Context, o run.Options) (*run.Outcome, error) {
	sc := o.Scenario
	if sc == nil || sc.Capacity == nil {
		return nil, errors.New("caprun: no capacity section")
	}
	c := sc.Capacity
	if !o.Shard.Whole() {
		return nil, errors.New("run: a capacity search runs in one process: drop --shard (a generator-bound answer says when imload needs more)")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	all, err := sc.ThresholdList()
	if err != nil {
		return nil, err
	}
	// The capacity metrics judge the search's answer; the others are the
	// SLO every step is judged by.
	ths, answer := splitCapacity(all)
	if c.Require > 0 {
		th, err := scenario.ParseThreshold("capacity.sustained >= " + fmtLoad(c.Require))
		if err != nil {
			return nil, err
		}
		answer = append([]scenario.Threshold{th}, answer...)
	}
	cfg := capacity.Config{Vary: c.Vary, From: c.From, Max: c.Max, Precision: c.Precision, Growth: c.Growth,
		Repeats: c.Repeats, MaxSteps: c.MaxSteps, Require: c.Require}
	start := time.Now()
	var env results.Environment
	type key struct {
		repeat int
		load   float64
	}
	snaps := map[key]*metrics.Snapshot{}
	var armed []results.Fault // the faults' firings over every step
	measure := func(ctx context.Context, repeat, index int, load float64) (capacity.Step, error) {
		st, e, snap, err := step(ctx, o, ths, repeat, load, &armed)
		if err == nil {
			env = e
			snaps[key{repeat, load}] = snap
			fmt.Fprintf(o.Log, "capacity: repeat %d step %d: %s %s: %s\n", repeat+1, index+1, c.Vary, fmtLoad(load), stepLine(st))
		}
		return st, err
	}
	rep, err := capacity.Search(ctx, cfg, measure)
	interrupted := ctx.Err() != nil
	if err != nil && !interrupted {
		return nil, err
	}
	end := time.Now()
	// The file's metrics are those of the window at the sustained load
	// (of the last repeat that passed one; else of the last step).
	var metricsOf *metrics.Snapshot
	for r := len(rep.Repeats) - 1; r >= 0 && metricsOf == nil; r-- {
		metricsOf = snaps[key{r, rep.Repeats[r].Sustained}]
	}
	if metricsOf == nil && len(rep.Steps) > 0 {
		last := rep.Steps[len(rep.Steps)-1]
		metricsOf = snaps[key{last.Repeat, last.Load}]
	}
	if metricsOf == nil {
		metricsOf = metrics.NewRecorder().Snapshot()
	}
	f := &results.File{
		Metrics: metricsOf,
		Schema:  results.Schema, Scenario: sc.Name, ScenarioFile: sc.File, Seed: sc.Seed,
		Started: start, Ended: end, Duration: results.Duration(end.Sub(start)), Interrupted: interrupted,
		Environment: env, Capacity: rep, Faults: armed,
	}
	f.Thresholds = eval.Thresholds(answer, eval.Inputs{Capacity: rep})
	out := &run.Outcome{File: f, Passed: !interrupted}
	for _, th := range f.Thresholds {
		out.Passed = out.Passed && th.Pass
	}
	if o.Out != "" {
		if err := results.WriteFile(o.Out, f); err != nil {
			return out, err
		}
	}
	return out, nil
}

func fmtLoad(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", x), "0"), ".")
}

func stepLine(s capacity.Step) string {
	v := "pass"
	switch {
	case s.GeneratorBound:
		v = "generator bound (" + strings.Join(s.Reasons, "; ") + ")"
	case !s.Pass:
		v = "FAIL (" + strings.Join(s.Failed, "; ") + ")"
		if s.TargetDespiteLag != "" {
			v += ", although the generator lagged: " + s.TargetDespiteLag
		}
	}
	if s.Unanswered > 0 {
		v += fmt.Sprintf("; %d operations unanswered at the step's end (failed)", s.Unanswered)
	}
	return fmt.Sprintf("%s; %d logins, %.1f ok/s, p99 %s, errors %.2f%%, online %d, generator lag p99 %s, CPU %.0f%%",
		v, s.Logins, s.Throughput, time.Duration(s.LoginP99Ns).Round(100*time.Microsecond), 100*s.ErrorRate, s.Online,
		time.Duration(s.LagP99Ns).Round(100*time.Microsecond), 100*s.CPU)
}

// stepScenario is the scenario of one step: the load held through the
// warm-up, the measured window and the tail, on the repeat's seed.
func stepScenario(sc *scenario.Scenario, load float64, repeat int) *scenario.Scenario {
	c := sc.Capacity
	st := *sc
	st.Capacity, st.MAU = nil, nil
	st.Seed = sc.Seed + int64(repeat)
	ph := func(name string, d time.Duration) scenario.Phase {
		p := scenario.Phase{Name: name, Duration: scenario.Duration(d)}
		if c.Vary == scenario.VaryDevices {
			p.Model, p.Devices = scenario.Closed, int(load)
		} else {
			p.Model, p.Rate = scenario.Open, load
		}
		return p
	}
	st.Thresholds, st.ParsedThresholds = nil, nil
	slo, _ := splitCapacity(sc.ParsedThresholds)
	for _, th := range slo {
		st.Thresholds = append(st.Thresholds, th.String())
		st.ParsedThresholds = append(st.ParsedThresholds, th)
	}
	st.Phases = nil
	if w := c.Warmup.D(); w > 0 {
		p := ph("warmup", w)
		if c.Vary == scenario.VaryDevices {
			p.Devices, p.ToDevices = 0, int(load) // the devices arrive over the warm-up
		}
		st.Phases = append(st.Phases, p)
	}
	st.Phases = append(st.Phases, ph("measure", c.Step.D()), ph("tail", tailOf(slo)))
	return &st
}

// step runs one step and measures its window (capacity.Window).
// The step's faults' firings are added to armed.
func step(ctx context.Context, o run.Options, ths []scenario.Threshold, repeat int, load float64, armed *[]results.Fault) (capacity.Step, results.Environment, *metrics.Snapshot, error) {
	sc := o.Scenario
	c := sc.Capacity
	buf := &capacity.Events{}
	so := o
	so.Scenario = stepScenario(sc, load, repeat)
	so.Out, so.Progress, so.Sink = "", io.Discard, buf
	if o.Sink != nil {
		so.Sink = event.Sinks{buf, o.Sink}
	}
	out, err := run.Execute(ctx, so)
	if err != nil {
		return capacity.Step{}, results.Environment{}, nil, err
	}
	*armed = results.MergeFaults(*armed, out.File.Faults)
	if ctx.Err() != nil {
		return capacity.Step{}, results.Environment{}, nil, ctx.Err()
	}
	w := capacity.Window{Vary: c.Vary, Warmup: c.Warmup.D(), Length: c.Step.D()}
	m := w.Measure(buf.Take(), load)
	st := m.Step
	st.Online = out.File.Metrics.OnlineMax()
	var slow []capacity.LatencyFailure
	for i, th := range eval.Thresholds(ths, eval.Inputs{Metrics: m.Snapshot, Kickout: out.Kickout}) {
		if th.Pass {
			continue
		}
		st.Failed = append(st.Failed, fmt.Sprintf("%s (%s)", th.Expr, fmtActual(th)))
		if t := ths[i]; th.Error == "" && t.LatencyBound() {
			slow = append(slow, capacity.LatencyFailure{Expr: th.Expr, Limit: t.Value, Actual: th.Actual})
		}
	}
	st.Pass = len(st.Failed) == 0
	g := out.Probe.Report(m.From, m.To, health.DefaultLimits)
	st.SetGenerator(g)
	st.JudgeLag(g, slow)
	return st, out.File.Environment, m.Snapshot, nil
}

func fmtActual(th results.Threshold) string {
	if th.Error != "" {
		return th.Error
	}
	m := th.Metric
	switch {
	case strings.Contains(m, ".p") || strings.HasSuffix(m, ".max") && !strings.HasPrefix(m, "online"):
		return time.Duration(th.Actual * float64(time.Second)).Round(100 * time.Microsecond).String()
	case strings.HasSuffix(m, ".rate") && strings.Contains(m, "error"):
		return fmt.Sprintf("%.2f%%", 100*th.Actual)
	}
	if th.Actual == math.Trunc(th.Actual) {
		return fmt.Sprintf("%.0f", th.Actual)
	}
	return fmt.Sprintf("%.3g", th.Actual)
}

// splitCapacity parts thresholds into the SLO each step is judged by and
// those on the search's answer (the capacity metrics).
func splitCapacity(ths []scenario.Threshold) (slo, answer []scenario.Threshold) {
	for _, th := range ths {
		if th.Ref.Metric != nil && th.Ref.Metric.Source == judge.FromCapacity {
			answer = append(answer, th)
		} else {
			slo = append(slo, th)
		}
	}
	return slo, answer
}
