package results

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
)

func TestWriteReadRoundTrip(t *testing.T) {
	f := syntheticFile(t)
	f.Schema = "" // WriteFile sets it
	f.Environment.Target.URL = "wss://admin:secret@im.example.com/v4/x?usersig=abc&sdkappid=1#frag"
	f.Kickout = &check.Report{Policy: "dual-platform"}
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if f.Schema != "" || !strings.Contains(f.Environment.Target.URL, "secret") {
		t.Error("WriteFile changed its argument")
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != Schema {
		t.Errorf("schema %q", got.Schema)
	}
	if u := got.Environment.Target.URL; u != "wss://im.example.com/v4/x" {
		t.Errorf("target URL written as %q", u)
	}
	if got.Kickout == nil || got.Kickout.Policy != "dual-platform" || got.MAU != nil || got.Notes != nil {
		t.Errorf("kickout %+v, mau %+v, notes %q", got.Kickout, got.MAU, got.Notes)
	}
	// Everything else survives as it was.
	f.Schema, f.Environment.Target.URL = Schema, got.Environment.Target.URL
	if a, b := mustJSON(t, f), mustJSON(t, got); !bytes.Equal(a, b) {
		t.Errorf("round trip changed the file:\n got %.400s\nwant %.400s", b, a)
	}
	if p99 := got.Metrics.Op("login").Quantile(0.99).Seconds(); p99 != f.Thresholds[0].Actual {
		t.Errorf("login.p99 after reading %v, before %v", p99, f.Thresholds[0].Actual)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only results.json", len(entries))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := syntheticFile(t)
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves no file behind.
	missing := filepath.Join(dir, "no-such-dir", "results.json")
	if err := WriteFile(missing, f); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("write into a missing directory: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "x.json"), &File{}); err == nil {
		t.Error("a file without metrics was written")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustJSON(t, syntheticFile(t))
	edit := func(fn func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		return mustJSON(t, m)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("{\n  \"schema\": imload\n}"), "line 2 col 13"},
		{"no schema", []byte(`{"scenario":"x"}`), `no "schema" field`},
		{"newer version", edit(func(m map[string]any) { m["schema"] = "imload/results/v2" }), `"imload/results/v2" is not supported`},
		{"other tool", edit(func(m map[string]any) { m["schema"] = "k6/summary" }), "not an imload results schema"},
		{"no metrics", edit(func(m map[string]any) { delete(m, "metrics") }), `no "metrics"`},
		{"wrong type", []byte("{\"schema\": \"imload/results/v1\",\n\"seed\": \"x\"}"), "line 2"},
		{"bad duration", edit(func(m map[string]any) { m["duration"] = "soon" }), `duration "soon"`},
		{"invalid metrics", edit(func(m map[string]any) {
			m["metrics"].(map[string]any)["histogram"] = map[string]any{"unit_ns": 0}
		}), "histogram spec"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(path, []byte(`{}`), 0o644)
	if _, err := ReadFile(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("ReadFile error does not start with the path: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"ws://127.0.0.1:7000/ws", "ws://127.0.0.1:7000/ws"},
		{"wss://user:pw@host/ws", "wss://host/ws"},
		{"https://console.example.com/v4/im_open_login_svc/kick?sdkappid=1&identifier=admin&usersig=eJx", "https://console.example.com/v4/im_open_login_svc/kick"},
		{"ws://host/ws?#token", "ws://host/ws"},
		{"http://[::1", "(unparsable URL removed)"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCurrentEnvironment(t *testing.T) {
	e := CurrentEnvironment("v1.2.3", Target{Kind: "ws", URL: "ws://u:p@h/ws"})
	if e.GoVersion == "" || e.OS == "" || e.Arch == "" || e.CPUs < 1 || e.Version != "v1.2.3" || e.Target.URL != "ws://h/ws" {
		t.Errorf("%+v", e)
	}
}

func FuzzDecode(f *testing.F) {
	r := metrics.NewRecorder(metrics.WithStart(start), metrics.WithClock(clock.NewFake(start.Add(2e9))))
	r.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: "d", At: start, Latency: 3e6})
	b, _ := json.Marshal(&File{Schema: Schema, Scenario: "s", Seed: 1, Duration: Duration(2e9), Metrics: r.Snapshot()})
	f.Add(b)
	f.Add([]byte(`{"schema":"imload/results/v1"}`))
	f.Add([]byte(`{"schema":"imload/results/v1","duration":"1s","metrics":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes prints, merges with itself (as shard of the same
		// run) and re-encodes.
		var out bytes.Buffer
		if err := WriteSummary(&out, file); err != nil {
			t.Fatal(err)
		}
		c := *file
		c.Shard = ""
		if _, err := Merge(file, &c); err != nil && !strings.Contains(err.Error(), "shard") {
			t.Fatalf("merge with itself: %v", err)
		}
		if _, err := json.Marshal(file); err != nil {
			t.Fatal(err)
		}
	})
}

// A section that does not decode leaves the rest of the file readable: it
// is nil, with a note, and a merge refuses the file.
func TestUnreadableSectionIsANote(t *testing.T) {
	doc := map[string]any{}
	if err := json.Unmarshal(mustJSON(t, syntheticFile(t)), &doc); err != nil {
		t.Fatal(err)
	}
	doc["kickout"] = map[string]any{"verdicts": 3}
	doc["mau"] = nil
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kickout != nil || f.MAU != nil || len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "kickout section left out") {
		t.Errorf("kickout %v, mau %v, notes %q", f.Kickout, f.MAU, f.Notes)
	}
	if f.Metrics == nil || f.Scenario == "" {
		t.Error("the rest of the file was not read")
	}
	if _, err := Merge(syntheticFile(t), f); err == nil || !strings.Contains(err.Error(), "file 2: kickout section left out") {
		t.Errorf("merge: %v", err)
	}
}
