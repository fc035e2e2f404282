package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imload/imload/faults"
)

// Fault names one deliberately wrong behaviour of the server (the list is
// package faults). Each exists to prove that the kickout oracle detects it.
type Fault = faults.Fault

// The faults, as package faults names them.
const (
	// FaultWrongVictim kicks the newest conflicting instance of the victim's
	// platform instead of the earliest.
	FaultWrongVictim = faults.WrongVictim
	// FaultKickNotDelivered removes the victim but sends no push and leaves
	// its connection open.
	FaultKickNotDelivered = faults.KickNotDelivered
	// FaultLimitNotEnforced never kicks anyone.
	FaultLimitNotEnforced = faults.LimitNotEnforced
	// FaultLateKick delivers the kicked_offline push after Faults.LateKickDelay.
	FaultLateKick = faults.LateKick
	// FaultStaleOnlineStatus keeps ended sessions in OnlineStatus for
	// Faults.StaleFor.
	FaultStaleOnlineStatus = faults.StaleOnlineStatus
	// FaultAcceptExpired accepts expired tickets (never answers 70001).
	FaultAcceptExpired = faults.AcceptExpired
	// FaultRefuseNewLogin refuses a login that would displace a session
	// (answers 1008, keeps the sessions online) instead of kicking, whatever
	// the policy's on_conflict says.
	FaultRefuseNewLogin = faults.RefuseNewLogin
	// FaultSlowLogin delays a share of the logins (Faults.SlowLoginShare,
	// default all) by Faults.SlowLoginDelay before answering: a known
	// slowdown for testing comparisons of runs. Unlike the others it breaks
	// no rule, only the latency.
	FaultSlowLogin = faults.SlowLogin
	// FaultLoseSessionOnRestart ends every session silently at a Restart
	// that should leave them resumable.
	FaultLoseSessionOnRestart = faults.LoseSessionOnRestart
)

// FaultNames lists every fault name, in a fixed order (faults.Names).
func FaultNames() []string { return faults.Names() }

// ParseFault accepts a fault name (any letter case, '_' for '-'). For
// parameters (slow-login=DELAY@SHARE) use ParseFaults.
func ParseFault(name string) (Fault, error) { return faults.Parse(name) }

// Faults is the set of injected faults; the zero value injects none.
type Faults struct {
	WrongVictim, KickNotDelivered, LimitNotEnforced, LateKick, StaleOnlineStatus, AcceptExpired, RefuseNewLogin, SlowLogin, LoseSessionOnRestart bool
	// LateKickDelay is the delay of late-kick (default 2s).
	LateKickDelay time.Duration
	// StaleFor is how long stale-online-status keeps reporting an ended
	// session (default 10s).
	StaleFor time.Duration
	// SlowLoginDelay is the delay of slow-login (default 20ms), and
	// SlowLoginShare the share of logins it delays, in (0, 1] (0: all).
	SlowLoginDelay time.Duration
	SlowLoginShare float64
}

// Enable turns one fault on.
func (f *Faults) Enable(x Fault) {
	switch x {
	case FaultWrongVictim:
		f.WrongVictim = true
	case FaultKickNotDelivered:
		f.KickNotDelivered = true
	case FaultLimitNotEnforced:
		f.LimitNotEnforced = true
	case FaultLateKick:
		f.LateKick = true
	case FaultStaleOnlineStatus:
		f.StaleOnlineStatus = true
	case FaultAcceptExpired:
		f.AcceptExpired = true
	case FaultRefuseNewLogin:
		f.RefuseNewLogin = true
	case FaultSlowLogin:
		f.SlowLogin = true
	case FaultLoseSessionOnRestart:
		f.LoseSessionOnRestart = true
	}
}

// Has reports whether a fault is on.
func (f *Faults) Has(x Fault) bool {
	switch x {
	case FaultWrongVictim:
		return f.WrongVictim
	case FaultKickNotDelivered:
		return f.KickNotDelivered
	case FaultLimitNotEnforced:
		return f.LimitNotEnforced
	case FaultLateKick:
		return f.LateKick
	case FaultStaleOnlineStatus:
		return f.StaleOnlineStatus
	case FaultAcceptExpired:
		return f.AcceptExpired
	case FaultRefuseNewLogin:
		return f.RefuseNewLogin
	case FaultSlowLogin:
		return f.SlowLogin
	case FaultLoseSessionOnRestart:
		return f.LoseSessionOnRestart
	}
	return false
}

// Names lists the faults that are on.
func (f *Faults) Names() []string {
	var out []string
	for _, n := range FaultNames() {
		if f.Has(Fault(n)) {
			out = append(out, n)
		}
	}
	return out
}

