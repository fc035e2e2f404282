package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/imload/imload/faults"
	"github.com/imload/imload/judge"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/policy/policyfile"
)

// SchemaID is the $id of the scenario JSON Schema.
const SchemaID = "https://github.com/imload/imload/scenario.schema.json"

// fieldDoc documents one YAML field for the JSON Schema: description,
// default (as the loaded scenario holds it) and extra keywords.
type fieldDoc struct {
	desc  string
	def   any
	extra map[string]any
}

var (
	probability = map[string]any{"minimum": 0, "maximum": 1}
	nonNegative = map[string]any{"minimum": 0}
	positive    = map[string]any{"exclusiveMinimum": 0}
)

// coreFieldDocs holds the documentation of every YAML field, keyed by its path
// without list indexes ("phases.rate"). A test checks that it covers exactly
// the fields of the Go types, and that the defaults are what Load applies.
func coreFieldDocs() map[string]fieldDoc {
	platformNames := make([]string, len(policy.Platforms))
	for i, p := range policy.Platforms {
		platformNames[i] = string(p)
	}
	docs := map[string]fieldDoc{
		"name":        {desc: "Name of the scenario, shown in reports. Default: the file name without its extension."},
		"description": {desc: "Free text describing the scenario."},
		"seed":        {desc: "Seed of every random choice: the same seed gives the same run. 0 means 1.", def: DefaultSeed},

		"target":                {desc: "What the devices talk to: the embedded reference server (default) or a server at a URL."},
		"target.url":            {desc: "ws:// or wss:// URL of a server speaking imload's protocol. Empty: the embedded reference server on a loopback port. Needs key_env or key_file.", extra: map[string]any{"pattern": "^wss?://.+"}},
		"target.driver":         {desc: driverDoc(), def: DefaultDriver, extra: map[string]any{"enum": DriverNames()}},
		"target.sdkappid":       {desc: "The app's SDKAppID.", def: DefaultSDKAppID, extra: map[string]any{"minimum": 1}},
		"target.key_env":        {desc: "Name of an environment variable holding the app's secret key. Give key_env or key_file, not both; for the embedded server a key is generated when neither is given."},
		"target.key_file":       {desc: "Path of a file holding the app's secret key. Give key_env or key_file, not both."},
		"target.admin":          {desc: "UserID of the REST admin identity (1 to 32 bytes of printable ASCII).", def: DefaultAdmin},
		"target.timeout":        {desc: "Bound on each operation (dial, login, logout).", def: Duration(DefaultTimeout).String()},
		"target.policy":         {desc: "Multi-device login policy: " + strings.Join(policy.Names(), ", ") + "; or a path to a policy file (docs/POLICY.md), relative to the scenario file. The oracle checks the target against it.", def: DefaultPolicy, extra: map[string]any{"examples": policy.Names()}},
		"target.instances":      {desc: "Instances per native platform, for named policies with a tunable limit (Tencent's: 1 to 3); 0: the policy's default. Not with a policy file.", extra: nonNegative},
		"target.web_instances":  {desc: "Web instances, for named policies with a tunable limit (Tencent's: 1 to 10); 0: the policy's default. Not with a policy file.", extra: nonNegative},
		"target.webhook_listen": {desc: "host:port where the run receives State.StateChange callbacks (POST, any path) and checks them with the kickout oracle; point the target's callback URL at http://HOST:PORT/. The embedded server sends to a loopback port of its own when this is empty.", extra: map[string]any{"pattern": `^.*:[0-9]+$`}},
		"target.xmpp_resource":  {desc: "Driver xmpp only: template of the XMPP resource each device binds, with {platform} and {instance} standing for the device's platform and instance ID. {instance} is required: an XMPP server replaces a session when another login binds the same resource, so under behaviour.instance per_device an app restart replaces the device's own earlier session. No spaces or control characters. Default \"" + DefaultXMPPResource + "\" (e.g. Android-dev42).", extra: map[string]any{"pattern": `^[^\s{}]*(\{(platform|instance)\}[^\s{}]*)*$`}},
		"target.faults":         {desc: "Faults the embedded server injects, to prove the oracle catches them (not with url). Each at most once.", extra: map[string]any{"uniqueItems": true}},

		"population":            {desc: "The users the devices log in as."},
		"population.users":      {desc: "Number of users (> 0). Required.", extra: map[string]any{"minimum": 1}},
		"population.id_pattern": {desc: "fmt pattern of a UserID with exactly one integer verb (%d, %x, %X, %o, %b); every ID must be at most 32 bytes of printable ASCII.", def: DefaultIDPattern},
		"population.start":      {desc: "Index of the first user.", def: 0, extra: nonNegative},

		"platforms": {desc: "Platform mix: platform name (case-insensitive: " + strings.Join(platformNames, ", ") + ") to weight (> 0). Weights need not sum to 1; they are normalised. Default: Android 40, iPhone 30, Web 20, Windows 10."},

		"phases":            {desc: "Stages of load, run in sequence. Required (at least one) unless the scenario has a mau section.", extra: map[string]any{"minItems": 1}},
		"phases.name":       {desc: "Name of the phase, shown in reports; unique when given."},
		"phases.duration":   {desc: "How long the phase lasts (> 0). Required."},
		"phases.model":      {desc: "open: device arrivals per second whatever the target does; closed: a fixed number of concurrent devices. Required.", extra: map[string]any{"enum": []string{Open, Closed}}},
		"phases.rate":       {desc: "Open model: arrivals per second at the start of the phase. rate or to_rate must be > 0.", extra: nonNegative},
		"phases.to_rate":    {desc: "Open model: arrivals per second at the end, ramping linearly from rate (0: constant rate).", extra: nonNegative},
		"phases.devices":    {desc: "Closed model: concurrent devices at the start of the phase. devices or to_devices must be > 0.", extra: nonNegative},
		"phases.to_devices": {desc: "Closed model: concurrent devices at the end, ramping linearly from devices (0: constant).", extra: nonNegative},

		"behaviour":                                {desc: "What a device does once it has arrived."},
		"behaviour.hold":                           {desc: "How long a device stays logged in before leaving.", def: map[string]any{"dist": DistExponential, "mean": Duration(DefaultHoldMean).String()}},
		"behaviour.think":                          {desc: "Pause of a closed-model device between sessions, and before a re-login after a kick.", def: map[string]any{"dist": DistConstant, "value": Duration(DefaultThink).String()}},
		"behaviour.logout_ratio":                   {desc: "Probability that leaving is a clean logout; the rest are app kills (the transport closes, no logout).", def: DefaultLogoutRatio, extra: probability},
		"behaviour.switch_account":                 {desc: "Probability that a logged-in device switches to another user once (implicit logout, new login).", def: 0, extra: probability},
		"behaviour.flap":                           {desc: "Probability that a device loses its network once while logged in; it reconnects after flap_down and resumes (no new login).", def: 0, extra: probability},
		"behaviour.flap_down":                      {desc: "How long a network loss lasts.", def: map[string]any{"dist": DistConstant, "value": Duration(DefaultFlapDown).String()}},
		"behaviour.ticket_lifetime":                {desc: "Lifetime of the UserSig the devices get (> 0). Short lifetimes exercise expiry and refresh.", def: Duration(DefaultTicketLifetime).String()},
		"behaviour.relogin_after_kick":             {desc: "Log in again after being kicked offline, as the SDK allows.", def: DefaultReloginAfterKick},
		"behaviour.heartbeat":                      {desc: "Heartbeat interval while online; 0: none (the SDK uses 2m).", def: "0s"},
		"behaviour.instance":                       {desc: "Which instance ID a device's sessions log in with. per_device (the default, what real apps do: an SDK keeps its instance ID across app restarts): the sessions of a closed-model device slot are one device, keeping its instance ID, platform and account, so a restart after an app kill logs in again under an instance the target may still hold (a repeat login or resume on imload's protocol, a same-resource replacement on XMPP). per_session: every session gets a fresh instance ID, platform and account, as if the app were installed anew each time. Open-model arrivals are new devices either way.", def: DefaultInstance, extra: map[string]any{"enum": []string{InstancePerDevice, InstancePerSession}}},
		"behaviour.misbehave":                      {desc: "Deliberately wrong client actions, each as the fraction of devices that do it; runs that use them are reported as such."},
		"behaviour.misbehave.login_storm":          {desc: "Fraction of devices that send several logins at once.", extra: probability},
		"behaviour.misbehave.login_while_logining": {desc: "Fraction of devices that log in again while a login is in progress.", extra: probability},
		"behaviour.misbehave.retry_any_error":      {desc: "Fraction of devices that re-login on every error (the infinite-login-loop hazard).", extra: probability},

		"checks":                    {desc: "Configuration of the oracles."},
		"checks.kickout":            {desc: "The kickout oracle."},
		"checks.kickout.enabled":    {desc: "Run the kickout oracle.", def: DefaultKickoutEnabled},
		"checks.kickout.grace":      {desc: "Over-limit tolerance: more instances online than allowed for longer than this is a violation (>= 0).", def: Duration(DefaultGrace).String()},
		"checks.kickout.late_after": {desc: "A kick notice later than this after the displacing login is late (> 0).", def: Duration(DefaultLateAfter).String()},
		"checks.kickout.examples":   {desc: "Examples kept per verdict.", def: DefaultExamples, extra: nonNegative},

		"thresholds": {desc: "Pass/fail expressions that set the exit code: metric operator value, e.g. \"login.p99 < 250ms\", \"errors.rate < 0.1%\", \"kickout.violations == 0\", \"login.rate > 50\", \"mau.mismatches == 0\" (a month simulation: harness and server counts disagreeing). Operators < <= > >= == !=; the value is in the metric's unit: a duration with its unit for latencies, a percentage for error rates, a whole number for counts, a number per second for rates. " + judge.Summary()},

		"end":       {desc: "How the run ends for the devices still in a session when the last phase ends. cut: they close their connections at once and count as online_at_end (not app kills), operations in flight count as cancelled; the measured window is the phases, with nothing added. logout: every device still online logs out cleanly. drain: no new session starts and the sessions in progress play their holds to the end (a logout or an app kill, as planned), for at most end_grace, then the rest are cut.", def: DefaultEnd, extra: map[string]any{"enum": Ends()}},
		"end_grace": {desc: "end: drain only: how long the sessions in progress may go on after the last phase (> 0).", def: Duration(DefaultEndGrace).String()},

		"mau":                          {desc: "Month simulation instead of phases: compressed days (day, days, start, zone, realtime, tick), the usage model (users, platforms, segments), login strategies compared on the same population and seed (presets eager, lazy, lazy-logout, background-keep, or {name, login_on, logout_on, background}), and pricing ({currency, included, tiers: [{up_to, per_thousand}]}). Decoded and checked by the mau package (see README, MAU strategies); {} takes every default."},
		"target.faults.items":          {desc: "A fault to inject.", extra: map[string]any{"enum": faults.Names()}},
		"thresholds.items":             {desc: "One threshold expression.", extra: map[string]any{"pattern": `^\s*[A-Za-z_][A-Za-z0-9_.]*\s*(<=|>=|==|!=|<|>)\s*\S+\s*$`}},
		"platforms.additionalProperty": {desc: "Weight of the platform (> 0).", extra: positive},

		"dist.dist":                           {desc: "Kind of distribution.", extra: map[string]any{"enum": distKinds}},
		"dist.value":                          {desc: "constant: the value (>= 0)."},
		"dist.min":                            {desc: "uniform: the smallest value (>= 0)."},
		"dist.max":                            {desc: "uniform: the largest value (>= min)."},
		"dist.mean":                           {desc: "exponential: the mean (> 0)."},
		"dist.median":                         {desc: "lognormal: the median (> 0)."},
		"dist.p99":                            {desc: "lognormal: the 99th percentile (> median)."},
		"dist.percentiles":                    {desc: "empirical: values at percentiles p0 to p100 (keys like p50 or p99.9), not decreasing; p0 and p100 required.", extra: map[string]any{"propertyNames": map[string]any{"pattern": `^p(100|[0-9]{1,2}(\.[0-9]+)?)$`}, "required": []string{"p0", "p100"}}},
		"dist.percentiles.additionalProperty": {desc: "The value at this percentile."},
	}
	for _, more := range []map[string]fieldDoc{reconnectDocs(), eventDocs(), protectDocs()} {
		for k, v := range more {
			docs[k] = v
		}
	}
	return docs
}

