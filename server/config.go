package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// Version is the server_version sent in hello_ok.
const Version = "imload-reference/1"

// Defaults of Config.
const (
	DefaultResumeWindow     = 30 * time.Second
	DefaultIdleTimeout      = 400 * time.Second // Tencent: no heartbeat for 400 s
	DefaultHeartbeat        = 2 * time.Minute   // the SDK's heartbeat interval
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultFailureLimit     = 10
	DefaultFailureWindow    = time.Minute
	DefaultFailureBlock     = time.Minute
	DefaultSendQueue        = 64
	DefaultLateKickDelay    = 2 * time.Second
	DefaultStaleFor         = 10 * time.Second
	DefaultSlowLoginDelay   = 20 * time.Millisecond
)

// Config configures a Server. SDKAppID and Key are required; everything else
// has a default.
type Config struct {
	SDKAppID uint64
	Key      []byte
	// Admin is the administrator identity of the REST API.
	Admin string
	// Policy is the multi-device login policy (default: single-platform, one
	// instance per platform).
	Policy *policy.Policy
	// Clock is the time source (default clock.Real).
	Clock clock.Clock

	// TicketCache is how many verified tickets the server remembers, so
	// that a ticket used again is not verified again (default
	// DefaultTicketCache; a month simulation sets its population, whose
	// every user logs in again and again with one ticket).
	TicketCache int

	// ResumeWindow is how long a session whose transport dropped stays
	// registered and resumable (default 30s; negative: not at all).
	ResumeWindow time.Duration
	// IdleTimeout closes a connection that sent no frame for this long
	// (default 400s).
	IdleTimeout time.Duration
	// Heartbeat is the ping interval advertised in hello_ok (default 2m).
	Heartbeat time.Duration
	// HandshakeTimeout closes a connection that sent no hello (default 10s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one socket write, in wall time (default 10s).
	WriteTimeout time.Duration

	// Day is the length of a calendar day for the statistics (default 24h;
	// MAU runs compress it).
	Day time.Duration
	// Epoch is where calendar day 0 starts (default: the last midnight in
	// UTC+8, Beijing time, at or before the clock's time at New).
	Epoch time.Time

	// Faults injects deliberate misbehaviour; all off by default.
	Faults Faults
	// Service is the service model (login cost, workers, a bound on the
	// sessions); off by default.
	Service Service

	// MaxFrameBytes bounds an inbound frame (default protocol.MaxFrameBytes).
	MaxFrameBytes int
	// FailureLimit is how many ticket failures (70003, 70009, 70013, 70014)
	// one source IP may have for one UserID within FailureWindow before its
	// logins are refused with 70050 for FailureBlock (default 10; negative:
	// no limit).
	FailureLimit  int
	FailureWindow time.Duration
	FailureBlock  time.Duration
	// SendQueue is how many pushes may wait for a slow connection before it
	// is closed (default 64).
	SendQueue int

	// WebhookURL, when set, receives a State.StateChange callback for every
	// login, logout and disconnect (http:// or https://; SPEC.md section 7).
	WebhookURL string
	// Webhook tunes the callback sender (queue, workers, retries).
	Webhook WebhookOptions
	// Protect holds the protections against storms, all off by default
	// (storm.go).
	Protect Protect
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.SDKAppID == 0 {
		return out, errors.New("server: Config.SDKAppID is required")
	}
	if len(out.Key) == 0 {
		return out, errors.New("server: Config.Key is required (the app's secret key)")
	}
	if out.Policy == nil {
		pol, err := policy.Tencent(policy.SinglePlatform, 1, 1)
		if err != nil {
			return out, fmt.Errorf("server: default policy: %w", err)
		}
		out.Policy = pol
	}
	if out.Clock == nil {
		out.Clock = clock.Real{}
	}
	if out.Admin == "" {
		out.Admin = "administrator"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&out.ResumeWindow, DefaultResumeWindow)
	def(&out.IdleTimeout, DefaultIdleTimeout)
	def(&out.Heartbeat, DefaultHeartbeat)
	def(&out.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&out.WriteTimeout, DefaultWriteTimeout)
	def(&out.Day, 24*time.Hour)
	def(&out.FailureWindow, DefaultFailureWindow)
	def(&out.FailureBlock, DefaultFailureBlock)
	def(&out.Faults.LateKickDelay, DefaultLateKickDelay)
	def(&out.Faults.StaleFor, DefaultStaleFor)
	def(&out.Faults.SlowLoginDelay, DefaultSlowLoginDelay)
	if out.Day < 0 || out.IdleTimeout < 0 || out.HandshakeTimeout < 0 || out.WriteTimeout < 0 {
		return out, errors.New("server: Day, IdleTimeout, HandshakeTimeout and WriteTimeout must be positive")
	}
	if err := out.Service.check(); err != nil {
		return out, err
	}
	if out.MaxFrameBytes <= 0 {
		out.MaxFrameBytes = protocol.MaxFrameBytes
	}
	if out.FailureLimit == 0 {
		out.FailureLimit = DefaultFailureLimit
	}
	if out.SendQueue <= 0 {
		out.SendQueue = DefaultSendQueue
	}
	return out, nil
}
