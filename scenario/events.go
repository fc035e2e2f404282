package scenario

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one entry of a scenario's events: a storm on the run's
// timeline (docs/STORMS.md). At counts from the start of the first phase.
type Event struct {
	At     Duration `yaml:"at" json:"at"`
	Action string   `yaml:"action" json:"action"`
	// Share of the devices it hits, in (0, 1]: drop_connections,
	// partition, expire_tickets.
	Share float64 `yaml:"share,omitempty" json:"share,omitempty"`
	// For is how long a partition or a surge lasts.
	For Duration `yaml:"for,omitempty" json:"for,omitempty"`
	// Rate is a surge's arrivals per second.
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Sessions says what a restart_server leaves of the sessions:
	// resumable (the default: each stays resumable for the server's resume
	// window) or lost (every session ends: devices must log in anew).
	Sessions string `yaml:"sessions,omitempty" json:"sessions,omitempty"`
	// Down is how long a restarted server refuses connections (default 0:
	// it takes them again at once).
	Down Duration `yaml:"down,omitempty" json:"down,omitempty"`
}

// Event actions.
const (
	ActionRestartServer   = "restart_server"
	ActionDropConnections = "drop_connections"
	ActionPartition       = "partition"
	ActionExpireTickets   = "expire_tickets"
	ActionSurge           = "surge"
)

// EventActions lists the actions.
var EventActions = []string{ActionRestartServer, ActionDropConnections, ActionPartition, ActionExpireTickets, ActionSurge}

// What a restart leaves of the sessions.
const (
	SessionsResumable = "resumable"
	SessionsLost      = "lost"
)

// total is the length of the phases.
func (v *validator) total() time.Duration {
	var t time.Duration
	for _, p := range v.s.Phases {
		t += p.Duration.D()
	}
	return t
}

func (v *validator) events() {
	total := v.total()
	for i, e := range v.s.Events {
		at := "events[" + strconv.Itoa(i) + "]"
		field := func(f string) string { return at + "." + f }
		if !slices.Contains(EventActions, e.Action) {
			v.errf(field("action"), "unknown action %q (allowed: %s)", e.Action, strings.Join(EventActions, ", "))
			continue
		}
		if e.At < 0 {
			v.errf(field("at"), "must be >= 0, got %s", e.At)
		} else if total > 0 && e.At.D() >= total {
			v.errf(field("at"), "must fall within the phases (they last %s), got %s", Duration(total), e.At)
		}
		needShare := e.Action == ActionDropConnections || e.Action == ActionPartition || e.Action == ActionExpireTickets
		needFor := e.Action == ActionPartition || e.Action == ActionSurge
		switch {
		case needShare && !(e.Share > 0 && e.Share <= 1):
			v.errf(field("share"), "%s needs a share of the devices in (0, 1], got %g", e.Action, e.Share)
		case !needShare && v.given(field("share"), e.Share != 0):
			v.keyErrf(field("share"), "%s takes no share (only %s, %s and %s do)", e.Action, ActionDropConnections, ActionPartition, ActionExpireTickets)
		}
		switch {
		case needFor && e.For <= 0:
			v.errf(field("for"), "%s needs a duration > 0 (for: 10s), got %s", e.Action, e.For)
		case !needFor && v.given(field("for"), e.For != 0):
			v.keyErrf(field("for"), "%s takes no for (only %s and %s do)", e.Action, ActionPartition, ActionSurge)
		}
		switch {
		case e.Action == ActionSurge && !(e.Rate > 0):
			v.errf(field("rate"), "surge needs a rate of arrivals per second > 0, got %g", e.Rate)
		case e.Action != ActionSurge && v.given(field("rate"), e.Rate != 0):
			v.keyErrf(field("rate"), "%s takes no rate (only surge does)", e.Action)
		}
		if e.Action == ActionRestartServer {
			if e.Sessions != "" && e.Sessions != SessionsResumable && e.Sessions != SessionsLost {
				v.errf(field("sessions"), "unknown value %q (allowed: %s, %s)", e.Sessions, SessionsResumable, SessionsLost)
			}
			v.nonNegDuration(field("down"), e.Down)
		} else {
			if v.given(field("sessions"), e.Sessions != "") {
				v.keyErrf(field("sessions"), "%s takes no sessions (only restart_server does)", e.Action)
			}
			if v.given(field("down"), e.Down != 0) {
				v.keyErrf(field("down"), "%s takes no down (only restart_server does)", e.Action)
			}
		}
		if e.Action == ActionExpireTickets && v.s.Target.URL != "" {
			v.errf(field("action"), "expire_tickets needs the embedded server (it pushes user_sig_expired); remove target.url")
		}
	}
}

// eventDefaults fills what an event leaves out.
func eventDefaults(s *Scenario) {
	for i := range s.Events {
		if e := &s.Events[i]; e.Action == ActionRestartServer && e.Sessions == "" {
			e.Sessions = SessionsResumable
		}
	}
}

// eventDocs documents events for the JSON Schema.
func eventDocs() map[string]fieldDoc {
	return map[string]fieldDoc{
		"events":          {desc: "Storms on the run's timeline (docs/STORMS.md): each acts once, at its time, and the run reports how the devices came back (results.json storms[])."},
		"events.at":       {desc: "When, counted from the start of the first phase; within the phases. Required."},
		"events.action":   {desc: "restart_server: the embedded server drops every connection at once (against target.url it runs the operator's --restart-cmd, only with --allow-exec); drop_connections: a share of the devices lose their network, no close frame; partition: a share of the devices' traffic is blackholed for a time, then heals; expire_tickets: the server pushes user_sig_expired to a share of the sessions at once; surge: a wave of extra arrivals. Required.", extra: map[string]any{"enum": EventActions}},
		"events.share":    {desc: "drop_connections, partition, expire_tickets: the share of the devices (sessions) hit, in (0, 1].", extra: map[string]any{"exclusiveMinimum": 0, "maximum": 1}},
		"events.for":      {desc: "partition: how long the blackhole lasts; surge: how long the wave lasts (> 0)."},
		"events.rate":     {desc: "surge: extra arrivals per second (> 0).", extra: positive},
		"events.sessions": {desc: "restart_server: resumable (each session stays resumable for the server's resume window) or lost (every session ends; devices log in anew).", def: SessionsResumable, extra: map[string]any{"enum": []string{SessionsResumable, SessionsLost}}},
		"events.down":     {desc: "restart_server: how long the restarted server refuses connections (>= 0)."},
	}
}
