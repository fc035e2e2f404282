package mau

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
)

// runConfig covers November and the first two days of December, so the
// month boundary is crossed.
func runConfig() Config {
	cfg := testConfig()
	cfg.Days = 32
	cfg.Day = 2 * time.Second
	cfg.Tick = 15 * time.Minute
	return cfg
}

// fakeTarget opens a fresh fakeDriver on a fake clock at the epoch.
func fakeTarget(drivers *[]*fakeDriver) TargetFunc {
	return func(ctx context.Context, st Strategy, cal Calendar) (Target, error) {
		clk := clock.NewFake(cal.Epoch)
		d := newFakeDriver(clk, cal)
		*drivers = append(*drivers, d)
		return Target{Driver: d, Clock: clk, ServerCounts: d.serverCounts}, nil
	}
}

func sameCounts(t *testing.T, what string, got, want Counts, peak bool) {
	t.Helper()
	if len(got.Months) != len(want.Months) || len(got.Days) != len(want.Days) {
		t.Fatalf("%s: %d months %d days, want %d and %d", what, len(got.Months), len(got.Days), len(want.Months), len(want.Days))
	}
	for i := range want.Months {
		if got.Months[i] != want.Months[i] {
			t.Errorf("%s: month %+v, want %+v", what, got.Months[i], want.Months[i])
		}
	}
	for i := range want.Days {
		g, w := got.Days[i], want.Days[i]
		if !peak {
			g.PeakOnline, w.PeakOnline = 0, 0
		}
		if g != w {
			t.Errorf("%s: day %+v, want %+v", what, g, w)
		}
	}
	if peak && got.PeakOnline != want.PeakOnline {
		t.Errorf("%s: peak online %d, want %d", what, got.PeakOnline, want.PeakOnline)
	}
}

func TestRunMatchesProjectionAndServer(t *testing.T) {
	for _, workers := range []int{1, 7} {
		t.Run("workers="+strconv.Itoa(workers), func(t *testing.T) {
			cfg := runConfig()
			cfg.Workers = workers
			projected, err := SimulateMonth(t.Context(), cfg, 600, nil)
			if err != nil {
				t.Fatal(err)
			}
			var drivers []*fakeDriver
			ran, err := SimulateMonth(t.Context(), cfg, 600, fakeTarget(&drivers))
			if err != nil {
				t.Fatal(err)
			}
			if len(ran.Mismatches) != 0 {
				t.Errorf("server cross-check: %v", ran.Mismatches)
			}
			if len(ran.Strategies) != 4 || len(drivers) != 4 {
				t.Fatalf("%d strategies on %d drivers, want 4 on 4", len(ran.Strategies), len(drivers))
			}
			for i, res := range ran.Strategies {
				p := projected.Strategies[i]
				if res.Name != p.Name || res.Projected || !p.Projected {
					t.Fatalf("strategy %d: %s/%v vs %s/%v", i, res.Name, res.Projected, p.Name, p.Projected)
				}
				sameCounts(t, res.Name, res.Counts, p.Counts, workers == 1)
				if res.Ops.LoginsFailed != 0 || res.Ops.ResumeFallbacks != 0 {
					t.Errorf("%s: ops %+v", res.Name, res.Ops)
				}
				if n := drivers[i].totalLogins(); n != res.Logins() {
					t.Errorf("%s: the target saw %d logins, the harness counted %d", res.Name, n, res.Logins())
				}
				if open := drivers[i].open.Load(); open != 0 {
					t.Errorf("%s: %d connections left open", res.Name, open)
				}
				if res.Months[0].MAU == 0 || res.Months[1].MAU == 0 {
					t.Errorf("%s: MAU %+v: the population should log in in both months", res.Name, res.Months)
				}
			}
		})
	}
}

func TestEagerCostsMoreThanLazy(t *testing.T) {
	// Browsers open the app most days but rarely chat.
	cfg := Config{Seed: 11, Days: 30, Pricing: Pricing{Currency: "USD", Tiers: []Tier{{PerThousand: 2}}},
		Segments: []Segment{
			{Name: "chatty", Share: 0.2, OpenProb: 0.9, SessionsPerDay: 3, ChatProb: 0.6, BackgroundProb: 0.6},
			{Name: "browsers", Share: 0.6, OpenProb: 0.5, SessionsPerDay: 1.5, ChatProb: 0.01, BackgroundProb: 0.6},
			{Name: "dormant", Share: 0.2, Dormant: true},
		}}
	rep, err := SimulateMonth(t.Context(), cfg, 5000, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) StrategyResult {
		s, ok := rep.Strategy(name)
		if !ok {
			t.Fatalf("no result for %s", name)
		}
		return s
	}
	eager, lazy, lazyOut, keep := get(Eager), get(Lazy), get(LazyLogout), get(BackgroundKeep)
	mau := func(s StrategyResult) int { return s.Months[0].MAU }
	if mau(eager) <= mau(lazy) {
		t.Errorf("eager MAU %d, lazy MAU %d: eager should cost more", mau(eager), mau(lazy))
	}
	if mau(eager) > 4000 || mau(eager) < 3000 { // 80% open the app at all
		t.Errorf("eager MAU %d of 5000 users with 1000 dormant", mau(eager))
	}
	if mau(lazyOut) != mau(lazy) || lazyOut.Logins() < lazy.Logins() {
		t.Errorf("lazy-logout MAU %d logins %d vs lazy %d/%d: same users, at least as many logins",
			mau(lazyOut), lazyOut.Logins(), mau(lazy), lazy.Logins())
	}
	if keep.Logins() >= eager.Logins() || mau(keep) > mau(eager) {
		t.Errorf("background-keep logins %d MAU %d vs eager %d/%d", keep.Logins(), mau(keep), eager.Logins(), mau(eager))
	}
	if rep.Cheapest != Lazy && rep.Cheapest != LazyLogout {
		t.Errorf("cheapest = %s", rep.Cheapest)
	}
	if eager.Cost.OverCheapest <= 0 || eager.Cost.Total != float64(mau(eager))*2/1000 {
		t.Errorf("eager cost %+v", eager.Cost)
	}
}

