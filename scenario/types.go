package scenario

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is one YAML scenario file, after defaults are applied. Load and
// Parse apply a default only to a key the file leaves out (an explicit 0 or
// false stays); Prepare, for scenarios built in Go, fills zero fields.
type Scenario struct {
	// File is the path it was loaded from (not in YAML).
	File string `yaml:"-" json:"file,omitempty"`

	// Name shows in reports (default: the file name without extension).
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Seed makes the run reproducible; 0 means 1.
	Seed int64 `yaml:"seed" json:"seed"`

	Target     Target     `yaml:"target" json:"target"`
	Population Population `yaml:"population" json:"population"`
	// Platforms maps a platform name (any letter case) to its weight (> 0).
	// Weights need not sum to 1: after Load the names are canonical
	// (policy.Platforms) and the weights are normalised to sum to 1.
	// Default: Android 40, iPhone 30, Web 20, Windows 10.
	Platforms  map[string]float64 `yaml:"platforms" json:"platforms"`
	Phases     []Phase            `yaml:"phases" json:"phases"`
	Behaviour  Behaviour          `yaml:"behaviour" json:"behaviour"`
	Checks     Checks             `yaml:"checks" json:"checks"`
	Thresholds []string           `yaml:"thresholds" json:"thresholds"`
	// End says how the run ends at the end of the last phase for the
	// devices still in a session: EndCut (default), EndLogout or EndDrain.
	End string `yaml:"end" json:"end"`
	// EndGrace bounds the drain of end: drain (default 30s); then the
	// devices still online are cut.
	EndGrace Duration `yaml:"end_grace,omitempty" json:"end_grace,omitempty"`
	// ParsedThresholds are Thresholds parsed, in the same order (set by Load
	// and Prepare; not in YAML).
	ParsedThresholds []Threshold `yaml:"-" json:"-"`
	MAU              *MAU        `yaml:"mau,omitempty" json:"mau,omitempty"`
	// Events are storms on the timeline (events.go).
	Events []Event `yaml:"events,omitempty" json:"events,omitempty"`
	// Capacity, when set, searches the largest load the target sustains
	// within the thresholds instead of running the phases (capacity.go).
	Capacity *Capacity `yaml:"capacity,omitempty" json:"capacity,omitempty"`
	// Compare says how a run of this scenario is compared with a baseline
	// (compare.go).
	Compare *Compare `yaml:"compare,omitempty" json:"compare,omitempty"`
}

// Target names what the devices talk to.
type Target struct {
	// URL of a server speaking docs/PROTOCOL.md; empty: the embedded
	// reference server on a loopback port.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Driver: "ws" (default) or "inproc" (embedded only, no sockets).
	Driver string `yaml:"driver,omitempty" json:"driver,omitempty"`
	// SDKAppID of the app (default 1400000000).
	SDKAppID uint64 `yaml:"sdkappid" json:"sdkappid"`
	// The app's secret key: from an environment variable or a file (never
	// written into results). For the embedded server a key is generated when
	// neither is given.
	KeyEnv  string `yaml:"key_env,omitempty" json:"key_env,omitempty"`
	KeyFile string `yaml:"key_file,omitempty" json:"key_file,omitempty"`
	// Admin is the REST admin identity (default "administrator").
	Admin string `yaml:"admin,omitempty" json:"admin,omitempty"`
	// Timeout bounds each operation (default 5s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Policy of the embedded server: a Tencent policy name, a preset name, or
	// a path to a policy YAML file (relative to the scenario). The oracle
	// checks the target against this policy in every case. Default
	// dual-platform. Names are those of policy.Names.
	Policy       string `yaml:"policy,omitempty" json:"policy,omitempty"`
	Instances    int    `yaml:"instances,omitempty" json:"instances,omitempty"`
	WebInstances int    `yaml:"web_instances,omitempty" json:"web_instances,omitempty"`
	// Faults of the embedded server (fault injection, for testing the oracle).
	Faults []string `yaml:"faults,omitempty" json:"faults,omitempty"`
	// WebhookListen is the host:port where the run receives the target's
	// State.StateChange callbacks for the kickout oracle. For a target URL
	// the user points the server's callback there; the embedded server
	// sends to a loopback port of its own when this is empty.
	WebhookListen string `yaml:"webhook_listen,omitempty" json:"webhook_listen,omitempty"`
	// XMPPResource is the template of the XMPP resource each device binds
	// (driver xmpp only): {platform} and {instance} stand for the device's
	// platform and instance ID, and {instance} is required, since an XMPP
	// server replaces a session when another binds the same resource. Empty:
	// DefaultXMPPResource.
	XMPPResource string `yaml:"xmpp_resource,omitempty" json:"xmpp_resource,omitempty"`
	// PolicyFile is the path of the policy file when Policy names one,
	// resolved against the scenario's directory (set by Load; not in YAML).
	PolicyFile string `yaml:"-" json:"policy_file,omitempty"`
	// Protect holds the embedded server's storm protections (protect.go).
	Protect *Protect `yaml:"protect,omitempty" json:"protect,omitempty"`
	// Service is the embedded server's service model (capacity.go).
	Service *Service `yaml:"service,omitempty" json:"service,omitempty"`
}

// Population is the set of users the devices log in as.
type Population struct {
	Users int `yaml:"users" json:"users"`
	// IDPattern is a fmt pattern with one integer verb (default "user_%06d").
	IDPattern string `yaml:"id_pattern,omitempty" json:"id_pattern,omitempty"`
	// Start is the first index (default 0).
	Start int `yaml:"start,omitempty" json:"start,omitempty"`
}

// Model of a phase.
const (
	Open   = "open"   // arrivals per second, whatever the target does
	Closed = "closed" // a fixed number of concurrent devices
)