// ParseFaults turns a list of names into a Faults set. slow-login takes
// parameters: "slow-login=5ms" delays every login by 5ms,
// "slow-login=5ms@25%" a quarter of them.
func ParseFaults(names []string) (Faults, error) {
	var f Faults
	for _, n := range names {
		name, param, hasParam := strings.Cut(n, "=")
		x, err := ParseFault(name)
		if err != nil {
			return Faults{}, err
		}
		if hasParam {
			if x != FaultSlowLogin {
				return Faults{}, fmt.Errorf("fault %q takes no parameter (only %s=DELAY[@SHARE%%] does)", n, FaultSlowLogin)
			}
			if err := f.slowLoginParams(param); err != nil {
				return Faults{}, fmt.Errorf("fault %q: %w", n, err)
			}
		}
		f.Enable(x)
	}
	return f, nil
}

// slowLoginParams reads "DELAY" or "DELAY@SHARE%".
func (f *Faults) slowLoginParams(p string) error {
	d, share, hasShare := strings.Cut(strings.TrimSpace(p), "@")
	delay, err := time.ParseDuration(d)
	if err != nil || delay <= 0 {
		return fmt.Errorf("want a positive delay such as 5ms, got %q", d)
	}
	f.SlowLoginDelay = delay
	if hasShare {
		num, ok := strings.CutSuffix(share, "%")
		v, err := strconv.ParseFloat(num, 64)
		if !ok || err != nil || !(v > 0 && v <= 100) {
			return fmt.Errorf("want a share from 0%% (excluded) to 100%% such as 25%%, got %q", share)
		}
		f.SlowLoginShare = v / 100
	}
	return nil
}

// FaultStats is one armed fault's record: how often it changed what the
// server did, and, when it never did, why it found nothing to change (the
// run then did not exercise the check the fault exists to prove).
type FaultStats struct {
	Name  string // as faults.Names spells it
	Fired uint64 // times the fault made the server answer otherwise
	// Why says why a fault never fired ("" once it has).
	Why string
}

// faultCounters count, per fault in the order of faults.All, the times it
// fired, and beside them what tells why one never did.
type faultCounters struct {
	fired [len(faultOrder)]atomic.Uint64
	// displacements: logins that pushed a session out under wrong-victim;
	// kicksDetached: multi-device kicks of a session without a transport;
	// wouldDisplace: logins that the policy would have refused or made
	// displace someone, under limit-not-enforced or refuse-new-login;
	// ghosts: ended sessions that stale-online-status kept.
	displacements, kicksDetached, wouldDisplace, ghosts atomic.Uint64
}

// faultOrder is faults.All as an array, so that counters can be sized by
// it (TestFaultOrderIsTheList keeps the two the same).
var faultOrder = [...]Fault{FaultWrongVictim, FaultKickNotDelivered, FaultLimitNotEnforced, FaultLateKick,
	FaultStaleOnlineStatus, FaultAcceptExpired, FaultRefuseNewLogin, FaultSlowLogin, FaultLoseSessionOnRestart}

// fire counts one firing of fault x.
func (c *faultCounters) fire(x Fault) {
	for i, f := range faultOrder {
		if f == x {
			c.fired[i].Add(1)
			return
		}
	}
}

// FaultStats returns the record of every armed fault, in the order of
// faults.Names (none when no fault is armed).
func (s *Server) FaultStats() []FaultStats {
	var out []FaultStats
	c := &s.ctr.faults
	for i, x := range faultOrder {
		if !s.cfg.Faults.Has(x) {
			continue
		}
		fs := FaultStats{Name: string(x), Fired: c.fired[i].Load()}
		if fs.Fired == 0 {
			fs.Why = s.whyNotFired(x)
		}
		out = append(out, fs)
	}
	return out
}

// whyNotFired says why fault x, armed, never fired, from what the server
// saw instead.
func (s *Server) whyNotFired(x Fault) string {
	c := &s.ctr.faults
	kicks := s.ctr.kicks.Load()
	switch x {
	case FaultWrongVictim:
		if c.displacements.Load() == 0 {
			return "no login displaced a session"
		}
		return fmt.Sprintf("no login had a second candidate: each of the %d displacements found one session of the victim's platform", c.displacements.Load())
	case FaultKickNotDelivered, FaultLateKick:
		if kicks == 0 {
			return "no login displaced a session"
		}
		return "every session a login displaced had lost its transport already"
	case FaultLimitNotEnforced, FaultRefuseNewLogin:
		return "no login would have displaced a session"
	case FaultStaleOnlineStatus:
		if c.ghosts.Load() == 0 {
			return "no session ended"
		}
		return fmt.Sprintf("no online-status read came within %s of a session's end", s.cfg.Faults.StaleFor)
	case FaultAcceptExpired:
		return "no ticket was presented or held past its expiry"
	case FaultSlowLogin:
		return "no login reached the server"
	case FaultLoseSessionOnRestart:
		if s.ctr.restarts.Load() == 0 {
			return "the server never restarted (no restart_server event)"
		}
		return "no session was logged in at a restart"
	}
	return ""
}
