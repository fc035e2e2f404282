package storm

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/imload/imload/event"
)

// stormEvents is a restart of 200 devices: device i drops at the event and
// comes back (i%7)*37 ms + i ms after it, after i%3 failed connects, a
// fifth with a fresh login; device 199 never comes back.
func stormEvents(t0, at time.Time) (before, after []event.Event) {
	dev := func(i int) string { return "dev" + strconv.Itoa(i) }
	for i := range 200 {
		before = append(before, event.Event{Kind: event.Login, Outcome: event.OK, Device: dev(i), Start: t0, At: t0.Add(time.Millisecond)})
	}
	for i := range 200 {
		after = append(after, event.Event{Kind: event.Disconnect, Device: dev(i), At: at})
		if i == 199 {
			continue
		}
		back := at.Add(time.Duration(i%7)*37*time.Millisecond + time.Duration(i)*time.Millisecond)
		for range i % 3 {
			after = append(after, event.Event{Kind: event.Connect, Outcome: event.Failed, Device: dev(i), Start: at, At: at, Intended: at})
		}
		after = append(after, event.Event{Kind: event.Connect, Outcome: event.OK, Device: dev(i), Start: back, At: back, Intended: back})
		kind := event.Resume
		if i%5 == 0 {
			kind = event.Login
		}
		after = append(after, event.Event{Kind: kind, Outcome: event.OK, Device: dev(i), Start: back, At: back, Intended: back})
	}
	return before, after
}

// The shards of a run, each tracking its own devices, merge into the
// figures one process tracking every device gives: counts, recovery
// percentiles (from the merged histograms), amplification, peaks, the
// series and the offered slices.
func TestMergeIsTheWhole(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := t0.Add(3 * time.Second)
	end := at.Add(4 * time.Second)
	before, after := stormEvents(t0, at)
	whole := New(t0)
	shards := []*Tracker{New(t0), New(t0), New(t0)}
	shardOf := func(e *event.Event) *Tracker {
		n, _ := strconv.Atoi(e.Device[3:])
		return shards[n%3]
	}
	for i := range before {
		whole.Observe(&before[i])
		shardOf(&before[i]).Observe(&before[i])
	}
	m := Mark{Action: "restart_server", AllOnline: true}
	whole.Strike(m, at)
	for _, s := range shards {
		s.Strike(m, at)
	}
	for i := range after {
		whole.Observe(&after[i])
		shardOf(&after[i]).Observe(&after[i])
	}
	want := whole.Figures(end)
	var parts [][]Figures
	for _, s := range shards {
		parts = append(parts, s.Figures(end))
	}
	got, err := Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	w, g := want[0], got[0]
	if w.Disrupted != 200 || w.Recovered != 199 || w.RecoveryP99 == nil {
		t.Fatalf("the whole run's figures are not the scenario's: %+v", w)
	}
	// The window and its peaks depend on the shard whose device came back
	// last; every shard's window ends at the run's end here (device 199
	// never came back in shard 1), so the merge's is the same.
	if !reflect.DeepEqual(w.Series, g.Series) || !reflect.DeepEqual(w.Offered, g.Offered) {
		t.Errorf("series differ:\nwhole %+v %+v\nmerge %+v %+v", w.Series, w.Offered, g.Series, g.Offered)
	}
	w.RecoveryHDR, g.RecoveryHDR = "", "" // encodings of equal histograms may differ in layout
	if !reflect.DeepEqual(w, g) {
		t.Errorf("merged figures differ from the whole run's:\nwhole %+v\nmerge %+v", w, g)
	}
	// Percentiles are the recovery times to 0.1%: p50 is the 100th
	// smallest of the 200 disrupted devices'.
	var recs []float64
	for i := range 199 {
		recs = append(recs, float64(i%7*37+i)/1000)
	}
	slices.Sort(recs)
	p50 := recs[99]
	if math.Abs(*g.RecoveryP50-p50) > p50/1000 {
		t.Errorf("p50 %v, want %v", *g.RecoveryP50, p50)
	}
}

// Shards of another timeline are refused.
func TestMergeRefusesOtherTimelines(t *testing.T) {
	a := []Figures{{Action: "restart_server", Index: 0}}
	b := []Figures{{Action: "surge", Index: 0}}
	if _, err := Merge(a, b); err == nil {
		t.Error("merged a restart with a surge")
	}
	if _, err := Merge(a, append(a, a...)); err == nil {
		t.Error("merged one storm with two")
	}
	k := []Figures{{Action: "restart_server", Index: 0, Kickout: &Kickout{Kicks: 3}}}
	if _, err := Merge(a, k); err == nil {
		t.Error("merged a shard with the oracle's counts and one without")
	}
	m, err := Merge(k, k)
	if err != nil || m[0].Kickout.Kicks != 6 || k[0].Kickout.Kicks != 3 {
		t.Errorf("kickout counts: merged %+v (%v), input %+v", m[0].Kickout, err, k[0].Kickout)
	}
}
