package health

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"time"
)

// Limits say when the generator lagged: a run (or a capacity step) whose
// figures exceed any of them measured imload as much as its target.
type Limits struct {
	// Lag bounds the scheduler lag's p99 (DefaultLimits: 50 ms).
	Lag time.Duration
	// SendLag bounds the p99 of the open-model pacer's lateness: actual
	// send time minus intended (50 ms).
	SendLag time.Duration
	// CPU bounds the process's CPU time over wall time, as a fraction of
	// GOMAXPROCS (0.9).
	CPU float64
	// Wait bounds the mean run-queue delay of the process's threads: how
	// long, on average, a thread that became runnable waited for a CPU
	// (Linux; 5 ms). Above it the machine starves imload, and an embedded
	// target with it: every hop of a login pays it.
	Wait time.Duration
}

// DefaultLimits are the limits runs are judged by.
var DefaultLimits = Limits{Lag: 50 * time.Millisecond, SendLag: 50 * time.Millisecond, CPU: 0.9, Wait: 5 * time.Millisecond}

// Second is what the probe saw in one second of the run.
type Second struct {
	LagP99Ns  int64 `json:"lag_p99_ns"`
	LagMaxNs  int64 `json:"lag_max_ns"`
	SendP99Ns int64 `json:"send_lag_p99_ns,omitempty"`
	SendMaxNs int64 `json:"send_lag_max_ns,omitempty"`
	Sends     int64 `json:"sends,omitempty"`
	// CPU is the process's CPU time in the second over the second's wall
	// time and GOMAXPROCS (1: every P busy all the second).
	CPU float64 `json:"cpu"`
	// WaitSeconds: the process's threads' run-queue wait in the second,
	// over Slices times they were given a CPU.
	WaitSeconds  float64 `json:"wait_seconds,omitempty"`
	Slices       int64   `json:"slices,omitempty"`
	GCPauses     int64   `json:"gc_pauses,omitempty"`
	GCPauseMaxNs int64   `json:"gc_pause_max_ns,omitempty"`
}

// Report is the generator's health over a run or a window of it: the
// section "generator" of results.json.
type Report struct {
	Start      time.Time `json:"start"`
	Seconds    int       `json:"seconds"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	// LagP99Ns is the scheduler lag's p99 over every wake-up of the window
	// (from a log histogram: the upper bound of a 19%-wide bucket, at most
	// the largest lag); LagMaxNs the largest.
	LagP99Ns int64 `json:"lag_p99_ns"`
	LagMaxNs int64 `json:"lag_max_ns"`
	// SendLag: the open-model pacer's actual send time minus intended, the
	// same way (absent when nothing was sent on a schedule).
	SendLagP99Ns int64 `json:"send_lag_p99_ns"`
	SendLagMaxNs int64 `json:"send_lag_max_ns"`
	Sends        int64 `json:"sends"`
	// CPU is the process's CPU time over wall time × GOMAXPROCS; CPUSeconds
	// the CPU time itself (absent where the platform does not tell).
	CPU        float64 `json:"cpu"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// WaitNs is the threads' mean run-queue delay (time runnable but not
	// running, per time given a CPU; Linux); WaitSeconds their whole wait.
	WaitNs      int64   `json:"wait_ns"`
	WaitSeconds float64 `json:"wait_seconds"`
	// GC pauses (stop-the-world, runtime/metrics): how many and the longest.
	GCPauses     int64 `json:"gc_pauses"`
	GCPauseMaxNs int64 `json:"gc_pause_max_ns"`
	// Lagged: a figure exceeded its limit; Reasons says which.
	Lagged  bool     `json:"lagged"`
	Reasons []string `json:"reasons,omitempty"`
	// PerSecond holds each second's figures (whole-run reports only).
	PerSecond []Second `json:"per_second,omitempty"`
}

// Summary line of a report, e.g. "generator lag p99 3ms (max 12ms), send
// lag p99 1ms, CPU 41% of 2 cores, 12 GC pauses (max 350µs)".
func (r *Report) String() string {
	if r == nil {
		return ""
	}
	s := fmt.Sprintf("generator lag p99 %s (max %s)", ms(r.LagP99Ns), ms(r.LagMaxNs))
	if r.Sends > 0 {
		s += fmt.Sprintf(", send lag p99 %s (max %s)", ms(r.SendLagP99Ns), ms(r.SendLagMaxNs))
	}
	s += fmt.Sprintf(", CPU %.0f%% of %d cores", 100*r.CPU, r.GOMAXPROCS)
	if r.WaitNs > 0 {
		s += fmt.Sprintf(", run-queue delay %s", ms(r.WaitNs))
	}
	s += fmt.Sprintf(", %d GC pauses (max %s)", r.GCPauses, ms(r.GCPauseMaxNs))
	return s
}

