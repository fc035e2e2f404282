package scenario

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Reconnect is behaviour.reconnect: how a device comes back after it lost
// its connection (a server restart, a network drop, a partition noticed by
// a failed heartbeat) or was told "not now" by a protection of the target
// (codes.RetryLater). Without it a device reconnects once, at once, as
// before. Which answers are retried and which need a new ticket stays the
// SDK's rule (SPEC.md section 4): only the wait between attempts is the
// policy's.
type Reconnect struct {
	// Preset fills the fields the scenario leaves out with a documented
	// client default (ReconnectPresets; docs/STORMS.md cites the sources).
	Preset string `yaml:"preset,omitempty" json:"preset,omitempty"`
	// Backoff: fixed, exponential, full_jitter or decorrelated_jitter.
	Backoff string `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	// Base is the first wait (fixed: every wait); Max caps every wait.
	Base Duration `yaml:"base,omitempty" json:"base,omitempty"`
	Max  Duration `yaml:"max,omitempty" json:"max,omitempty"`
	// Jitter is the relative spread of fixed and exponential waits: a wait
	// w becomes uniform in [w·(1-jitter), w·(1+jitter)] (still capped by
	// Max). 0: none.
	Jitter float64 `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// FirstHeartbeatJitter spreads a session's first heartbeat: it comes
	// after heartbeat·(1 - f·u), u uniform in [0, 1) (1: anywhere in the
	// first interval, as Discord's gateway asks).
	FirstHeartbeatJitter float64 `yaml:"first_heartbeat_jitter,omitempty" json:"first_heartbeat_jitter,omitempty"`
	// Attempts bounds the attempts of one outage (0: until the session's
	// hold ends or the run does).
	Attempts int `yaml:"attempts,omitempty" json:"attempts,omitempty"`
}

// Backoff kinds.
const (
	BackoffFixed        = "fixed"
	BackoffExponential  = "exponential"
	BackoffFullJitter   = "full_jitter"
	BackoffDecorrelated = "decorrelated_jitter"
)

// BackoffKinds lists the backoff kinds.
var BackoffKinds = []string{BackoffFixed, BackoffExponential, BackoffFullJitter, BackoffDecorrelated}

// ReconnectPresets are reconnect policies modelled on documented client
// defaults (docs/STORMS.md gives each source):
//   - paho: Eclipse Paho MQTT C, automatic reconnect: the wait doubles from
//     minRetryInterval 1 s to maxRetryInterval 60 s, no jitter;
//   - hivemq: HiveMQ MQTT client, automatic reconnect: doubles from 1 s to
//     2 min with ±25% jitter;
//   - socketio: Socket.IO client: reconnectionDelay 1 s,
//     reconnectionDelayMax 5 s, randomizationFactor 0.5;
//   - aws_full_jitter: "full jitter" of the AWS Architecture Blog's
//     Exponential Backoff And Jitter: uniform in [0, min(cap, base·2^n)],
//     base 1 s, cap 60 s;
//   - aws_decorrelated: "decorrelated jitter" of the same article:
//     min(cap, uniform(base, 3·previous)), base 1 s, cap 60 s.
var ReconnectPresets = map[string]Reconnect{
	"paho":             {Backoff: BackoffExponential, Base: Duration(time.Second), Max: Duration(time.Minute)},
	"hivemq":           {Backoff: BackoffExponential, Base: Duration(time.Second), Max: Duration(2 * time.Minute), Jitter: 0.25},
	"socketio":         {Backoff: BackoffExponential, Base: Duration(time.Second), Max: Duration(5 * time.Second), Jitter: 0.5},
	"aws_full_jitter":  {Backoff: BackoffFullJitter, Base: Duration(time.Second), Max: Duration(time.Minute)},
	"aws_decorrelated": {Backoff: BackoffDecorrelated, Base: Duration(time.Second), Max: Duration(time.Minute)},
}

