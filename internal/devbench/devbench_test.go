package devbench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary is also the bench's server (StartServer runs it again
// with ChildEnv set).
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) != "" {
		os.Exit(ServeChild())
	}
	os.Exit(m.Run())
}

func startServer(tb testing.TB) *Server {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := StartServer(exe)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop() })
	return s
}

// A small run measures both clients: every device of both is held (the
// goroutines they add are counted while they are), and the loop and lag
// steps answer for every login.
func TestSmallRunMeasuresBothClients(t *testing.T) {
	s := startServer(t)
	res, err := Run(context.Background(), Config{URL: s.URL, Held: []int{200}, Rounds: 2, Logins: 100,
		LagRate: 200, LagFor: 500 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Held) != 1 {
		t.Fatalf("%d held measurements, want 1", len(res.Held))
	}
	bare, im := res.Held[0][0], res.Held[0][1]
	// The bare client runs one reader goroutine per device; imload one
	// device goroutine and one reader.
	if bare.Goroutines < 0.95 || bare.Goroutines > 1.05 {
		t.Errorf("bare: %.2f goroutines a held device, want 1", bare.Goroutines)
	}
	if im.Goroutines < 0.95 {
		t.Errorf("imload: %.2f goroutines a held device, want at least 1 (the devices are not held)", im.Goroutines)
	}
	if bare.HeapKiB <= 0 || im.HeapKiB <= 0 {
		t.Errorf("heap a device: bare %.1f KiB, imload %.1f KiB; both hold connections, so both must be positive", bare.HeapKiB, im.HeapKiB)
	}
	if len(res.LoopBare) != 2 || len(res.LoopImload) != 2 || res.LoopRatio() <= 0 {
		t.Errorf("loop rounds bare %v imload %v", res.LoopBare, res.LoopImload)
	}
	for _, l := range []Lag{res.LagBare, res.LagImload} {
		if l.Arrivals < 90 || l.Failed != 0 {
			t.Errorf("lag step: %d arrivals (want about 100), %d failed", l.Arrivals, l.Failed)
		}
	}
}

// An unreachable server fails the step with the client's name.
func TestRunNamesTheFailingClient(t *testing.T) {
	_, err := Run(context.Background(), Config{URL: "ws://127.0.0.1:1/v1/ws", Held: []int{1}, Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "bare holding 1 devices") {
		t.Fatalf("err %v, want the bare client's hold named", err)
	}
}

func TestMedian(t *testing.T) {
	if m := Median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("median %v, want 3", m)
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median %v, want 2.5", m)
	}
}

// BenchmarkHeld is the side-by-side benchmark (BENCHMARKS.md):
//
//	DEVBENCH_HELD=10000,18500 go test -run '^$' -bench Held -benchtime 1x ./internal/devbench
//
// DEVBENCH_HELD (default 2000), DEVBENCH_ROUNDS (5), DEVBENCH_LOGINS
// (2000) and DEVBENCH_LAG_RATE (500/s for 5 s) size it.
func BenchmarkHeld(b *testing.B) {
	held := []int{2000}
	if v := os.Getenv("DEVBENCH_HELD"); v != "" {
		held = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				b.Fatalf("DEVBENCH_HELD=%q: %q is not a positive count", v, f)
			}
			held = append(held, n)
		}
	}
	env := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	s := startServer(b)
	for b.Loop() {
		res, err := Run(context.Background(), Config{URL: s.URL, Held: held, Rounds: env("DEVBENCH_ROUNDS", 5),
			Logins: env("DEVBENCH_LOGINS", 2000), LagRate: float64(env("DEVBENCH_LAG_RATE", 500)), LagFor: 5 * time.Second,
			Progress: benchLog{b}})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range res.Held {
			n := strconv.Itoa(p[0].Devices)
			b.ReportMetric(p[1].RSSKiB/p[0].RSSKiB, "rss-ratio@"+n)
			b.ReportMetric(p[0].RSSKiB, "bare-rss-KiB/dev@"+n)
			b.ReportMetric(p[1].RSSKiB, "imload-rss-KiB/dev@"+n)
			b.ReportMetric(p[0].HeapKiB, "bare-heap-KiB/dev@"+n)
			b.ReportMetric(p[1].HeapKiB, "imload-heap-KiB/dev@"+n)
			b.ReportMetric(p[0].StackKiB, "bare-stack-KiB/dev@"+n)
			b.ReportMetric(p[1].StackKiB, "imload-stack-KiB/dev@"+n)
		}
		b.ReportMetric(res.LoopRatio(), "loop-ratio")
		b.ReportMetric(Median(res.LoopBare), "bare-logins/s")
		b.ReportMetric(Median(res.LoopImload), "imload-logins/s")
		b.ReportMetric(float64(res.LagBare.P99.Microseconds()), "bare-lag-p99-µs")
		b.ReportMetric(float64(res.LagImload.P99.Microseconds()), "imload-lag-p99-µs")
	}
}

type benchLog struct{ b *testing.B }

func (l benchLog) Write(p []byte) (int, error) {
	l.b.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
