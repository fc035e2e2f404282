package scenario

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imload/imload/faults"
	"github.com/imload/imload/judge"
	"github.com/imload/imload/policy"
	"gopkg.in/yaml.v3"
)

// Defaults, applied to fields a scenario leaves out.
const (
	DefaultSeed             = 1
	DefaultSDKAppID         = 1400000000
	DefaultDriver           = "ws"
	DefaultAdmin            = "administrator"
	DefaultTimeout          = 5 * time.Second
	DefaultPolicy           = policy.DualPlatform
	DefaultIDPattern        = "user_%06d"
	DefaultHoldMean         = 10 * time.Second // exponential
	DefaultThink            = time.Second      // constant
	DefaultLogoutRatio      = 0.9
	DefaultTicketLifetime   = 24 * time.Hour
	DefaultFlapDown         = 500 * time.Millisecond // constant
	DefaultReloginAfterKick = true
	DefaultKickoutEnabled   = true
	DefaultGrace            = time.Second
	DefaultLateAfter        = time.Second
	DefaultExamples         = 3
	DefaultInstance         = InstancePerDevice
	// DefaultEnd is how a run ends when the scenario does not say: cut, so
	// that the measured window is the phases and nothing more (no burst of
	// logouts in the last second, no extra time), with the devices still
	// online counted as online_at_end.
	DefaultEnd = EndCut
	// DefaultEndGrace bounds a drain: about three mean holds of the default
	// hold distribution.
	DefaultEndGrace = 30 * time.Second
	// DefaultXMPPResource is the XMPP resource template when a scenario
	// gives none: "Android-dev42" for instance dev42 on Android.
	DefaultXMPPResource = "{platform}-{instance}"
)

// Ends of a run (end): what the devices still in a session do when the last
// phase ends.
const (
	// EndCut: they close their connections at once, without a logout, and
	// are counted as online at the end (online_at_end), not as app kills;
	// operations in flight are cancelled.
	EndCut = "cut"
	// EndLogout: every device still online logs out cleanly.
	EndLogout = "logout"
	// EndDrain: no new session starts, and the sessions in progress play
	// their holds to the end (a logout or an app kill, as planned), for at
	// most end_grace; then the rest are cut.
	EndDrain = "drain"
)

// Ends lists the values of end.
func Ends() []string { return []string{EndCut, EndLogout, EndDrain} }

// Instance ID lifetimes (behaviour.instance).
const (
	InstancePerDevice  = "per_device"  // kept across the app restarts of a device
	InstancePerSession = "per_session" // a fresh instance ID for every session
)

// DefaultPlatforms is the platform mix of a scenario that gives none, as
// weights: Android 40, iPhone 30, Web 20, Windows 10.
func DefaultPlatforms() map[string]float64 {
	return map[string]float64{
		string(policy.Android): 40, string(policy.IPhone): 30,
		string(policy.Web): 20, string(policy.Windows): 10,
	}
}

// Faults returns the fault names target.faults accepts: the embedded
// server's faults (package faults).
func Faults() []string { return faults.Names() }

// MaxUserIDLen is the longest UserID in bytes (SPEC.md section 1).
const MaxUserIDLen = 32

// Prepare validates a Scenario built in Go, then normalises it as Load does
// (canonical platform names, weights summing to 1, parsed thresholds) and
// fills zero fields with the defaults (so an explicit 0 logout_ratio
// becomes 0.9 here; Load keeps it). Errors carry field paths but no
// positions.
func (s *Scenario) Prepare() error {
	d := newDecoder(s.File)
	v := &validator{s: s, pos: d, goMode: true}
	v.validate()
	if err := d.errs.finish(); err != nil {
		return err
	}
	applyDefaults(s, func(_ string, nonZero bool) bool { return nonZero })
	return nil
}

// validator checks a decoded Scenario and reports at the nodes the decoder
// recorded. In goMode (Prepare) there are no nodes, and a field counts as
// given when it is not zero.
type validator struct {
	s      *Scenario
	pos    *decoder
	goMode bool
}

// given reports whether the field at path was set.
func (v *validator) given(path string, nonZero bool) bool {
	if v.goMode {
		return nonZero
	}
	return v.pos.present(path)
}

