// Package event is the one shape of data that flows from devices to the
// recorder, the history checker and the live view: what a simulated device
// did and saw, with timestamps. It imports only policy.
package event

import (
	"time"

	"github.com/imload/imload/policy"
)

// Kind says what happened.
type Kind uint8

const (
	// Operations a device performs; each ends with an Outcome.
	Connect Kind = iota + 1 // transport connect + hello
	Login
	Logout
	Resume
	Heartbeat
	// Things a device is told or suffers.
	Kicked      // kicked_offline received; Latency is displacement → notice when known
	SigExpired  // user_sig_expired received while online
	Disconnect  // transport lost (network flap, server close)
	AppKill     // device closed the app without logout
	SwitchUser  // account switch on the same device (before the new login)
	Misbehaving // a deliberately wrong client action (login storm etc.)
	// OnlineAtEnd: the run ended (scenario end: cut) while the device was
	// online; it closed its connection without a logout. Not an app kill:
	// the device did not choose to leave.
	OnlineAtEnd

	// LastKind is the last kind: loops over the kinds that devices suffer
	// or do run from Kicked to LastKind.
	LastKind = OnlineAtEnd
)

var kindNames = [...]string{"", "connect", "login", "logout", "resume", "heartbeat",
	"kicked", "sig_expired", "disconnect", "app_kill", "switch_user", "misbehaving", "online_at_end"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// IsOp reports whether k is an operation with an outcome and latency.
func (k Kind) IsOp() bool { return k >= Connect && k <= Heartbeat }

// Outcome of an operation.
type Outcome uint8

const (
	OK       Outcome = iota + 1
	Failed           // the target answered with a non-zero code, or the transport failed
	TimedOut         // no answer within the operation timeout
	// Cancelled: the run's end (or an interrupt) cut the operation off
	// before it had an outcome; the target may have done it. In no error
	// rate: attempted = ok + failed + timed_out + cancelled.
	Cancelled
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case TimedOut:
		return "timed_out"
	case Cancelled:
		return "cancelled"
	}
	return ""
}

// Event is one thing a device did or saw.
type Event struct {
	Kind     Kind
	Outcome  Outcome // operations only
	UserID   string
	Device   string // the device's instance ID (stable across its logins)
	Platform policy.Platform
	// Intended is when the operation was meant to start (open model: its
	// scheduled arrival); Start when it really started; At when it ended or
	// when the notice arrived.
	Intended time.Time
	Start    time.Time
	At       time.Time
	// Latency is At - Intended for operations (so a slow target shows as
	// latency, not as fewer requests); for Kicked it is displacement → notice.
	Latency time.Duration
	Code    int    // target's error code (0 on success)
	Seq     uint64 // server's per-user login sequence (Login ok, Kicked: victim's)
	// Kicked: who displaced this device.
	BySeq      uint64
	ByPlatform policy.Platform
	ByInstance string
	Repeat     bool // login answered with repeat_login
	// ServerTime is the target's clock when it accepted a login (Login ok:
	// server_time_ms of login_result), zero when the target gives none. The
	// kickout oracle measures kick latency from it.
	ServerTime time.Time
	Note       string // free text for examples (e.g. "login storm")
	// Reason is why an operation did not succeed (Outcome other than OK):
	// the target's message or the driver's error, with what differs from
	// one device to the next (user, instance, frame ids, source addresses)
	// taken out, so that equal causes count together. Empty on success:
	// nothing is built for an operation that succeeds.
	Reason string
}

// Sink receives events. Implementations must be safe for concurrent use.
type Sink interface {
	Observe(e *Event)
}

// Sinks fans one event out to several sinks.
type Sinks []Sink

func (s Sinks) Observe(e *Event) {
	for _, k := range s {
		k.Observe(e)
	}
}
