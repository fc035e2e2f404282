package mau

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// Kind is what happened to a user's login state.
type Kind uint8

const (
	// Login is a successful login: it counts toward DAU and MAU.
	Login Kind = iota + 1
	// Reconnect is a successful resume of a kept session: the user is
	// online again and counts nowhere.
	Reconnect
	// Logout ends a login.
	Logout
	// Disconnect is the connection dropping while logged in (app closed or
	// sent to the background without a logout).
	Disconnect
)

var kindNames = [...]string{"", "login", "reconnect", "logout", "disconnect"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Counter is the harness's exact accounting of a run: distinct users with a
// successful login per day (DAU) and per calendar month (MAU), logins per
// day, and users online (logged in and connected). It keeps one bit per
// user per day (two: logins, and logins or reconnects) and per month, so
// 1,000,000 users over 31 days take about 8 MiB.
//
// Add is safe for concurrent use. DAU, MAU and login counts do not depend
// on the order of Adds; peak online is the largest number of users online
// at any point in the order the Adds arrive, so it is exact when one user's
// events are added in time order and all users' events in time order too,
// and otherwise holds to the resolution of the caller's schedule.
type Counter struct {
	cal        Calendar
	days       int
	users      int
	words      int
	months     []MonthSpan
	monthOf    []int
	dau        []uint64 // days × words
	active     []uint64 // days × words: login or reconnect
	mau        []uint64 // months × words
	online     []uint64 // words
	logins     []atomic.Int64
	reconnects []atomic.Int64
	dayPeak    []atomic.Int64
	onlineNow  atomic.Int64
	peak       atomic.Int64
	outside    atomic.Int64
}

// NewCounter counts users [0, users) over simulated days [0, days) of cal.
func NewCounter(cal Calendar, days, users int) *Counter {
	words := (users + 63) / 64
	c := &Counter{
		cal: cal, days: days, users: users, words: words,
		months:     cal.Months(days),
		monthOf:    make([]int, days),
		dau:        make([]uint64, days*words),
		active:     make([]uint64, days*words),
		online:     make([]uint64, words),
		logins:     make([]atomic.Int64, days),
		reconnects: make([]atomic.Int64, days),
		dayPeak:    make([]atomic.Int64, days),
	}
	for i, m := range c.months {
		for d := m.FirstDay; d < m.FirstDay+m.Days; d++ {
			c.monthOf[d] = i
		}
	}
	c.mau = make([]uint64, len(c.months)*words)
	return c
}

// Add records that kind happened to user at instant at. Logins and
// reconnects of users outside the population or at instants outside the
// run are tallied as Outside and otherwise ignored; a logout or disconnect
// takes the user offline whenever it comes.
func (c *Counter) Add(user int, at time.Time, kind Kind) {
	c.AddDay(user, c.cal.DayIndex(at), kind)
}

// AddDay is Add for a caller that knows the simulated day.
func (c *Counter) AddDay(user, day int, kind Kind) {
	if user < 0 || user >= c.users {
		c.outside.Add(1)
		return
	}
	w, m := user/64, uint64(1)<<(user%64)
	if kind == Logout || kind == Disconnect {
		if atomic.AndUint64(&c.online[w], ^m)&m != 0 {
			c.onlineNow.Add(-1)
		}
		return
	}
	if day < 0 || day >= c.days {
		c.outside.Add(1)
		return
	}
	switch kind {
	case Login:
		c.logins[day].Add(1)
		atomic.OrUint64(&c.dau[day*c.words+w], m)
		atomic.OrUint64(&c.active[day*c.words+w], m)
		atomic.OrUint64(&c.mau[c.monthOf[day]*c.words+w], m)
		c.up(w, m, day)
	case Reconnect:
		c.reconnects[day].Add(1)
		atomic.OrUint64(&c.active[day*c.words+w], m)
		c.up(w, m, day)
	}
}

// up marks the user online and raises the peaks.
func (c *Counter) up(w int, m uint64, day int) {
	if atomic.OrUint64(&c.online[w], m)&m != 0 {
		return
	}
	n := c.onlineNow.Add(1)
	raise(&c.dayPeak[day], n)
	raise(&c.peak, n)
}

func raise(a *atomic.Int64, n int64) {
	for {
		old := a.Load()
		if n <= old || a.CompareAndSwap(old, n) {
			return
		}
	}
}

// Online returns the number of users online now.
func (c *Counter) Online() int64 { return c.onlineNow.Load() }

// Counts is a snapshot of a Counter, JSON-serialisable.
type Counts struct {
	Users  int          `json:"users"`
	Months []MonthCount `json:"months"`
	Days   []DayCount   `json:"days"`
	// PeakOnline is the most users online at once. After Merge of shards
	// it is the sum of the shards' peaks, an upper bound (PeakIsBound).
	PeakOnline  int64 `json:"peak_online"`
	PeakIsBound bool  `json:"peak_is_bound,omitempty"`
	// Outside counts events outside the run's days or population.
	Outside int64 `json:"outside,omitempty"`
}

// MonthCount is one calendar month of a run.
type MonthCount struct {
	Month    string `json:"month"` // "2026-11"
	FirstDay int    `json:"first_day"`
	Days     int    `json:"days"`
	Full     bool   `json:"full"` // the run covers the whole month
	MAU      int    `json:"mau"`
	Logins   int64  `json:"logins"`
}

// DayCount is one simulated day.
type DayCount struct {
	Day    int    `json:"day"`
	Date   string `json:"date"` // "2026-11-01"
	Logins int64  `json:"logins"`
	// DAU counts distinct users with a successful login that day; Active
	// those with a login or a reconnect.
	DAU        int   `json:"dau"`
	Active     int   `json:"active"`
	Reconnects int64 `json:"reconnects"`
	PeakOnline int64 `json:"peak_online"`
}

// Counts returns a snapshot.
func (c *Counter) Counts() Counts {
	out := Counts{Users: c.users, PeakOnline: c.peak.Load(), Outside: c.outside.Load()}
	for d := range c.days {
		out.Days = append(out.Days, DayCount{
			Day:        d,
			Date:       c.cal.Date(d).String(),
			Logins:     c.logins[d].Load(),
			DAU:        popcount(c.dau[d*c.words : (d+1)*c.words]),
			Active:     popcount(c.active[d*c.words : (d+1)*c.words]),
			Reconnects: c.reconnects[d].Load(),
			PeakOnline: c.dayPeak[d].Load(),
		})
	}
	for i, m := range c.months {
		mc := MonthCount{Month: m.Month.String(), FirstDay: m.FirstDay, Days: m.Days, Full: m.Full(),
			MAU: popcount(c.mau[i*c.words : (i+1)*c.words])}
		for d := m.FirstDay; d < m.FirstDay+m.Days; d++ {
			mc.Logins += out.Days[d].Logins
		}
		out.Months = append(out.Months, mc)
	}
	return out
}

func popcount(ws []uint64) int {
	n := 0
	for i := range ws {
		n += bits.OnesCount64(atomic.LoadUint64(&ws[i]))
	}
	return n
}

// Logins returns the total number of successful logins.
func (c Counts) Logins() int64 {
	var n int64
	for _, d := range c.Days {
		n += d.Logins
	}
	return n
}

// DAUStats returns the mean and the largest DAU over the days.
func (c Counts) DAUStats() (mean float64, most int) {
	if len(c.Days) == 0 {
		return 0, 0
	}
	sum := 0
	for _, d := range c.Days {
		sum += d.DAU
		most = max(most, d.DAU)
	}
	return float64(sum) / float64(len(c.Days)), most
}

// Merge adds the counts of a shard whose users are disjoint from c's. DAU
// and MAU then add exactly: a user counted in both shards would be counted
// twice, which disjoint shards rule out. Peak online adds to an upper bound
// (the shards may peak at different moments).
func (c *Counts) Merge(o Counts) error {
	if len(c.Days) != len(o.Days) || len(c.Months) != len(o.Months) {
		return fmt.Errorf("mau: cannot merge counts of %d days / %d months with %d days / %d months",
			len(c.Days), len(c.Months), len(o.Days), len(o.Months))
	}
	for i := range c.Days {
		a, b := &c.Days[i], o.Days[i]
		if a.Date != b.Date {
			return fmt.Errorf("mau: cannot merge counts: day %d is %s in one and %s in the other", i, a.Date, b.Date)
		}
		a.Logins += b.Logins
		a.DAU += b.DAU
		a.Active += b.Active
		a.Reconnects += b.Reconnects
		a.PeakOnline += b.PeakOnline
	}
	for i := range c.Months {
		a, b := &c.Months[i], o.Months[i]
		if a.Month != b.Month {
			return fmt.Errorf("mau: cannot merge counts: month %d is %s in one and %s in the other", i, a.Month, b.Month)
		}
		a.MAU += b.MAU
		a.Logins += b.Logins
	}
	c.Users += o.Users
	c.PeakOnline += o.PeakOnline
	c.PeakIsBound = true
	c.Outside += o.Outside
	return nil
}
