package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/policy"
)

var tencentNames = []string{policy.SinglePlatform, policy.DualPlatform, policy.TriplePlatform, policy.MultiPlatform}

var mixPlatforms = []policy.Platform{policy.Android, policy.IPhone, policy.Windows, policy.Mac, policy.Web}

func mustTencent(t testing.TB, name string, instances, web int) *policy.Policy {
	t.Helper()
	pol, err := policy.Tencent(name, instances, web)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// testOpts are tighter than the defaults so that faults show quickly; the
// simulated server's kicks take at most 15 ms plus network.
func testOpts() Options {
	return Options{Grace: 200 * time.Millisecond, LateAfter: 200 * time.Millisecond, Examples: 2, SearchBudget: 5 * time.Second}
}

func dump(t *testing.T, r *Report) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

func TestCleanHistoriesGiveNoVerdicts(t *testing.T) {
	for _, name := range tencentNames {
		for _, inst := range []int{1, 2} {
			for _, noSeq := range []bool{false, true} {
				mode := "sequence"
				if noSeq {
					mode = "search"
				}
				t.Run(fmt.Sprintf("%s/instances=%d/%s", name, inst, mode), func(t *testing.T) {
					t.Parallel()
					pol := mustTencent(t, name, inst, 2)
					h, st := simulate(simConfig{pol: pol, users: 40, devices: 5, acts: 30,
						platforms: mixPlatforms, seed: 7, noSeq: noSeq, webhooks: true, status: true, churn: true})
					r := Check(h, pol, testOpts())
					for c := Class(0); c < NumClasses; c++ {
						if n := r.Count(c); n != 0 {
							dump(t, r)
							t.Fatalf("%s: %d verdicts on a correct server", c, n)
						}
					}
					if r.Checks.Users != 40 || r.Checks.Logins != int64(st.logins) || r.Checks.Kicks != int64(st.kicks) {
						t.Fatalf("checked %+v, simulated %+v", r.Checks, st)
					}
					if st.kicks == 0 {
						t.Fatal("the simulation produced no kick: nothing was checked")
					}
					if r.Mode != mode {
						t.Fatalf("mode %q, want %q", r.Mode, mode)
					}
					if !noSeq && r.Checks.Displacements < int64(st.kicks) {
						t.Fatalf("model displaced %d, devices saw %d kicks", r.Checks.Displacements, st.kicks)
					}
				})
			}
		}
	}
}

func TestFaultsAreCaught(t *testing.T) {
	cases := []struct {
		fault simFault
		noSeq bool
		want  Class
	}{
		{faultWrongVictim, false, WrongVictim},
		{faultDropKick, false, MissingKick},
		{faultExtraKick, false, SpuriousKick},
		{faultLateKick, false, LateKick},
		{faultNoEnforce, false, OverLimit},
		{faultNoEnforce, false, MissingKick},
		{faultGhost, false, GhostSession},
		{faultLost, false, LostSession},
		{faultWebhook, false, WebhookMismatch},
		{faultWrongVictim, true, NoOrder},
		{faultDropKick, true, NoOrder},
		{faultExtraKick, true, NoOrder},
		{faultLateKick, true, LateKick},
		{faultNoEnforce, true, OverLimit},
		{faultGhost, true, GhostSession},
		{faultLost, true, LostSession},
		{faultWebhook, true, WebhookMismatch},
	}
	for _, tc := range cases {
		mode := "sequence"
		if tc.noSeq {
			mode = "search"
		}
		t.Run(fmt.Sprintf("%s/%s/%s", tc.fault, mode, tc.want), func(t *testing.T) {
			t.Parallel()
			pol := mustTencent(t, policy.DualPlatform, 1, 1)
			h, _ := simulate(simConfig{pol: pol, users: 30, devices: 4, acts: 30, platforms: mixPlatforms,
				seed: 11, noSeq: tc.noSeq, fault: tc.fault, webhooks: true, status: true, churn: true})
			r := Check(h, pol, testOpts())
			v := r.Verdicts[tc.want]
			if v.Count == 0 || len(v.Examples) == 0 {
				dump(t, r)
				t.Fatalf("fault %s: %s count %d, %d examples; want some", tc.fault, tc.want, v.Count, len(v.Examples))
			}
			if r.Violations() < v.Count {
				t.Fatalf("violations %d < %s count %d", r.Violations(), tc.want, v.Count)
			}
			ex := v.Examples[0]
			if !strings.Contains(ex.Text, "* ") && tc.want != GhostSession {
				t.Errorf("example marks no evidence:\n%s", ex.Text)
			}
			if !strings.Contains(ex.Text, "policy dual-platform") {
				t.Errorf("example does not name the policy:\n%s", ex.Text)
			}
			if r.Count(Undecided) != 0 {
				t.Errorf("%d users undecided", r.Count(Undecided))
			}
		})
	}
}

// A fault must not be reported in classes it cannot cause.
func TestFaultsStayInTheirClasses(t *testing.T) {
	cases := []struct {
		fault simFault
		allow []Class
	}{
		{faultGhost, []Class{GhostSession}},
		{faultLost, []Class{LostSession}},
		{faultWebhook, []Class{WebhookMismatch}},
		{faultLateKick, []Class{LateKick, MissingKick, OverLimit}},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			pol := mustTencent(t, policy.DualPlatform, 1, 1)
			h, _ := simulate(simConfig{pol: pol, users: 30, devices: 4, acts: 30, platforms: mixPlatforms,
				seed: 5, fault: tc.fault, webhooks: true, status: true, churn: true})
			r := Check(h, pol, testOpts())
			for c := Class(0); c < NumClasses; c++ {
				allowed := false
				for _, a := range tc.allow {
					allowed = allowed || a == c
				}
				if !allowed && r.Count(c) != 0 {
					dump(t, r)
					t.Fatalf("fault %s reported as %s (%d)", tc.fault, c, r.Count(c))
				}
			}
		})
	}
}

