package agent

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/imload/imload/pacer"
	"github.com/imload/imload/scenario"
)

// ScenarioConfig returns the device settings a scenario gives (SDKAppID,
// operation timeout, re-login after kick, heartbeat, a logout at the run's
// end under end: logout); the caller adds the
// driver, tickets, sink, clock and book.
func ScenarioConfig(sc *scenario.Scenario) Config {
	c := Config{
		SDKAppID:         sc.Target.SDKAppID,
		Timeout:          sc.Target.Timeout.D(),
		ReloginAfterKick: sc.Behaviour.ReloginAfterKick == nil || *sc.Behaviour.ReloginAfterKick,
		Heartbeat:        sc.Behaviour.Heartbeat.D(),
		Reconnect:        ReconnectFrom(sc.Behaviour.Reconnect),
		LogoutOnCancel:   sc.End == scenario.EndLogout,
	}
	c.fill()
	return c
}

// Pool starts one device per arrival of the pacer.
type Pool struct {
	cfg     Config
	planner *Planner
}

// NewPool returns a pool whose devices share cfg and draw their plans from
// planner.
func NewPool(cfg Config, planner *Planner) *Pool {
	cfg.fill()
	return &Pool{cfg: cfg, planner: planner}
}

// Spawn plays the device of arrival a and returns when its session ends or
// ctx is done; it has the shape of pacer.Spawn. A restarted closed-model
// session (a.Session > 0) begins with the plan's think time and runs on the
// device a.Device (see Planner.SessionPlan); a first session is a device of
// its own.
func (p *Pool) Spawn(ctx context.Context, a *pacer.Arrival) { p.SpawnOn(ctx, ctx, a) }

// SpawnOn is Spawn with the session's start gated by gate: a restarted
// session still in its think time when gate is done does not begin, while
// a session that has begun runs on ctx (a run that drains its sessions ends
// gate at the end of the last phase and ctx only after a grace).
func (p *Pool) SpawnOn(gate, ctx context.Context, a *pacer.Arrival) {
	ended := make(chan struct{})
	p.BeginOn(gate, ctx, a, func() { close(ended) })
	<-ended
}

// BeginOn is SpawnOn that returns once the session is online and waiting
// (see Device.Start), or over: done is called once when it has ended.
func (p *Pool) BeginOn(gate, ctx context.Context, a *pacer.Arrival, done func()) {
	d, intended := p.device(gate, ctx, a)
	if d == nil {
		done()
		return
	}
	d.Start(ctx, intended, func(error) { done() })
}

// device makes the device of arrival a and returns when it should begin
// (nil when gate or ctx ended first).
func (p *Pool) device(gate, ctx context.Context, a *pacer.Arrival) (*Device, time.Time) {
	if gate.Err() != nil {
		return nil, time.Time{}
	}
	device := a.Index
	if a.Session > 0 {
		device = a.Device
	}
	plan := p.planner.SessionPlan(a.Index, device)
	d := NewDevice(p.cfg, plan)
	intended := a.Intended
	if a.Session > 0 && plan.Think > 0 {
		intended = intended.Add(plan.Think)
		if !d.sleepUntil(gate, intended) || ctx.Err() != nil {
			return nil, time.Time{}
		}
	}
	return d, intended
}

// LoginBook remembers the server time of recent successful logins per user,
// so that a device kicked by another device of the same run can tell how
// long the notice took. It keeps the last few logins of each user and is
// safe for concurrent use.
type LoginBook struct {
	seed   maphash.Seed
	shards [64]bookShard
}

const bookKeep = 4 // logins remembered per user

type bookShard struct {
	mu sync.Mutex
	m  map[string]*[bookKeep]bookEntry
}

type bookEntry struct {
	seq uint64
	ns  int64 // server time, Unix nanoseconds
}

// NewLoginBook returns an empty book.
func NewLoginBook() *LoginBook {
	b := &LoginBook{seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].m = make(map[string]*[bookKeep]bookEntry)
	}
	return b
}

func (b *LoginBook) shard(user string) *bookShard {
	return &b.shards[maphash.String(b.seed, user)%uint64(len(b.shards))]
}

// Record notes that user's login seq was accepted at serverTime.
func (b *LoginBook) Record(user string, seq uint64, serverTime time.Time) {
	s := b.shard(user)
	s.mu.Lock()
	r := s.m[user]
	if r == nil {
		r = new([bookKeep]bookEntry)
		s.m[user] = r
	}
	r[seq%bookKeep] = bookEntry{seq: seq, ns: serverTime.UnixNano()}
	s.mu.Unlock()
}

// ServerTime returns when user's login seq was accepted, if still known.
func (b *LoginBook) ServerTime(user string, seq uint64) (time.Time, bool) {
	s := b.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[user]; r != nil {
		if e := r[seq%bookKeep]; e.seq == seq {
			return time.Unix(0, e.ns), true
		}
	}
	return time.Time{}, false
}
