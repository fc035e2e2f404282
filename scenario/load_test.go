package scenario

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

// TestBadInputs loads every testdata/bad/*.yaml and compares the errors,
// one a line, with the golden .err file beside it.
func TestBadInputs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad inputs: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			s, err := Load(file)
			if err == nil {
				t.Fatalf("Load accepted a bad scenario: %+v", s)
			}
			var es *Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want *Errors: %v", err, err)
			}
			for _, e := range es.List {
				if e.File != file || e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Errorf("error without a full position: %+v", *e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%swant:\n%s", golden, got, want)
			}
		})
	}
}

// TestGoldenFilesHaveInputs keeps testdata/bad tidy: no .err without a .yaml.
func TestGoldenFilesHaveInputs(t *testing.T) {
	goldens, _ := filepath.Glob("testdata/bad/*.err")
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".err") + ".yaml"); err != nil {
			t.Errorf("%s has no input file", g)
		}
	}
}

// TestExampleErrorForm checks the documented form of an error exactly.
func TestExampleErrorForm(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/negative_rate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "quick.yaml")
	if err == nil || err.Error() != "quick.yaml:12:9: phases[1].rate: must be >= 0, got -5" {
		t.Fatalf("got %v", err)
	}
	var es *Errors
	if !errors.As(err, &es) || len(es.List) != 1 {
		t.Fatalf("want one *Errors entry, got %#v", err)
	}
	want := Error{File: "quick.yaml", Line: 12, Col: 9, Field: "phases[1].rate", Msg: "must be >= 0, got -5"}
	if *es.List[0] != want {
		t.Errorf("got %+v, want %+v", *es.List[0], want)
	}
	var one *Error
	if !errors.As(err, &one) || one.Field != "phases[1].rate" {
		t.Errorf("errors.As(*Error) = %v", one)
	}
}

func TestErrorsCap(t *testing.T) {
	_, err := Load("testdata/bad/many_errors.yaml")
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	if len(es.List) != MaxErrors || es.Dropped != 40-MaxErrors {
		t.Errorf("kept %d, dropped %d; want %d and %d", len(es.List), es.Dropped, MaxErrors, 40-MaxErrors)
	}
	if !strings.HasSuffix(err.Error(), fmt.Sprintf("... and %d more errors", 40-MaxErrors)) {
		t.Errorf("no count of the dropped errors: %s", err)
	}
	if es.List[0].Line != 5 || es.List[MaxErrors-1].Line != 5+MaxErrors-1 {
		t.Errorf("errors not in document order: first line %d, last %d", es.List[0].Line, es.List[MaxErrors-1].Line)
	}
}