func (v *validator) report(n *yaml.Node, path, format string, args ...any) {
	if v.pos.isBad(path) {
		return // its value did not decode: that error is enough
	}
	v.pos.errAt(n, path, format, args...)
}

// errf reports at the value of path (or the closest enclosing node).
func (v *validator) errf(path, format string, args ...any) {
	v.report(v.pos.node(path), path, format, args...)
}

// keyErrf reports at the key of path.
func (v *validator) keyErrf(path, format string, args ...any) {
	v.report(v.pos.keyNode(path), path, format, args...)
}

func (v *validator) probability(path string, p float64) {
	if p < 0 || p > 1 || math.IsNaN(p) {
		v.errf(path, "must be a probability from 0 to 1, got %g", p)
	}
}

func (v *validator) positiveDuration(path string, d Duration) {
	if v.given(path, d != 0) && d <= 0 {
		v.errf(path, "must be > 0, got %s", d)
	}
}

func (v *validator) nonNegDuration(path string, d Duration) {
	if d < 0 {
		v.errf(path, "must be >= 0, got %s", d)
	}
}

func (v *validator) dist(path string, d *Dist) {
	if !v.goMode {
		return // checked while decoding, at the nodes
	}
	if d.Kind == "" && d.Value < 0 {
		v.errf(path, "must be >= 0, got %s", d.Value)
	}
	if err := d.Validate(); err != nil {
		for _, e := range err.(*Errors).List {
			v.errf(joinPath(path, e.Field), "%s", e.Msg)
		}
	}
}

func (v *validator) validate() {
	s := v.s
	v.target()
	v.population()
	v.platforms()
	v.phases()
	b := &s.Behaviour
	v.dist("behaviour.hold", &b.Hold)
	v.dist("behaviour.think", &b.Think)
	v.dist("behaviour.flap_down", &b.FlapDown)
	if v.given("behaviour.logout_ratio", b.LogoutRatio != 0) {
		v.probability("behaviour.logout_ratio", b.LogoutRatio)
	}
	v.probability("behaviour.switch_account", b.SwitchAccount)
	v.probability("behaviour.flap", b.Flap)
	v.probability("behaviour.misbehave.login_storm", b.Misbehave.LoginStorm)
	v.probability("behaviour.misbehave.login_while_logining", b.Misbehave.LoginWhileLogin)
	v.probability("behaviour.misbehave.retry_any_error", b.Misbehave.RetryAnyError)
	switch b.Instance {
	case "", InstancePerDevice, InstancePerSession:
		if b.Instance == "" && v.given("behaviour.instance", false) {
			v.errf("behaviour.instance", "must not be empty (allowed: %s, %s)", InstancePerDevice, InstancePerSession)
		}
	default:
		v.errf("behaviour.instance", "unknown value %q (allowed: %s, %s)", b.Instance, InstancePerDevice, InstancePerSession)
	}
	v.positiveDuration("behaviour.ticket_lifetime", b.TicketLifetime)
	v.nonNegDuration("behaviour.heartbeat", b.Heartbeat)

	k := &s.Checks.Kickout
	v.nonNegDuration("checks.kickout.grace", k.Grace)
	v.positiveDuration("checks.kickout.late_after", k.LateAfter)
	if k.Examples < 0 {
		v.errf("checks.kickout.examples", "must be >= 0, got %d", k.Examples)
	}
	v.reconnect()
	v.protect()
	v.events()
	v.thresholds()
	v.end()
	v.mau()
	v.service()
	v.capacity()
	v.compare()
}

// end checks end and end_grace.
func (v *validator) end() {
	s := v.s
	if !slices.Contains(Ends(), s.End) && (s.End != "" || v.given("end", false)) {
		v.errf("end", "unknown value %q (allowed: %s)", s.End, strings.Join(Ends(), ", "))
	}
	if v.given("end_grace", s.EndGrace != 0) {
		switch {
		case s.EndGrace <= 0:
			v.errf("end_grace", "must be > 0, got %s", s.EndGrace)
		case s.End != EndDrain && !v.goMode:
			v.keyErrf("end_grace", "applies to end: drain only (end is %s)", cmp.Or(s.End, DefaultEnd))
		}
	}
}

