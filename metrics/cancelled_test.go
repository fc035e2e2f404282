package metrics

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

func observeAll(r *Recorder, events []event.Event) {
	for i := range events {
		e := events[i]
		if e.UserID == "" {
			e.UserID, e.Device = "u", fmt.Sprintf("d%d", i)
		}
		if e.Platform == "" {
			e.Platform = policy.Android
		}
		if e.At.IsZero() {
			e.At = t0.Add(time.Second)
		}
		r.Observe(&e)
	}
}

func TestCancelledIsItsOwnOutcome(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(3*time.Second))))
	observeAll(r, []event.Event{
		{Kind: event.Logout, Outcome: event.OK, Latency: time.Millisecond},
		{Kind: event.Logout, Outcome: event.Failed, Reason: "ws: logout: driver: connection closed"},
		{Kind: event.Logout, Outcome: event.TimedOut},
		{Kind: event.Logout, Outcome: event.Cancelled, Reason: "canceled: the run ended", At: t0.Add(2 * time.Second)},
		{Kind: event.Logout, Outcome: event.Cancelled, Reason: "canceled: the run ended", At: t0.Add(2 * time.Second)},
	})
	s := r.Snapshot()
	c := s.Ops["logout"][policy.Android]
	if c.OK != 1 || c.Failed != 1 || c.TimedOut != 1 || c.Cancelled != 2 || c.Attempted() != 5 {
		t.Fatalf("cell %+v, want ok 1 failed 1 timed_out 1 cancelled 2 attempted 5", *c)
	}
	if len(c.Codes) != 1 || c.Codes[0] != 1 {
		t.Errorf("codes %v, want only the failure {0:1}: a cut-off is no failure", c.Codes)
	}
	o := s.Op("logout")
	if o.Count != 5 || o.Cancelled != 2 || o.Completed() != 3 {
		t.Errorf("op %+v, want count 5, cancelled 2, completed 3", o)
	}
	if got, want := o.ErrorRate(), 2.0/3; got != want {
		t.Errorf("error rate %v, want %v: (failed + timed out) / completed", got, want)
	}
	if errs, completed := s.Errors(); errs != 2 || completed != 3 {
		t.Errorf("Errors() = %d, %d, want 2, 3", errs, completed)
	}
	if s.Cancelled() != 2 {
		t.Errorf("Cancelled() = %d, want 2", s.Cancelled())
	}
	se := s.Series.Ops["logout"]
	for i := range s.Series.Seconds {
		if se.Attempted(i) != se.OK[i]+se.Failed[i]+se.TimedOut[i]+se.Cancelled[i] {
			t.Errorf("second %d: attempted %d", i, se.Attempted(i))
		}
	}
	if se.Cancelled[2] != 2 || se.Failed[1] != 1 {
		t.Errorf("series cancelled %v failed %v, want 2 cancelled in second 2 and 1 failure in second 1", se.Cancelled, se.Failed)
	}

	// Merged with itself: every count doubles, the series too.
	m := &Snapshot{}
	if err := m.Merge(s); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(s); err != nil {
		t.Fatal(err)
	}
	if mc := m.Ops["logout"][policy.Android]; mc.Cancelled != 4 || mc.Attempted() != 10 {
		t.Errorf("merged cell %+v, want cancelled 4 of 10", *mc)
	}
	if mc := m.Series.Ops["logout"].Cancelled; mc[2] != 4 {
		t.Errorf("merged series cancelled %v", mc)
	}

	// Through JSON and back.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Ops["logout"][policy.Android].Cancelled != 2 || back.Series.Ops["logout"].Cancelled[2] != 2 {
		t.Errorf("cancelled lost through JSON: %s", b)
	}
}

func TestSnapshotOfAnEarlierVersionLoads(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(2*time.Second))))
	observeAll(r, []event.Event{{Kind: event.Login, Outcome: event.OK, Latency: time.Millisecond}, {Kind: event.Login, Outcome: event.Failed}})
	b, err := json.Marshal(r.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	// Files written before the cancelled outcome have no cancelled keys.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	ops := raw["series"].(map[string]any)["ops"].(map[string]any)
	for _, v := range ops {
		delete(v.(map[string]any), "cancelled")
	}
	b, _ = json.Marshal(raw)
	if strings.Contains(string(b), "cancelled") {
		t.Fatal("test setup: cancelled still present")
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("an earlier file does not load: %v", err)
	}
	se := s.Series.Ops["login"]
	if len(se.Cancelled) != s.Series.Seconds || se.Attempted(1) != 2 {
		t.Errorf("series %+v, want zero cancelled per second and 2 attempts in second 1", se)
	}
}

