package mau

import (
	"fmt"
	"math/bits"
	"time"
)

// RealDay is the length of a day of usage: activity offsets within a day are
// measured against it and compressed to Calendar.Day.
const RealDay = 24 * time.Hour

// Beijing is UTC+8, the zone in which the model service cuts days and months.
var beijing = time.FixedZone("UTC+8", 8*60*60)

// Beijing returns the UTC+8 zone (Beijing time, no daylight saving).
func Beijing() *time.Location { return beijing }

// Date is a calendar date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "2026-11-01".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("expected a date like 2026-11-01, got %q", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns the date n days later, across months and years.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// MonthID returns the calendar month d falls in.
func (d Date) MonthID() MonthID { return MonthID{d.Year, d.Month} }

// String formats the date as "2026-11-01".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// MonthID names a calendar month.
type MonthID struct {
	Year  int
	Month time.Month
}

// String formats the month as "2026-11".
func (m MonthID) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Days returns the number of days in the month.
func (m MonthID) Days() int {
	return time.Date(m.Year, m.Month+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// Calendar maps instants to simulated days. Simulated day i runs from
// Epoch + i·Day to Epoch + (i+1)·Day and carries the date First + i days, so
// months have their real lengths however short Day is: with First
// 2026-11-01, day 0 and day 29 fall in November and day 30 in December.
type Calendar struct {
	// Epoch is the instant simulated day 0 begins.
	Epoch time.Time
	// Day is the length of one simulated day (24h: real time; 2s: a month
	// in a minute).
	Day time.Duration
	// First is the date of day 0; zero means Epoch's date in Beijing time.
	First Date
}

// first returns the date of day 0.
func (c Calendar) first() Date {
	if c.First.IsZero() {
		return DateOf(c.Epoch.In(beijing))
	}
	return c.First
}

// DayIndex returns the simulated day t falls in; instants before Epoch give
// negative indexes.
func (c Calendar) DayIndex(t time.Time) int {
	d := t.Sub(c.Epoch)
	i := d / c.Day
	if d < 0 && d%c.Day != 0 {
		i--
	}
	return int(i)
}

// Date returns the date of simulated day i.
func (c Calendar) Date(i int) Date { return c.first().AddDays(i) }

// DateAt returns the date of the simulated day t falls in.
func (c Calendar) DateAt(t time.Time) Date { return c.Date(c.DayIndex(t)) }

// Start returns the instant simulated day i begins.
func (c Calendar) Start(i int) time.Time { return c.Epoch.Add(time.Duration(i) * c.Day) }

// At returns the instant of offset within simulated day i, where offset is
// time of day on a real 24-hour day (09:30 is 9h30m) compressed to Day.
// Offsets outside [0, 24h) are clamped into the day.
func (c Calendar) At(i int, offset time.Duration) time.Time {
	return c.Start(i).Add(c.Compress(offset))
}

// Compress scales a duration on a real 24-hour day to the simulated day,
// exactly (no overflow for offsets below 24h). Offsets outside [0, 24h) are
// clamped.
func (c Calendar) Compress(offset time.Duration) time.Duration {
	if offset <= 0 {
		return 0
	}
	if offset >= RealDay {
		return c.Day - 1
	}
	if c.Day == RealDay {
		return offset
	}
	hi, lo := bits.Mul64(uint64(offset), uint64(c.Day))
	q, _ := bits.Div64(hi, lo, uint64(RealDay))
	return time.Duration(q)
}

// MonthSpan is the part of a calendar month that a run covers.
type MonthSpan struct {
	Month    MonthID
	FirstDay int // simulated day index of the first covered day
	Days     int // covered days
}

// Full reports whether the run covers the whole calendar month.
func (s MonthSpan) Full() bool { return s.Days == s.Month.Days() }

// Months splits simulated days [0, days) into calendar months, in order.
func (c Calendar) Months(days int) []MonthSpan {
	var out []MonthSpan
	for i := 0; i < days; i++ {
		m := c.Date(i).MonthID()
		if n := len(out); n > 0 && out[n-1].Month == m {
			out[n-1].Days++
			continue
		}
		out = append(out, MonthSpan{Month: m, FirstDay: i, Days: 1})
	}
	return out
}

// Validate says what is wrong with the calendar.
func (c Calendar) Validate() error {
	if c.Day <= 0 {
		return fmt.Errorf("calendar: day must be > 0, got %v", c.Day)
	}
	if c.Epoch.IsZero() {
		return fmt.Errorf("calendar: epoch is not set")
	}
	return nil
}
