package run

import (
	"context"
	"encoding/json"
	"github.com/imload/imload/shard"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
)

// userSet records the users whose events a run emitted.
type userSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (u *userSet) Observe(e *event.Event) {
	if e.UserID == "" {
		return
	}
	u.mu.Lock()
	if u.m == nil {
		u.m = map[string]bool{}
	}
	u.m[e.UserID] = true
	u.mu.Unlock()
}

func loadScenario(t *testing.T, path string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// userIndex reads the index out of a default user ID ("user_000042").
func userIndex(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(id, "user_"))
	if err != nil {
		t.Fatalf("user ID %q does not follow user_%%06d", id)
	}
	return n
}

func kickoutOf(t *testing.T, f *results.File) *check.Report {
	t.Helper()
	if f.Kickout == nil {
		t.Fatal("the results hold no kickout report")
	}
	return f.Kickout
}

// A run split in four shards: each user in exactly one shard, merged counts
// and histograms that are the sums of the shards', the same merge in any
// order, and totals close to the same run in one process.
func TestShardsMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3 s scenario five times")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 4

	var wholeUsers userSet
	var shardUsers [n]userSet
	var whole *Outcome
	var shards [n]*Outcome
	var errs [n + 1]error
	var scs [n + 1]*scenario.Scenario
	for i := range scs {
		scs[i] = loadScenario(t, "testdata/shards.yaml")
	}
	var wg sync.WaitGroup
	wg.Add(n + 1)
	go func() {
		defer wg.Done()
		whole, errs[n] = Execute(ctx, Options{Scenario: scs[n], Sink: &wholeUsers})
	}()
	for i := range n {
		go func() {
			defer wg.Done()
			shards[i], errs[i] = Execute(ctx, Options{Scenario: scs[i], Shard: shard.Shard{Index: i, Count: n}, Sink: &shardUsers[i]})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}

	// Every user in exactly one shard: the one that owns it.
	seen := map[string]int{}
	for i := range n {
		if got := shards[i].File.Shard; got != (shard.Shard{Index: i, Count: n}).String() {
			t.Errorf("shard %d wrote Shard %q", i, got)
		}
		if len(shardUsers[i].m) == 0 {
			t.Fatalf("shard %d saw no user", i)
		}
		for id := range shardUsers[i].m {
			if j, dup := seen[id]; dup {
				t.Fatalf("user %s in shards %d and %d", id, j, i)
			}
			seen[id] = i
			if u := userIndex(t, id); u%n != i {
				t.Fatalf("shard %d had user %s, which shard %d owns", i, id, u%n)
			}
		}
	}

	files := make([]*results.File, n)
	for i := range n {
		files[i] = shards[i].File
	}
	merged, err := MergeFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	m := merged.File.Metrics
	if merged.File.MergedFrom != n {
		t.Errorf("MergedFrom = %d, want %d", merged.File.MergedFrom, n)
	}

	// Counts and histogram counts are the sums of the shards'.
	for _, op := range []string{"connect", "login", "logout", "resume"} {
		var attempts, ok, hist int64
		for _, f := range files {
			st := f.Metrics.Op(op)
			attempts += st.Count
			ok += st.OK
			for _, c := range f.Metrics.Ops[op] {
				hist += c.Latency.Count()
			}
		}
		st := m.Op(op)
		var mhist int64
		for _, c := range m.Ops[op] {
			mhist += c.Latency.Count()
		}
		if st.Count != attempts || st.OK != ok || mhist != hist {
			t.Errorf("%s: merged attempts %d, ok %d, histogram count %d; shards add up to %d, %d, %d", op, st.Count, st.OK, mhist, attempts, ok, hist)
		}
	}
	var kicks int64
	for _, f := range files {
		kicks += f.Metrics.EventCount("kicked", "")
	}
	if got := m.EventCount("kicked", ""); got != kicks {
		t.Errorf("merged kicks %d, shards add up to %d", got, kicks)
	}

	// The oracle: users, logins and kicks add up; no violations anywhere.
	var users, logins, okicks int64
	for _, f := range files {
		r := kickoutOf(t, f)
		users += r.Checks.Users
		logins += r.Checks.Logins
		okicks += r.Checks.Kicks
	}
	mc := merged.Kickout.Checks
	if mc.Users != users || mc.Logins != logins || mc.Kicks != okicks {
		t.Errorf("merged oracle checked %d users, %d logins, %d kicks; shards add up to %d, %d, %d", mc.Users, mc.Logins, mc.Kicks, users, logins, okicks)
	}
	// Users touched: every user the devices of a shard used, and every user
	// of its slice whose online status it read at the end, i.e. all of them.
	if mc.Users != 400 || int64(len(seen)) > mc.Users {
		t.Errorf("merged oracle checked %d users; devices touched %d; the population is 400", mc.Users, len(seen))
	}
	if mc.Users != whole.Kickout.Checks.Users {
		t.Errorf("merged oracle checked %d users, the whole run %d", mc.Users, whole.Kickout.Checks.Users)
	}
	// The policy verdicts must be clean in both runs. Ghost, lost, late and
	// over-limit verdicts are left out: they depend on timing (the online
	// status is read user by user while late sessions may still change, and
	// a loaded machine delays notices), not on how users are sharded.
	for _, c := range []check.Class{check.WrongVictim, check.MissingKick, check.SpuriousKick, check.NoOrder} {
		if merged.Kickout.Count(c) != 0 || whole.Kickout.Count(c) != 0 {
			var b strings.Builder
			_ = whole.Kickout.WriteText(&b)
			b.WriteString("\nmerged:\n")
			_ = merged.Kickout.WriteText(&b)
			t.Errorf("%s: merged %d, whole run %d; want 0\nwhole run:\n%s", c, merged.Kickout.Count(c), whole.Kickout.Count(c), b.String())
		}
	}
	t.Logf("violations: merged %d, whole run %d", merged.Kickout.Violations(), whole.Kickout.Violations())

	// Thresholds judged again over the merged data.
	if len(merged.File.Thresholds) != 3 {
		t.Fatalf("merged thresholds: %+v", merged.File.Thresholds)
	}
	passed := true
	for _, th := range merged.File.Thresholds {
		passed = passed && th.Pass
		var want float64
		switch th.Metric {
		case "login.count":
			want = float64(m.Op("login").Count)
		case "kickout.violations":
			want = float64(merged.Kickout.Violations())
		case "login.p99":
			want = m.Op("login").Quantile(0.99).Seconds()
		}
		if th.Error != "" || th.Actual != want {
			t.Errorf("%s judged %v (error %q) over the merged data, which has %v", th.Expr, th.Actual, th.Error, want)
		}
	}
	if merged.Passed != passed {
		t.Errorf("Passed %v, but the thresholds say %v", merged.Passed, passed)
	}

	// Exact: any order gives the same file.
	want, err := json.Marshal(merged.File)
	if err != nil {
		t.Fatal(err)
	}
	for _, perm := range [][]int{{3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}} {
		fs := make([]*results.File, n)
		for i, j := range perm {
			fs[i] = files[j]
		}
		other, err := MergeFiles(fs...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(other.File)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("merge in order %v differs from order 0 1 2 3", perm)
		}
	}

	// Close to the same run in one process (same seed, same total rates).
	near := func(what string, sharded, one int64, tol float64) {
		t.Helper()
		if one == 0 || math.Abs(float64(sharded-one))/float64(one) > tol {
			t.Errorf("%s: 4 shards %d, one process %d (tolerance %.0f%%)", what, sharded, one, tol*100)
		} else {
			t.Logf("%s: 4 shards %d, one process %d", what, sharded, one)
		}
	}
	w := whole.File.Metrics
	near("login attempts", m.Op("login").Count, w.Op("login").Count, 0.15)
	near("logins ok", m.Op("login").OK, w.Op("login").OK, 0.15)
	near("connects", m.Op("connect").Count, w.Op("connect").Count, 0.15)
}

func emptySnapshot() *metrics.Snapshot { return metrics.NewRecorder().Snapshot() }

func TestMergeFilesRefuses(t *testing.T) {
	mk := func(shard string) *results.File {
		return &results.File{Schema: results.Schema, Scenario: "s", Seed: 1, Shard: shard, Metrics: emptySnapshot()}
	}
	tests := []struct {
		name    string
		files   []*results.File
		wantErr string
	}{
		{"same shard twice", []*results.File{mk("0/2"), mk("0/2")}, "both shard"},
		{"splits of different N", []*results.File{mk("0/2"), mk("1/4")}, "shard of 2"},
		{"kickout in one only", []*results.File{mk("0/2"), func() *results.File { f := mk("1/2"); f.Kickout = &check.Report{}; return f }()}, "kickout"},
		{"other thresholds", []*results.File{mk("0/2"), func() *results.File {
			f := mk("1/2")
			f.Thresholds = []results.Threshold{{Expr: "login.p99 < 1s"}}
			return f
		}()}, "thresholds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeFiles(tc.files...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
