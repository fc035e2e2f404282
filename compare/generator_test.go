package compare

import (
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/health"
	"github.com/imload/imload/results"
)

// A second is lagged when the generator lagged in it or in the second
// before (an operation ending in t may have waited through a stall in
// t-1), matched to the metrics' seconds by the two series' starts.
func TestLaggedSeconds(t *testing.T) {
	f := synth(synthSpec{seconds: 8, perSec: 10, seed: 1, stalled: []int{2, 5}, stall: 300 * time.Millisecond})
	got := laggedSeconds(f, health.DefaultLimits)
	want := []bool{false, false, true, true, false, true, true, false}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// The generator's series started a second before the metrics': its
	// seconds 2 and 5 are the metrics' 1 and 4.
	f.Generator.Start = f.Metrics.Start.Add(-time.Second)
	got = laggedSeconds(f, health.DefaultLimits)
	want = []bool{false, true, true, false, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("shifted: got %v, want %v", got, want)
		}
	}
	f.Generator = nil
	if laggedSeconds(f, health.DefaultLimits) != nil {
		t.Error("a file without generator figures marks seconds")
	}
}

// A baseline whose generator stalled in some seconds (every login of them
// waited 300 ms for imload itself) hides a 30% slowdown of the target when
// those seconds are counted, and shows it when they are left out; the same
// stalls in the new run of an A/A pair make a false regression only when
// counted. Both sides are treated alike.
func TestLaggedSecondsLeftOut(t *testing.T) {
	stalls := []int{3, 4, 9, 15, 16}
	base := synth(synthSpec{seconds: 20, perSec: 200, sd: 0.05, phi: 0.3, seed: 11, stalled: stalls, stall: 300 * time.Millisecond})
	slower := synth(synthSpec{seconds: 20, perSec: 200, sd: 0.05, phi: 0.3, seed: 12, factor: 1.3})
	clean := synth(synthSpec{seconds: 20, perSec: 200, sd: 0.05, phi: 0.3, seed: 13})
	stalledAA := synth(synthSpec{seconds: 20, perSec: 200, sd: 0.05, phi: 0.3, seed: 14, stalled: stalls, stall: 300 * time.Millisecond})
	p99 := func(b, n *results.File, keep bool) *Figure {
		t.Helper()
		r, err := Compare([]Run{{Name: "base.json", File: b}}, []Run{{Name: "new.json", File: n}}, Options{Resamples: 400, KeepLagged: keep})
		if err != nil {
			t.Fatal(err)
		}
		if !keep && b.Generator.Lagged {
			w := strings.Join(r.Warnings, "\n")
			if !strings.Contains(w, "base.json: the generator lagged") || !strings.Contains(w, "8 of 20 seconds left out") {
				t.Errorf("warnings do not name the lagged baseline and its seconds:\n%s", w)
			}
			if r.Method.LeftOut[0] != 8 || r.Method.LeftOut[1] != 0 {
				t.Errorf("left out %v, want [8 0]", r.Method.LeftOut)
			}
		}
		return find(r, "login", "all", "p99")
	}
	if f := p99(base, slower, false); f.Verdict != Regressed {
		t.Errorf("30%% slower, lagged seconds left out: %s (change %.3f [%.3f, %.3f]), want regressed", f.Verdict, f.Change, f.Lo, f.Hi)
	}
	if f := p99(base, slower, true); f.Verdict == Regressed {
		t.Errorf("30%% slower, lagged seconds kept: %s; the stalled baseline should hide it (else this test shows nothing)", f.Verdict)
	}
	if f := p99(clean, stalledAA, false); f.Verdict != NoChange {
		t.Errorf("A/A with a stalled new run, lagged seconds left out: %s (change %.3f), want no change", f.Verdict, f.Change)
	}
	if f := p99(clean, stalledAA, true); f.Verdict != Regressed {
		t.Errorf("A/A with a stalled new run, lagged seconds kept: %s; the stall should look like a regression (else this test shows nothing)", f.Verdict)
	}
}

// Runs whose every second lagged leave their side nothing to compare: no
// verdict, and a warning that says so, never a made-up change.
func TestEverySecondLagged(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5}
	b := synth(synthSpec{seconds: 6, perSec: 100, seed: 1, stalled: all, stall: 300 * time.Millisecond})
	n := synth(synthSpec{seconds: 6, perSec: 100, seed: 2})
	r, err := Compare([]Run{{Name: "b", File: b}}, []Run{{Name: "n", File: n}}, Options{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if f := find(r, "login", "all", "p99"); f.Verdict != NoVerdict {
		t.Errorf("verdict %s, want %s", f.Verdict, NoVerdict)
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "b: every second lagged") {
		t.Errorf("warnings:\n%s", w)
	}
}
