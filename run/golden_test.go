package run

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden-*.txt from this build's runs")

// goldenSummary is what a seeded run must give whatever the build: every
// device's plan-driven actions, the counts of each operation by outcome and
// code, the counted events, and the kickout oracle's checks and verdicts.
func goldenSummary(r *behaviourRun) string {
	var b strings.Builder
	m := r.out.File.Metrics
	for _, op := range m.OpNames() {
		o := m.Op(op)
		fmt.Fprintf(&b, "op %s: count %d ok %d failed %d timed_out %d cancelled %d codes %v\n",
			op, o.Count, o.OK, o.Failed, o.TimedOut, o.Cancelled, o.Codes)
	}
	for _, ev := range m.EventNames() {
		fmt.Fprintf(&b, "event %s: %d\n", ev, m.EventCount(ev, ""))
	}
	if k := r.out.File.Kickout; k != nil {
		checks, _ := json.Marshal(k.Checks)
		verdicts, _ := json.Marshal(k.Verdicts)
		fmt.Fprintf(&b, "kickout checks %s\nkickout verdicts %s\n", checks, verdicts)
	}
	for _, dev := range slices.Sorted(maps.Keys(r.log.by)) {
		fmt.Fprintf(&b, "%s: %s\n", dev, strings.Join(planned(r.log.by[dev]), ", "))
	}
	return b.String()
}

// TestSeededRunsGiveTheRecordedResults: the seeded mixed scenario (flaps,
// account switches, logouts and app kills, no kicks) gives, on the
// in-process core and over the embedded server's WebSocket, the results
// recorded in testdata/golden-mix-*.txt by the build before the device path
// was made lean (commit c0d072a): the same operations and outcomes, events,
// oracle verdicts and per-device actions. -update-golden rewrites the files.
func TestSeededRunsGiveTheRecordedResults(t *testing.T) {
	for _, drv := range []string{"inproc", "ws"} {
		t.Run(drv, func(t *testing.T) {
			t.Parallel()
			got := goldenSummary(runBehaviour(t, loadBehaviour(t, "mix", drv), nil))
			path := "testdata/golden-mix-" + drv + ".txt"
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := range max(len(gl), len(wl)) {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Errorf("%s line %d:\n got  %s\n want %s", path, i+1, g, w)
					}
				}
			}
		})
	}
}