func TestReasonsTopFiveAndOther(t *testing.T) {
	mk := func(counts map[string]int, code int) []event.Event {
		var out []event.Event
		for msg, n := range counts {
			for range n {
				out = append(out, event.Event{Kind: event.Connect, Outcome: event.Failed, Code: code, Reason: msg})
			}
		}
		return out
	}
	a := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(2*time.Second))), WithShards(4))
	observeAll(a, mk(map[string]int{"refused": 10, "reset": 7, "404": 5, "eof": 3, "tls": 2, "dns": 1, "odd": 1}, 0))
	observeAll(a, mk(map[string]int{"SDKAppID not found": 4}, 70020))
	observeAll(a, []event.Event{{Kind: event.Connect, Outcome: event.OK}, {Kind: event.Connect, Outcome: event.Cancelled, Reason: "canceled: the run ended"}})
	s := a.Snapshot()
	rs := s.Ops["connect"][policy.Android].Reasons
	want := []Reason{{"refused", 10}, {"reset", 7}, {"404", 5}, {"eof", 3}, {"tls", 2}}
	if got := rs[0]; fmt.Sprint(got.Top) != fmt.Sprint(want) || got.Other != 2 || got.Total() != 29 {
		t.Errorf("code 0 reasons %+v, want top %v and other 2 (29 in all)", got, want)
	}
	if got := rs[70020]; len(got.Top) != 1 || got.Top[0] != (Reason{"SDKAppID not found", 4}) || got.Other != 0 {
		t.Errorf("code 70020 reasons %+v", got)
	}
	if len(rs) != 2 {
		t.Errorf("reasons of %d codes, want 2: a cancelled or ok operation has none", len(rs))
	}

	// Another shard's file: merged, equal messages add and the top is cut
	// again; the totals stay exact. a counted its one "dns" as other, so
	// the merge has 20 of them on top and a's one in other.
	b := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(2*time.Second))))
	observeAll(b, mk(map[string]int{"dns": 20, "refused": 1}, 0))
	m := &Snapshot{}
	for _, x := range []*Snapshot{s, b.Snapshot()} {
		if err := m.Merge(x); err != nil {
			t.Fatal(err)
		}
	}
	got := m.Ops["connect"][policy.Android].Reasons[0]
	want = []Reason{{"dns", 20}, {"refused", 11}, {"reset", 7}, {"404", 5}, {"eof", 3}}
	if fmt.Sprint(got.Top) != fmt.Sprint(want) || got.Other != 4 || got.Total() != 50 || got.Total() != m.Ops["connect"][policy.Android].Codes[0] {
		t.Errorf("merged reasons %+v, want top %v and 50 in all (the failures of code 0)", got, want)
	}
	if o := m.Op("connect"); o.Reasons[0].Total() != 50 {
		t.Errorf("Op reasons %+v", o.Reasons[0])
	}
	bs, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(bs, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Ops["connect"][policy.Android].Reasons[0]) != fmt.Sprint(got) {
		t.Errorf("reasons through JSON: %+v, want %+v", back.Ops["connect"][policy.Android].Reasons[0], got)
	}
}

func TestReasonsAllocateNothingPerSuccess(t *testing.T) {
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0.Add(2*time.Second))))
	e := event.Event{Kind: event.Login, Outcome: event.OK, UserID: "u", Device: "d", Platform: policy.Android, At: t0.Add(time.Second), Latency: time.Millisecond}
	r.Observe(&e)
	f := event.Event{Kind: event.Login, Outcome: event.Failed, UserID: "u", Device: "d", Platform: policy.Android, At: t0.Add(time.Second), Reason: "refused"}
	r.Observe(&f)
	if n := testing.AllocsPerRun(200, func() { r.Observe(&e); r.Observe(&f) }); n != 0 {
		t.Errorf("%v allocations per success and repeated failure, want 0", n)
	}
}
