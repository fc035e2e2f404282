package mau

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func pf(p float64) *float64 { return &p }

// testConfig is a small, busy population for tests.
func testConfig() Config {
	return Config{
		Seed: 7,
		Segments: []Segment{
			{Name: "chatty", Share: 0.3, OpenProb: 0.9, WeekendOpenProb: pf(0.6), SessionsPerDay: 3,
				ChatProb: 0.7, BackgroundProb: 0.7, Joining: 0.1, Churning: 0.1},
			{Name: "browsers", Share: 0.5, OpenProb: 0.4, SessionsPerDay: 1.5, ChatProb: 0.02, BackgroundProb: 0.5},
			{Name: "dormant", Share: 0.2, Dormant: true},
		},
	}
}

func TestActivityDeterministic(t *testing.T) {
	a, err := NewModel(testConfig(), 500)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewModel(testConfig(), 500)
	// Ask b in a different order: activity must not depend on it.
	var want, got [][]AppSession
	for u := range 500 {
		for d := range a.Days() {
			want = append(want, a.Activity(u, d))
		}
	}
	got = make([][]AppSession, len(want))
	for d := a.Days() - 1; d >= 0; d-- {
		for u := 499; u >= 0; u-- {
			got[u*a.Days()+d] = b.Activity(u, d)
		}
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatal("same seed, different activity")
	}
	sessions := 0
	for _, s := range want {
		sessions += len(s)
	}
	if sessions == 0 {
		t.Fatal("the population never opens the app")
	}

	cfg := testConfig()
	cfg.Seed = 8
	c, _ := NewModel(cfg, 500)
	same := 0
	for u := range 500 {
		if reflect.DeepEqual(c.Activity(u, 3), a.Activity(u, 3)) {
			same++
		}
	}
	if same > 300 { // dormant users and closed days agree by nature
		t.Fatalf("seed 8 reproduces seed 7 for %d of 500 users", same)
	}
}

func TestActivityShape(t *testing.T) {
	m, err := NewModel(testConfig(), 2000)
	if err != nil {
		t.Fatal(err)
	}
	var buf []AppSession
	for u := range 2000 {
		p := m.Profile(u)
		for d := range m.Days() {
			buf = m.AppendActivity(buf[:0], u, d)
			if len(buf) > 0 && (d < p.JoinDay || d >= p.ChurnDay || m.SegmentName(p.Segment) == "dormant") {
				t.Fatalf("user %d (%+v) active on day %d", u, p, d)
			}
			prevEnd := time.Duration(-1)
			for i, s := range buf {
				switch {
				case s.Start < 0 || s.End() >= RealDay:
					t.Fatalf("user %d day %d session %d outside the day: %+v", u, d, i, s)
				case s.Start <= prevEnd:
					t.Fatalf("user %d day %d session %d overlaps the previous one", u, d, i)
				case s.Duration <= 0:
					t.Fatalf("user %d day %d session %d has no duration", u, d, i)
				case s.OpensChat && (s.ChatAt < 0 || s.ChatDur <= 0 || s.ChatAt+s.ChatDur > s.Duration):
					t.Fatalf("user %d day %d session %d: chat outside the session: %+v", u, d, i, s)
				case !s.OpensChat && (s.ChatAt != 0 || s.ChatDur != 0):
					t.Fatalf("user %d day %d session %d: chat times without chat", u, d, i)
				}
				prevEnd = s.End()
			}
		}
	}
}

func TestActivityRates(t *testing.T) {
	// One segment, no joining or churn: the share of user-days with the app
	// opened and the sessions per opened day follow the parameters.
	cfg := Config{Seed: 3, Start: "2026-11-02", Days: 5, // Monday to Friday
		Segments: []Segment{{Name: "all", Share: 1, OpenProb: 0.3, SessionsPerDay: 2.5, ChatProb: 0.4}}}
	m, err := NewModel(cfg, 20000)
	if err != nil {
		t.Fatal(err)
	}
	opened, sessions, chats := 0, 0, 0
	for u := range 20000 {
		for d := range 5 {
			s := m.Activity(u, d)
			if len(s) > 0 {
				opened++
			}
			sessions += len(s)
			for _, x := range s {
				if x.OpensChat {
					chats++
				}
			}
		}
	}
	n := 20000.0 * 5
	if f := float64(opened) / n; math.Abs(f-0.3) > 0.01 {
		t.Errorf("opened on %.3f of user-days, want 0.3", f)
	}
	// Sessions that would start after the day is over are dropped, so the
	// mean is a little under 2.5.
	if f := float64(sessions) / float64(opened); f < 2.35 || f > 2.55 {
		t.Errorf("%.3f sessions per opened day, want about 2.5", f)
	}
	if f := float64(chats) / float64(sessions); math.Abs(f-0.4) > 0.015 {
		t.Errorf("%.3f of sessions open the chat, want 0.4", f)
	}
}

