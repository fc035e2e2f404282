package check

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/policy"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_suite.json from the oracle as it is")

const goldenFile = "testdata/golden_suite.json"

// goldenCase is what the oracle said about one simulated history: every
// count, the kick-latency histogram bar by bar, and the examples (their
// users, and a digest of their texts, which are long).
type goldenCase struct {
	Name       string                   `json:"name"`
	Mode       string                   `json:"mode"`
	Checks     Checks                   `json:"checks"`
	Verdicts   map[string]goldenVerdict `json:"verdicts"`
	Latency    []hdrhistogram.Bar       `json:"latency"`
	Unmeasured int64                    `json:"unmeasured"`
	Early      int64                    `json:"early"`
}

type goldenVerdict struct {
	Count    int64    `json:"count"`
	Users    []string `json:"users,omitempty"`
	TextHash string   `json:"text_sha256,omitempty"`
}

func goldenOf(name string, r *Report) goldenCase {
	g := goldenCase{Name: name, Mode: r.Mode, Checks: r.Checks, Verdicts: map[string]goldenVerdict{},
		Unmeasured: r.KickLatencyUnmeasured, Early: r.KickLatencyEarly}
	for c := Class(0); c < NumClasses; c++ {
		v := r.Verdicts[c]
		if v.Count == 0 && len(v.Examples) == 0 {
			continue
		}
		gv := goldenVerdict{Count: v.Count}
		h := sha256.New()
		for _, ex := range v.Examples {
			gv.Users = append(gv.Users, ex.User)
			fmt.Fprintf(h, "%s\x00%s\x00", ex.User, stableText(ex.Text))
		}
		if len(v.Examples) > 0 {
			gv.TextHash = hex.EncodeToString(h.Sum(nil))
		}
		g.Verdicts[c.String()] = gv
	}
	for _, b := range r.KickLatency.Histogram().Distribution() {
		if b.Count > 0 {
			g.Latency = append(g.Latency, b)
		}
	}
	return g
}

// stableText is an example's text without its volatile part: the longest
// explained prefix of a no-order verdict is one of porcupine's partial
// linearizations, which one varies from run to run.
func stableText(text string) string {
	const prefix = "; longest explained prefix:"
	i := strings.Index(text, prefix)
	if i < 0 {
		return text
	}
	j := strings.IndexByte(text[i:], '\n')
	if j < 0 {
		return text[:i]
	}
	return text[:i] + text[i+j:]
}

// goldenSuite runs the oracle over simulated histories: several policies
// (kick_old and refuse_new, with and without replace_same_instance), every
// fault, both modes, several seeds, and the simulator's optional behaviours
// (lost login answers, sequences in callbacks, anonymous kicks, refusals).
func goldenSuite(t *testing.T) []goldenCase {
	dual := mustTencent(t, policy.DualPlatform, 1, 1)
	single := mustTencent(t, policy.SinglePlatform, 1, 1)
	multi := mustTencent(t, policy.MultiPlatform, 2, 2)
	refuse := *dual
	refuse.Name, refuse.OnConflict = "dual-refuse-new", policy.RefuseNew
	replace := *single
	replace.Name, replace.ReplaceSameInstance = "single-replace-same", true
	pols := []*policy.Policy{dual, single, multi, &refuse, &replace}
	type variant struct {
		name string
		set  func(*simConfig, *Options)
	}
	variants := []variant{
		{"plain", func(*simConfig, *Options) {}},
		{"timeouts", func(c *simConfig, _ *Options) { c.timeouts = true }},
		{"hookseq", func(c *simConfig, _ *Options) { c.hookSeq = true }},
		{"anon", func(c *simConfig, o *Options) { c.anonKicks, o.AnonymousKicks = true, true }},
		{"refusals", func(c *simConfig, _ *Options) { c.refusals = true }},
	}
	var out []goldenCase
	for _, pol := range pols {
		for f := faultNone; f <= faultWebhook; f++ {
			for _, noSeq := range []bool{false, true} {
				for vi, v := range variants {
					for seed := uint64(1); seed <= 3; seed++ {
						if v.name == "anon" && !noSeq {
							continue // anonymous kicks are judged in search mode
						}
						// Spread the variants over the faults and seeds
						// rather than taking every combination.
						if (int(f)+vi+int(seed))%2 == 1 && v.name != "plain" {
							continue
						}
						cfg := simConfig{pol: pol, users: 12, devices: 4, acts: 24, platforms: mixPlatforms,
							seed: 100*seed + uint64(f), noSeq: noSeq, fault: f, webhooks: true, status: true, churn: true}
						opts := testOpts()
						opts.SearchBudget = time.Minute // no user undecided by the clock
						opts.Workers = 1
						v.set(&cfg, &opts)
						h, _ := simulate(cfg)
						mode := "seq"
						if noSeq {
							mode = "noseq"
						}
						name := fmt.Sprintf("%s/%s/%s/%s/seed%d", pol.Name, f, mode, v.name, seed)
						out = append(out, goldenOf(name, Check(h, pol, opts)))
					}
				}
			}
		}
	}
	return out
}

// TestGoldenSuite compares the oracle's reports over the simulated suite
// with those recorded in testdata: a refactoring of the analyzer must not
// change one count, histogram bar or example.
func TestGoldenSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the golden suite runs a few hundred simulated histories")
	}
	got := goldenSuite(t)
	enc, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	enc = append(enc, '\n')
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (record it with -update-golden)", err)
	}
	if bytes.Equal(want, enc) {
		return
	}
	var wantCases []goldenCase
	if err := json.Unmarshal(want, &wantCases); err != nil {
		t.Fatalf("%s: %v", goldenFile, err)
	}
	if len(wantCases) != len(got) {
		t.Fatalf("%d cases, golden has %d", len(got), len(wantCases))
	}
	bad := 0
	for i := range got {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(wantCases[i])
		if !bytes.Equal(g, w) {
			bad++
			if bad <= 5 {
				t.Errorf("%s:\n got %s\nwant %s", got[i].Name, g, w)
			}
		}
	}
	if bad == 0 {
		t.Fatalf("reports agree, but the encoding differs from %s", goldenFile)
	}
	t.Fatalf("%d of %d cases differ from %s", bad, len(got), goldenFile)
}