func TestMinimalDefaults(t *testing.T) {
	s, err := Load("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := true
	want := &Scenario{
		File: "testdata/good/minimal.yaml",
		Name: "minimal",
		Seed: 1,
		Target: Target{
			Driver: "ws", SDKAppID: 1400000000, Admin: "administrator",
			Timeout: Duration(5 * time.Second), Policy: "dual-platform",
		},
		Population: Population{Users: 10, IDPattern: "user_%06d"},
		Platforms:  map[string]float64{"Android": 0.4, "iPhone": 0.3, "Web": 0.2, "Windows": 0.1},
		Phases:     []Phase{{Model: Open, Duration: Duration(time.Second), Rate: 5}},
		Behaviour: Behaviour{
			Hold:             Dist{Kind: DistExponential, Mean: Duration(10 * time.Second)},
			Think:            Dist{Kind: DistConstant, Value: Duration(time.Second)},
			LogoutRatio:      0.9,
			FlapDown:         Dist{Kind: DistConstant, Value: Duration(500 * time.Millisecond)},
			TicketLifetime:   Duration(24 * time.Hour),
			ReloginAfterKick: &tr,
			Instance:         InstancePerDevice,
		},
		Checks: Checks{Kickout: KickoutCheck{
			Enabled: &tr, Grace: Duration(time.Second), LateAfter: Duration(time.Second), Examples: 3,
		}},
		End:      EndCut,
		EndGrace: Duration(30 * time.Second),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%+v\nwant\n%+v", *s, *want)
	}
}

func TestFullKeepsExplicitValues(t *testing.T) {
	s, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"seed", s.Seed, int64(7)},
		{"users with underscore", s.Population.Users, 1000},
		{"sdkappid", s.Target.SDKAppID, uint64(1400000123)},
		{"webhook_listen", s.Target.WebhookListen, "127.0.0.1:8088"},
		{"explicit zero logout_ratio", s.Behaviour.LogoutRatio, 0.0},
		{"explicit false relogin", *s.Behaviour.ReloginAfterKick, false},
		{"instance per session", s.Behaviour.Instance, InstancePerSession},
		{"explicit false enabled", *s.Checks.Kickout.Enabled, false},
		{"explicit zero grace", s.Checks.Kickout.Grace, Duration(0)},
		{"explicit zero examples", s.Checks.Kickout.Examples, 0},
		{"late_after", s.Checks.Kickout.LateAfter, Duration(250 * time.Millisecond)},
		{"ticket lifetime", s.Behaviour.TicketLifetime, Duration(10 * time.Minute)},
		{"phase duration", s.Phases[0].Duration, Duration(90 * time.Second)},
		{"closed ramp", [2]int{s.Phases[1].Devices, s.Phases[1].ToDevices}, [2]int{50, 200}},
		{"lognormal", s.Behaviour.Hold, Dist{Kind: DistLognormal, Median: Duration(2 * time.Second), P99: Duration(30 * time.Second)}},
		{"thresholds parsed", len(s.ParsedThresholds), len(s.Thresholds)},
		{"threshold metric", s.ParsedThresholds[6].Metric, "kickout.late.p99.9"},
		{"no mau section", s.MAU, (*MAU)(nil)},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestPlatformsNormalised(t *testing.T) {
	s, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"Android": 0.6, "iPhone": 0.2, "Web": 0.1, "Mac": 0.1}
	if len(s.Platforms) != len(want) {
		t.Fatalf("got %v, want %v", s.Platforms, want)
	}
	for k, w := range want {
		if math.Abs(s.Platforms[k]-w) > 1e-12 {
			t.Errorf("%s: got %v, want %v", k, s.Platforms[k], w)
		}
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	s, err := Load("testdata/good/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Phases) != 3 {
		t.Fatalf("phases: %+v", s.Phases)
	}
	if p := s.Phases[1]; p.Name != "faster" || p.Rate != 40 || p.Model != Open || p.Duration != Duration(500*time.Millisecond) {
		t.Errorf("merged phase: %+v", p)
	}
	if s.Phases[2] != s.Phases[0] {
		t.Errorf("aliased phase %+v differs from %+v", s.Phases[2], s.Phases[0])
	}
	if s.Behaviour.Think.Kind != DistEmpirical || s.Behaviour.Think.Percentiles["p90"] != Duration(400*time.Millisecond) {
		t.Errorf("aliased dist: %+v", s.Behaviour.Think)
	}
	if !reflect.DeepEqual(s.Behaviour.FlapDown, Constant(0)) {
		t.Errorf("flap_down: 0 should stay a constant 0, got %+v", s.Behaviour.FlapDown)
	}
}

func TestPolicyFileResolved(t *testing.T) {
	s, err := Load("testdata/good/policy_file.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("testdata", "good", "policies", "custom.yaml"); s.Target.PolicyFile != want {
		t.Errorf("PolicyFile = %q, want %q", s.Target.PolicyFile, want)
	}
	if s.Target.Policy != "policies/custom.yaml" {
		t.Errorf("Policy changed to %q", s.Target.Policy)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

// TestRepoScenarios loads every example the repository ships.
func TestRepoScenarios(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.yaml")
	if len(files) == 0 {
		t.Skip("no scenarios/*.yaml yet")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckIDPattern(t *testing.T) {
	cases := []struct {
		pat string
		ok  bool
	}{
		{"user_%06d", true},
		{"%d", true},
		{"u%x", true},
		{"100%%_%-8d", true},
		{"id-%+d", true},
		{"%08.3d", true},
		{"user", false},
		{"u%d%d", false},
		{"u%s", false},
		{"u%v", false},
		{"u%*d", false},
		{"u%[1]d", false},
		{"u%", false},
		{"u%06", false},
		{"%%d", false},
	}
	for _, c := range cases {
		t.Run(c.pat, func(t *testing.T) {
			err := checkIDPattern(c.pat)
			if (err == nil) != c.ok {
				t.Errorf("checkIDPattern(%q) = %v, want ok=%v", c.pat, err, c.ok)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	s := &Scenario{
		Population: Population{Users: 3},
		Platforms:  map[string]float64{"web": 1, "ipad": 3},
		Phases:     []Phase{{Model: Closed, Duration: Duration(time.Second), Devices: 3}},
		Behaviour:  Behaviour{Hold: Dist{Kind: DistUniform, Min: Duration(time.Second), Max: Duration(2 * time.Second)}},
		Thresholds: []string{"login.p99 < 1s"},
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	if s.Platforms["iPad"] != 0.75 || s.Platforms["Web"] != 0.25 {
		t.Errorf("platforms: %v", s.Platforms)
	}
	if s.Behaviour.Hold.Kind != DistUniform || s.Behaviour.Think.Kind != DistConstant || s.Behaviour.Think.Value != Duration(time.Second) || s.Behaviour.LogoutRatio != 0.9 {
		t.Errorf("behaviour defaults: %+v", s.Behaviour)
	}
	if len(s.ParsedThresholds) != 1 || s.ParsedThresholds[0].Value != 1 {
		t.Errorf("thresholds: %+v", s.ParsedThresholds)
	}

	bad := &Scenario{
		Population: Population{Users: -1},
		Phases:     []Phase{{Model: "open", Duration: Duration(time.Second)}},
		Behaviour:  Behaviour{Hold: Dist{Kind: DistExponential}},
	}
	err := bad.Prepare()
	want := "population.users: must be > 0, got -1\n" +
		"phases[0].rate: an open phase needs rate > 0 or to_rate > 0 (device arrivals per second)\n" +
		"behaviour.hold.mean: must be > 0, got 0s"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestUnmarshalYAMLOutsideLoad(t *testing.T) {
	// Duration and Dist also decode through yaml.v3 directly.
	var v struct {
		D  Duration `yaml:"d"`
		H  Dist     `yaml:"h"`
		H2 Dist     `yaml:"h2"`
	}
	if err := yamlUnmarshal([]byte("d: 1h30m\nh: 2s\nh2: {dist: exponential, mean: 3s}\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.D != Duration(90*time.Minute) || !reflect.DeepEqual(v.H, Constant(2*time.Second)) || v.H2.Mean != Duration(3*time.Second) {
		t.Errorf("got %+v", v)
	}
	err := yamlUnmarshal([]byte("d: 5 min\n"), &v)
	if err == nil || !strings.Contains(err.Error(), `expected a duration like 250ms, 2s or 1h30m (units: ns, us, ms, s, m, h), got "5 min"`) {
		t.Errorf("got %v", err)
	}
}

func TestLoadPolicy(t *testing.T) {
	cases := []struct{ file, name string }{
		{"testdata/good/minimal.yaml", "dual-platform"},
		{"testdata/good/full.yaml", "triple-platform"},
		{"testdata/good/preset.yaml", "easemob"},
		{"testdata/good/policy_file.yaml", "custom"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			s, err := Load(c.file)
			if err != nil {
				t.Fatal(err)
			}
			pol, err := s.Target.LoadPolicy()
			if err != nil {
				t.Fatal(err)
			}
			if pol.Name != c.name {
				t.Errorf("policy %q, want %q", pol.Name, c.name)
			}
		})
	}
}

// TestMAUSectionKept: the mau section is kept as YAML at its position for
// the mau package, needs no phases, makes inproc the default driver and
// marshals to JSON as written.
func TestMAUSectionKept(t *testing.T) {
	s, err := Load("testdata/good/mau.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s.MAU)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"position", [2]int{s.MAU.Node.Line, s.MAU.Node.Column}, [2]int{5, 3}},
		{"keys", len(s.MAU.Node.Content) / 2, 4},
		{"first key", s.MAU.Node.Content[0].Value, "day"},
		{"no phases", len(s.Phases), 0},
		{"driver", s.Target.Driver, DriverInproc},
		{"json", string(b), `{"day":"2s","days":30,"pricing":{"currency":"USD","included":1000,"tiers":[{"per_thousand":2.8,"up_to":100000},{"per_thousand":1.2,"up_to":0}]},"strategies":["eager","lazy",{"login_on":"chat_open","logout_on":"app_close","name":"mine"}]}`},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

// TestXMPPResource: a template given with driver xmpp is kept and expands per
// device; without one the default names "<platform>-<instance>".
func TestXMPPResource(t *testing.T) {
	s, err := Load("testdata/good/xmpp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := XMPPResource(s.Target.XMPPResource, "Android", "dev7"); got != "imload.Android.dev7" {
		t.Errorf("expanded to %q", got)
	}
	if got := XMPPResource("", "iPad", "dev3"); got != "iPad-dev3" {
		t.Errorf("default expanded to %q", got)
	}
	for _, ok := range []string{"{instance}", "{platform}-{instance}", "x{instance}y{instance}"} {
		if err := CheckXMPPResource(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "{platform}", "{instance", "}{instance}", "{Instance}", "a b{instance}", "{instance}\x00"} {
		if err := CheckXMPPResource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEndDrainWithGrace(t *testing.T) {
	s, err := Parse([]byte("population: {users: 10}\nphases: [{model: open, duration: 1s, rate: 5}]\nend: drain\nend_grace: 2s\n"), "drain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.End != EndDrain || s.EndGrace.D() != 2*time.Second {
		t.Errorf("end %q grace %s, want drain 2s", s.End, s.EndGrace)
	}
}

// TestTargetURLSchemesAreTheDrivers: target.url takes the schemes its
// driver's row in the drivers table names (ws and wss by default), so a
// driver of another scheme needs only its row.
func TestTargetURLSchemesAreTheDrivers(t *testing.T) {
	doc := func(driver, url string) []byte {
		return []byte("name: s\nseed: 1\ntarget: {driver: " + driver + ", url: \"" + url + "\", key_env: K}\npopulation: {users: 10}\nphases:\n  - {name: p, model: closed, devices: 1, duration: 1s}\n")
	}
	if _, err := Parse(doc(DriverWS, "tcp://127.0.0.1:5222"), "s.yaml"); err == nil || !strings.Contains(err.Error(), "must be a ws:// or wss:// URL") {
		t.Fatalf("a tcp:// url for the ws driver: %v", err)
	}
	saved := drivers
	t.Cleanup(func() { drivers = saved })
	drivers = append(slices.Clone(saved), DriverSpec{Name: "tcpx", URL: URLRequired, Doc: "tcpx", Misuse: "tcpx needs a url", Schemes: []string{"tcp"}})
	if _, err := Parse(doc("tcpx", "tcp://127.0.0.1:5222"), "s.yaml"); err != nil {
		t.Fatalf("a tcp:// url for a driver whose row takes tcp: %v", err)
	}
	if _, err := Parse(doc("tcpx", "ws://127.0.0.1:5222"), "s.yaml"); err == nil || !strings.Contains(err.Error(), "must be a tcp:// URL") {
		t.Fatalf("a ws:// url for a driver whose row takes only tcp: %v", err)
	}
}