func TestRefusedLoginsDoNotCount(t *testing.T) {
	cfg := runConfig()
	r, err := NewRunner(cfg, 400)
	if err != nil {
		t.Fatal(err)
	}
	cal := r.Calendar()
	clk := clock.NewFake(cal.Epoch)
	d := newFakeDriver(clk, cal)
	d.refuse = func(user string) int {
		if n, _ := strconv.Atoi(strings.TrimPrefix(user, "mau_")); n%2 == 0 {
			return 70051 // blacklisted
		}
		return 0
	}
	st, _ := Preset(Eager)
	res, err := r.Run(t.Context(), st, Target{Driver: d, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := r.Project(t.Context(), st)
	if res.Ops.LoginsFailed == 0 || res.Ops.Failures["login:70051"] != res.Ops.LoginsFailed {
		t.Fatalf("ops %+v: want the refusals tallied under login:70051", res.Ops)
	}
	if res.Logins()+res.Ops.LoginsFailed != whole.Logins() {
		t.Errorf("%d counted + %d refused != %d attempted", res.Logins(), res.Ops.LoginsFailed, whole.Logins())
	}
	// Only odd users log in: count them from the model.
	odd := map[int]bool{}
	for u := 1; u < 400; u += 2 {
		for day := range 30 {
			if len(st.Plan(nil, r.Model().Activity(u, day), new(bool))) > 0 {
				odd[u] = true
			}
		}
	}
	if res.Months[0].MAU != len(odd) {
		t.Errorf("November MAU %d, want the %d odd users who opened the app", res.Months[0].MAU, len(odd))
	}
	if mm := CrossCheck(res.Counts, mustServer(t, d)); len(mm) != 0 {
		t.Errorf("cross-check: %v", mm)
	}
}

func mustServer(t *testing.T, d *fakeDriver) ServerCounts {
	sc, err := d.serverCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestResumeRefusedFallsBackToLogin(t *testing.T) {
	cfg := runConfig()
	r, err := NewRunner(cfg, 300)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Preset(BackgroundKeep)
	proj, _ := r.Project(t.Context(), st)
	var resumes int64
	for _, d := range proj.Days {
		resumes += d.Reconnects
	}
	if resumes == 0 {
		t.Fatal("the projection has no reconnects to refuse")
	}
	clk := clock.NewFake(r.Calendar().Epoch)
	d := newFakeDriver(clk, r.Calendar())
	d.noResume = true
	res, err := r.Run(t.Context(), st, Target{Driver: d, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops.ResumeFallbacks != resumes || res.Ops.Failures["resume:6208"] != resumes {
		t.Errorf("fallbacks %d, failures %v; want %d of each", res.Ops.ResumeFallbacks, res.Ops.Failures, resumes)
	}
	if res.Logins() != proj.Logins()+resumes {
		t.Errorf("logins %d, want %d + %d refused resumes", res.Logins(), proj.Logins(), resumes)
	}
	for _, day := range res.Days {
		if day.Reconnects != 0 {
			t.Fatalf("day %d counts %d reconnects though every resume was refused", day.Day, day.Reconnects)
		}
	}
}

func TestShardsMergeExactly(t *testing.T) {
	cfg := runConfig()
	whole, err := SimulateMonth(t.Context(), cfg, 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"projected", "fake target"} {
		t.Run(target, func(t *testing.T) {
			var parts []*Report
			users := 0
			for i := range 3 {
				var open TargetFunc
				if target != "projected" {
					var drivers []*fakeDriver
					open = fakeTarget(&drivers)
				}
				rep, err := SimulateMonth(t.Context(), cfg, 500, open, WithShard(Shard{i, 3}))
				if err != nil {
					t.Fatal(err)
				}
				users += rep.Users
				parts = append(parts, rep)
			}
			if users != 500 {
				t.Fatalf("shards hold %d users, want 500", users)
			}
			merged, err := Merge(parts[2], parts[0], parts[1])
			if err != nil {
				t.Fatal(err)
			}
			if merged.Users != 500 || len(merged.Shards) != 3 || merged.Shards[0].Index != 0 {
				t.Errorf("merged users %d shards %v", merged.Users, merged.Shards)
			}
			for i, s := range merged.Strategies {
				sameCounts(t, s.Name, s.Counts, whole.Strategies[i].Counts, false)
				if s.PeakOnline < whole.Strategies[i].PeakOnline || !s.PeakIsBound {
					t.Errorf("%s: merged peak %d does not bound %d", s.Name, s.PeakOnline, whole.Strategies[i].PeakOnline)
				}
			}
			if merged.Cheapest != whole.Cheapest {
				t.Errorf("cheapest %s, want %s", merged.Cheapest, whole.Cheapest)
			}
			if _, err := Merge(parts[0], parts[0]); err == nil {
				t.Error("merging a shard with itself succeeded")
			}
		})
	}
}

func TestRunRealtime(t *testing.T) {
	cfg := Config{Seed: 4, Days: 3, Day: 150 * time.Millisecond, Tick: 10 * time.Minute, Realtime: true,
		Workers: 4, Segments: testConfig().Segments}
	epoch := time.Now().Add(30 * time.Millisecond)
	r, err := NewRunner(cfg, 200, WithEpoch(epoch))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Preset(Eager)
	proj, err := r.Project(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	d := newFakeDriver(clock.Real{}, r.Calendar())
	begin := time.Now()
	res, err := r.Run(t.Context(), st, Target{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 400*time.Millisecond {
		t.Errorf("a realtime run of 3 days of 150ms took %v", took)
	}
	// Per-day attribution may shift at a boundary by scheduling jitter, and
	// on a busy machine the last logins may end after the month: counted
	// outside the run, not lost.
	if res.Logins() > proj.Logins() || int64(proj.Logins()-res.Logins()) > res.Outside ||
		int64(proj.Months[0].MAU-res.Months[0].MAU) > res.Outside || res.Months[0].MAU > proj.Months[0].MAU {
		t.Errorf("realtime logins %d MAU %d, projected %d and %d (outside %d, failed %d)", res.Logins(), res.Months[0].MAU, proj.Logins(), proj.Months[0].MAU, res.Outside, res.Ops.LoginsFailed)
	}
}

func TestRunClockErrors(t *testing.T) {
	cfg := runConfig()
	r, err := NewRunner(cfg, 10)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Preset(Eager)
	_, err = r.Run(t.Context(), st, Target{Driver: nopDriver{}, Clock: clock.Real{}})
	if err == nil || !strings.Contains(err.Error(), "needs a settable clock") {
		t.Errorf("real clock in simulated time: %v", err)
	}
	late := clock.NewFake(r.Calendar().Epoch.Add(time.Hour))
	_, err = r.Run(t.Context(), st, Target{Driver: nopDriver{}, Clock: late})
	if err == nil || !strings.Contains(err.Error(), "after the calendar's epoch") {
		t.Errorf("clock past the epoch: %v", err)
	}
	cfg.Realtime = true
	if _, err := NewRunner(cfg, 10); err == nil {
		t.Error("a realtime runner without an epoch was accepted")
	}
}

// slowDriver blocks every login until the context ends.
type slowDriver struct{ nopDriver }

func (slowDriver) Connect(context.Context, driver.Device) (driver.Conn, error) {
	return slowConn{}, nil
}

type slowConn struct{ nopConn }

func (slowConn) Login(ctx context.Context, _ driver.LoginRequest) (driver.LoginResult, error) {
	<-ctx.Done()
	return driver.LoginResult{}, ctx.Err()
}

func TestRunCancel(t *testing.T) {
	r, err := NewRunner(runConfig(), 100)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	st, _ := Preset(Eager)
	begin := time.Now()
	_, err = r.Run(ctx, st, Target{Driver: slowDriver{}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("cancel took %v", took)
	}
}

func TestOpTimeoutAndSign(t *testing.T) {
	r, err := NewRunner(runConfig(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var signs atomic.Int64
	var mu sync.Mutex
	seen := map[string]string{}
	sign := func(user string, now time.Time) (string, time.Time, error) {
		signs.Add(1)
		mu.Lock()
		defer mu.Unlock()
		seen[user] = "sig-" + user
		return "sig-" + user, now.Add(5 * 2 * time.Second), nil // five simulated days
	}
	st, _ := Preset(Eager)
	res, err := r.Run(t.Context(), st, Target{Driver: slowDriver{}, Sign: sign, OpTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Logins() != 0 || res.Ops.Failures["login:timeout"] != res.Ops.LoginsFailed || res.Ops.LoginsFailed == 0 {
		t.Errorf("timed-out logins: counted %d, ops %+v", res.Logins(), res.Ops)
	}
	// A ticket lives five simulated days: each user signs at most
	// ceil(32/4) times (a new one an hour before expiry), not once a login.
	if n := signs.Load(); n == 0 || n > int64(len(seen))*8 || n >= res.Ops.Logins {
		t.Errorf("%d tickets for %d users and %d logins", n, len(seen), res.Ops.Logins)
	}
}
