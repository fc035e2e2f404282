package mau

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

// BenchmarkActivity measures the usage model: users' days generated per
// second with the default segments.
func BenchmarkActivity(b *testing.B) {
	m, err := NewModel(Config{Seed: 1}, 1_000_000)
	if err != nil {
		b.Fatal(err)
	}
	var buf []AppSession
	sessions := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		buf = m.AppendActivity(buf[:0], i%1_000_000, (i/1_000_000)%m.Days())
		sessions += len(buf)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "user-days/s")
	b.ReportMetric(float64(sessions)/float64(b.N), "sessions/user-day")
}

// BenchmarkCounter measures the accounting: logins counted per second.
func BenchmarkCounter(b *testing.B) {
	cal := novemberCalendar(2 * time.Second)
	c := NewCounter(cal, 30, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		u := 0
		for pb.Next() {
			u = (u + 7919) % 1_000_000
			c.AddDay(u, u%30, Login)
			c.AddDay(u, u%30, Disconnect)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkRunDay measures the runner's own cost per action: one
// simulated day of 100,000 users under eager, against a target that does
// nothing.
func BenchmarkRunDay(b *testing.B) {
	cfg := Config{Seed: 1, Days: 1, Workers: 8}
	r, err := NewRunner(cfg, 100_000)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := Preset(Eager)
	var actions int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := r.Run(b.Context(), st, Target{Driver: nopDriver{}})
		if err != nil {
			b.Fatal(err)
		}
		actions += res.Ops.Logins + res.Ops.Closes
	}
	b.ReportMetric(float64(actions)/b.Elapsed().Seconds(), "actions/s")
}

// BenchmarkProjectDay measures Project: user-days per second.
func BenchmarkProjectDay(b *testing.B) {
	r, err := NewRunner(Config{Seed: 1, Days: 1}, 100_000)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := Preset(Eager)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.Project(b.Context(), st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds(), "user-days/s")
}

// BenchmarkMonthMillion runs a month of 1,000,000 users under eager
// against a target that does nothing, measuring the runner alone. It takes
// tens of seconds, so it runs only when IMLOAD_BENCH_MILLION is set:
//
//	IMLOAD_BENCH_MILLION=1 go test ./mau -run X -bench MonthMillion -benchtime 1x
func BenchmarkMonthMillion(b *testing.B) {
	if os.Getenv("IMLOAD_BENCH_MILLION") == "" {
		b.Skip("set IMLOAD_BENCH_MILLION=1 to run a month of 1,000,000 users")
	}
	cfg := Config{Seed: 1, Strategies: []StrategySpec{{Name: Eager}}}
	open := func(context.Context, Strategy, Calendar) (Target, error) { return Target{Driver: nopDriver{}}, nil }
	for range b.N {
		rep, err := SimulateMonth(b.Context(), cfg, 1_000_000, open)
		if err != nil {
			b.Fatal(err)
		}
		s := rep.Strategies[0]
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(s.Ops.Logins+s.Ops.Closes)/s.Elapsed, "actions/s")
		b.ReportMetric(float64(s.Months[0].MAU), "MAU")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
	}
}
