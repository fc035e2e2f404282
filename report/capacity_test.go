package report

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/health"
)

func capacityReport(t *testing.T, generatorLimit float64) *capacity.Report {
	t.Helper()
	sim := &capacity.Simulated{Workers: 4, Cost: 0.005, P99Limit: 0.1, ErrorLimit: 0.01, Window: 10, GeneratorLimit: generatorLimit}
	rep, err := capacity.Search(context.Background(), capacity.Config{Vary: capacity.VaryRate, From: 100, Max: 6400,
		Precision: 0.05, Growth: 2, Repeats: 1, MaxSteps: 12, Require: 900}, sim.Measure(capacity.VaryRate))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A run whose generator lagged says so on its report's first line; one
// that did not, does not.
func TestLaggedGeneratorOnTheFirstLine(t *testing.T) {
	f := loadSynth(t)
	f.Generator = &health.Report{GOMAXPROCS: 2, Lagged: true, Reasons: []string{"send lag p99 80ms > 50ms"}, Seconds: 3}
	var buf bytes.Buffer
	if err := WriteText(&buf, f); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if !strings.HasPrefix(first, "WARNING: the load generator lagged (send lag p99 80ms > 50ms)") {
		t.Fatalf("first line %q", first)
	}
	if !strings.Contains(buf.String(), "generator lag p99") {
		t.Fatal("no generator line")
	}
	f.Generator.Lagged, f.Generator.Reasons = false, nil
	buf.Reset()
	if err := WriteText(&buf, f); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "WARNING") {
		t.Fatalf("a healthy generator reported as lagging:\n%s", buf.String())
	}
}

// The terminal report of a capacity search: the answer, the gate, a row
// per step, the knee and the fit.
func TestCapacityText(t *testing.T) {
	f := loadSynth(t)
	f.Capacity = capacityReport(t, 0)
	var buf bytes.Buffer
	if err := WriteText(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"bound by the target: login.p99 < 100ms", "require 900 logins/s: NOT met", "knee of the latency curve", "Universal Scalability Law"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if n := strings.Count(out, " grow ") + strings.Count(out, " bisect "); n != len(f.Capacity.Steps) {
		t.Errorf("%d step rows, want %d", n, len(f.Capacity.Steps))
	}
}

func TestCapacityAnswerGenerator(t *testing.T) {
	rep := capacityReport(t, 1000)
	if got := CapacityAnswer(rep); got != "capacity ≥ 800 logins/s: bound by the generator, shard it" {
		t.Fatalf("answer %q", got)
	}
}

// The HTML page has the capacity section with its chart.
func TestCapacityHTML(t *testing.T) {
	f := loadSynth(t)
	f.Capacity = capacityReport(t, 0)
	page := renderHTML(t, f)
	for _, want := range []string{`<section id="capacity">`, "chart_capacity_steps", "Capacity search"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	f.Capacity = nil
	if strings.Contains(renderHTML(t, f), `id="capacity"`) {
		t.Error("a capacity section without a search")
	}
}