// requiredFields lists the keys a mapping must have, by path.
var requiredFields = map[string][]string{
	"":                             {"population"}, // and phases or mau: see schemaDoc
	"population":                   {"users"},
	"phases":                       {"duration", "model"},
	"events":                       {"at", "action"},
	"target.protect.login_rate":    {"rate"},
	"target.protect.login_buckets": {"buckets"},
}

// Schema returns the JSON Schema (draft 2020-12) of a scenario file, for
// editors. It is generated from the Go types and fieldDocs.
func Schema() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(schemaDoc()); err != nil {
		return nil, fmt.Errorf("scenario schema: %w", err)
	}
	return buf.Bytes(), nil
}

var (
	durationType = reflect.TypeFor[Duration]()
	distType     = reflect.TypeFor[Dist]()
	mauType      = reflect.TypeFor[MAU]()
)

func schemaDoc() map[string]any {
	docs := fieldDocs()
	g := &schemaGen{docs: docs}
	root := g.object(reflect.TypeFor[Scenario](), "")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	// A scenario runs phases, or simulates a month instead (mau).
	root["anyOf"] = []any{map[string]any{"required": []string{"phases"}}, map[string]any{"required": []string{"mau"}}, map[string]any{"required": []string{"capacity"}}}
	root["$id"] = SchemaID
	root["title"] = "imload scenario"
	root["description"] = "A load and multi-client simulation scenario for imload. Unknown keys are errors; absent keys take the defaults shown."
	root["$defs"] = map[string]any{
		"duration": durationSchema(),
		"dist":     g.distSchema(),
	}
	return root
}