func (v *validator) target() {
	t := &v.s.Target
	if t.URL != "" {
		u, err := url.Parse(t.URL)
		schemes := []string{"ws", "wss"}
		if d, ok := LookupDriver(t.Driver); ok && len(d.Schemes) > 0 {
			schemes = d.Schemes
		}
		if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
			v.errf("target.url", "must be a %s:// URL with a host, got %q", strings.Join(schemes, ":// or "), t.URL)
		}
		if t.KeyEnv == "" && t.KeyFile == "" {
			v.errf("target.url", "a target URL needs the app's secret key: set target.key_env or target.key_file")
		}
		if len(t.Faults) > 0 {
			v.errf("target.faults", "faults apply to the embedded server only; remove target.url or target.faults")
		}
	}
	if err := CheckDriver(t.Driver, t.URL != ""); err != nil {
		v.errf("target.driver", "%v", err)
	}
	if v.given("target.xmpp_resource", t.XMPPResource != "") {
		if t.Driver != DriverXMPP {
			v.keyErrf("target.xmpp_resource", "applies to driver xmpp only (driver is %s)", cmp.Or(t.Driver, DefaultDriver))
		} else if err := CheckXMPPResource(t.XMPPResource); err != nil {
			v.errf("target.xmpp_resource", "%v", err)
		}
	}
	if t.KeyEnv != "" && t.KeyFile != "" {
		v.errf("target.key_file", "give target.key_env or target.key_file, not both")
	}
	if v.given("target.admin", t.Admin != "") {
		if err := checkUserID(t.Admin); err != nil {
			v.errf("target.admin", "%v", err)
		}
	}
	v.positiveDuration("target.timeout", t.Timeout)
	if v.given("target.sdkappid", t.SDKAppID != 0) && t.SDKAppID == 0 {
		v.errf("target.sdkappid", "must be > 0 (default %d)", DefaultSDKAppID)
	}

	name := t.Policy
	if !v.given("target.policy", t.Policy != "") {
		name = DefaultPolicy
	}
	switch {
	case knownPolicy(name):
		if _, err := policy.Lookup(name, t.Instances, t.WebInstances); err != nil {
			at := "target.policy"
			if t.Instances != 0 {
				at = "target.instances"
			} else if t.WebInstances != 0 {
				at = "target.web_instances"
			}
			v.errf(at, "%v", err)
		}
	case looksLikePath(name) || isRegular(policyPath(v.s.File, name)):
		full, err := resolvePolicyFile(v.s.File, name)
		if err != nil {
			v.errf("target.policy", "%v", err)
		} else {
			t.PolicyFile = full
		}
		if t.Instances != 0 {
			v.keyErrf("target.instances", "a policy file sets its own limits; instances apply to named policies only")
		}
		if t.WebInstances != 0 {
			v.keyErrf("target.web_instances", "a policy file sets its own limits; web_instances apply to named policies only")
		}
	default:
		v.errf("target.policy", "unknown policy %q (allowed: %s, or a path to a policy file)",
			name, strings.Join(policy.Names(), ", "))
	}
	if t.WebhookListen != "" {
		host, port, err := net.SplitHostPort(t.WebhookListen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/?#") {
			v.errf("target.webhook_listen", "must be host:port such as 127.0.0.1:8088, got %q", t.WebhookListen)
		}
	}
	seen := map[string]int{}
	for i, f := range t.Faults {
		p := fmt.Sprintf("target.faults[%d]", i)
		if !faults.Valid(f) {
			v.errf(p, "unknown fault %q (allowed: %s)", f, strings.Join(faults.Names(), ", "))
		} else if j, ok := seen[f]; ok {
			v.errf(p, "fault %q given twice (first as target.faults[%d])", f, j)
		}
		seen[f] = i
	}
}

func (v *validator) population() {
	p := &v.s.Population
	if p.Users <= 0 {
		if v.given("population.users", p.Users != 0) {
			v.errf("population.users", "must be > 0, got %d", p.Users)
		} else {
			v.errf("population.users", "required: the number of users (> 0)")
		}
	}
	if p.Start < 0 {
		v.errf("population.start", "must be >= 0, got %d", p.Start)
	}
	pat := p.IDPattern
	if !v.given("population.id_pattern", pat != "") {
		pat = DefaultIDPattern
	}
	if err := checkIDPattern(pat); err != nil {
		v.errf("population.id_pattern", "%v", err)
		return
	}
	if p.Users > 0 && p.Start >= 0 {
		last := p.Start + p.Users - 1
		id := fmt.Sprintf(pat, last)
		if err := checkUserID(id); err != nil {
			v.errf("population.id_pattern", "the last user ID %q (index %d): %v", id, last, err)
		}
	}
}