func TestWeekendOpenProb(t *testing.T) {
	cfg := Config{Seed: 1, Start: "2026-11-07", Days: 3, // Saturday, Sunday, Monday
		Segments: []Segment{{Name: "weekday-only", Share: 1, OpenProb: 1, WeekendOpenProb: pf(0)}}}
	m, err := NewModel(cfg, 100)
	if err != nil {
		t.Fatal(err)
	}
	for u := range 100 {
		if len(m.Activity(u, 0)) != 0 || len(m.Activity(u, 1)) != 0 {
			t.Fatalf("user %d opened the app on the weekend", u)
		}
		if len(m.Activity(u, 2)) == 0 {
			t.Fatalf("user %d did not open the app on Monday", u)
		}
	}
}

func TestJoiningAndChurn(t *testing.T) {
	cfg := Config{Seed: 5, Days: 30,
		Segments: []Segment{{Name: "all", Share: 1, OpenProb: 1, Joining: 0.5, Churning: 0.5}}}
	m, err := NewModel(cfg, 4000)
	if err != nil {
		t.Fatal(err)
	}
	joined, churned := 0, 0
	for u := range 4000 {
		p := m.Profile(u)
		if p.JoinDay > 0 {
			joined++
		}
		if p.ChurnDay < 30 {
			churned++
			if p.ChurnDay <= p.JoinDay {
				t.Fatalf("user %d churns on day %d, before joining on day %d", u, p.ChurnDay, p.JoinDay)
			}
		}
		for d := range 30 {
			active := len(m.Activity(u, d)) > 0
			if active != (d >= p.JoinDay && d < p.ChurnDay) {
				t.Fatalf("user %d (%+v): active=%v on day %d", u, p, active, d)
			}
		}
	}
	if math.Abs(float64(joined)/4000-0.5) > 0.03 || math.Abs(float64(churned)/4000-0.5) > 0.04 {
		t.Errorf("joined %d, churned %d of 4000; want about half each", joined, churned)
	}
}

func TestPlatformsFollowWeights(t *testing.T) {
	cfg := Config{Seed: 2, Platforms: map[string]float64{"Web": 1, "iPad": 3},
		Segments: []Segment{{Name: "all", Share: 1, OpenProb: 1}}}
	m, err := NewModel(cfg, 8000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for u := range 8000 {
		count[string(m.Profile(u).Platform)]++
	}
	if len(count) != 2 || math.Abs(float64(count["iPad"])/8000-0.75) > 0.02 {
		t.Fatalf("platforms = %v, want about 6000 iPad and 2000 Web", count)
	}
}

func TestResolveSegments(t *testing.T) {
	tests := []struct {
		name  string
		segs  []Segment
		users int
		want  []int
		err   string
	}{
		{"counts", []Segment{{Users: 3}, {Users: 7}}, 10, []int{3, 7}, ""},
		{"shares round to the total", []Segment{{Share: 1.0 / 3}, {Share: 1.0 / 3}, {Share: 1.0 / 3}}, 100, []int{34, 33, 33}, ""},
		{"counts and shares", []Segment{{Users: 10}, {Share: 0.45}, {Share: 0.45}}, 100, []int{10, 45, 45}, ""},
		{"counts too many", []Segment{{Users: 30}}, 20, nil, "more than the 20 users"},
		{"counts too few", []Segment{{Users: 3}}, 20, nil, "segments cover 3 of 20 users"},
		{"shares too few", []Segment{{Share: 0.5}}, 1000, nil, "by share"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveSegments(tc.segs, tc.users)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("sizes = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
