package metrics

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// TestMergeExact records events split across two recorders (by device, as
// shards split by user), merges their snapshots after a JSON round trip and
// compares with one recorder that saw everything.
func TestMergeExact(t *testing.T) {
	evs := genEvents(7, 30000, t0.Add(3*time.Second), 30*time.Second)
	end := clock.NewFake(t0.Add(40 * time.Second))
	all := NewRecorder(WithStart(t0), WithClock(end))
	a := NewRecorder(WithStart(t0), WithClock(end))
	// b starts later, in the middle of a second: its series starts at t0+2s.
	b := NewRecorder(WithStart(t0.Add(2500*time.Millisecond)), WithClock(end), WithShards(3))
	for i := range evs {
		e := &evs[i]
		all.Observe(e)
		h := fnv.New32a()
		h.Write([]byte(e.Device))
		if h.Sum32()%2 == 0 {
			a.Observe(e)
		} else {
			b.Observe(e)
		}
	}
	merged := roundTrip(t, a.Snapshot())
	if err := merged.Merge(roundTrip(t, b.Snapshot())); err != nil {
		t.Fatal(err)
	}
	want := all.Snapshot()
	if !merged.Start.Equal(want.Start) || !merged.End.Equal(want.End) {
		t.Errorf("merged span %v..%v, want %v..%v", merged.Start, merged.End, want.Start, want.End)
	}
	qs := []float64{0, 0.5, 0.9, 0.99, 0.999, 1}
	for _, op := range want.OpNames() {
		for _, p := range append(want.Platforms(op), "") {
			got, exp := merged.OpPlatform(op, p), want.OpPlatform(op, p)
			if got.Count != exp.Count || got.OK != exp.OK || got.Failed != exp.Failed || got.TimedOut != exp.TimedOut || !maps.Equal(got.Codes, exp.Codes) {
				t.Errorf("%s/%s: counts %+v, want %+v", op, p, got, exp)
			}
			for _, q := range qs {
				if got.Quantile(q) != exp.Quantile(q) {
					t.Errorf("%s/%s q%v: %v, want %v", op, p, q, got.Quantile(q), exp.Quantile(q))
				}
			}
			if got.Mean() != exp.Mean() || got.Min() != exp.Min() || got.Max() != exp.Max() {
				t.Errorf("%s/%s: min/mean/max differ", op, p)
			}
		}
	}
	// Everything else is equal too, byte for byte in JSON, except the
	// online maximum, which a merge can only bound from above.
	for i, m := range merged.Series.OnlineMax {
		if m < want.Series.OnlineMax[i] {
			t.Errorf("second %d: merged online max %d below the true %d", i, m, want.Series.OnlineMax[i])
		}
	}
	merged.Series.OnlineMax, want.Series.OnlineMax = nil, nil
	if g, w := mustJSON(t, merged), mustJSON(t, want); !bytes.Equal(g, w) {
		t.Errorf("merged snapshot differs from the single recorder's:\n got %.600s\nwant %.600s", g, w)
	}
}

func TestMergeIntoEmptyCopies(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(5*time.Second))))
	for _, e := range genEvents(3, 2000, t0, 5*time.Second) {
		r.Observe(&e)
	}
	s := r.Snapshot()
	before := mustJSON(t, s)
	var c Snapshot
	if err := c.Merge(s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustJSON(t, &c), before) {
		t.Error("a merge into an empty snapshot is not a copy")
	}
	if err := c.Merge(s); err != nil { // must not change s
		t.Fatal(err)
	}
	if !bytes.Equal(mustJSON(t, s), before) {
		t.Error("merging changed the other snapshot")
	}
	if c.Op("login").Count != 2*s.Op("login").Count {
		t.Error("second merge did not add")
	}
}

