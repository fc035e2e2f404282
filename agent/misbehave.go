package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
)

// Deliberate breaches of the client rules (scenario.Misbehave), to see what a
// target makes of them. Each is announced by a Misbehaving event.

// side is an extra connection of a misbehaving device: its own goroutine
// logs in on it, then the device drops it.
type side struct {
	conn driver.Conn
	ok   bool // its login succeeded
	code int
	seq  uint64 // the session its login was answered with
}

// sideLogin logs in on an extra connection c (connecting one when c is nil),
// without the status machine. It runs in its own goroutine: it emits events
// but touches no state of the device's main connection.
func (d *Device) sideLogin(ctx context.Context, c driver.Conn, user, ticket string, intended time.Time, note string) side {
	if c == nil {
		var err error
		if c, err = d.connect(ctx, intended, note, d.emit); err != nil {
			return side{}
		}
	}
	res, err := d.rawLogin(ctx, c, user, ticket, intended, note, d.emit)
	code := loginCode(res, err)
	return side{conn: c, ok: err == nil && code == 0, code: code, seq: res.Seq}
}

// dropSide reports what the extra connection saw, then drops it: an app
// kill when its login is still online, unless that login was answered with
// the session the device goes on with (a repeat login of one instance over
// several connections): the target may hold that session on the dropped
// connection, so the drop is a Disconnect of it, which the device may
// resume, not the end of the session.
func (d *Device) dropSide(s side, user, note string) {
	if s.conn == nil {
		return
	}
	online := s.ok
	for more := true; more; {
		select {
		case p, ok := <-s.conn.Pushes():
			if !ok {
				more, online = false, false
				break
			}
			switch p.Kind {
			case driver.PushKicked:
				online = false
				d.emit(&event.Event{Kind: event.Kicked, UserID: user, At: p.At, Seq: p.Seq, Code: p.Code,
					BySeq: p.BySeq, ByPlatform: p.ByPlatform, ByInstance: p.ByInstance, Note: note})
			case driver.PushClosed:
				online = false
			}
		default:
			more = false
		}
	}
	s.conn.Close()
	switch {
	case !online:
	case s.seq != 0 && s.seq == d.seq && d.status == StatusLogined:
		d.emit(&event.Event{Kind: event.Disconnect, UserID: user, At: d.now(), Seq: s.seq,
			Note: note + ": an extra connection of the session dropped"})
	default:
		d.emit(&event.Event{Kind: event.AppKill, UserID: user, At: d.now(), Note: note})
	}
}

// loginStorm logs the planned user in Storm times at once over Storm
// connections: the main one, which the session goes on with, and Storm-1
// extra ones, dropped once every login has answered.
func (d *Device) loginStorm(ctx context.Context, intended time.Time) bool {
	user, k := d.account, d.plan.Storm
	note := fmt.Sprintf("login storm: %d logins at once", k)
	d.emit(&event.Event{Kind: event.Misbehaving, UserID: user, At: d.now(), Note: note})
	ticket, err := d.ticketFor(user, false)
	if err != nil {
		return false
	}
	sides := make([]side, k-1)
	var wg sync.WaitGroup
	for i := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sides[i] = d.sideLogin(ctx, nil, user, ticket, intended, note)
		}()
	}
	ok := d.Connect(ctx, intended) == nil && d.loginByRules(ctx, user, d.next(intended))
	wg.Wait()
	for _, s := range sides {
		d.dropSide(s, user, note)
	}
	return ok
}

// loginWhileLogining sends a second login of the same user while the first
// is pending. The driver contract allows one call at a time per connection,
// so the second goes over a second connection of the same instance; the
// SDK's own status machine would have refused it with 6015.
func (d *Device) loginWhileLogining(ctx context.Context, intended time.Time) bool {
	user := d.account
	const note = "login while LOGINING"
	ticket, err := d.ticketFor(user, false)
	if err != nil {
		return false
	}
	c, err := d.connect(ctx, intended, note, d.record)
	intended = d.next(intended)
	if err != nil {
		return d.loginByRules(ctx, user, intended)
	}
	done := make(chan side, 1)
	go func() { done <- d.sideLogin(ctx, c, user, ticket, intended, note) }()
	ok := d.loginByRules(ctx, user, intended) // races the second login
	s := <-done
	d.emit(&event.Event{Kind: event.Misbehaving, UserID: user, At: d.now(), Code: s.code,
		Note: fmt.Sprintf("%s: the second login was answered with code %d", note, s.code)})
	d.dropSide(s, user, note)
	return ok
}
