package mau

import (
	"testing"
	"time"
)

// ev is one hand-built event: user, simulated day, hour of the day, kind.
type ev struct {
	user, day int
	hour      float64
	kind      Kind
}

func feed(c *Counter, cal Calendar, evs []ev) {
	for _, e := range evs {
		c.Add(e.user, cal.At(e.day, time.Duration(e.hour*float64(time.Hour))), e.kind)
	}
}

func TestCounterHandBuilt(t *testing.T) {
	cal := novemberCalendar(2 * time.Second) // November has 30 days: day 30 is December 1
	tests := []struct {
		name      string
		evs       []ev
		mau       []int       // per month (Nov, Dec)
		dau       map[int]int // day → DAU (others 0)
		logins    map[int]int64
		active    map[int]int
		peak      int64
		endOnline int64
	}{
		{
			name:   "logins on day 1 and day 31 count in two months",
			evs:    []ev{{7, 0, 9, Login}, {7, 0, 9.5, Disconnect}, {7, 30, 9, Login}, {7, 30, 10, Logout}},
			mau:    []int{1, 1},
			dau:    map[int]int{0: 1, 30: 1},
			logins: map[int]int64{0: 1, 30: 1},
			active: map[int]int{0: 1, 30: 1},
			peak:   1,
		},
		{
			name:   "a user with only reconnects counts nowhere",
			evs:    []ev{{3, 2, 8, Reconnect}, {3, 2, 9, Disconnect}, {3, 5, 8, Reconnect}, {3, 5, 9, Disconnect}},
			mau:    []int{0, 0},
			active: map[int]int{2: 1, 5: 1},
			peak:   1,
		},
		{
			name:   "two logins on one day: DAU once, logins twice",
			evs:    []ev{{1, 4, 8, Login}, {1, 4, 8.2, Logout}, {1, 4, 20, Login}, {1, 4, 21, Disconnect}},
			mau:    []int{1, 0},
			dau:    map[int]int{4: 1},
			logins: map[int]int64{4: 2},
			active: map[int]int{4: 1},
			peak:   1,
		},
		{
			name: "three users overlap, peak follows the order of events",
			evs: []ev{
				{0, 1, 8, Login}, {1, 1, 8.1, Login}, {0, 1, 8.2, Logout},
				{2, 1, 8.3, Reconnect}, {1, 1, 8.4, Disconnect}, {2, 1, 9, Disconnect},
				{0, 2, 8, Login}, {0, 2, 8.5, Login}, // a second login while online adds no one
			},
			mau:       []int{2, 0},
			dau:       map[int]int{1: 2, 2: 1},
			logins:    map[int]int64{1: 2, 2: 2},
			active:    map[int]int{1: 3, 2: 1},
			peak:      2,
			endOnline: 1,
		},
		{
			name: "a failed login is never fed: logout and disconnect alone count nothing",
			evs:  []ev{{9, 3, 8, Logout}, {9, 3, 9, Disconnect}},
			mau:  []int{0, 0},
			peak: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCounter(cal, 31, 10)
			feed(c, cal, tc.evs)
			got := c.Counts()
			if len(got.Months) != 2 || got.Months[0].Month != "2026-11" || got.Months[1].Month != "2026-12" {
				t.Fatalf("months = %+v", got.Months)
			}
			for i, want := range tc.mau {
				if got.Months[i].MAU != want {
					t.Errorf("MAU %s = %d, want %d", got.Months[i].Month, got.Months[i].MAU, want)
				}
			}
			for d, dc := range got.Days {
				if dc.DAU != tc.dau[d] {
					t.Errorf("DAU day %d = %d, want %d", d, dc.DAU, tc.dau[d])
				}
				if dc.Logins != tc.logins[d] {
					t.Errorf("logins day %d = %d, want %d", d, dc.Logins, tc.logins[d])
				}
				if dc.Active != tc.active[d] {
					t.Errorf("active day %d = %d, want %d", d, dc.Active, tc.active[d])
				}
			}
			if got.PeakOnline != tc.peak {
				t.Errorf("peak online = %d, want %d", got.PeakOnline, tc.peak)
			}
			if c.Online() != tc.endOnline {
				t.Errorf("online at the end = %d, want %d", c.Online(), tc.endOnline)
			}
		})
	}
}

