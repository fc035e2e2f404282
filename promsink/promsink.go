// Package promsink exports a run as Prometheus metrics while it runs: an
// event.Sink that bumps pre-resolved counters and histograms, and the
// listener that serves them at /metrics.
package promsink

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imload/imload/check"
	"github.com/imload/imload/event"
	"github.com/imload/imload/live"
	"github.com/imload/imload/policy"
)

// LatencyBuckets are the upper bounds, in seconds, of the operation latency
// histograms: 250 µs to 30 s, about three per decade, so that a healthy
// loopback login (a millisecond or less) and a target falling over (seconds)
// both land on a bucket edge near their percentiles.
var LatencyBuckets = []float64{
	0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

const (
	nPlats    = 8 // policy.Platforms, then "unknown"
	nOps      = int(event.Heartbeat) + 1
	nOutcomes = int(event.Cancelled) + 1
	nKinds    = int(event.LastKind) + 1
)

// platIndex maps a platform to its slot in the pre-resolved arrays; the
// slot after the seven platforms holds any other name.
func platIndex(p policy.Platform) int {
	if i := policy.Index(p); i >= 0 {
		return i
	}
	return len(policy.Platforms)
}

func platName(i int) string {
	if i < len(policy.Platforms) {
		return string(policy.Platforms[i])
	}
	return "unknown"
}

// Sink exports a run as Prometheus metrics while it runs. It is an
// event.Sink: every label combination is resolved when it is made, so
// Observe only bumps atomic counters and histogram buckets, allocates
// nothing and takes no lock (except the first failure of an operation with
// a new error code, which adds that code's series).
//
// Metrics (all prefixed imload_):
//
//	logins_total{outcome,platform}                 counter (ok, failed, timed_out, cancelled)
//	operation_duration_seconds{op,platform}        histogram, LatencyBuckets
//	operation_errors_total{op,code}                counter ("timeout" for timeouts, "0" for a transport error)
//	events_total{kind,platform}                    counter: kicked, sig_expired, disconnect, app_kill, switch_user, misbehaving
//	kicks_total{platform}                          counter (victim's platform)
//	devices_alive                                  gauge: device sessions running
//	instances_online                               gauge: logins ok minus logouts, kicks and app kills
//	kickout_violations                             gauge, set when the oracle has judged the run
//	kickout_verdicts{class}                        gauge, likewise
//	run_finished                                   gauge: 1 once the run has ended and been judged
//	run_info{scenario,seed,shard}                  gauge, always 1
//
// plus the Go runtime and process collectors (memory, file descriptors).
type Sink struct {
	reg *prometheus.Registry

	logins  [nOutcomes][nPlats]prometheus.Counter
	latency [nOps][nPlats]prometheus.Observer
	events  [nKinds][nPlats]prometheus.Counter
	kicks   [nPlats]prometheus.Counter

	errVec  *prometheus.CounterVec
	errMu   sync.Mutex
	errs    [nOps]atomic.Pointer[map[int]prometheus.Counter]
	timeout [nOps]prometheus.Counter

	live    atomic.Pointer[live.View]
	verdict *judged // violations, verdicts and finished, read as one
	info    *prometheus.GaugeVec
}

// judged holds the oracle's verdicts and the run's end, set by Finish, and
// collects them as constant metrics of one instant under the lock Finish
// holds: a scrape that shows run_finished 1 shows the verdicts too (a
// live gauge would be read after collection, when the others may have
// changed).
type judged struct {
	violations, verdicts, finished *prometheus.Desc

	mu       sync.Mutex
	done     bool
	counts   *[check.NumClasses]int64 // nil: not judged (or the oracle was off)
	violated int64
}

func (j *judged) Describe(ch chan<- *prometheus.Desc) {
	ch <- j.violations
	ch <- j.verdicts
	ch <- j.finished
}

func (j *judged) Collect(ch chan<- prometheus.Metric) {
	j.mu.Lock()
	defer j.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(j.violations, prometheus.GaugeValue, float64(j.violated))
	if j.counts != nil {
		for c := check.Class(0); c < check.NumClasses; c++ {
			ch <- prometheus.MustNewConstMetric(j.verdicts, prometheus.GaugeValue, float64(j.counts[c]), c.String())
		}
	}
	finished := 0.0
	if j.done {
		finished = 1
	}
	ch <- prometheus.MustNewConstMetric(j.finished, prometheus.GaugeValue, finished)
}

// New makes the metrics of one run in a registry of their own.
func New() *Sink {
	p := &Sink{reg: prometheus.NewRegistry()}
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "imload", Name: "logins_total",
		Help: "Logins by outcome (ok, failed, timed_out, cancelled: cut off by the run's end) and platform.",
	}, []string{"outcome", "platform"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "imload", Name: "operation_duration_seconds",
		Help:    "Latency of device operations (connect, login, logout, resume, heartbeat) from their intended start; successful operations only (failed ones are counted in errors_total).",
		Buckets: LatencyBuckets,
	}, []string{"op", "platform"})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "imload", Name: "events_total",
		Help: "What devices were told or did besides operations, by kind and platform.",
	}, []string{"kind", "platform"})
	kicks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "imload", Name: "kicks_total",
		Help: "Kicked-offline notices received, by the victim's platform.",
	}, []string{"platform"})
	p.errVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "imload", Name: "operation_errors_total",
		Help: "Failed operations by the target's error code (0: transport error; timeout: no answer in time).",
	}, []string{"op", "code"})
	for o := event.OK; int(o) < nOutcomes; o++ {
		for pl := 0; pl < nPlats; pl++ {
			p.logins[o][pl] = logins.WithLabelValues(o.String(), platName(pl))
		}
	}
	for k := event.Connect; k <= event.Heartbeat; k++ {
		for pl := 0; pl < nPlats; pl++ {
			p.latency[k][pl] = lat.WithLabelValues(k.String(), platName(pl))
		}
		p.timeout[k] = p.errVec.WithLabelValues(k.String(), "timeout")
		empty := map[int]prometheus.Counter{}
		p.errs[k].Store(&empty)
	}
	for k := event.Kicked; k <= event.LastKind; k++ {
		for pl := 0; pl < nPlats; pl++ {
			p.events[k][pl] = events.WithLabelValues(k.String(), platName(pl))
		}
	}
	for pl := 0; pl < nPlats; pl++ {
		p.kicks[pl] = kicks.WithLabelValues(platName(pl))
	}
	devices := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "imload", Name: "devices_alive",
		Help: "Device sessions running now.",
	}, func() float64 {
		if l := p.live.Load(); l != nil {
			return float64(l.Devices())
		}
		return 0
	})
	online := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "imload", Name: "instances_online",
		Help: "Instances logged in now: logins ok (not repeat) minus logouts, kicks and app kills.",
	}, func() float64 {
		if l := p.live.Load(); l != nil {
			return float64(l.Online())
		}
		return 0
	})
	p.verdict = &judged{
		violations: prometheus.NewDesc("imload_kickout_violations",
			"Violations the kickout oracle found; set once the run has been judged.", nil, nil),
		verdicts: prometheus.NewDesc("imload_kickout_verdicts",
			"Verdicts of the kickout oracle by class; set once the run has been judged.", []string{"class"}, nil),
		finished: prometheus.NewDesc("imload_run_finished",
			"1 once the run has ended and its results are final.", nil, nil),
	}
	p.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "imload", Name: "run_info",
		Help: "The run: scenario, seed and shard (i/N, empty for a whole run). Always 1.",
	}, []string{"scenario", "seed", "shard"})
	p.reg.MustRegister(logins, lat, events, kicks, p.errVec, devices, online,
		p.verdict, p.info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// Registry is where the metrics are registered; add collectors of your own.
func (p *Sink) Registry() *prometheus.Registry { return p.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (p *Sink) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}

// Begin ties the gauges to the run's live view and labels the run (shard
// "i/N", "" for a whole run).
func (p *Sink) Begin(view *live.View, scenario string, seed int64, shard string) {
	p.live.Store(view)
	p.info.WithLabelValues(scenario, strconv.FormatInt(seed, 10), shard).Set(1)
}

// Observe implements event.Sink.
func (p *Sink) Observe(e *event.Event) {
	pl := platIndex(e.Platform)
	k := int(e.Kind)
	switch {
	case e.Kind.IsOp():
		if e.Outcome == event.OK { // latency of successful operations, as the results
			p.latency[k][pl].Observe(e.Latency.Seconds())
		}
		o := int(e.Outcome)
		if o <= 0 || o >= nOutcomes {
			return
		}
		if e.Kind == event.Login {
			p.logins[o][pl].Inc()
		}
		switch e.Outcome {
		case event.Failed:
			p.codeCounter(k, e.Code).Inc()
		case event.TimedOut:
			p.timeout[k].Inc()
		}
	case k > 0 && k < nKinds:
		p.events[k][pl].Inc()
		if e.Kind == event.Kicked {
			p.kicks[pl].Inc()
		}
	}
}

// codeCounter returns the error counter of (op, code), adding it on first
// use: copy on write, so readers never lock.
func (p *Sink) codeCounter(op, code int) prometheus.Counter {
	if c, ok := (*p.errs[op].Load())[code]; ok {
		return c
	}
	p.errMu.Lock()
	defer p.errMu.Unlock()
	old := *p.errs[op].Load()
	if c, ok := old[code]; ok {
		return c
	}
	m := make(map[int]prometheus.Counter, len(old)+1)
	for c, v := range old {
		m[c] = v
	}
	c := p.errVec.WithLabelValues(event.Kind(op).String(), strconv.Itoa(code))
	m[code] = c
	p.errs[op].Store(&m)
	return c
}

// Finish publishes the oracle's verdicts (rep nil: the oracle was off) and
// marks the run finished.
func (p *Sink) Finish(rep *check.Report) {
	j := p.verdict
	j.mu.Lock()
	defer j.mu.Unlock()
	if rep != nil {
		j.violated = rep.Violations()
		var counts [check.NumClasses]int64
		for c := check.Class(0); c < check.NumClasses; c++ {
			counts[c] = rep.Count(c)
		}
		j.counts = &counts
	}
	j.done = true
}

// Server serves /metrics of a run on its own listener.
type Server struct {
	srv  *http.Server
	done chan struct{}
	addr net.Addr
}

// Serve listens on addr and serves p at /metrics until Close.
func Serve(addr string, p *Sink) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.Handler())
	m := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
		addr: ln.Addr(),
	}
	go func() {
		defer close(m.done)
		// Serve returns http.ErrServerClosed after close; any other error
		// ends the live metrics, not the run.
		_ = m.srv.Serve(ln)
	}()
	return m, nil
}

// Addr is where the server listens.
func (m *Server) Addr() net.Addr { return m.addr }

// Close stops the server, letting a scrape in progress finish, and waits
// for its goroutine.
func (m *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	<-m.done
}

// CloseAfter keeps serving for linger (unless ctx ends first), so that a
// last scrape sees a finished run's figures, then closes the server.
func (m *Server) CloseAfter(ctx context.Context, linger time.Duration) {
	if linger > 0 && ctx.Err() == nil {
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	m.Close()
}
