package promsink

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/imload/imload/check"
	"github.com/imload/imload/event"
	"github.com/imload/imload/live"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
)

type families map[string]*dto.MetricFamily

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

// Observe allocates nothing, whatever the event.
func TestPromObserveAllocs(t *testing.T) {
	p := New()
	evs := []event.Event{
		{Kind: event.Login, Outcome: event.OK, Platform: policy.Android, Latency: time.Millisecond},
		{Kind: event.Login, Outcome: event.Failed, Code: 70001, Platform: policy.Web, Latency: 2 * time.Millisecond},
		{Kind: event.Logout, Outcome: event.TimedOut, Platform: policy.Mac, Latency: 5 * time.Second},
		{Kind: event.Kicked, Platform: policy.IPhone},
		{Kind: event.Disconnect, Platform: "Symbian"},
		{Kind: event.Kind(200)},
	}
	for i := range evs {
		p.Observe(&evs[i]) // first failure of a code adds its series
	}
	for i := range evs {
		e := &evs[i]
		if a := testing.AllocsPerRun(200, func() { p.Observe(e) }); a != 0 {
			t.Errorf("Observe(%s %s) allocates %v times", e.Kind, e.Outcome, a)
		}
	}
	// Each event was observed once, then 201 times by AllocsPerRun (one
	// warm-up run and 200 measured).
	fams, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := families{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	if v, _ := byName.sum("imload_operation_errors_total", map[string]string{"op": "login", "code": "70001"}); v != 202 {
		t.Errorf("login errors 70001 = %v, want 202", v)
	}
	if v, _ := byName.sum("imload_operation_errors_total", map[string]string{"op": "logout", "code": "timeout"}); v != 202 {
		t.Errorf("logout timeouts = %v, want 202", v)
	}
	if v, _ := byName.sum("imload_events_total", map[string]string{"kind": "disconnect", "platform": "unknown"}); v != 202 {
		t.Errorf("disconnects of an unknown platform = %v, want 202", v)
	}
}

func BenchmarkPromObserve(b *testing.B) {
	p := New()
	e := event.Event{Kind: event.Login, Outcome: event.OK, Platform: policy.IPhone, Latency: 800 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Observe(&e)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The sample Grafana dashboard queries only metrics that a run or the
// reference server exports.
func TestGrafanaDashboardMetrics(t *testing.T) {
	data, err := os.ReadFile("../deploy/grafana/imload.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("deploy/grafana/imload.json: %v", err)
	}

	exported := map[string]bool{}
	p := New()
	p.Begin(&live.View{}, "s", 1, "")
	p.Finish(&check.Report{})
	srv, err := server.New(server.Config{SDKAppID: 1400000000, Key: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	p.Registry().MustRegister(srv.Collector())
	fams, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		exported[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				exported[f.GetName()+s] = true
			}
		}
	}

	name := regexp.MustCompile(`\b(?:imload|process)_[a-z_]+\b`)
	queries := 0
	for _, pn := range dash.Panels {
		if pn.Type != "row" && len(pn.Targets) == 0 {
			t.Errorf("panel %q has no query", pn.Title)
		}
		for _, tg := range pn.Targets {
			queries++
			ms := name.FindAllString(tg.Expr, -1)
			if len(ms) == 0 {
				t.Errorf("panel %q: query %q names no imload metric", pn.Title, tg.Expr)
			}
			for _, m := range ms {
				if !exported[m] {
					t.Errorf("panel %q: %s is not exported (query %q)", pn.Title, m, tg.Expr)
				}
			}
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced query %q", pn.Title, tg.Expr)
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}

// A login the run's end cut off is counted under outcome cancelled, not as
// an error; a device online at a cut end is its own event kind.
func TestPromCancelledLogins(t *testing.T) {
	p := New()
	for _, e := range []event.Event{
		{Kind: event.Login, Outcome: event.Cancelled, Platform: policy.Android},
		{Kind: event.Login, Outcome: event.Cancelled, Platform: policy.Android},
		{Kind: event.Login, Outcome: event.OK, Platform: policy.Android},
		{Kind: event.OnlineAtEnd, Platform: policy.Android},
	} {
		p.Observe(&e)
	}
	fams, err := p.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := families{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	if v, _ := byName.sum("imload_logins_total", map[string]string{"outcome": "cancelled"}); v != 2 {
		t.Errorf("cancelled logins = %v, want 2", v)
	}
	if v, _ := byName.sum("imload_operation_errors_total", nil); v != 0 {
		t.Errorf("errors = %v, want 0", v)
	}
	if v, _ := byName.sum("imload_events_total", map[string]string{"kind": "online_at_end"}); v != 1 {
		t.Errorf("online_at_end events = %v, want 1", v)
	}
}

// TestFinishedScrapeHasVerdicts: a scrape that reads run_finished 1 reads
// the oracle's verdicts too, even when it runs while Finish sets them (the
// three are collected under the lock Finish holds).
func TestFinishedScrapeHasVerdicts(t *testing.T) {
	rep := &check.Report{}
	rep.Verdicts[check.WrongVictim].Count = 3
	for range 200 {
		p := New()
		p.Begin(&live.View{}, "s", 1, "")
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Finish(rep)
		}()
		for finished := false; !finished; {
			fams, err := p.Registry().Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fams {
				if f.GetName() == "imload_run_finished" && f.GetMetric()[0].GetGauge().GetValue() == 1 {
					finished = true
				}
			}
			if !finished {
				continue
			}
			var wrong float64 = -1
			for _, f := range fams {
				if f.GetName() != "imload_kickout_verdicts" {
					continue
				}
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "class" && l.GetValue() == check.WrongVictim.String() {
							wrong = m.GetGauge().GetValue()
						}
					}
				}
			}
			if wrong != 3 {
				t.Fatalf("a scrape with run_finished 1 has kickout_verdicts{class=wrong_victim} %v, want 3", wrong)
			}
		}
		<-done
	}
}