// ReconnectPresetNames lists the presets, sorted.
func ReconnectPresetNames() []string {
	out := make([]string, 0, len(ReconnectPresets))
	for n := range ReconnectPresets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Reconnect defaults for fields neither the scenario nor a preset gives.
const (
	DefaultReconnectBackoff = BackoffExponential
	DefaultReconnectBase    = time.Second
	DefaultReconnectMax     = time.Minute
)

// ApplyReconnectPreset makes r the preset name with r's explicit fields
// over it (a CLI override of behaviour.reconnect.preset uses it too).
func ApplyReconnectPreset(r *Reconnect, name string, given func(field string) bool) {
	p, ok := ReconnectPresets[name]
	if !ok {
		return
	}
	r.Preset = name
	if !given("backoff") {
		r.Backoff = p.Backoff
	}
	if !given("base") {
		r.Base = p.Base
	}
	if !given("max") {
		r.Max = p.Max
	}
	if !given("jitter") {
		r.Jitter = p.Jitter
	}
}

// reconnectDefaults fills behaviour.reconnect from its preset and the
// defaults.
func reconnectDefaults(r *Reconnect, given func(path string, nonZero bool) bool) {
	if r == nil {
		return
	}
	const at = "behaviour.reconnect."
	if r.Preset != "" {
		ApplyReconnectPreset(r, r.Preset, func(f string) bool {
			switch f {
			case "backoff":
				return given(at+f, r.Backoff != "")
			case "base":
				return given(at+f, r.Base != 0)
			case "max":
				return given(at+f, r.Max != 0)
			}
			return given(at+f, r.Jitter != 0)
		})
	}
	if r.Backoff == "" {
		r.Backoff = DefaultReconnectBackoff
	}
	if r.Base == 0 {
		r.Base = Duration(DefaultReconnectBase)
	}
	if r.Max == 0 {
		r.Max = max(Duration(DefaultReconnectMax), r.Base)
	}
}

func (v *validator) reconnect() {
	r := v.s.Behaviour.Reconnect
	if r == nil {
		return
	}
	const at = "behaviour.reconnect."
	if r.Preset != "" {
		if _, ok := ReconnectPresets[r.Preset]; !ok {
			v.errf(at+"preset", "unknown preset %q (allowed: %s)", r.Preset, strings.Join(ReconnectPresetNames(), ", "))
		}
	}
	if r.Backoff != "" && !slices.Contains(BackoffKinds, r.Backoff) {
		v.errf(at+"backoff", "unknown backoff %q (allowed: %s)", r.Backoff, strings.Join(BackoffKinds, ", "))
	}
	v.positiveDuration(at+"base", r.Base)
	v.positiveDuration(at+"max", r.Max)
	if r.Base > 0 && r.Max > 0 && r.Max < r.Base {
		v.errf(at+"max", "must be >= base (%s), got %s", r.Base, r.Max)
	}
	if r.Jitter < 0 || r.Jitter > 1 {
		v.errf(at+"jitter", "must be a fraction from 0 to 1, got %g", r.Jitter)
	}
	v.probability(at+"first_heartbeat_jitter", r.FirstHeartbeatJitter)
	if r.Attempts < 0 {
		v.errf(at+"attempts", "must be >= 0, got %d", r.Attempts)
	}
}

// reconnectDocs documents behaviour.reconnect for the JSON Schema.
func reconnectDocs() map[string]fieldDoc {
	return map[string]fieldDoc{
		"behaviour.reconnect":                        {desc: "How a device comes back after losing its connection (a server restart, a network drop, a partition noticed by a failed heartbeat) or after a protection's \"not now\" answer (1009, 1010, 1011, 1007): it waits per this policy between attempts. Without it a device reconnects once, at once. Which answers are retried, and which need a new ticket, stays the SDK's rule (SPEC.md section 4). See docs/STORMS.md."},
		"behaviour.reconnect.preset":                 {desc: "A documented client default whose values fill the fields left out: " + strings.Join(ReconnectPresetNames(), ", ") + " (sources in docs/STORMS.md).", extra: map[string]any{"enum": ReconnectPresetNames()}},
		"behaviour.reconnect.backoff":                {desc: "fixed: every wait is base; exponential: base·2^n capped by max; full_jitter: uniform in [0, min(max, base·2^n)]; decorrelated_jitter: min(max, uniform(base, 3·previous wait)).", def: DefaultReconnectBackoff, extra: map[string]any{"enum": BackoffKinds}},
		"behaviour.reconnect.base":                   {desc: "The first wait (fixed: every wait), > 0.", def: Duration(DefaultReconnectBase).String()},
		"behaviour.reconnect.max":                    {desc: "The cap of every wait, >= base.", def: Duration(DefaultReconnectMax).String()},
		"behaviour.reconnect.jitter":                 {desc: "Relative spread of fixed and exponential waits: a wait w becomes uniform in [w·(1-jitter), w·(1+jitter)], capped by max. 0: none.", extra: probability},
		"behaviour.reconnect.first_heartbeat_jitter": {desc: "Spread of a session's first heartbeat: it comes after heartbeat·(1 - f·u), u uniform in [0, 1). 1: anywhere in the first interval (Discord's gateway).", extra: probability},
		"behaviour.reconnect.attempts":               {desc: "Attempts of one outage at most; 0: until the session's hold ends or the run does.", extra: nonNegative},
	}
}