// checkIDPattern checks that pat has exactly one integer verb and no other.
func checkIDPattern(pat string) error {
	const allowed = "(allowed: %d, %x, %X, %o, %b with flags and width, e.g. user_%06d)"
	verbs := 0
	for i := 0; i < len(pat); i++ {
		if pat[i] != '%' {
			continue
		}
		if i+1 < len(pat) && pat[i+1] == '%' {
			i++
			continue
		}
		j := i + 1
		for j < len(pat) && strings.IndexByte("+-# 0", pat[j]) >= 0 {
			j++
		}
		for j < len(pat) && pat[j] >= '0' && pat[j] <= '9' {
			j++
		}
		if j < len(pat) && pat[j] == '.' {
			j++
			for j < len(pat) && pat[j] >= '0' && pat[j] <= '9' {
				j++
			}
		}
		if j >= len(pat) {
			return fmt.Errorf("ends with an incomplete verb %q %s", pat[i:], allowed)
		}
		if strings.IndexByte("dxXob", pat[j]) < 0 {
			return fmt.Errorf("%q is not an integer verb %s", pat[i:j+1], allowed)
		}
		verbs++
		i = j
	}
	if verbs != 1 {
		return fmt.Errorf("needs exactly one integer verb, found %d in %q %s", verbs, pat, allowed)
	}
	return nil
}

// checkUserID applies the UserID rules: 1 to 32 bytes of printable ASCII.
func checkUserID(id string) error {
	if id == "" {
		return fmt.Errorf("a UserID must not be empty")
	}
	if len(id) > MaxUserIDLen {
		return fmt.Errorf("a UserID is at most %d bytes, this one is %d", MaxUserIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return fmt.Errorf("a UserID is printable ASCII (0x20 to 0x7e), byte %d is 0x%02x", i, id[i])
		}
	}
	return nil
}

func (v *validator) platforms() {
	s := v.s
	keys := make([]string, 0, len(s.Platforms))
	for k := range s.Platforms {
		keys = append(keys, k)
	}
	// Document order (by name when built in Go), so that of two spellings
	// of one platform the later one is reported.
	slices.SortFunc(keys, func(a, b string) int {
		ka, kb := v.pos.keys[joinPath("platforms", a)], v.pos.keys[joinPath("platforms", b)]
		if ka != nil && kb != nil && (ka.Line != kb.Line || ka.Column != kb.Column) {
			if ka.Line != kb.Line {
				return ka.Line - kb.Line
			}
			return ka.Column - kb.Column
		}
		return strings.Compare(a, b)
	})
	seen := map[policy.Platform]string{}
	norm := make(map[string]float64, len(keys))
	for _, k := range keys {
		path := joinPath("platforms", k)
		p, err := policy.ParsePlatform(k)
		if err != nil {
			v.keyErrf(path, "%v", err)
			continue
		}
		if other, ok := seen[p]; ok {
			v.keyErrf(path, "same platform as %q (names are case-insensitive)", other)
			continue
		}
		seen[p] = k
		w := s.Platforms[k]
		if !(w > 0) || math.IsInf(w, 0) {
			v.errf(path, "weight must be > 0, got %g", w)
			continue
		}
		norm[string(p)] = w
	}
	if len(norm) == len(keys) && len(keys) > 0 {
		s.Platforms = normalise(norm)
	}
}

// normalise scales weights to sum to 1.
func normalise(m map[string]float64) map[string]float64 {
	var sum float64
	for _, w := range m {
		sum += w
	}
	for k, w := range m {
		m[k] = w / sum
	}
	return m
}

