package agent

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/pacer"
	"github.com/imload/imload/scenario"
)

func poolScenario() *scenario.Scenario {
	ms := func(n int) scenario.Duration { return scenario.Duration(time.Duration(n) * time.Millisecond) }
	return &scenario.Scenario{
		Target:     scenario.Target{SDKAppID: 1400000001, Timeout: ms(25)},
		Population: scenario.Population{Users: 15},
		Platforms:  map[string]float64{"Android": 1, "iPhone": 1, "Web": 1},
		Phases:     []scenario.Phase{{Model: scenario.Open, Duration: ms(300), Rate: 150}},
		Behaviour: scenario.Behaviour{
			Hold:          scenario.Dist{Value: ms(60)},
			Think:         scenario.Dist{Value: ms(5)},
			LogoutRatio:   0.5,
			SwitchAccount: 0.4,
			Flap:          0.4,
			FlapDown:      scenario.Dist{Value: ms(5)},
			Heartbeat:     ms(20),
			Misbehave:     scenario.Misbehave{RetryAnyError: 0.1, LoginStorm: 0.05},
		},
	}
}

// TestCountsAddUp runs a small population through the pacer against a fake
// target that answers, refuses and never answers, and checks that every
// operation sent is one event with one outcome: attempted = ok + failed +
// timed_out, per operation.
func TestCountsAddUp(t *testing.T) {
	before := runtime.NumGoroutine()
	sc := poolScenario()
	f, r := newFake(), newRecorder()
	f.login = func(n int, _ driver.LoginRequest) (driver.LoginResult, error) {
		switch {
		case n%9 == 4:
			return driver.LoginResult{Code: 70003}, nil
		case n%11 == 5:
			return driver.LoginResult{Code: 70001}, nil
		}
		return driver.LoginResult{}, nil
	}
	f.hangEvery = 7 // and every seventh never answers
	f.resume = func(tok string) (driver.ResumeResult, error) {
		if strings.HasSuffix(tok, "3") {
			return driver.ResumeResult{Code: 1006}, nil
		}
		return driver.ResumeResult{}, nil
	}
	cfg := ScenarioConfig(sc)
	cfg.Driver, cfg.Tickets, cfg.Sink = f, &fakeTickets{}, r
	planner, err := NewPlanner(3, sc, NewPopulation(sc.Population))
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(cfg, planner)
	if err := pacer.Run(context.Background(), sc.Phases, pool.Spawn); err != nil {
		t.Fatal(err)
	}
	wire := map[event.Kind]string{event.Connect: "connect ", event.Login: "login#", event.Logout: "logout#", event.Resume: "resume#", event.Heartbeat: "ping#"}
	for kind, prefix := range wire {
		byOutcome := map[event.Outcome]int{}
		for _, e := range r.of(kind) {
			byOutcome[e.Outcome]++
			if e.Latency != e.At.Sub(e.Intended) || e.Latency < 0 {
				t.Errorf("%s event latency %v, intended %v, at %v", kind, e.Latency, e.Intended, e.At)
			}
		}
		attempted := f.count(prefix)
		sum := byOutcome[event.OK] + byOutcome[event.Failed] + byOutcome[event.TimedOut] + byOutcome[event.Cancelled]
		if attempted != sum || sum != len(r.of(kind)) {
			t.Errorf("%s: attempted %d, ok %d + failed %d + timed out %d + cancelled %d = %d", kind, attempted,
				byOutcome[event.OK], byOutcome[event.Failed], byOutcome[event.TimedOut], byOutcome[event.Cancelled], sum)
		}
		t.Logf("%s: %d attempted, %v", kind, attempted, byOutcome)
	}
	logins := map[event.Outcome]int{}
	for _, e := range r.of(event.Login) {
		logins[e.Outcome]++
	}
	if logins[event.OK] == 0 || logins[event.Failed] == 0 || logins[event.TimedOut] == 0 {
		t.Errorf("logins by outcome %v: the fake should have produced all three", logins)
	}
	if n := len(r.of(event.Connect)); n < 40 {
		t.Errorf("only %d connects for 45 arrivals", n)
	}
	checkGoroutines(t, before)
}

