package server

import (
	"github.com/imload/imload/codes"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the server's counters. Codes are the answers given
// (only non-zero counts appear).
type Stats struct {
	// Protect counts the storm protections' refusals and the restarts.
	Protect      ProtectStats
	LoginsOK     uint64 // successful logins, repeat logins included
	RepeatLogins uint64 // successful logins answered with repeat_login
	LoginsFailed map[int]uint64
	Logouts      uint64 // explicit logouts and implicit ones (account switch)
	Switches     uint64 // implicit logouts by an account switch
	Kicks        uint64 // sessions displaced by the multi-device policy
	AdminKicks   uint64 // sessions ended by Kick
	Resumes      uint64 // successful resumes (never a login)
	ResumeFailed map[int]uint64
	SigExpired   uint64         // user_sig_expired notices
	TimedOut     uint64         // sessions removed after their resume window
	FrameErrors  map[int]uint64 // error frames sent: 1001 ... 1007

	Online    int // sessions logged in (connected or within the resume window)
	Connected int // sessions logged in with a live transport
	Conns     int // transport connections attached

	Days   []DayStats   // days with activity, oldest first
	Months []MonthStats // months with activity, oldest first

	// Faults are the armed faults' records (none armed: empty).
	Faults []FaultStats
}

// DayStats is one calendar day (Beijing time, in units of Config.Day).
type DayStats struct {
	Day        int    // index from Config.Epoch
	Date       string // calendar date, YYYY-MM-DD
	Logins     uint64 // successful logins
	LoginUsers uint64 // distinct users with a successful login (DAU)
	MaxOnline  int    // most sessions logged in at once
}

// MonthStats is one calendar month.
type MonthStats struct {
	Month string // YYYY-MM
	MAU   uint64 // distinct users with a successful login in the month
}

// knownCodes is every code the server may answer with; counters are kept per
// code without a map on the hot path.
func knownCodes() [30]int {
	return [...]int{
		codes.SigExpired, codes.SigEmpty, codes.SigUndecodable, codes.SigBadSignature,
		codes.SigUserMismatch, codes.SigAppMismatch, codes.KeyNotFound, codes.AppNotFound,
		codes.SigRateLimited, codes.Blacklisted, codes.SigInvalidated, codes.NotImported,
		codes.ClientSigExpired, codes.KickedWhileOff, codes.NotLoggedIn, codes.NotInitialised,
		codes.InProgress, codes.InvalidParam, codes.InvalidUserID, codes.TooOften,
		codes.BadFrame, codes.UnknownOp, codes.FrameTooBig, codes.NoHello,
		codes.BadVersion, codes.ResumeFailed, codes.ServerClosed,
		codes.LoginTooFrequent, codes.LoginBucketBusy, codes.FlappingBanned,
	}
}

const nCodes = 30 + 1 // last slot: any other code

func codeSlot(code int) int {
	for i, c := range knownCodes() {
		if c == code {
			return i
		}
	}
	return nCodes - 1
}

type codeCounters [nCodes]atomic.Uint64

func (c *codeCounters) add(code int) { c[codeSlot(code)].Add(1) }

func (c *codeCounters) snapshot() map[int]uint64 {
	out := map[int]uint64{}
	known := knownCodes()
	for i := range c {
		if n := c[i].Load(); n > 0 {
			code := -1
			if i < len(known) {
				code = known[i]
			}
			out[code] += n
		}
	}
	return out
}

type counters struct {
	loginOK, repeat, logouts, switches, kicks, adminKicks, resumes, sigExpired, timedOut atomic.Uint64
	protRate, protBuckets, protFlap, restarts                                            atomic.Uint64
	loginFail, resumeFail, frameErr                                                      codeCounters
	sessions, connected, conns                                                           atomic.Int64
	faults                                                                               faultCounters
}

// calendar maps instants to day and month numbers. Days are Config.Day long
// from Config.Epoch; a day's date is the epoch's date plus its index, so a
// compressed day still has a calendar month.
type calendar struct {
	epoch     time.Time
	day       time.Duration
	epochDate time.Time // midnight of the epoch's date, in beijing
}

// beijing is UTC+8, the zone of the service's calendar days.
func beijing() *time.Location { return time.FixedZone("UTC+8", 8*3600) }

func newCalendar(epoch time.Time, day time.Duration) calendar {
	e := epoch.In(beijing())
	return calendar{epoch: epoch, day: day, epochDate: time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, e.Location())}
}

// lastMidnight is the last midnight in Beijing time at or before t.
func lastMidnight(t time.Time) time.Time {
	b := t.In(beijing())
	return time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, b.Location())
}

func (c calendar) dayOf(t time.Time) int {
	d := t.Sub(c.epoch)
	n := int(d / c.day)
	if d < 0 && d%c.day != 0 {
		n--
	}
	return n
}

func (c calendar) date(day int) time.Time { return c.epochDate.AddDate(0, 0, day) }

func (c calendar) monthOf(day int) int {
	d := c.date(day)
	return d.Year()*12 + int(d.Month()) - 1
}

type dayRow struct {
	day        int
	logins     atomic.Uint64
	users      atomic.Uint64
	maxOnline  atomic.Int64
	monthIndex int
	month      *monthRow // the row of the day's month, so the login path takes no lock
}

type monthRow struct {
	month int
	mau   atomic.Uint64
}

// ledger holds the day and month rows. The current day is cached so that
// the login path takes the mutex only when a day begins.
type ledger struct {
	cal    calendar
	cur    atomic.Pointer[dayRow]
	mu     sync.Mutex
	days   map[int]*dayRow
	months map[int]*monthRow
}

func newLedger(cal calendar) *ledger {
	return &ledger{cal: cal, days: map[int]*dayRow{}, months: map[int]*monthRow{}}
}

// row returns the row of the day at t, creating it with the current
// online count as its first maximum.
func (l *ledger) row(t time.Time, online int64) *dayRow {
	d := l.cal.dayOf(t)
	if r := l.cur.Load(); r != nil && r.day == d {
		return r
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.days[d]
	if r == nil {
		r = &dayRow{day: d, monthIndex: l.cal.monthOf(d)}
		r.maxOnline.Store(online)
		l.days[d] = r
		if l.months[r.monthIndex] == nil {
			l.months[r.monthIndex] = &monthRow{month: r.monthIndex}
		}
		r.month = l.months[r.monthIndex]
	}
	if c := l.cur.Load(); c == nil || c.day < d {
		l.cur.Store(r)
	}
	return r
}

func (r *dayRow) noteOnline(n int64) {
	for {
		m := r.maxOnline.Load()
		if n <= m || r.maxOnline.CompareAndSwap(m, n) {
			return
		}
	}
}

func (l *ledger) snapshot() ([]DayStats, []MonthStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	days := make([]DayStats, 0, len(l.days))
	for _, r := range l.days {
		days = append(days, DayStats{
			Day: r.day, Date: l.cal.date(r.day).Format("2006-01-02"),
			Logins: r.logins.Load(), LoginUsers: r.users.Load(), MaxOnline: int(r.maxOnline.Load()),
		})
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Day < days[j].Day })
	months := make([]MonthStats, 0, len(l.months))
	keys := make([]int, 0, len(l.months))
	for k := range l.months {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		months = append(months, MonthStats{
			Month: time.Date(k/12, time.Month(k%12+1), 1, 0, 0, 0, 0, time.UTC).Format("2006-01"),
			MAU:   l.months[k].mau.Load(),
		})
	}
	return days, months
}