func (v *validator) phases() {
	s := v.s
	if len(s.Phases) == 0 {
		if (s.MAU != nil || s.Capacity != nil) && !v.given("phases", false) {
			return // a month simulation or a capacity search needs no phases
		}
		if v.given("phases", false) {
			v.errf("phases", "must list at least one phase")
		} else {
			v.errf("phases", "required: at least one phase, e.g. {model: open, duration: 10s, rate: 50}")
		}
		return
	}
	names := map[string]int{}
	for i := range s.Phases {
		ph := &s.Phases[i]
		p := fmt.Sprintf("phases[%d]", i)
		if ph.Name != "" {
			if j, ok := names[ph.Name]; ok {
				v.errf(p+".name", "phase name %q already used by phases[%d]", ph.Name, j)
			}
			names[ph.Name] = i
		}
		switch {
		case ph.Duration > 0:
		case v.given(p+".duration", ph.Duration != 0):
			v.errf(p+".duration", "must be > 0, got %s", ph.Duration)
		default:
			v.errf(p+".duration", "required: how long the phase lasts, e.g. 30s")
		}
		for _, f := range []struct {
			key string
			val float64
		}{{"rate", ph.Rate}, {"to_rate", ph.ToRate}, {"devices", float64(ph.Devices)}, {"to_devices", float64(ph.ToDevices)}} {
			if f.val < 0 {
				v.errf(p+"."+f.key, "must be >= 0, got %g", f.val)
			}
		}
		switch ph.Model {
		case Open:
			if ph.Rate <= 0 && ph.ToRate <= 0 && ph.Rate >= 0 && ph.ToRate >= 0 {
				v.errf(p+".rate", "an open phase needs rate > 0 or to_rate > 0 (device arrivals per second)")
			}
			for _, k := range []string{"devices", "to_devices"} {
				if v.given(p+"."+k, k == "devices" && ph.Devices != 0 || k == "to_devices" && ph.ToDevices != 0) {
					v.keyErrf(p+"."+k, "not used by an open phase (allowed: rate, to_rate)")
				}
			}
		case Closed:
			if ph.Devices <= 0 && ph.ToDevices <= 0 && ph.Devices >= 0 && ph.ToDevices >= 0 {
				v.errf(p+".devices", "a closed phase needs devices > 0 or to_devices > 0 (concurrent devices)")
			}
			for _, k := range []string{"rate", "to_rate"} {
				if v.given(p+"."+k, k == "rate" && ph.Rate != 0 || k == "to_rate" && ph.ToRate != 0) {
					v.keyErrf(p+"."+k, "not used by a closed phase (allowed: devices, to_devices)")
				}
			}
		case "":
			v.errf(p+".model", "required (allowed: open, closed)")
		default:
			v.errf(p+".model", "unknown model %q (allowed: open, closed)", ph.Model)
		}
	}
}

func (v *validator) thresholds() {
	s := v.s
	s.ParsedThresholds = nil
	for i, expr := range s.Thresholds {
		t, err := ParseThreshold(expr)
		if err != nil {
			v.errf(fmt.Sprintf("thresholds[%d]", i), "%v", err)
			continue
		}
		if t.Ref.Metric.Source == judge.FromCapacity && s.Capacity == nil {
			v.errf(fmt.Sprintf("thresholds[%d]", i), "%s is a capacity search's answer: it needs a capacity section", t.Metric)
			continue
		}
		s.ParsedThresholds = append(s.ParsedThresholds, t)
	}
}

func (v *validator) mau() {
	if v.s.MAU != nil && v.s.Target.URL != "" {
		v.errf("target.url", "a scenario with a mau section runs against the embedded server (every strategy on a fresh one); remove target.url or the mau section")
	}
}

