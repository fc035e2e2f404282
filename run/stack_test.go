package run

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imload/imload/event"
)

// heldStacks runs n in-process devices through a run's own wiring (pacer,
// pool, device), closed model, and returns the goroutine stacks in use
// while all of them are held logged in.
func heldStacks(t *testing.T, n int) (uint64, int) {
	t.Helper()
	sc := parseScenario(t, fmt.Sprintf(`
name: stacks
seed: 1
target: {driver: inproc, policy: multi-platform, instances: 3, web_instances: 10}
population: {users: %d}
platforms: {Android: 1}
phases:
  - {model: closed, duration: 30s, devices: %d}
behaviour:
  hold: {dist: constant, value: 1h}
  logout_ratio: 1
  relogin_after_kick: false
`, n*10, n))
	var logins atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	sink := sinkFunc(func(e *event.Event) {
		if e.Kind == event.Login && e.Outcome == event.OK && logins.Add(1) == int64(n) {
			once.Do(func() { close(all) })
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Execute(ctx, Options{Scenario: sc, Sink: sink})
	}()
	select {
	case <-all:
	case <-time.After(25 * time.Second):
		t.Fatalf("%d of %d devices logged in", logins.Load(), n)
	}
	time.Sleep(200 * time.Millisecond)
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	g := runtime.NumGoroutine()
	cancel()
	<-done
	return ms.StackInuse, g
}

type sinkFunc func(*event.Event)

func (f sinkFunc) Observe(e *event.Event) { f(e) }

// A held in-process device costs no goroutine (its session waits on a
// timer and the connection's word of pushes, see agent.Device.Start), so
// no stack either: measured as the slope between two runs of a run's own
// wiring (pacer, pool, device), so what every run holds anyway cancels
// out. A session that parks a goroutine again shows as one goroutine and
// 2 KiB or more a device.
func TestHeldDeviceStack(t *testing.T) {
	small, g1 := heldStacks(t, 500)
	large, g2 := heldStacks(t, 2500)
	per := (float64(large) - float64(small)) / 2000
	g := float64(g2-g1) / 2000
	t.Logf("stack a held device: %.0f B, goroutines %.3f", per, g)
	if g > 0.05 {
		t.Errorf("%.3f goroutines a held in-process device, want none", g)
	}
	if per > 1024 {
		t.Errorf("%.0f B of stack a held device, want none", per)
	}
}
