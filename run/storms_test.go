package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
	"github.com/imload/imload/shard"
	"github.com/imload/imload/storm"
)

// stormScenario is a small storm: devices arrive in the first half second
// and stay past the end; the event happens at 2s; the run lasts 7.5s (a
// partition outlasts the timeout: a shorter one only delays, as over TCP).
// The operation timeout (1s), the event's time and the length leave room
// for a loaded machine: on two busy cores a connect can take several
// hundred milliseconds, so a 300ms timeout fails devices no storm touched,
// and an event at 800ms finds some devices not yet connected.
func stormScenario(t *testing.T, driverName, event, extra string) *scenario.Scenario {
	t.Helper()
	y := `name: storm-test
target: {driver: ` + driverName + `, policy: multi-platform, timeout: 1s}
population: {users: 400}
phases:
  - {duration: 500ms, model: open, rate: 120}
  - {duration: 7s, model: open, rate: 0.001}
behaviour:
  hold: 1h
  heartbeat: 200ms
  reconnect: {backoff: full_jitter, base: 100ms, max: 400ms}
` + extra + `events:
  - ` + event + `
`
	sc, err := scenario.Parse([]byte(y), "storm-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runStorm(t *testing.T, sc *scenario.Scenario, faults ...string) (*Outcome, storm.Figures) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := newActionLog()
	out, err := Execute(ctx, Options{Scenario: sc, Faults: faults, Sink: log})
	t.Cleanup(func() {
		if !t.Failed() || out == nil {
			return
		}
		// What the devices that did not come back did.
		for _, d := range log.devices() {
			evs := log.by[d]
			if last := evs[len(evs)-1]; last.Kind == event.AppKill && len(evs) > 2 {
				continue
			}
			var b strings.Builder
			for _, e := range evs {
				fmt.Fprintf(&b, "  %s %s %d %q at %v\n", e.Kind, e.Outcome, e.Code, e.Note, e.At.Sub(out.File.Started).Round(time.Millisecond))
			}
			t.Logf("%s:\n%s", d, b.String())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.File.Storms) != 1 {
		t.Fatalf("storms: %+v", out.File.Storms)
	}
	return out, out.File.Storms[0]
}

func TestStormEvents(t *testing.T) {
	events := map[string]string{
		"restart":   "{at: 2s, action: restart_server}",
		"lost":      "{at: 2s, action: restart_server, sessions: lost}",
		"drop":      "{at: 2s, action: drop_connections, share: 0.5}",
		"partition": "{at: 2s, action: partition, share: 0.5, for: 2s}",
		"expire":    "{at: 2s, action: expire_tickets, share: 0.34}",
		"surge":     "{at: 2s, action: surge, rate: 100, for: 500ms}",
	}
	for _, drv := range []string{"inproc", "ws"} {
		for name, ev := range events {
			t.Run(drv+"/"+name, func(t *testing.T) {
				t.Parallel()
				out, f := runStorm(t, stormScenario(t, drv, ev, ""))
				if f.Disrupted == 0 || f.Recovered < f.Disrupted*95/100 || f.RecoveryP95 == nil {
					t.Fatalf("%s: disrupted %d recovered %d p95 %v", name, f.Disrupted, f.Recovered, f.RecoveryP95)
				}
				if out.Kickout == nil || out.Kickout.Violations() != 0 || f.LostResumable != 0 || !out.Passed {
					t.Errorf("violations %d lost %d passed %v", out.Kickout.Violations(), f.LostResumable, out.Passed)
				}
				if f.PeakConnects == 0 || len(f.Series.Online) == 0 {
					t.Errorf("peak connects %v series %d", f.PeakConnects, len(f.Series.Online))
				}
				switch name {
				case "restart", "drop", "partition":
					if f.Resumes < f.Recovered*9/10 || f.FreshLogins > f.Recovered/10 {
						t.Errorf("%s: resumes %d fresh %d of %d recovered: want resumes", name, f.Resumes, f.FreshLogins, f.Recovered)
					}
				case "lost":
					if f.FreshLogins < f.Recovered*9/10 {
						t.Errorf("lost sessions: fresh logins %d of %d recovered", f.FreshLogins, f.Recovered)
					}
				case "expire":
					if f.RepeatLogins < f.Recovered*9/10 {
						t.Errorf("expire: repeat logins %d of %d recovered", f.RepeatLogins, f.Recovered)
					}
				case "surge":
					if f.Affected != 50 {
						t.Errorf("surge: %d arrivals, want 50", f.Affected)
					}
				}
				if name == "drop" || name == "partition" || name == "expire" {
					if want := map[string]float64{"drop": 0.5, "partition": 0.5, "expire": 0.34}[name] * 60; float64(f.Affected) > want+15 || float64(f.Affected) < want-15 {
						t.Errorf("%s: %d of about 60 devices hit, want about a share", name, f.Affected)
					}
				}
				if name == "restart" && out.Server.Protect.Restarts != 1 {
					t.Errorf("restarts %d", out.Server.Protect.Restarts)
				}
			})
		}
	}
}

// The fault lose-session-on-restart is caught: resumes within the window
// answered 1006 fail the run.
func TestLoseSessionOnRestartIsCaught(t *testing.T) {
	out, f := runStorm(t, stormScenario(t, "inproc", "{at: 2s, action: restart_server}", ""), "lose-session-on-restart")
	if f.LostResumable == 0 || out.Passed {
		t.Fatalf("lost %d passed %v: the fault went unseen", f.LostResumable, out.Passed)
	}
	if err := lostSessions(out.File.Storms); err == nil || !strings.Contains(err.Error(), "sessions lost") {
		t.Errorf("lostSessions: %v", err)
	}
}

// Under the login rate limit a surge's devices back off and all come back,
// and no login is lost from the counts: the devices' attempts are the
// server's answers plus the ones cut off, and the refusals are the
// server's.
func TestSurgeUnderRateLimit(t *testing.T) {
	sc := stormScenario(t, "inproc", "{at: 2s, action: surge, rate: 200, for: 250ms}",
		"")
	sc.Target.Protect = &scenario.Protect{LoginRate: &scenario.LoginRate{Rate: 60, Burst: 5}}
	out, log := runLogged(t, sc)
	f := out.File.Storms[0]
	if f.Affected != 50 || f.Recovered != 50 {
		t.Fatalf("surge: %d arrived, %d logged in: want all 50 back", f.Affected, f.Recovered)
	}
	if f.Refusals.LoginRate == 0 || out.Server.Protect.RateLimited == 0 {
		t.Fatalf("refusals %+v server %+v: the limit never bit", f.Refusals, out.Server.Protect)
	}
	if out.Kickout.Violations() != 0 {
		t.Errorf("kickout violations %d", out.Kickout.Violations())
	}
	login := out.File.Metrics.Op("login")
	if int64(log.count(event.Login, 0)) != login.Count || login.Count != login.OK+login.Failed+login.TimedOut {
		t.Errorf("devices saw %d logins, metrics %d = %d ok + %d failed + %d timed out", log.count(event.Login, 0), login.Count, login.OK, login.Failed, login.TimedOut)
	}
	if uint64(login.OK) != out.Server.LoginsOK {
		t.Errorf("logins ok: devices %d, server %d", login.OK, out.Server.LoginsOK)
	}
	if got := out.Server.LoginsFailed[codes.LoginTooFrequent]; uint64(login.Codes[codes.LoginTooFrequent]) != got || got != out.Server.Protect.RateLimited {
		t.Errorf("1010: devices %d, server's answers %d, server's refusals %d", login.Codes[codes.LoginTooFrequent], got, out.Server.Protect.RateLimited)
	}
	// Every refused device logged in later: refusals are retried.
	if f.LoginAttempts <= f.Recovered || f.LoginAmplification <= 1 {
		t.Errorf("login attempts %d amplification %g: want the refused logins retried", f.LoginAttempts, f.LoginAmplification)
	}
}

// A restart of an external target runs the operator's command, and only
// with AllowExec: a scenario alone never runs one.
func TestExternalRestartCommand(t *testing.T) {
	const key = "storm-external-key"
	t.Setenv("IMLOAD_STORM_TEST_KEY", key)
	srv, err := server.New(server.Config{SDKAppID: scenario.DefaultSDKAppID, Key: []byte(key)})
	if err != nil {
		t.Fatal(err)
	}
	at, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	sc := stormScenario(t, "ws", "{at: 2s, action: restart_server}", "")
	sc.Target.URL = "ws://" + at.String() + server.WSPath
	sc.Target.KeyEnv = "IMLOAD_STORM_TEST_KEY"
	sc.Checks.Kickout.Enabled = new(bool)
	for _, o := range []Options{{}, {RestartCommand: []string{"true"}}, {AllowExec: true}} {
		o.Scenario = sc
		if _, err := Execute(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--allow-exec") {
			t.Errorf("%+v: %v, want a refusal naming --allow-exec", o, err)
		}
	}
	mark := filepath.Join(t.TempDir(), "restarted")
	var log syncBuffer
	out, err := Execute(context.Background(), Options{Scenario: sc, Log: &log, AllowExec: true,
		RestartCommand: []string{"sh", "-c", "echo done > " + mark}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(mark); err != nil || strings.TrimSpace(string(b)) != "done" {
		t.Errorf("the restart command did not run: %q %v; log:\n%s", b, err, log.String())
	}
	if len(out.File.Storms) != 1 || out.File.Storms[0].Affected == 0 {
		t.Errorf("storms %+v", out.File.Storms)
	}
}

// Each storm carries the kickout oracle's counts within its recovery
// window: with few users, the fresh logins after a restart that lost the
// sessions displace each other's devices, and every such kick whose notice
// arrived in the window is judged there, with no violation on the clean
// server.
func TestStormKickoutCounts(t *testing.T) {
	sc := stormScenario(t, "inproc", "{at: 800ms, action: restart_server, sessions: lost}", "")
	sc.Population.Users = 12
	out, log := runLogged(t, sc)
	f := out.File.Storms[0]
	k := f.Kickout
	if k == nil {
		t.Fatal("no kickout counts in the storm's figures")
	}
	from, to := f.Time, f.Time.Add(time.Duration(f.WindowS*float64(time.Second)))
	kicks := 0
	for _, d := range log.devices() {
		for _, e := range log.by[d] {
			if e.Kind == event.Kicked && e.BySeq != 0 && !e.At.Before(from) && !e.At.After(to) {
				kicks++
			}
		}
	}
	if kicks == 0 {
		t.Fatal("no kick in the recovery window: the scenario shows nothing")
	}
	if k.Kicks != int64(kicks) || k.Violations != 0 || k.Kicks > out.Kickout.Checks.Kicks {
		t.Errorf("window counts %+v, want the %d kicks the devices were told of in the window (of %d in the run) and no violation", k, kicks, out.Kickout.Checks.Kicks)
	}
	var txt strings.Builder
	if err := report.WriteText(&txt, out.File); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("kickout oracle in the window: %d kicks judged, 0 violations", k.Kicks); !strings.Contains(txt.String(), want) {
		t.Errorf("terminal report lacks %q:\n%s", want, txt.String())
	}
}

// A storm run split over shards: each shard plays every event on its own
// devices (a surge's arrivals split like the phases', on device numbers
// of its own), and the merged file reports each event over all shards:
// devices, recoveries and attempts add, the oracle's window counts too.
func TestShardedStormsMerge(t *testing.T) {
	ev := "{at: 800ms, action: restart_server}\n  - {at: 1500ms, action: surge, rate: 100, for: 500ms}"
	var files []*results.File
	devices := map[string]int{}
	for i := range 2 {
		sc := stormScenario(t, "inproc", ev, "")
		log := newActionLog()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := Execute(ctx, Options{Scenario: sc, Shard: shard.Shard{Index: i, Count: 2}, Sink: log})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(out.File.Storms) != 2 || out.File.Storms[1].Affected != 25 {
			t.Fatalf("shard %d storms %+v: want the surge's 25 of 50 arrivals", i, out.File.Storms)
		}
		for _, d := range log.devices() {
			devices[d]++
		}
		files = append(files, out.File)
	}
	for d, n := range devices {
		if n > 1 {
			t.Fatalf("device %s ran in both shards", d)
		}
	}
	m, err := results.Merge(files...)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Storms) != 2 {
		t.Fatalf("merged storms %+v", m.Storms)
	}
	for i, f := range m.Storms {
		a, b := files[0].Storms[i], files[1].Storms[i]
		if f.Affected != a.Affected+b.Affected || f.Disrupted != a.Disrupted+b.Disrupted || f.Recovered != a.Recovered+b.Recovered ||
			f.Attempts != a.Attempts+b.Attempts || f.Kickout == nil || f.Kickout.Kicks != a.Kickout.Kicks+b.Kickout.Kicks {
			t.Errorf("events[%d] merged %+v\nfrom %+v\nand %+v", i, f, a, b)
		}
		if f.RecoveryP95 == nil || *f.RecoveryP95 < min(*a.RecoveryP95, *b.RecoveryP95)*0.999 || *f.RecoveryP95 > max(*a.RecoveryP95, *b.RecoveryP95)*1.001 {
			t.Errorf("events[%d] merged p95 %v outside the shards' %v and %v", i, f.RecoveryP95, *a.RecoveryP95, *b.RecoveryP95)
		}
		if f.PeakConnects < max(a.PeakConnects, b.PeakConnects) {
			t.Errorf("events[%d] merged peak %v below a shard's (%v, %v)", i, f.PeakConnects, a.PeakConnects, b.PeakConnects)
		}
	}
	if m.Storms[1].Affected != 50 {
		t.Errorf("merged surge: %d arrivals, want the scenario's 50", m.Storms[1].Affected)
	}
}

// runLogged runs sc within 30 s with every event kept.
func runLogged(t *testing.T, sc *scenario.Scenario) (*Outcome, *actionLog) {
	t.Helper()
	log := newActionLog()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := Execute(ctx, Options{Scenario: sc, Sink: log})
	if err != nil {
		t.Fatal(err)
	}
	return out, log
}

// Kicks sent to devices behind a partition never reach them, and a device
// finds its connection dead only when a heartbeat goes unanswered: the
// oracle dates its deafness from the connection's last answer (the
// disconnect's Start), so displacements in that window are no missing
// kicks. Few users under single-platform and arrivals throughout: every
// login displaces a device, many of them partitioned.
func TestPartitionDisplacementsAreNoViolations(t *testing.T) {
	for _, drv := range []string{"inproc", "ws"} {
		t.Run(drv, func(t *testing.T) {
			t.Parallel()
			sc := stormScenario(t, drv, "{at: 2s, action: partition, share: 0.5, for: 2s}", "")
			sc.Population.Users = 20
			sc.Target.Policy = "single-platform"
			sc.Phases[1].Rate = 30 // arrivals through the partition, each displacing a device
			out, f := runStorm(t, sc)
			k := out.Kickout
			if k == nil || k.Checks.Kicks == 0 || f.Affected == 0 {
				t.Fatalf("kickout %+v, %d devices partitioned: want kicks and a partition", k, f.Affected)
			}
			if v := k.Violations(); v != 0 {
				var b strings.Builder
				_ = k.WriteText(&b)
				t.Fatalf("%d violations through a partition against the clean server:\n%s", v, b.String())
			}
		})
	}
}