func ms(ns int64) string {
	return time.Duration(ns).Round(time.Microsecond * 10).String()
}

// judge sets Lagged and Reasons against l.
func (r *Report) judge(l Limits) {
	r.Reasons = nil
	if l.Lag > 0 && r.LagP99Ns > int64(l.Lag) {
		r.Reasons = append(r.Reasons, fmt.Sprintf("scheduler lag p99 %s > %s", ms(r.LagP99Ns), l.Lag))
	}
	if l.SendLag > 0 && r.SendLagP99Ns > int64(l.SendLag) {
		r.Reasons = append(r.Reasons, fmt.Sprintf("send lag p99 %s > %s", ms(r.SendLagP99Ns), l.SendLag))
	}
	if l.CPU > 0 && r.CPU > l.CPU {
		r.Reasons = append(r.Reasons, fmt.Sprintf("CPU %.0f%% > %.0f%% of %d cores", 100*r.CPU, 100*l.CPU, r.GOMAXPROCS))
	}
	if l.Wait > 0 && r.WaitNs > int64(l.Wait) {
		r.Reasons = append(r.Reasons, fmt.Sprintf("run-queue delay %s > %s: the machine starves imload", ms(r.WaitNs), l.Wait))
	}
	r.Lagged = len(r.Reasons) > 0
}

// lagBuckets is a log-scale histogram of lags: bucket i holds lags below
// 1µs·2^((i+1)/4) (19% wide), the last one everything above ~2.8 h.
const lagBuckets = 96

type lagHist [lagBuckets]uint32

func bucketOf(d time.Duration) int {
	if d < time.Microsecond {
		return 0
	}
	return min(int(4*math.Log2(float64(d)/float64(time.Microsecond))), lagBuckets-1)
}

// upper is the largest lag bucket i holds.
func upper(i int) time.Duration {
	return time.Duration(float64(time.Microsecond) * math.Exp2(float64(i+1)/4))
}

func (h *lagHist) add(ds []time.Duration) {
	for _, d := range ds {
		h[bucketOf(d)]++
	}
}

