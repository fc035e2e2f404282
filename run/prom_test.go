package run

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/imload/imload/policy"
)

// syncBuffer is an io.Writer safe for the run's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls the log until re matches, and returns its first group.
func (s *syncBuffer) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(s.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log never matched %s:\n%s", re, s.String())
	return ""
}

type families map[string]*dto.MetricFamily

func scrape(url string) (families, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// sum adds the values of the samples of name whose labels include want
// (histograms: their sample count); ok is false when name is absent.
func (f families) sum(name string, want map[string]string) (v float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for k, w := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == w {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return v, true
}

// A two-second run against the embedded server, scraped while it runs and
// once it has been judged (during --metrics-linger): the counters are there
// and agree with the results file; the embedded server serves its own.
func TestPromScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 2 s scenario")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log syncBuffer
	type result struct {
		out *Outcome
		err error
	}
	sc := loadScenario(t, "testdata/prom.yaml")
	done := make(chan result, 1)
	go func() {
		out, err := Execute(ctx, Options{
			Scenario:      sc,
			Log:           &log,
			MetricsAddr:   "127.0.0.1:0",
			MetricsLinger: 3 * time.Second,
		})
		done <- result{out, err}
	}()
	runURL := log.waitFor(t, regexp.MustCompile(`metrics: (http://\S+/metrics)`))
	srvURL := "http://" + log.waitFor(t, regexp.MustCompile(`embedded reference server on ws://(\S+)/v1/ws`)) + "/metrics"

	// During the run: scrape until a login has succeeded and a device is
	// alive (at 100 arrivals/s, within milliseconds of the start on an idle
	// machine; the bound only stops a hung test).
	var mid families
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f, err := scrape(runURL)
		if err != nil {
			t.Fatal(err)
		}
		ok, _ := f.sum("imload_logins_total", map[string]string{"outcome": "ok"})
		alive, _ := f.sum("imload_devices_alive", nil)
		if ok > 0 && alive > 0 {
			mid = f
			break
		}
		if time.Now().After(deadline) {
			mid = f
			break
		}
	}
	if v, _ := mid.sum("imload_run_finished", nil); v != 0 {
		t.Errorf("run_finished = %v mid-run", v)
	}
	if v, _ := mid.sum("imload_logins_total", map[string]string{"outcome": "ok"}); v == 0 {
		t.Error("no login ok mid-run of a 100/s run")
	}
	if v, _ := mid.sum("imload_devices_alive", nil); v == 0 {
		t.Error("no device alive mid-run")
	}
	srv, err := scrape(srvURL)
	if err != nil {
		t.Fatalf("the embedded server's own metrics: %v", err)
	}
	for _, name := range []string{"imload_server_logins_total", "imload_server_sessions_online", "imload_server_connections", "imload_server_kicks_total", "imload_server_resumes_total", "process_resident_memory_bytes"} {
		if _, ok := srv.sum(name, nil); !ok {
			t.Errorf("the server's /metrics has no %s", name)
		}
	}
	if v, _ := srv.sum("imload_server_logins_total", map[string]string{"code": "0"}); v == 0 {
		t.Error("the server counts no successful login mid-run")
	}

	// After the run, while /metrics lingers.
	var final families
	for deadline := time.Now().Add(10 * time.Second); ; {
		f, err := scrape(runURL)
		if err == nil {
			if v, _ := f.sum("imload_run_finished", nil); v == 1 {
				final = f
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run_finished never became 1 (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	snap := res.out.File.Metrics
	login := snap.Op("login")
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"imload_logins_total", map[string]string{"outcome": "ok"}, float64(login.OK)},
		{"imload_logins_total", map[string]string{"outcome": "failed"}, float64(login.Failed)},
		{"imload_logins_total", map[string]string{"outcome": "timed_out"}, float64(login.TimedOut)},
		{"imload_logins_total", map[string]string{"outcome": "cancelled"}, float64(login.Cancelled)},
		// The latency histograms hold the successful operations, as the
		// results' do.
		{"imload_operation_duration_seconds", map[string]string{"op": "login"}, float64(login.OK)},
		{"imload_operation_duration_seconds", map[string]string{"op": "connect"}, float64(snap.Op("connect").OK)},
		{"imload_operation_duration_seconds", map[string]string{"op": "logout"}, float64(snap.Op("logout").OK)},
		{"imload_kicks_total", nil, float64(snap.EventCount("kicked", ""))},
		{"imload_events_total", map[string]string{"kind": "app_kill"}, float64(snap.EventCount("app_kill", ""))},
		{"imload_kickout_violations", nil, float64(res.out.Kickout.Violations())},
		{"imload_run_info", map[string]string{"scenario": "prom", "seed": "7", "shard": ""}, 1},
		// Devices hold no session once the run is over.
		{"imload_devices_alive", nil, 0},
	}
	for _, c := range checks {
		got, ok := final.sum(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), results say %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, pl := range []policy.Platform{policy.Android, policy.IPhone, policy.Web, policy.Windows} {
		want := float64(snap.OpPlatform("login", pl).OK)
		got, _ := final.sum("imload_logins_total", map[string]string{"outcome": "ok", "platform": string(pl)})
		if got != want {
			t.Errorf("logins ok on %s: /metrics %v, results %v", pl, got, want)
		}
	}
	if login.OK == 0 {
		t.Fatal("the run logged nobody in")
	}
	// The embedded server's counters join the run's registry.
	if v, _ := final.sum("imload_server_logins_total", map[string]string{"code": "0"}); v < float64(login.OK) {
		t.Errorf("server logins ok %v < devices' %d", v, login.OK)
	}
	if _, ok := final.sum("imload_kickout_verdicts", map[string]string{"class": "wrong_victim"}); !ok {
		t.Error("no kickout_verdicts{class=wrong_victim} after the run")
	}
}
