package mau_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver/inproc"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

const app = 1400000003

var key = []byte("mau-test-key")

// serverTarget opens a fresh reference server per strategy, sharing the
// calendar and a fake clock with the runner, the way the run command does.
// The runner sends no heartbeats and background-keep stands for mobile
// PushOnline, so idle connections and detached sessions outlive the run.
func serverTarget(servers *[]*server.Server) mau.TargetFunc {
	return func(ctx context.Context, st mau.Strategy, cal mau.Calendar) (mau.Target, error) {
		clk := clock.NewFake(cal.Epoch)
		long := 100 * cal.Day
		s, err := server.New(server.Config{SDKAppID: app, Key: key, Clock: clk, Day: cal.Day, Epoch: cal.Epoch,
			IdleTimeout: long, ResumeWindow: long})
		if err != nil {
			return mau.Target{}, err
		}
		*servers = append(*servers, s)
		sign := func(user string, now time.Time) (string, time.Time, error) {
			life := 7 * cal.Day
			sig, err := usersig.Gen(app, key, user, life, now, nil)
			return sig, now.Add(life), err
		}
		return mau.Target{
			Driver: inproc.New(s), SDKAppID: app, Clock: clk, Sign: sign,
			ServerCounts: func(context.Context) (mau.ServerCounts, error) { return serverCounts(s.Stats()), nil },
			Close:        func() error { return s.Shutdown(context.Background()) },
		}, nil
	}
}

func serverCounts(st server.Stats) mau.ServerCounts {
	var sc mau.ServerCounts
	for _, d := range st.Days {
		sc.Days = append(sc.Days, mau.ServerDay{Day: d.Day, Logins: int64(d.Logins), DAU: int(d.LoginUsers)})
	}
	for _, m := range st.Months {
		sc.Months = append(sc.Months, mau.ServerMonth{Month: m.Month, MAU: int(m.MAU)})
	}
	return sc
}

func TestAgainstReferenceServer(t *testing.T) {
	cfg := mau.Config{
		Seed: 3, Days: 33, Day: time.Hour, Tick: 10 * time.Minute, Workers: 8,
		Strategies: []mau.StrategySpec{{Name: mau.Eager}, {Name: mau.Lazy}, {Name: mau.LazyLogout},
			{Name: mau.BackgroundKeep}, {Name: "tidy", LoginOn: "app_start", LogoutOn: "app_close"}},
		Pricing: mau.Pricing{Currency: "USD", Included: 100, Tiers: []mau.Tier{{PerThousand: 3}}},
	}
	var servers []*server.Server
	rep, err := mau.SimulateMonth(t.Context(), cfg, 1500, serverTarget(&servers))
	if err != nil {
		t.Fatal(err)
	}
	projected, err := mau.SimulateMonth(t.Context(), cfg, 1500, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Mismatches {
		t.Errorf("cross-check: %s", m)
	}
	for i, res := range rep.Strategies {
		st := servers[i].Stats()
		if res.Ops.LoginsFailed != 0 || len(res.Ops.Failures) != 0 {
			t.Errorf("%s: failures %v (first: %s)", res.Name, res.Ops.Failures, res.Ops.FirstError)
		}
		if int64(st.LoginsOK) != res.Logins() {
			t.Errorf("%s: server counted %d logins, harness %d", res.Name, st.LoginsOK, res.Logins())
		}
		var reconnects int64
		for _, d := range res.Days {
			reconnects += d.Reconnects
		}
		if int64(st.Resumes) != reconnects {
			t.Errorf("%s: server counted %d resumes, harness %d reconnects", res.Name, st.Resumes, reconnects)
		}
		p := projected.Strategies[i]
		for j := range p.Months {
			if res.Months[j].MAU != p.Months[j].MAU {
				t.Errorf("%s: MAU %s %d, projected %d", res.Name, p.Months[j].Month, res.Months[j].MAU, p.Months[j].MAU)
			}
		}
		if res.Logins() != p.Logins() {
			t.Errorf("%s: logins %d, projected %d", res.Name, res.Logins(), p.Logins())
		}
	}
	eager, _ := rep.Strategy(mau.Eager)
	lazy, _ := rep.Strategy(mau.Lazy)
	if eager.Months[0].MAU <= lazy.Months[0].MAU || eager.Cost.Total <= lazy.Cost.Total {
		t.Errorf("eager MAU %d cost %.2f, lazy %d %.2f", eager.Months[0].MAU, eager.Cost.Total, lazy.Months[0].MAU, lazy.Cost.Total)
	}
	t.Logf("%d strategies, eager MAU %v, lazy MAU %v, cheapest %s", len(rep.Strategies), eager.Months, lazy.Months, rep.Cheapest)
}

// BenchmarkMonthInproc runs a month of the default population under eager
// against the reference server in process, with tickets signed and
// verified. IMLOAD_BENCH_USERS sets the population (default 100,000):
//
//	IMLOAD_BENCH_USERS=1000000 go test ./mau -run X -bench MonthInproc -benchtime 1x
func BenchmarkMonthInproc(b *testing.B) {
	users := 100_000
	if s := os.Getenv("IMLOAD_BENCH_USERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("IMLOAD_BENCH_USERS: %v", err)
		}
		users = n
	}
	cfg := mau.Config{Seed: 1, Day: 2 * time.Second, Workers: 4, Strategies: []mau.StrategySpec{{Name: mau.Eager}}}
	for range b.N {
		var servers []*server.Server
		rep, err := mau.SimulateMonth(b.Context(), cfg, users, serverTarget(&servers))
		if err != nil {
			b.Fatal(err)
		}
		s := rep.Strategies[0]
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(s.Logins())/s.Elapsed, "logins/s")
		b.ReportMetric(float64(s.Ops.Logins+s.Ops.Closes)/s.Elapsed, "actions/s")
		b.ReportMetric(s.Elapsed, "s/month")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
		b.ReportMetric(float64(len(rep.Mismatches)), "mismatches")
	}
}
