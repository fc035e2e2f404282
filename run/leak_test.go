package run

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/scenario"
)

// Every goroutine a run starts — devices, pacer, embedded server, webhook
// listener, live view, driver readers — has ended when Execute returns
// (allowing a moment for the runtime to reap them), both when the run ends by
// itself and when it is interrupted.
func TestExecuteLeavesNoGoroutines(t *testing.T) {
	const src = `
name: leak
seed: 3
target: {policy: dual-platform}
population: {users: 50}
phases:
  - {model: open, duration: 600ms, rate: 80}
  - {model: closed, duration: 400ms, devices: 20}
behaviour:
  hold: {dist: uniform, min: 50ms, max: 300ms}
  think: 50ms
  flap: 0.2
  flap_down: 30ms
  switch_account: 0.2
`
	for _, interrupt := range []bool{false, true} {
		name := "ends by itself"
		if interrupt {
			name = "interrupted"
		}
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(src), "leak.yaml")
			if err != nil {
				t.Fatal(err)
			}
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if interrupt {
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			out, err := Execute(ctx, Options{Scenario: sc})
			if err != nil {
				t.Fatal(err)
			}
			if out.File.Interrupted != interrupt {
				t.Fatalf("interrupted = %v, want %v", out.File.Interrupted, interrupt)
			}
			if out.File.Metrics.Op("login").Count == 0 {
				t.Fatal("the run logged nobody in")
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("%d goroutines before the run, %d after it:\n%s", before, n, trimStacks(string(buf)))
			}
		})
	}
}

// trimStacks keeps the first lines of each goroutine's stack.
func trimStacks(s string) string {
	var out []string
	for _, g := range strings.Split(s, "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) > 6 {
			lines = lines[:6]
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return strings.Join(out, "\n\n")
}