func durationSchema() map[string]any {
	return map[string]any{
		"description": "A duration such as 250ms, 2s or 1h30m (units: ns, us, µs, ms, s, m, h); 0 needs no unit.",
		"oneOf": []any{
			map[string]any{"type": "string", "pattern": `^(0|[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`},
			map[string]any{"const": 0},
		},
	}
}

type schemaGen struct {
	docs map[string]fieldDoc
}

// object describes a struct type whose fields sit under path.
func (g *schemaGen) object(t reflect.Type, path string) map[string]any {
	props := map[string]any{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		p := joinPath(path, name)
		props[name] = g.field(f.Type, p)
	}
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if req, ok := requiredFields[path]; ok {
		o["required"] = req
	}
	return o
}

// field describes a field of type t at path, with its documentation.
func (g *schemaGen) field(t reflect.Type, path string) map[string]any {
	return g.document(g.typ(t, path), path)
}

// document adds the description, default and extra keywords of path to s.
func (g *schemaGen) document(s map[string]any, path string) map[string]any {
	if d, ok := g.docs[path]; ok {
		s["description"] = d.desc
		if d.def != nil {
			s["default"] = d.def
		}
		for k, v := range d.extra {
			s[k] = v
		}
	}
	return s
}

func (g *schemaGen) typ(t reflect.Type, path string) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"$ref": "#/$defs/duration"}
	case distType:
		return map[string]any{"$ref": "#/$defs/dist"}
	case mauType:
		return map[string]any{"type": "object"} // the mau package checks its keys
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typ(t.Elem(), path)
	case reflect.Struct:
		return g.object(t, path)
	case reflect.Slice:
		// The fields of an element sit under the list's own path
		// ("phases.rate"); the element itself is documented as path.items.
		return map[string]any{"type": "array", "items": g.document(g.typ(t.Elem(), path), path+".items")}
	case reflect.Map:
		m := map[string]any{"type": "object", "additionalProperties": g.field(t.Elem(), path+".additionalProperty")}
		if path == "platforms" {
			m["propertyNames"] = map[string]any{"pattern": platformPattern()}
		}
		return m
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

// platformPattern matches the platform names in any letter case.
func platformPattern() string { return policyfile.PlatformPattern() }

// distSchema describes Dist: a plain duration or one of the mapping forms,
// each kind requiring its parameters and allowing no others.
func (g *schemaGen) distSchema() map[string]any {
	props := map[string]any{}
	t := distType
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		props[name] = g.field(f.Type, "dist."+name)
	}
	var forms []any
	for _, k := range distKinds {
		params := distParams(k)
		allowed := map[string]any{"dist": map[string]any{"const": k}}
		for _, p := range params {
			allowed[p] = props[p]
		}
		forms = append(forms, map[string]any{
			"type":                 "object",
			"properties":           allowed,
			"required":             append([]string{"dist"}, params...),
			"additionalProperties": false,
		})
	}
	return map[string]any{
		"description": "A distribution of durations: a plain duration (constant) or {dist: constant, value}, {dist: uniform, min, max}, {dist: exponential, mean}, {dist: lognormal, median, p99}, {dist: empirical, percentiles: {p0, ..., p100}} (linear between percentiles; p0 and p100 required).",
		"oneOf":       append([]any{map[string]any{"$ref": "#/$defs/duration"}}, forms...),
	}
}