func TestCounterOutside(t *testing.T) {
	cal := novemberCalendar(time.Second)
	c := NewCounter(cal, 5, 10)
	c.Add(1, cal.Epoch.Add(-time.Millisecond), Login) // before day 0
	c.Add(1, cal.Start(5), Login)                     // after the last day
	c.Add(10, cal.Start(1), Login)                    // no such user
	c.Add(-1, cal.Start(1), Login)
	c.AddDay(2, 1, Login)
	c.Add(2, cal.Start(9), Disconnect) // after the run, still goes offline
	if c.Online() != 0 {
		t.Errorf("online %d after a disconnect past the run", c.Online())
	}
	got := c.Counts()
	if got.Outside != 4 || got.Logins() != 1 || got.Months[0].MAU != 1 {
		t.Fatalf("outside = %d, logins = %d, MAU = %d; want 4, 1, 1", got.Outside, got.Logins(), got.Months[0].MAU)
	}
}

func TestCounterMonthLogins(t *testing.T) {
	cal := novemberCalendar(time.Second)
	c := NewCounter(cal, 35, 100)
	for u := range 100 {
		c.AddDay(u, u%35, Login)
	}
	got := c.Counts()
	// Days 0..29 are November: users whose u%35 < 30.
	wantNov := 0
	for u := range 100 {
		if u%35 < 30 {
			wantNov++
		}
	}
	if got.Months[0].MAU != wantNov || got.Months[1].MAU != 100-wantNov {
		t.Fatalf("MAU = %d/%d, want %d/%d", got.Months[0].MAU, got.Months[1].MAU, wantNov, 100-wantNov)
	}
	if got.Months[0].Logins+got.Months[1].Logins != 100 {
		t.Fatalf("month logins %d + %d, want 100", got.Months[0].Logins, got.Months[1].Logins)
	}
}

func TestCountsMergeDisjointShards(t *testing.T) {
	cal := novemberCalendar(time.Second)
	evs := []ev{
		{0, 0, 8, Login}, {1, 0, 9, Login}, {2, 1, 10, Login}, {3, 1, 10, Reconnect},
		{0, 31, 8, Login}, {4, 31, 8, Login}, {5, 2, 8, Login}, {5, 2, 9, Login},
	}
	whole := NewCounter(cal, 35, 6)
	feed(whole, cal, evs)
	shards := []*Counter{NewCounter(cal, 35, 6), NewCounter(cal, 35, 6)}
	for _, e := range evs {
		feed(shards[e.user%2], cal, []ev{e})
	}
	merged := shards[0].Counts()
	if err := merged.Merge(shards[1].Counts()); err != nil {
		t.Fatal(err)
	}
	want := whole.Counts()
	for i := range want.Months {
		if merged.Months[i].MAU != want.Months[i].MAU {
			t.Errorf("merged MAU %s = %d, want %d", want.Months[i].Month, merged.Months[i].MAU, want.Months[i].MAU)
		}
	}
	for i := range want.Days {
		if merged.Days[i].DAU != want.Days[i].DAU || merged.Days[i].Logins != want.Days[i].Logins {
			t.Errorf("merged day %d = %+v, want %+v", i, merged.Days[i], want.Days[i])
		}
	}
	if !merged.PeakIsBound || merged.PeakOnline < want.PeakOnline {
		t.Errorf("merged peak %d (bound %v) must bound the true peak %d", merged.PeakOnline, merged.PeakIsBound, want.PeakOnline)
	}
	other := NewCounter(cal, 10, 6).Counts()
	if err := merged.Merge(other); err == nil {
		t.Error("merging counts of different lengths succeeded")
	}
}

func TestCounterConcurrentAdds(t *testing.T) {
	cal := novemberCalendar(time.Second)
	const users, days = 1000, 30
	c := NewCounter(cal, days, users)
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for u := w; u < users; u += 4 {
				for d := range days {
					if (u+d)%3 == 0 {
						c.AddDay(u, d, Login)
						c.AddDay(u, d, Disconnect)
					}
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	got := c.Counts()
	var wantLogins int64
	for u := range users {
		for d := range days {
			if (u+d)%3 == 0 {
				wantLogins++
			}
		}
	}
	if got.Logins() != wantLogins || got.Months[0].MAU != users {
		t.Fatalf("logins %d MAU %d, want %d and %d", got.Logins(), got.Months[0].MAU, wantLogins, users)
	}
	if c.Online() != 0 {
		t.Fatalf("online = %d after every user disconnected", c.Online())
	}
}