// Phase is one stage of load. Phases run in sequence.
type Phase struct {
	Name     string   `yaml:"name,omitempty" json:"name,omitempty"`
	Duration Duration `yaml:"duration" json:"duration"`
	Model    string   `yaml:"model" json:"model"` // open | closed
	// Open model: device arrivals per second, ramping linearly from Rate to
	// ToRate over the phase (ToRate 0: constant).
	Rate   float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	ToRate float64 `yaml:"to_rate,omitempty" json:"to_rate,omitempty"`
	// Closed model: concurrent devices, ramping from Devices to ToDevices.
	Devices   int `yaml:"devices,omitempty" json:"devices,omitempty"`
	ToDevices int `yaml:"to_devices,omitempty" json:"to_devices,omitempty"`
}

// Behaviour scripts what a device does once it has arrived.
type Behaviour struct {
	// Hold is how long a device stays logged in before leaving (default
	// exponential, mean 10s).
	Hold Dist `yaml:"hold" json:"hold"`
	// Think is the pause of a closed-model device between sessions, and
	// before a re-login after a kick (default constant 1s).
	Think Dist `yaml:"think" json:"think"`
	// LogoutRatio is the probability that leaving is a clean logout; the
	// rest are app kills (the transport closes, no logout is sent).
	// Default 0.9.
	LogoutRatio float64 `yaml:"logout_ratio" json:"logout_ratio"`
	// SwitchAccount is the probability that, while logged in, a device
	// switches to another user (implicit logout, new login) once.
	SwitchAccount float64 `yaml:"switch_account" json:"switch_account"`
	// Flap is the probability that a device loses its network once while
	// logged in; it reconnects after FlapDown (default constant 500ms) and
	// resumes (no new login).
	Flap     float64 `yaml:"flap" json:"flap"`
	FlapDown Dist    `yaml:"flap_down" json:"flap_down"`
	// TicketLifetime is the UserSig lifetime the devices get (default 24h).
	// Short lifetimes exercise expiry and refresh.
	TicketLifetime Duration `yaml:"ticket_lifetime" json:"ticket_lifetime"`
	// ReloginAfterKick: log in again after kicked_offline (default true, as
	// the SDK allows).
	ReloginAfterKick *bool `yaml:"relogin_after_kick,omitempty" json:"relogin_after_kick,omitempty"`
	// Heartbeat interval while online (default 0: none; the SDK uses 2m).
	Heartbeat Duration `yaml:"heartbeat,omitempty" json:"heartbeat,omitempty"`
	// Instance says which instance ID a device's sessions log in with:
	// InstancePerDevice (the default, as a real SDK keeps its instance ID
	// across app restarts: the sessions of a closed-model device slot are
	// one device, with one instance ID, platform and account, so a restart
	// after an app kill logs in again under the instance the server may
	// still hold) or InstancePerSession (every session a fresh instance, as
	// if the app were installed anew each time).
	Instance string `yaml:"instance" json:"instance"`
	// Misbehave makes some devices break the client rules, to test servers.
	Misbehave Misbehave `yaml:"misbehave,omitempty" json:"misbehave,omitempty"`
	// Reconnect is the reconnect policy (reconnect.go; nil: reconnect once,
	// at once).
	Reconnect *Reconnect `yaml:"reconnect,omitempty" json:"reconnect,omitempty"`
}

// Misbehave lists deliberately wrong client actions, each as the fraction of
// devices that do it. Runs that use them are reported as such.
type Misbehave struct {
	LoginStorm      float64 `yaml:"login_storm,omitempty" json:"login_storm,omitempty"`                   // several logins at once from one device
	LoginWhileLogin float64 `yaml:"login_while_logining,omitempty" json:"login_while_logining,omitempty"` // a second login while LOGINING
	RetryAnyError   float64 `yaml:"retry_any_error,omitempty" json:"retry_any_error,omitempty"`           // re-login on every error
}

// Checks configures the oracles.
type Checks struct {
	Kickout KickoutCheck `yaml:"kickout" json:"kickout"`
}

// KickoutCheck configures the kickout oracle.
type KickoutCheck struct {
	Enabled   *bool    `yaml:"enabled,omitempty" json:"enabled,omitempty"`       // default true
	Grace     Duration `yaml:"grace,omitempty" json:"grace,omitempty"`           // over-limit tolerance (default 1s)
	LateAfter Duration `yaml:"late_after,omitempty" json:"late_after,omitempty"` // a kick notice later than this is late (default 1s)
	Examples  int      `yaml:"examples,omitempty" json:"examples,omitempty"`     // examples kept per verdict (default 3)
}

// MAU is the mau section of a scenario (month simulation: compressed days,
// login strategies compared on the same population and seed, pricing). It
// is kept as YAML: the mau package decodes and validates it
// (mau.DecodeConfig), and Node's Line and Column, with Scenario.File, say
// where each problem is. A scenario with a mau section runs the month
// simulation instead of its phases.
type MAU struct {
	Node *yaml.Node `yaml:"-" json:"-"`
}

// decodeNode keeps the section's node; only its shape is checked here.
func (m *MAU) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.badAt(n, path, "expected a mapping of month-simulation settings (day, days, segments, strategies, pricing, ...), got %s", describe(n))
		return
	}
	m.Node = n
}

// MarshalJSON writes the section as the YAML says it.
func (m MAU) MarshalJSON() ([]byte, error) {
	if m.Node == nil {
		return []byte("{}"), nil
	}
	var v any
	if err := m.Node.Decode(&v); err != nil {
		return nil, fmt.Errorf("scenario: mau: %w", err)
	}
	return json.Marshal(v)
}

// Duration is a time.Duration written as "250ms", "2s", "1h".
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
