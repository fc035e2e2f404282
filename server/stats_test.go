package server

import (
	"reflect"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// TestDailyAndMonthlyCounts runs compressed one-hour days across a month
// end and checks logins, DAU, max online and MAU, and that resumes count
// for none of them.
func TestDailyAndMonthlyCounts(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1), func(c *Config) {
		c.Day = time.Hour
		c.Epoch = t0() // 2024-03-10 17:00 in UTC+8: day 0 is 2024-03-10
		c.IdleTimeout = 1000 * time.Hour
		c.ResumeWindow = 1000 * time.Hour
	})
	life := 100 * time.Hour
	a := h.dial(policy.Android, "a")
	b := h.dial(policy.Web, "b")
	// Day 0: u1, u2, u1 again after a logout.
	a.mustLogin(policy.Android, "u1", h.ticket("u1", life))
	rb := b.mustLogin(policy.Web, "u2", h.ticket("u2", life))
	a.call(protocol.Frame{Op: protocol.OpLogout})
	a.mustLogin(policy.Android, "u1", h.ticket("u1", life))
	// Day 1: a repeat login of u1.
	h.clk.Advance(time.Hour)
	if r := a.mustLogin(policy.Android, "u1", h.ticket("u1", life)); !r.RepeatLogin {
		t.Fatalf("want a repeat login: %+v", r)
	}
	// Day 22 is 2024-04-01: u3 logs in; u2 drops and resumes.
	h.clk.Advance(21 * time.Hour)
	c := h.dial(policy.Mac, "c")
	c.mustLogin(policy.Mac, "u3", h.ticket("u3", life))
	b.ws.Close()
	eventually(t, "drop", func() bool { return h.s.Stats().Connected == 2 })
	b2 := h.dial(policy.Web, "b")
	if r := b2.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: rb.ResumeToken}); r.Code != 0 {
		t.Fatalf("resume: %+v", r)
	}
	st := h.s.Stats()
	wantDays := []DayStats{
		{Day: 0, Date: "2024-03-10", Logins: 3, LoginUsers: 2, MaxOnline: 2},
		{Day: 1, Date: "2024-03-11", Logins: 1, LoginUsers: 1, MaxOnline: 2},
		{Day: 22, Date: "2024-04-01", Logins: 1, LoginUsers: 1, MaxOnline: 3},
	}
	if !reflect.DeepEqual(st.Days, wantDays) {
		t.Fatalf("days\n got %+v\nwant %+v", st.Days, wantDays)
	}
	wantMonths := []MonthStats{{Month: "2024-03", MAU: 2}, {Month: "2024-04", MAU: 1}}
	if !reflect.DeepEqual(st.Months, wantMonths) {
		t.Fatalf("months\n got %+v\nwant %+v", st.Months, wantMonths)
	}
	if st.LoginsOK != 5 || st.Resumes != 1 || st.Online != 3 {
		t.Fatalf("stats %+v", st)
	}
	if d, date := h.s.Calendar(h.clk.Now()); d != 22 || date != "2024-04-01" {
		t.Fatalf("Calendar: %d %s", d, date)
	}
}

func TestDefaultEpochIsBeijingMidnight(t *testing.T) {
	h := newHarness(t)
	// t0 is 09:00 UTC = 17:00 Beijing: day 0 began at 16:00 UTC the day before.
	if got, want := h.s.Config().Epoch, time.Date(2024, 3, 9, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("epoch %s, want %s", got, want)
	}
	if d, date := h.s.Calendar(time.Date(2024, 3, 10, 15, 59, 0, 0, time.UTC)); d != 0 || date != "2024-03-10" {
		t.Fatalf("before midnight: %d %s", d, date)
	}
	if d, date := h.s.Calendar(time.Date(2024, 3, 10, 16, 0, 0, 0, time.UTC)); d != 1 || date != "2024-03-11" {
		t.Fatalf("at midnight: %d %s", d, date)
	}
	if d, _ := h.s.Calendar(time.Date(2024, 3, 9, 15, 0, 0, 0, time.UTC)); d != -1 {
		t.Fatalf("the day before: %d", d)
	}
}
