package mau

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
)

// eventLog keeps copies of the events it observes.
type eventLog struct {
	mu  sync.Mutex
	evs []event.Event
}

func (l *eventLog) Observe(e *event.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, *e)
	l.mu.Unlock()
}

func (l *eventLog) count(k event.Kind, o event.Outcome) int64 {
	var n int64
	for _, e := range l.evs {
		if e.Kind == k && e.Outcome == o {
			n++
		}
	}
	return n
}

// kickingDriver is a fakeDriver whose connections are told, after every
// third login, that another instance displaced them.
type kickingDriver struct{ *fakeDriver }

func (d kickingDriver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	c, err := d.fakeDriver.Connect(ctx, dev)
	if err != nil {
		return nil, err
	}
	fc := c.(*fakeConn)
	fc.pushes = make(chan *driver.Push, 1)
	return &kickingConn{fakeConn: fc}, nil
}

type kickingConn struct{ *fakeConn }

func (c *kickingConn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	res, err := c.fakeConn.Login(ctx, req)
	if err == nil && res.Seq%3 == 0 {
		c.pushes <- &driver.Push{Kind: driver.PushKicked, Seq: res.Seq, BySeq: res.Seq + 1000,
			ByPlatform: "Web", ByInstance: "web-1", ServerTime: res.ServerTime}
	}
	return res, err
}

// TestRunEmitsDeviceEvents: every app session is a device: each operation
// the runner asks of the target is an event with its outcome (a login's
// sequence and server time, a resume's sequence), each app close of a
// session online is an app kill (a disconnect when the strategy keeps the
// session in the background), each kick a kicked event naming its
// displacer; the oracle's sink gets the events of every k-th user only.
func TestRunEmitsDeviceEvents(t *testing.T) {
	cfg := runConfig()
	cfg.Days = 5
	for _, name := range []string{Eager, BackgroundKeep} {
		t.Run(name, func(t *testing.T) {
			st, _ := Preset(name)
			r, err := NewRunner(cfg, 300)
			if err != nil {
				t.Fatal(err)
			}
			clk := clock.NewFake(r.Calendar().Epoch)
			d := newFakeDriver(clk, r.Calendar())
			all, judged := &eventLog{}, &eventLog{}
			res, err := r.Run(t.Context(), st, Target{Driver: kickingDriver{d}, Clock: clk,
				Sink: all, Oracle: judged, OracleEvery: 4})
			if err != nil {
				t.Fatal(err)
			}
			ops := res.Ops
			if ops.Logins == 0 || ops.Kicked == 0 || ops.LoginsFailed != 0 {
				t.Fatalf("ops %+v: nothing to test", ops)
			}
			for _, c := range []struct {
				kind event.Kind
				want int64
			}{{event.Login, ops.Logins}, {event.Connect, ops.Connects}, {event.Logout, ops.Logouts}, {event.Kicked, ops.Kicked}} {
				if got := all.count(c.kind, event.OK) + all.count(c.kind, event.Failed); c.kind != event.Kicked && got != c.want {
					t.Errorf("%s events %d, the runner did %d", c.kind, got, c.want)
				}
			}
			if got := all.count(event.Kicked, 0); got != ops.Kicked {
				t.Errorf("kicked events %d, the runner saw %d kicks", got, ops.Kicked)
			}
			closed := all.count(event.AppKill, 0)
			disc := all.count(event.Disconnect, 0)
			if name == Eager && (closed == 0 || disc != 0) || name == BackgroundKeep && (disc == 0 || closed != 0) {
				t.Errorf("%s: %d app kills, %d disconnects", name, closed, disc)
			}
			for _, e := range all.evs {
				if e.UserID == "" || e.Device != e.UserID+"-"+string(e.Platform) || e.At.IsZero() {
					t.Fatalf("event without its device: %+v", e)
				}
				switch {
				case e.Kind == event.Login && e.Outcome == event.OK && (e.Seq == 0 || e.ServerTime.IsZero()):
					t.Fatalf("login ok without seq or server time: %+v", e)
				case e.Kind == event.Kicked && (e.BySeq != e.Seq+1000 || e.ByInstance != "web-1" || e.ByPlatform != "Web"):
					t.Fatalf("kick without its displacer: %+v", e)
				case e.Kind.IsOp() && (e.Start.IsZero() || e.Latency < 0 || e.Start.After(e.At)):
					t.Fatalf("operation badly timed: %+v", e)
				}
			}
			var want int
			for _, e := range all.evs {
				u, err := strconv.Atoi(strings.TrimPrefix(e.UserID, "mau_"))
				if err != nil {
					t.Fatal(err)
				}
				if u%4 == 0 {
					want++
				}
			}
			if len(judged.evs) != want || want == 0 {
				t.Errorf("the oracle got %d events, every 4th user has %d", len(judged.evs), want)
			}
		})
	}
}