func TestMergeRefusesOtherSpec(t *testing.T) {
	a := NewRecorder(WithStart(t0)).Snapshot()
	b := NewRecorder(WithStart(t0), WithRange(time.Millisecond, time.Hour, 3)).Snapshot()
	err := a.Merge(b)
	if err == nil || !strings.Contains(err.Error(), "histogram specs") {
		t.Errorf("merge of different specs: %v", err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(3*time.Second))))
	for _, e := range genEvents(5, 300, t0, 3*time.Second) {
		r.Observe(&e)
	}
	good := mustJSON(t, r.Snapshot())
	var s Snapshot
	if err := json.Unmarshal(good, &s); err != nil {
		t.Fatalf("good snapshot refused: %v", err)
	}
	other := NewRecorder(WithRange(time.Millisecond, time.Hour, 2))
	other.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: "d", Latency: time.Second})
	foreignHist := mustJSON(t, other.Snapshot().Ops["login"][UnknownPlatform].Latency)

	cases := []struct {
		name, want string
		edit       func(m map[string]any)
	}{
		{"bad digits", "histogram spec", func(m map[string]any) { m["histogram"].(map[string]any)["digits"] = 9 }},
		{"unknown op", "not an operation", func(m map[string]any) { m["ops"].(map[string]any)["kicked"] = map[string]any{} }},
		{"negative count", "negative", func(m map[string]any) { cell(m)["ok"] = -1 }},
		{"count without latency", "holds", func(m map[string]any) { c := cell(m); c["ok"] = c["ok"].(float64) + 1 }},
		{"foreign histogram", "geometry", func(m map[string]any) {
			var h any
			_ = json.Unmarshal(foreignHist, &h)
			cell(m)["latency"] = h
		}},
		{"bad base64", "decoding histogram", func(m map[string]any) { cell(m)["latency"] = "!!" }},
		{"short series", "entries", func(m map[string]any) { series(m)["online_end"] = []int{1} }},
		{"split second", "whole second", func(m map[string]any) { series(m)["start"] = t0.Add(time.Millisecond) }},
		{"unknown event", "not an event kind", func(m map[string]any) { m["events"] = map[string]any{"login": map[string]any{}} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			b, _ := json.Marshal(m)
			var s Snapshot
			err := json.Unmarshal(b, &s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// cell returns the first operation cell in key order, so that every call on
// the same map returns the same cell (ranging over the map would pick one at
// random).
func cell(m map[string]any) map[string]any {
	ops := m["ops"].(map[string]any)
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		byPlat := ops[op].(map[string]any)
		for _, p := range slices.Sorted(maps.Keys(byPlat)) {
			return byPlat[p].(map[string]any)
		}
	}
	panic("no cell")
}

func series(m map[string]any) map[string]any { return m["series"].(map[string]any) }

func roundTrip(t *testing.T, s *Snapshot) *Snapshot {
	t.Helper()
	var out Snapshot
	if err := json.Unmarshal(mustJSON(t, s), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlatformsOrder(t *testing.T) {
	s := &Snapshot{Events: map[string]map[policy.Platform]int64{"kicked": {"Zeta": 1, policy.Web: 1, "Alpha": 1, policy.Android: 1}}}
	want := []policy.Platform{policy.Android, policy.Web, "Alpha", "Zeta"}
	if got := s.Platforms("kicked"); !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

func FuzzSnapshotJSON(f *testing.F) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(2*time.Second))))
	for _, e := range genEvents(9, 200, t0, 2*time.Second) {
		r.Observe(&e)
	}
	b, _ := json.Marshal(r.Snapshot())
	f.Add(b)
	f.Add([]byte(`{"histogram":{"unit_ns":1000,"highest":3600000000,"digits":3,"series_digits":2},"series":{"seconds":0,"online_max":[],"online_end":[]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			return
		}
		// A snapshot that decodes answers queries, re-encodes to one that
		// decodes, and merges with itself.
		for _, op := range s.OpNames() {
			_ = s.Op(op).Quantile(0.99)
		}
		_, _ = s.Errors()
		_, _ = s.OnlineMax(), s.OnlineEnd()
		out, err := json.Marshal(&s)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		var again Snapshot
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		var m Snapshot
		if err := m.Merge(&s); err != nil {
			t.Fatalf("merge: %v", err)
		}
	})
}

func FuzzHist(f *testing.F) {
	h := newHist(3_600_000_000, 3)
	for _, v := range []int64{1, 20, 300, 4000, 50000, 3_600_000_000} {
		_ = h.p.RecordValue(v)
	}
	b, _ := h.MarshalJSON()
	var s string
	_ = json.Unmarshal(b, &s)
	f.Add(s)
	f.Add("HISTFAAAABx4nJNpmSzMwMDAxQABzFCaEUzOmTVr1mwIGwBTkwQI")
	f.Fuzz(func(t *testing.T, s string) {
		var h Hist
		if err := json.Unmarshal(mustJSON(t, s), &h); err != nil {
			return
		}
		out, err := h.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var again Hist
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if again.Count() != h.Count() {
			t.Fatalf("count %d after a round trip, %d before", again.Count(), h.Count())
		}
	})
}
