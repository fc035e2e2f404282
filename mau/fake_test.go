package mau

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
)

// fakeDriver is a target that records logins on its own clock and keeps
// its own per-day and per-month statistics, like the server would.
type fakeDriver struct {
	clk clock.Clock
	cal Calendar
	// refuse, when set, answers a login with a code (0: accept).
	refuse func(user string) int
	// noResume refuses every resume (as a server whose resume window has
	// passed would).
	noResume bool

	mu       sync.Mutex
	logins   map[int]int64           // day → logins
	dau      map[int]map[string]bool // day → users
	mau      map[string]map[string]bool
	sessions map[string]string // resume token → user
	seq      uint64

	connects atomic.Int64
	open     atomic.Int64
	maxOpen  atomic.Int64
	resumes  atomic.Int64
	logouts  atomic.Int64
}

func newFakeDriver(clk clock.Clock, cal Calendar) *fakeDriver {
	return &fakeDriver{clk: clk, cal: cal, logins: map[int]int64{}, dau: map[int]map[string]bool{},
		mau: map[string]map[string]bool{}, sessions: map[string]string{}}
}

func (d *fakeDriver) Name() string { return "fake" }
func (d *fakeDriver) Close() error { return nil }

func (d *fakeDriver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	d.connects.Add(1)
	n := d.open.Add(1)
	for {
		m := d.maxOpen.Load()
		if n <= m || d.maxOpen.CompareAndSwap(m, n) {
			break
		}
	}
	return &fakeConn{d: d, dev: dev, pushes: make(chan *driver.Push)}, nil
}

// serverCounts returns the driver's own statistics.
func (d *fakeDriver) serverCounts(context.Context) (ServerCounts, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var sc ServerCounts
	for day, n := range d.logins {
		sc.Days = append(sc.Days, ServerDay{Day: day, Logins: n, DAU: len(d.dau[day])})
	}
	for m, users := range d.mau {
		sc.Months = append(sc.Months, ServerMonth{Month: m, MAU: len(users)})
	}
	return sc, nil
}

func (d *fakeDriver) totalLogins() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for _, v := range d.logins {
		n += v
	}
	return n
}

type fakeConn struct {
	d      *fakeDriver
	dev    driver.Device
	pushes chan *driver.Push
	closed bool
}

func (c *fakeConn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	if c.closed {
		return driver.LoginResult{}, driver.ErrClosed
	}
	if c.d.refuse != nil {
		if code := c.d.refuse(req.UserID); code != 0 {
			return driver.LoginResult{Code: code}, nil
		}
	}
	now := c.d.clk.Now()
	day := c.d.cal.DayIndex(now)
	month := c.d.cal.Date(day).MonthID().String()
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.seq++
	c.d.logins[day]++
	if c.d.dau[day] == nil {
		c.d.dau[day] = map[string]bool{}
	}
	c.d.dau[day][req.UserID] = true
	if c.d.mau[month] == nil {
		c.d.mau[month] = map[string]bool{}
	}
	c.d.mau[month][req.UserID] = true
	tok := "t" + strconv.FormatUint(c.d.seq, 10)
	c.d.sessions[tok] = req.UserID
	return driver.LoginResult{Seq: c.d.seq, ResumeToken: tok, ServerTime: now}, nil
}

func (c *fakeConn) Logout(ctx context.Context) (int, error) {
	c.d.logouts.Add(1)
	return 0, nil
}

func (c *fakeConn) Resume(ctx context.Context, token string) (driver.ResumeResult, error) {
	c.d.resumes.Add(1)
	c.d.mu.Lock()
	_, ok := c.d.sessions[token]
	c.d.mu.Unlock()
	if !ok || c.d.noResume {
		return driver.ResumeResult{Code: 6208}, nil
	}
	return driver.ResumeResult{}, nil
}

func (c *fakeConn) Ping(ctx context.Context) error { return nil }
func (c *fakeConn) Pushes() <-chan *driver.Push    { return c.pushes }

func (c *fakeConn) Close() error {
	if !c.closed {
		c.closed = true
		c.d.open.Add(-1)
	}
	return nil
}

// nopDriver accepts everything and records nothing: it measures the
// runner's own overhead.
type nopDriver struct{}

func (nopDriver) Name() string { return "nop" }
func (nopDriver) Close() error { return nil }
func (nopDriver) Connect(context.Context, driver.Device) (driver.Conn, error) {
	return nopConn{}, nil
}

type nopConn struct{}

func (nopConn) Login(context.Context, driver.LoginRequest) (driver.LoginResult, error) {
	return driver.LoginResult{ResumeToken: "t"}, nil
}
func (nopConn) Logout(context.Context) (int, error) { return 0, nil }
func (nopConn) Resume(context.Context, string) (driver.ResumeResult, error) {
	return driver.ResumeResult{}, nil
}
func (nopConn) Ping(context.Context) error  { return nil }
func (nopConn) Pushes() <-chan *driver.Push { return nil }
func (nopConn) Close() error                { return nil }
