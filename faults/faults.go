// Package faults is the one list of the reference server's injectable
// faults: deliberately wrong behaviours, each there to prove that the
// kickout oracle detects it. Scenario validation, the scenario schema, the
// CLI and the server all read this list; it imports nothing of imload.
package faults

import (
	"fmt"
	"strings"
)

// Fault names one deliberately wrong behaviour of the server.
type Fault string

const (
	// WrongVictim kicks the newest conflicting instance of the victim's
	// platform instead of the earliest.
	WrongVictim Fault = "wrong-victim"
	// KickNotDelivered removes the victim but sends no push and leaves its
	// connection open.
	KickNotDelivered Fault = "kick-not-delivered"
	// LimitNotEnforced never kicks anyone.
	LimitNotEnforced Fault = "limit-not-enforced"
	// LateKick delivers the kicked_offline push late.
	LateKick Fault = "late-kick"
	// StaleOnlineStatus keeps ended sessions in the online status for a
	// while.
	StaleOnlineStatus Fault = "stale-online-status"
	// AcceptExpired accepts expired tickets (never answers 70001).
	AcceptExpired Fault = "accept-expired"
	// RefuseNewLogin refuses a login that would displace a session (answers
	// 1008, keeps the sessions online) instead of kicking, whatever the
	// policy's on_conflict says.
	RefuseNewLogin Fault = "refuse-new-login"
	// SlowLogin delays a share of the logins before answering
	// (slow-login=DELAY[@SHARE%]): a known slowdown for comparing runs.
	SlowLogin Fault = "slow-login"
	// LoseSessionOnRestart ends every session silently when the server
	// restarts, although they should stay resumable for the resume window:
	// a resume then answers 1006 and the device must log in anew.
	LoseSessionOnRestart Fault = "lose-session-on-restart"
)

// all is every fault, in the fixed order Names gives.
var all = [...]Fault{WrongVictim, KickNotDelivered, LimitNotEnforced, LateKick, StaleOnlineStatus, AcceptExpired, RefuseNewLogin, SlowLogin, LoseSessionOnRestart}

// All returns every fault, in a fixed order.
func All() []Fault { return append([]Fault(nil), all[:]...) }

// Names returns every fault name, in the order of All.
func Names() []string {
	out := make([]string, len(all))
	for i, f := range all {
		out[i] = string(f)
	}
	return out
}

// Valid reports whether name is a fault name exactly as Names spells it.
func Valid(name string) bool {
	for _, f := range all {
		if string(f) == name {
			return true
		}
	}
	return false
}

// Parse accepts a fault name in any letter case, with '_' for '-'.
func Parse(name string) (Fault, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	if Valid(n) {
		return Fault(n), nil
	}
	return "", fmt.Errorf("unknown fault %q (allowed: %s)", name, strings.Join(Names(), ", "))
}