// quantile q of the merged histograms, as a bucket's upper bound capped by
// the largest lag seen (0 for none).
func quantile(hs []lagHist, q float64, maxLag time.Duration) time.Duration {
	var sum lagHist
	var n uint64
	for i := range hs {
		for b, c := range hs[i] {
			sum[b] += c
			n += uint64(c)
		}
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for b, c := range sum {
		seen += uint64(c)
		if seen >= rank {
			return min(upper(b), maxLag)
		}
	}
	return maxLag
}

// secondAcc gathers one second while it goes on.
type secondAcc struct {
	lags, sends []time.Duration
}

// p99 of samples (sorted in place); 0 for none.
func p99(d []time.Duration) (q, m time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	i := int(math.Ceil(0.99*float64(len(d)))) - 1
	return d[max(i, 0)], d[len(d)-1]
}

// Send records the lateness of one scheduled send (actual minus intended
// start; negative counts as 0). Safe for concurrent use; nil-safe.
func (p *Probe) Send(lag time.Duration) {
	if p == nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll(now)
	p.cur.sends = append(p.cur.sends, max(lag, 0))
}

// roll closes the seconds before now's. p.mu is held.
func (p *Probe) roll(now time.Time) {
	if p.secs == nil {
		p.secs = []Second{}
		p.cpu0, p.cpuOK = processCPU()
		p.wait0, p.slices0, p.waitOK = runWait()
		p.gc0 = gcPauses()
		p.wall0 = time.Now()
	}
	for sec := int(now.Sub(p.start) / time.Second); p.curSec < sec; p.curSec++ {
		p.closeSecond()
	}
}

// closeSecond turns the second being gathered into its figures. p.mu is held.
func (p *Probe) closeSecond() {
	s, cpu := p.gathered()
	var lh, sh lagHist
	lh.add(p.cur.lags)
	sh.add(p.cur.sends)
	p.lagHists, p.sendHists = append(p.lagHists, lh), append(p.sendHists, sh)
	p.cur.lags, p.cur.sends = p.cur.lags[:0], p.cur.sends[:0]
	p.cpuSec = append(p.cpuSec, cpu)
	p.cpu0 += cpu
	p.wait0 += s.WaitSeconds
	p.slices0 += s.Slices
	p.wall0 = time.Now()
	p.gc0 = gcPauses()
	p.secs = append(p.secs, s)
}

// gathered returns the figures of the second being gathered so far, and
// its CPU seconds. p.mu is held.
func (p *Probe) gathered() (s Second, cpuSec float64) {
	q, m := p99(p.cur.lags)
	s.LagP99Ns, s.LagMaxNs = int64(q), int64(m)
	q, m = p99(p.cur.sends)
	s.SendP99Ns, s.SendMaxNs, s.Sends = int64(q), int64(m), int64(len(p.cur.sends))
	now := time.Now()
	if cpu, ok := processCPU(); ok && p.cpuOK {
		cpuSec = cpu - p.cpu0
		if wall := now.Sub(p.wall0).Seconds(); wall > 0 {
			s.CPU = cpuSec / wall / float64(runtime.GOMAXPROCS(0))
		}
	}
	if w, n, ok := runWait(); ok && p.waitOK {
		s.WaitSeconds, s.Slices = max(w-p.wait0, 0), max(n-p.slices0, 0)
	}
	s.GCPauses, s.GCPauseMaxNs = gcPauses().since(p.gc0)
	return s, cpuSec
}

// Report returns the generator's health over the whole seconds that
// overlap [from, to] (zero times: the whole run so far, with each second's
// figures), judged against l. nil-safe.
func (p *Probe) Report(from, to time.Time, l Limits) *Report {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll(time.Now())
	r := &Report{Start: p.start, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	a, b := 0, len(p.secs)-1
	whole := from.IsZero() && to.IsZero()
	if !whole {
		a = max(int(from.Sub(p.start)/time.Second), 0)
		b = min(int(to.Sub(p.start)/time.Second), len(p.secs)-1)
	}
	secs, cpus, lhs, shs := p.secs, p.cpuSec, p.lagHists, p.sendHists
	if cur, c := p.gathered(); len(p.cur.lags)+len(p.cur.sends) > 0 {
		// The second going on counts too (the end of a run).
		var lh, sh lagHist
		lh.add(p.cur.lags)
		sh.add(p.cur.sends)
		secs, cpus = append(slices.Clip(secs), cur), append(slices.Clip(cpus), c)
		lhs, shs = append(slices.Clip(lhs), lh), append(slices.Clip(shs), sh)
		if whole || int(to.Sub(p.start)/time.Second) >= len(p.secs) {
			b = len(secs) - 1
		}
	}
	var cpu float64
	var slices int64
	for i := a; i <= b; i++ {
		s := secs[i]
		r.LagP99Ns = max(r.LagP99Ns, s.LagP99Ns)
		r.LagMaxNs = max(r.LagMaxNs, s.LagMaxNs)
		r.SendLagP99Ns = max(r.SendLagP99Ns, s.SendP99Ns)
		r.SendLagMaxNs = max(r.SendLagMaxNs, s.SendMaxNs)
		r.Sends += s.Sends
		r.GCPauses += s.GCPauses
		r.GCPauseMaxNs = max(r.GCPauseMaxNs, s.GCPauseMaxNs)
		cpu += cpus[i]
		r.WaitSeconds += s.WaitSeconds
		slices += s.Slices
		r.Seconds++
		if whole {
			r.PerSecond = append(r.PerSecond, s)
		}
	}
	if r.Seconds > 0 {
		// The window's p99s over all its samples (to the histogram's 19%).
		r.LagP99Ns = int64(quantile(lhs[a:b+1], 0.99, time.Duration(r.LagMaxNs)))
		r.SendLagP99Ns = int64(quantile(shs[a:b+1], 0.99, time.Duration(r.SendLagMaxNs)))
		r.CPUSeconds = cpu
		r.CPU = cpu / float64(r.Seconds) / float64(r.GOMAXPROCS)
		if slices > 0 {
			r.WaitNs = int64(r.WaitSeconds * 1e9 / float64(slices))
		}
	}
	r.judge(l)
	return r
}

// gcHist is the cumulative histogram of GC pauses.
type gcHist struct {
	counts  []uint64
	buckets []float64
}

var gcSample = []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}

func gcPauses() gcHist {
	s := slices.Clone(gcSample)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return gcHist{}
	}
	h := s[0].Value.Float64Histogram()
	return gcHist{counts: slices.Clone(h.Counts), buckets: h.Buckets}
}

// since returns the pauses between old and h, and the longest (the upper
// bound of its bucket).
func (h gcHist) since(old gcHist) (n, maxNs int64) {
	for i, c := range h.counts {
		var o uint64
		if i < len(old.counts) {
			o = old.counts[i]
		}
		if d := c - o; c > o {
			n += int64(d)
			up := h.buckets[i+1]
			if math.IsInf(up, 1) {
				up = h.buckets[i]
			}
			maxNs = int64(up * 1e9)
		}
	}
	return n, maxNs
}