// applyDefaults fills the fields that were not given.
func applyDefaults(s *Scenario, given func(path string, nonZero bool) bool) {
	if s.Name == "" && s.File != "" {
		base := filepath.Base(s.File)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if s.Seed == 0 {
		s.Seed = DefaultSeed
	}
	if s.End == "" {
		s.End = DefaultEnd
	}
	if s.EndGrace == 0 {
		s.EndGrace = Duration(DefaultEndGrace)
	}
	t := &s.Target
	if t.SDKAppID == 0 {
		t.SDKAppID = DefaultSDKAppID
	}
	if t.Driver == "" {
		t.Driver = DefaultDriver
		if s.MAU != nil {
			t.Driver = DriverInproc // a month of a large population needs no sockets
		}
	}
	if t.Admin == "" {
		t.Admin = DefaultAdmin
	}
	if t.Timeout == 0 {
		t.Timeout = Duration(DefaultTimeout)
	}
	if t.Policy == "" {
		t.Policy = DefaultPolicy
	}
	if s.Population.IDPattern == "" {
		s.Population.IDPattern = DefaultIDPattern
	}
	if len(s.Platforms) == 0 {
		s.Platforms = normalise(DefaultPlatforms())
	}
	b := &s.Behaviour
	if !given("behaviour.hold", distSet(&b.Hold)) {
		b.Hold = Dist{Kind: DistExponential, Mean: Duration(DefaultHoldMean)}
	}
	if !given("behaviour.think", distSet(&b.Think)) {
		b.Think = Constant(DefaultThink)
	}
	if !given("behaviour.flap_down", distSet(&b.FlapDown)) {
		b.FlapDown = Constant(DefaultFlapDown)
	}
	if !given("behaviour.logout_ratio", b.LogoutRatio != 0) {
		b.LogoutRatio = DefaultLogoutRatio
	}
	if !given("behaviour.ticket_lifetime", b.TicketLifetime != 0) {
		b.TicketLifetime = Duration(DefaultTicketLifetime)
	}
	if b.Instance == "" {
		b.Instance = DefaultInstance
	}
	if b.ReloginAfterKick == nil {
		b.ReloginAfterKick = ptr(DefaultReloginAfterKick)
	}
	reconnectDefaults(b.Reconnect, given)
	protectDefaults(s.Target.Protect)
	eventDefaults(s)
	k := &s.Checks.Kickout
	if k.Enabled == nil {
		k.Enabled = ptr(DefaultKickoutEnabled)
	}
	if !given("checks.kickout.grace", k.Grace != 0) {
		k.Grace = Duration(DefaultGrace)
	}
	if !given("checks.kickout.late_after", k.LateAfter != 0) {
		k.LateAfter = Duration(DefaultLateAfter)
	}
	if !given("checks.kickout.examples", k.Examples != 0) {
		k.Examples = DefaultExamples
	}
	capacityDefaults(s, given)
}

// distSet reports whether a Dist built in Go was set.
func distSet(d *Dist) bool { return d.Kind != "" || d.Value != 0 }

func ptr[T any](v T) *T { return &v }

// CheckXMPPResource checks a target.xmpp_resource template: placeholders
// {platform} and {instance} only, {instance} present, and no byte an XMPP
// resourcepart may not hold (control characters) or that RFC 7622 maps
// away (space).
func CheckXMPPResource(tmpl string) error {
	if tmpl == "" {
		return fmt.Errorf("must not be empty (default %q)", DefaultXMPPResource)
	}
	hasInstance := false
	for rest := tmpl; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			break
		}
		if rest[i] == '}' {
			return fmt.Errorf("%q: unmatched } (placeholders: {platform}, {instance})", tmpl)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q: unmatched { (placeholders: {platform}, {instance})", tmpl)
		}
		switch name := rest[i+1 : i+j]; name {
		case "instance":
			hasInstance = true
		case "platform":
		default:
			return fmt.Errorf("%q: unknown placeholder {%s} (allowed: {platform}, {instance})", tmpl, name)
		}
		rest = rest[i+j+1:]
	}
	if !hasInstance {
		return fmt.Errorf("%q has no {instance}: each device needs a resource of its own, or the server replaces one device's session with another's", tmpl)
	}
	for i := 0; i < len(tmpl); i++ {
		if c := tmpl[i]; c <= 0x20 || c == 0x7f {
			return fmt.Errorf("%q: byte %q at %d is not allowed in an XMPP resource (no spaces or control characters)", tmpl, c, i)
		}
	}
	if len(tmpl) > 512 {
		return fmt.Errorf("template of %d bytes; keep it under 512 (an XMPP resourcepart has at most 1023 bytes)", len(tmpl))
	}
	return nil
}

// XMPPResource expands a target.xmpp_resource template (empty:
// DefaultXMPPResource) for one device.
func XMPPResource(tmpl, platform, instance string) string {
	if tmpl == "" {
		tmpl = DefaultXMPPResource
	}
	return strings.NewReplacer("{platform}", platform, "{instance}", instance).Replace(tmpl)
}