func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	// The bound only stops a leaking test; goroutines that are ending may
	// take a while to be scheduled on a busy machine.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
			return
		}
	}
}

func TestPoolClosedModelRestartsAfterThink(t *testing.T) {
	before := runtime.NumGoroutine()
	sc := poolScenario()
	sc.Behaviour = scenario.Behaviour{
		Hold:        scenario.Dist{Value: scenario.Duration(20 * time.Millisecond)},
		Think:       scenario.Dist{Value: scenario.Duration(30 * time.Millisecond)},
		LogoutRatio: 1,
	}
	sc.Phases = []scenario.Phase{{Model: scenario.Closed, Duration: scenario.Duration(200 * time.Millisecond), Devices: 3}}
	f, r := newFake(), newRecorder()
	cfg := ScenarioConfig(sc)
	cfg.Driver, cfg.Tickets, cfg.Sink = f, &fakeTickets{}, r
	planner, _ := NewPlanner(1, sc, NewPopulation(sc.Population))
	if err := pacer.Run(context.Background(), sc.Phases, NewPool(cfg, planner).Spawn); err != nil {
		t.Fatal(err)
	}
	// Each slot runs sessions of 20ms hold + 30ms think: about 4 in 200ms.
	logins := r.of(event.Login)
	if len(logins) < 6 || len(logins) > 15 {
		t.Errorf("%d logins from 3 slots over 200ms, want about 12", len(logins))
	}
	perDevice := map[string][]event.Event{}
	for _, e := range r.events() {
		if e.Kind == event.Login || e.Kind == event.Logout {
			perDevice[e.Device] = append(perDevice[e.Device], e)
		}
	}
	for dev, evs := range perDevice {
		if evs[0].Kind != event.Login {
			t.Errorf("%s began with %s", dev, evs[0].Kind)
		}
	}
	checkGoroutines(t, before)
}

func TestScenarioConfig(t *testing.T) {
	sc := poolScenario()
	no := false
	sc.Behaviour.ReloginAfterKick = &no
	c := ScenarioConfig(sc)
	if c.ReloginAfterKick || c.Timeout != 25*time.Millisecond || c.SDKAppID != 1400000001 || c.Heartbeat != 20*time.Millisecond {
		t.Errorf("config %+v", c)
	}
	sc.Behaviour.ReloginAfterKick = nil
	sc.Target.Timeout = 0
	if c := ScenarioConfig(sc); !c.ReloginAfterKick || c.Timeout != DefaultTimeout {
		t.Errorf("defaults: relogin %v timeout %v", c.ReloginAfterKick, c.Timeout)
	}
}

func TestLoginBook(t *testing.T) {
	b := NewLoginBook()
	t1 := time.Unix(100, 5)
	b.Record("alice", 3, t1)
	if got, ok := b.ServerTime("alice", 3); !ok || !got.Equal(t1) {
		t.Errorf("ServerTime(alice, 3) = %v, %v", got, ok)
	}
	if _, ok := b.ServerTime("bob", 3); ok {
		t.Error("bob's login 3 known")
	}
	// Only the last few logins are kept.
	for s := uint64(4); s < 4+bookKeep; s++ {
		b.Record("alice", s, t1)
	}
	if _, ok := b.ServerTime("alice", 3); ok {
		t.Error("an old login is still kept")
	}
}

func BenchmarkDeviceSession(b *testing.B) {
	// One full session (connect, login, logout) against the in-memory fake:
	// the agent's own cost per session.
	f, r := newFake(), &discard{}
	cfg := Config{Driver: f, Tickets: &fakeTickets{}, Sink: r, Timeout: time.Second}
	plan := basePlan()
	plan.Hold = 0
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		NewDevice(cfg, plan).Run(context.Background(), time.Now())
		f.mu.Lock()
		f.calls, f.conns = f.calls[:0], f.conns[:0]
		f.mu.Unlock()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
}

type discard struct{}

func (discard) Observe(*event.Event) {}