func TestCorrectHistoriesOverManySeeds(t *testing.T) {
	seeds := 120
	if testing.Short() {
		seeds = 20
	}
	for seed := 0; seed < seeds; seed++ {
		name := tencentNames[seed%len(tencentNames)]
		inst := 1 + seed%3
		noSeq := seed%2 == 1
		pol := mustTencent(t, name, inst, 1+seed%4)
		cfg := simConfig{pol: pol, users: 6, devices: 3 + seed%4, acts: 10 + seed%30,
			platforms: policy.Platforms, seed: uint64(seed), noSeq: noSeq,
			webhooks: seed%3 == 0, status: seed%5 != 0, churn: seed%7 != 0}
		h, _ := simulate(cfg)
		opts := Options{Examples: 1, SearchBudget: 5 * time.Second, Mode: Auto}
		if seed%4 == 2 {
			opts.Mode = Search // ignore the sequence the target gives
		}
		r := Check(h, pol, opts)
		if r.Violations() != 0 || r.Count(Undecided) != 0 {
			dump(t, r)
			t.Fatalf("seed %d (%s, instances %d, noSeq %v, mode %s): %d violations", seed, name, inst, noSeq, opts.Mode, r.Violations())
		}
	}
}

func TestMergeIsExact(t *testing.T) {
	pol := mustTencent(t, policy.DualPlatform, 1, 1)
	cfg := simConfig{pol: pol, users: 40, devices: 4, acts: 25, platforms: mixPlatforms, seed: 3,
		fault: faultWrongVictim, webhooks: true, status: true, churn: true}
	whole, _ := simulate(cfg)
	// The same users in two shards: the simulation is per user, seeded by
	// user index, so shard histories are slices of the whole.
	shardA, shardB := NewHistory(), NewHistory()
	for u := 0; u < cfg.users; u++ {
		dst := shardA
		if u%2 == 1 {
			dst = shardB
		}
		var st simStats
		simulateUser(&cfg, dst, u, &st)
	}
	opts := testOpts()
	opts.End = time.Unix(0, whole.end())
	want := Check(whole, pol, opts)
	got := Check(shardA, pol, opts)
	got.Merge(Check(shardB, pol, opts))
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("merged shards differ from the whole:\nwant %s\ngot  %s", wj, gj)
	}
	if want.Violations() == 0 || want.KickLatency.Count() == 0 {
		t.Fatalf("nothing to merge: %d violations, %d latencies", want.Violations(), want.KickLatency.Count())
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	pol := mustTencent(t, policy.DualPlatform, 1, 1)
	h, _ := simulate(simConfig{pol: pol, users: 20, devices: 4, acts: 20, platforms: mixPlatforms, seed: 9,
		fault: faultDropKick, churn: true})
	r := Check(h, pol, testOpts())
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the report:\n%s\n%s", b, b2)
	}
	if back.Violations() != r.Violations() || back.KickLatency.Count() != r.KickLatency.Count() {
		t.Fatalf("round trip lost counts")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	v := m["verdicts"].(map[string]any)
	if _, ok := v["missing_kick"]; !ok {
		t.Fatalf("verdicts not keyed by class name: %s", b)
	}
}

func TestWriteText(t *testing.T) {
	pol := mustTencent(t, policy.DualPlatform, 1, 1)
	h, _ := simulate(simConfig{pol: pol, users: 10, devices: 4, acts: 20, platforms: mixPlatforms, seed: 2,
		fault: faultWrongVictim})
	r := Check(h, pol, testOpts())
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"wrong_victim", "violations", "--- wrong_victim: user u", "kick latency"} {
		if !strings.Contains(out, want) {
			t.Fatalf("text report lacks %q:\n%s", want, out)
		}
	}
	total := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "violations" && f[1] == fmt.Sprint(r.Violations()) {
			total = true
		}
	}
	if !total || r.Violations() == 0 {
		t.Fatalf("text report lacks the violation total %d:\n%s", r.Violations(), out)
	}
}

func TestParseModeAndClass(t *testing.T) {
	for _, m := range []Mode{Auto, Sequence, Search} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Fatalf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMode("bogus"); err == nil || !strings.Contains(err.Error(), "allowed") {
		t.Fatalf("ParseMode(bogus) error %v", err)
	}
	for c := Class(0); c < NumClasses; c++ {
		got, err := ParseClass(c.String())
		if err != nil || got != c {
			t.Fatalf("ParseClass(%q) = %v, %v", c, got, err)
		}
	}
	if Undecided.Violation() || !NoOrder.Violation() {
		t.Fatal("undecided must not be a violation, no_order must")
	}
}
