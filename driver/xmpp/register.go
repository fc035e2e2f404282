package xmpp

import (
	"context"
	"fmt"
	"sync"
)

// registrar makes sure that a driver registers each user at most once, and
// never twice at the same time: devices of one user that are refused
// together wait for one registration, then authenticate again. Besides
// saving round trips this matters to ejabberd 23.01, whose authentication
// cache keeps the "user exists" answer of a second, concurrent registration
// and then fails every SCRAM login of that user by closing the stream.
type registrar struct {
	mu      sync.Mutex
	max     int
	known   map[string]bool // registered (or found existing) by this driver
	flights map[string]*regFlight
}

// regFlight is one registration in progress; followers wait on done.
type regFlight struct {
	done   chan struct{}
	code   int
	msg    string
	exists bool
	err    error
}

func newRegistrar(max int) *registrar {
	return &registrar{max: max, known: make(map[string]bool), flights: make(map[string]*regFlight)}
}

// ensure registers key with do, unless this driver did already (exists
// true) or does now (then it waits for that registration's outcome).
// exists reports that the user was there before this call.
func (r *registrar) ensure(ctx context.Context, key string, do func() (code int, msg string, exists bool, err error)) (code int, msg string, exists bool, err error) {
	r.mu.Lock()
	if r.known[key] {
		r.mu.Unlock()
		return 0, "", true, nil
	}
	if f := r.flights[key]; f != nil {
		r.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return 0, "", false, fmt.Errorf("registration by another device of the user: %w", f.err)
			}
			return f.code, f.msg, true, nil
		case <-ctx.Done():
			return 0, "", false, fmt.Errorf("wait for the registration of another device of the user: %w", ctxReason(ctx.Err()))
		}
	}
	f := &regFlight{done: make(chan struct{})}
	r.flights[key] = f
	r.mu.Unlock()

	f.code, f.msg, f.exists, f.err = do()
	r.mu.Lock()
	delete(r.flights, key)
	if f.err == nil && f.code == 0 {
		if len(r.known) >= r.max {
			clear(r.known)
		}
		r.known[key] = true
	}
	r.mu.Unlock()
	close(f.done)
	return f.code, f.msg, f.exists, f.err
}
