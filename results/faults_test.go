package results

import (
	"bytes"
	"strings"
	"testing"
)

// Shards' firings add by name; a fault keeps its reason for never firing
// only while no shard saw it fire; the order is the faults list's.
func TestMergeFaults(t *testing.T) {
	whole := syntheticFile(t)
	fa, fb := *whole, *whole
	fa.Shard, fb.Shard = "1/2", "2/2"
	fa.Faults = []Fault{{Name: "wrong-victim", Why: "no login had a second candidate"}, {Name: "slow-login", Fired: 3}}
	fb.Faults = []Fault{{Name: "slow-login", Fired: 4}, {Name: "wrong-victim", Fired: 2}, {Name: "late-kick", Why: "no login displaced a session"}}
	m, err := Merge(&fa, &fb)
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{{Name: "wrong-victim", Fired: 2}, {Name: "late-kick", Why: "no login displaced a session"}, {Name: "slow-login", Fired: 7}}
	if len(m.Faults) != len(want) {
		t.Fatalf("merged faults %+v, want %+v", m.Faults, want)
	}
	for i := range want {
		if m.Faults[i] != want[i] {
			t.Errorf("merged fault %d: %+v, want %+v", i, m.Faults[i], want[i])
		}
	}
	// The shards' own lists are untouched.
	if fa.Faults[0].Fired != 0 || fa.Faults[0].Why == "" {
		t.Errorf("shard 1's faults changed: %+v", fa.Faults)
	}
	warn := FaultWarnings(m)
	if len(warn) != 1 || !strings.HasPrefix(warn[0], "WARNING: fault late-kick armed but never applicable: no login displaced a session") {
		t.Errorf("warnings %q", warn)
	}
}

// The summary's header lists the armed faults with their firings; a run
// with none has no such line.
func TestSummaryListsFaults(t *testing.T) {
	f := syntheticFile(t)
	var buf bytes.Buffer
	if err := WriteSummary(&buf, f); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\nfaults ") {
		t.Errorf("no fault armed, yet:\n%s", buf.String())
	}
	f.Faults = []Fault{{Name: "wrong-victim", Fired: 1}, {Name: "late-kick", Why: "x"}}
	buf.Reset()
	if err := WriteSummary(&buf, f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nfaults    wrong-victim (fired 1 time), late-kick (fired 0 times)\n") {
		t.Errorf("header:\n%s", buf.String())
	}
}
