package server

import (
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
)

// FaultNames lists every fault name, in a fixed order (faults.Names).
func FaultNames() []string { return faults.Names() }

// ParseFault accepts a fault name (any letter case, '_' for '-').
func ParseFault(name string) (Fault, error) { return faults.Parse(name) }

// Faults is the set of injected faults; the zero value injects none.
type Faults struct {
	WrongVictim, KickNotDelivered, LimitNotEnforced, LateKick, StaleOnlineStatus, AcceptExpired, RefuseNewLogin bool
	// LateKickDelay is the delay of late-kick (default 2s).
	LateKickDelay time.Duration
	// StaleFor is how long stale-online-status keeps reporting an ended
	// session (default 10s).
	StaleFor time.Duration
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

// ParseFaults turns a list of names into a Faults set.
func ParseFaults(names []string) (Faults, error) {
	var f Faults
	for _, n := range names {
		x, err := ParseFault(n)
		if err != nil {
			return Faults{}, err
		}
		f.Enable(x)
	}
	return f, nil
}
