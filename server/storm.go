package server

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/protocol"
)

// Storms: what a run's timeline events do to the server (Restart,
// ExpireTickets) and the protections against them (Protect), all off by
// default (docs/STORMS.md).

// RestartOptions say what a restart leaves.
type RestartOptions struct {
	// LoseSessions ends every session (each gets its Disconnect callback):
	// devices must log in anew. Otherwise each session stays resumable for
	// the resume window.
	LoseSessions bool
	// Down is how long the server refuses new connections after the
	// restart (answered 1007, as a server going away).
	Down time.Duration
}

// Restart drops every connection at once, as a gateway restart does, and
// returns how many it dropped. Sessions stay resumable unless
// o.LoseSessions; the fault lose-session-on-restart ends them silently
// although they should stay resumable.
func (s *Server) Restart(o RestartOptions) int {
	now := s.clk.Now()
	if o.Down > 0 {
		s.downUntil.Store(now.Add(o.Down).UnixNano())
	}
	// Sessions go first, then the connections: a device that comes back
	// at once must not resume a session about to go.
	if o.LoseSessions || s.cfg.Faults.LoseSessionOnRestart {
		s.reg.each(func(rec *userRecord) {
			rec.mu.Lock()
			victims := append([]*session(nil), rec.sessions...)
			for _, x := range victims {
				if o.LoseSessions {
					s.expire(x, now) // told: a Disconnect callback
				} else {
					s.end(x) // the fault: gone without a word
					s.ctr.faults.fire(FaultLoseSessionOnRestart)
				}
			}
			rec.mu.Unlock()
		})
	}
	conns := s.conns.list()
	for _, c := range conns {
		c.hangup("server restart", ReasonShutdown)
	}
	s.ctr.restarts.Add(1)
	return len(conns)
}

// down reports whether a restart's down time is still running.
func (s *Server) down() bool {
	until := s.downUntil.Load()
	return until != 0 && s.clk.Now().UnixNano() < until
}

// ExpireTickets pushes user_sig_expired now to every online session pick
// chooses, as if their tickets, issued in one wave, had expired together,
// and returns those sessions. The sessions stay; each device refreshes its
// ticket and logs in again (a repeat login of its instance).
func (s *Server) ExpireTickets(pick func(SessionInfo) bool) []SessionInfo {
	now := s.clk.Now()
	var out []SessionInfo
	s.reg.each(func(rec *userRecord) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, x := range rec.sessions {
			if x.state != sessOnline || x.conn == nil || !pick(x.info()) {
				continue
			}
			x.sigTask.cancel()
			x.sigTask = nil
			x.sigExp = now
			s.ctr.sigExpired.Add(1)
			x.conn.push(&protocol.Frame{Op: protocol.OpUserSigExpired, Seq: x.seq, SigExpireAtMs: now.UnixMilli(),
				ServerTimeMs: now.UnixMilli()})
			out = append(out, x.info())
		}
	})
	return out
}

// Protect configures the protections; each is off while its zero value.
type Protect struct {
	// LoginRate is a per-app token bucket over logins (per second; 0: no
	// limit) holding LoginBurst; a login over it is answered 1010.
	LoginRate  float64
	LoginBurst int
	// LoginBuckets > 0 starts logins in buckets as Discord's
	// max_concurrency does: a login goes to bucket hash(UserID) mod
	// LoginBuckets, and each bucket starts one login per BucketEvery;
	// others are answered 1011.
	LoginBuckets int
	BucketEvery  time.Duration
	// FlapConnects > 0 bans a device (platform and instance) that connects
	// FlapConnects times within FlapWindow, for FlapBan: its hellos are
	// answered 1012 meanwhile.
	FlapConnects int
	FlapWindow   time.Duration
	FlapBan      time.Duration
}

// protections is the state of Protect.
type protections struct {
	limiter *rate.Limiter // nil: no rate limit
	buckets []atomic.Int64
	every   int64 // ns
	seed    maphash.Seed
	flap    [16]flapShard
}

type flapShard struct {
	mu sync.Mutex
	m  map[string]*flapState
}

type flapState struct {
	start       time.Time
	count       int
	bannedUntil time.Time
}

func newProtections(p Protect) *protections {
	out := &protections{seed: maphash.MakeSeed()}
	if p.LoginRate > 0 {
		out.limiter = rate.NewLimiter(rate.Limit(p.LoginRate), max(p.LoginBurst, 1))
	}
	if p.LoginBuckets > 0 {
		out.buckets = make([]atomic.Int64, p.LoginBuckets)
		out.every = int64(p.BucketEvery)
		if out.every <= 0 {
			out.every = int64(5 * time.Second)
		}
	}
	for i := range out.flap {
		out.flap[i].m = map[string]*flapState{}
	}
	return out
}

// admitLogin applies the rate limit and the start buckets to a login of
// user; a refusal returns its code and message.
func (s *Server) admitLogin(user string, now time.Time) (int, string) {
	p := s.prot
	if p.buckets != nil {
		b := &p.buckets[maphash.String(p.seed, user)%uint64(len(p.buckets))]
		next := b.Load()
		if now.UnixNano() < next || !b.CompareAndSwap(next, now.UnixNano()+p.every) {
			s.ctr.protBuckets.Add(1)
			return codes.LoginBucketBusy, "login start bucket busy (max_concurrency): back off and retry"
		}
	}
	if p.limiter != nil && !p.limiter.AllowN(now, 1) {
		s.ctr.protRate.Add(1)
		return codes.LoginTooFrequent, "logins too frequent: the app's login rate limit; back off and retry"
	}
	return 0, ""
}

// admitConnect applies the flapping ban to a hello of device key.
func (s *Server) admitConnect(key string, now time.Time) (int, string) {
	pc := s.cfg.Protect
	if pc.FlapConnects <= 0 {
		return 0, ""
	}
	sh := &s.prot.flap[maphash.String(s.prot.seed, key)%uint64(len(s.prot.flap))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[key]
	if st == nil {
		st = &flapState{start: now}
		sh.m[key] = st
	}
	if now.Before(st.bannedUntil) {
		s.ctr.protFlap.Add(1)
		return codes.FlappingBanned, "device banned for reconnecting too often (flapping): retry after the ban"
	}
	if now.Sub(st.start) > pc.FlapWindow {
		st.start, st.count = now, 0
	}
	st.count++
	if st.count >= pc.FlapConnects {
		st.bannedUntil = now.Add(pc.FlapBan)
		st.start, st.count = now, 0
	}
	return 0, ""
}

// ProtectStats counts the refusals of each protection and the restarts.
type ProtectStats struct {
	RateLimited, BucketBusy, FlapBanned, Restarts uint64
}

// ProtectStats returns the protections' counters.
func (s *Server) ProtectStats() ProtectStats {
	return ProtectStats{RateLimited: s.ctr.protRate.Load(), BucketBusy: s.ctr.protBuckets.Load(),
		FlapBanned: s.ctr.protFlap.Load(), Restarts: s.ctr.restarts.Load()}
}
