package mau

import (
	"fmt"
	"testing"
	"time"
)

func novemberCalendar(day time.Duration) Calendar {
	return Calendar{Epoch: time.Date(2026, 11, 1, 0, 0, 0, 0, Beijing()), Day: day}
}

func TestCalendarDayIndexAndDate(t *testing.T) {
	cal := novemberCalendar(2 * time.Second)
	tests := []struct {
		name string
		at   time.Duration // after the epoch
		day  int
		date string
	}{
		{"epoch", 0, 0, "2026-11-01"},
		{"just before day 1", 2*time.Second - 1, 0, "2026-11-01"},
		{"day 1", 2 * time.Second, 1, "2026-11-02"},
		{"last of November", 29*2*time.Second + time.Second, 29, "2026-11-30"},
		{"first of December", 30 * 2 * time.Second, 30, "2026-12-01"},
		{"New Year", 61 * 2 * time.Second, 61, "2027-01-01"},
		{"before the epoch", -time.Nanosecond, -1, "2026-10-31"},
		{"two days before", -4 * time.Second, -2, "2026-10-30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := cal.Epoch.Add(tc.at)
			if got := cal.DayIndex(at); got != tc.day {
				t.Errorf("DayIndex = %d, want %d", got, tc.day)
			}
			if got := cal.DateAt(at).String(); got != tc.date {
				t.Errorf("DateAt = %s, want %s", got, tc.date)
			}
		})
	}
}

func TestCalendarFirstDefaultsToBeijingDate(t *testing.T) {
	// 2026-10-31 20:00 UTC is already 2026-11-01 in Beijing.
	cal := Calendar{Epoch: time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC), Day: time.Minute}
	if got := cal.Date(0).String(); got != "2026-11-01" {
		t.Fatalf("day 0 = %s, want 2026-11-01", got)
	}
	cal.First = Date{2030, time.February, 27}
	if got := cal.Date(2).String(); got != "2030-03-01" {
		t.Fatalf("with First 2030-02-27, day 2 = %s, want 2030-03-01", got)
	}
}

func TestCalendarMonthsHaveRealLengths(t *testing.T) {
	tests := []struct {
		name  string
		first Date
		days  int
		want  []MonthSpan
	}{
		{"November then December", Date{2026, 11, 1}, 31, []MonthSpan{
			{MonthID{2026, 11}, 0, 30}, {MonthID{2026, 12}, 30, 1}}},
		{"across the year", Date{2026, 12, 15}, 40, []MonthSpan{
			{MonthID{2026, 12}, 0, 17}, {MonthID{2027, 1}, 17, 23}}},
		{"leap February", Date{2028, 2, 1}, 30, []MonthSpan{
			{MonthID{2028, 2}, 0, 29}, {MonthID{2028, 3}, 29, 1}}},
		{"plain February", Date{2027, 2, 1}, 29, []MonthSpan{
			{MonthID{2027, 2}, 0, 28}, {MonthID{2027, 3}, 28, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cal := Calendar{Epoch: time.Unix(0, 0), Day: time.Second, First: tc.first}
			got := cal.Months(tc.days)
			if len(got) != len(tc.want) {
				t.Fatalf("Months = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("month %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if !got[0].Full() && tc.first.Day == 1 {
				t.Errorf("%v should be full", got[0])
			}
		})
	}
}

func TestCalendarCompress(t *testing.T) {
	tests := []struct {
		name   string
		day    time.Duration
		offset time.Duration
		want   time.Duration
	}{
		{"noon on a 2s day", 2 * time.Second, 12 * time.Hour, time.Second},
		{"06:00 on a 2s day", 2 * time.Second, 6 * time.Hour, 500 * time.Millisecond},
		{"real day unchanged", RealDay, 9*time.Hour + 30*time.Minute, 9*time.Hour + 30*time.Minute},
		{"last instant stays inside", 2 * time.Second, RealDay - 1, 2*time.Second - 1},
		{"clamped above", 2 * time.Second, 30 * time.Hour, 2*time.Second - 1},
		{"clamped below", 2 * time.Second, -time.Hour, 0},
		{"long day, no overflow", 7 * RealDay, 23 * time.Hour, 7 * 23 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cal := Calendar{Epoch: time.Unix(0, 0), Day: tc.day}
			if got := cal.Compress(tc.offset); got != tc.want {
				t.Errorf("Compress(%v) = %v, want %v", tc.offset, got, tc.want)
			}
			if got := cal.DayIndex(cal.At(3, tc.offset)); got != 3 {
				t.Errorf("At(3, %v) falls in day %d", tc.offset, got)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate("2026-11-01"); err != nil || d != (Date{2026, 11, 1}) {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"", "2026-13-01", "01/11/2026", "2026-11-31"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func ExampleCalendar() {
	cal := Calendar{Epoch: time.Date(2026, 11, 1, 0, 0, 0, 0, Beijing()), Day: 2 * time.Second}
	at := cal.Epoch.Add(61 * time.Second) // 30.5 simulated days in
	fmt.Println(cal.DayIndex(at), cal.DateAt(at), cal.DateAt(at).MonthID())
	// Output: 30 2026-12-01 2026-12
}
