package metrics

import (
	"fmt"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// Snapshot is what a recorder held at one moment, merged over its shards. The
// recorder never touches a snapshot after returning it; Merge changes only
// its receiver. Maps are keyed by event kind names ("login", "kicked") and
// platform names.
type Snapshot struct {
	Start     time.Time     `json:"start"`
	End       time.Time     `json:"end"`
	Histogram HistogramSpec `json:"histogram"`
	// Ops: operation → platform → counts and latency.
	Ops map[string]map[policy.Platform]*OpCell `json:"ops"`
	// Events: kicked, sig_expired, disconnect, app_kill, switch_user,
	// misbehaving → platform → count.
	Events map[string]map[policy.Platform]int64 `json:"events,omitempty"`
	// KickNotice: victim's platform → displacement-to-notice delay, for the
	// kicks whose delay was known.
	KickNotice map[policy.Platform]*Hist `json:"kick_notice,omitempty"`
	// Clamped counts latencies outside the histogram range, recorded at its
	// nearest end.
	Clamped int64 `json:"clamped,omitempty"`
	// UnknownEvents counts events of no known kind (ignored otherwise).
	UnknownEvents int64  `json:"unknown_events,omitempty"`
	Series        Series `json:"series"`
}

// HistogramSpec is the geometry every histogram of a snapshot shares; only
// snapshots of one spec merge.
type HistogramSpec struct {
	UnitNs       int64 `json:"unit_ns"` // a histogram value of 1 is this many nanoseconds
	Highest      int64 `json:"highest"` // largest value, in units
	Digits       int   `json:"digits"`
	SeriesDigits int   `json:"series_digits"`
	// LatencyOf says which operations the latency histograms and the
	// series' max and sum hold: "ok" (successful ones only; every snapshot
	// imload writes now) or "" (every attempt, whatever its outcome: files
	// of earlier versions). Snapshots of different kinds do not merge.
	LatencyOf string `json:"latency_of,omitempty"`
}

// LatencyOK is HistogramSpec.LatencyOf for latency of successful operations.
const LatencyOK = "ok"

// Unit returns the histogram unit.
func (h HistogramSpec) Unit() time.Duration { return time.Duration(h.UnitNs) }

// OpCell is one operation on one platform.
type OpCell struct {
	OK       int64 `json:"ok"`
	Failed   int64 `json:"failed"`
	TimedOut int64 `json:"timed_out"`
	// Cancelled counts operations the run's end (or an interrupt) cut off:
	// neither failed nor timed out, and in no error rate (absent in files
	// of earlier versions, which counted them as failed).
	Cancelled int64 `json:"cancelled,omitempty"`
	// Codes counts failed operations by the target's code (0: failed without
	// a code, e.g. a transport error), and any other operation that carried a
	// non-zero code. Timeouts are only in TimedOut, cut-offs in Cancelled.
	Codes map[int]int64 `json:"codes,omitempty"`
	// Reasons says why the failed operations of each code failed: their
	// distinct messages (Event.Reason), see Reasons.
	Reasons map[int]*Reasons `json:"reasons,omitempty"`
	// Latency holds the successful operations (HistogramSpec.LatencyOf
	// "ok"); failed and timed-out ones are counted above, not timed.
	Latency *Hist `json:"latency"`
}

// Attempted returns OK + Failed + TimedOut + Cancelled.
func (c *OpCell) Attempted() int64 { return c.OK + c.Failed + c.TimedOut + c.Cancelled }

// Series holds per-second values. Second i covers [Start+i s, Start+(i+1) s);
// Start is a whole second, so series of different runs align. Every slice has
// Seconds entries.
type Series struct {
	Start   time.Time            `json:"start"`
	Seconds int                  `json:"seconds"`
	Ops     map[string]*OpSeries `json:"ops,omitempty"`
	Events  map[string][]int64   `json:"events,omitempty"`
	// OnlineMax is the most instances online during each second, OnlineEnd
	// the number at its end. Merging snapshots of different processes adds
	// both: exact for OnlineEnd, an upper bound for OnlineMax (the maximum of
	// a sum is not kept by the parts).
	OnlineMax []int64 `json:"online_max"`
	OnlineEnd []int64 `json:"online_end"`
	// Dropped counts events without a time or past the series cap.
	Dropped int64 `json:"dropped,omitempty"`
}

// OpSeries is one operation per second, all platforms together.
type OpSeries struct {
	OK       []int64 `json:"ok"`
	Failed   []int64 `json:"failed"`
	TimedOut []int64 `json:"timed_out"`
	// Cancelled is absent in files of earlier versions.
	Cancelled []int64 `json:"cancelled,omitempty"`
	MaxNs     []int64 `json:"max_ns"` // exact maximum latency (of the successes, as Latency)
	SumNs     []int64 `json:"sum_ns"` // sum of latencies, for the mean over OK
	// Latency holds a histogram per second (null when the second had none)
	// for the operations chosen by WithSeriesHistograms; absent otherwise.
	Latency []*Hist `json:"latency,omitempty"`
}

// Attempted returns the attempts in second i.
func (o *OpSeries) Attempted(i int) int64 {
	n := o.OK[i] + o.Failed[i] + o.TimedOut[i]
	if i < len(o.Cancelled) {
		n += o.Cancelled[i]
	}
	return n
}

// Duration returns End - Start.
func (s *Snapshot) Duration() time.Duration { return s.End.Sub(s.Start) }

func (r *Recorder) spec() HistogramSpec {
	return HistogramSpec{UnitNs: int64(r.cfg.lowest), Highest: r.highest, Digits: r.cfg.digits, SeriesDigits: r.cfg.seriesDigits, LatencyOf: LatencyOK}
}

// seriesAcc gathers the series of the shards.
type seriesAcc struct {
	n          int
	ops        [numOps]*OpSeries
	others     [numOthers][]int64
	onlineMax  []int64
	onlineLast []uint64
	drop       int64
}

// Snapshot merges the shards into a new Snapshot that ends now. It may run
// while events are observed; each shard is read under its own lock.
func (r *Recorder) Snapshot() *Snapshot {
	end := r.cfg.clock.Now()
	s := &Snapshot{
		Start:      r.start,
		End:        end,
		Histogram:  r.spec(),
		Ops:        map[string]map[policy.Platform]*OpCell{},
		Events:     map[string]map[policy.Platform]int64{},
		KickNotice: map[policy.Platform]*Hist{},
	}
	var acc seriesAcc
	// Held throughout, so that no shard retires a second while the shards
	// are read (see archive).
	r.arch.mu.Lock()
	for _, sh := range r.shards {
		sh.mu.Lock()
		r.addShard(s, &acc, sh)
		sh.mu.Unlock()
	}
	acc.n = max(acc.n, r.arch.n)
	for t := range r.arch.secs {
		r.addSecond(&acc, t, &r.arch.secs[t])
	}
	r.arch.mu.Unlock()
	s.Series = r.finishSeries(&acc, end)
	s.trimReasons()
	return s
}

func (r *Recorder) addShard(s *Snapshot, acc *seriesAcc, sh *shard) {
	s.Clamped += sh.clamped
	s.UnknownEvents += sh.unknown
	acc.drop += sh.dropped
	for i, pc := range sh.plats {
		if pc != nil {
			r.addCells(s, policy.Platforms[i], pc)
		}
	}
	for p, pc := range sh.extra {
		r.addCells(s, p, pc)
	}
	acc.n = max(acc.n, sh.secBase+len(sh.secs))
	for i := range sh.secs {
		r.addSecond(acc, sh.secBase+i, &sh.secs[i])
	}
	for t, sc := range sh.late {
		acc.n = max(acc.n, t+1)
		r.addSecond(acc, t, sc)
	}
}

// addSecond adds a shard's or the archive's second t to the series; it
// never changes sc.
func (r *Recorder) addSecond(acc *seriesAcc, t int, sc *second) {
	for i := range sc.ops {
		so := &sc.ops[i]
		h := sc.hist[i]
		if so.ok+so.failed+so.timedOut+so.cancelled == 0 && h == nil {
			continue
		}
		os := acc.op(i, r.cfg.seriesHist[i])
		grow(&os.OK, t)[t] += so.ok
		grow(&os.Failed, t)[t] += so.failed
		grow(&os.TimedOut, t)[t] += so.timedOut
		grow(&os.Cancelled, t)[t] += so.cancelled
		m := grow(&os.MaxNs, t)
		m[t] = max(m[t], so.maxNs)
		grow(&os.SumNs, t)[t] += so.sumNs
		if h != nil {
			hs := growHist(&os.Latency, t)
			if hs[t] == nil {
				hs[t] = &Hist{p: h.Clone()}
			} else {
				_ = hs[t].merge(&Hist{p: h})
			}
		}
	}
	for i, c := range sc.others {
		if c != 0 {
			grow(&acc.others[i], t)[t] += c
		}
	}
	if sc.onlineLast != 0 {
		m := grow(&acc.onlineMax, t)
		m[t] = max(m[t], sc.onlineMax)
		if t >= len(acc.onlineLast) {
			acc.onlineLast = append(acc.onlineLast, make([]uint64, t+1-len(acc.onlineLast))...)
		}
		acc.onlineLast[t] = max(acc.onlineLast[t], sc.onlineLast)
	}
}

func (acc *seriesAcc) op(i int, withHist bool) *OpSeries {
	if acc.ops[i] == nil {
		acc.ops[i] = &OpSeries{}
		if withHist {
			acc.ops[i].Latency = []*Hist{}
		}
	}
	return acc.ops[i]
}

func (r *Recorder) addCells(s *Snapshot, p policy.Platform, pc *platCells) {
	for i := range pc.ops {
		c := &pc.ops[i]
		if c.ok+c.failed+c.timedOut+c.cancelled == 0 {
			continue
		}
		name := (event.Connect + event.Kind(i)).String()
		byPlat := s.Ops[name]
		if byPlat == nil {
			byPlat = map[policy.Platform]*OpCell{}
			s.Ops[name] = byPlat
		}
		oc := byPlat[p]
		if oc == nil {
			oc = &OpCell{Latency: newHist(r.highest, r.cfg.digits)}
			byPlat[p] = oc
		}
		oc.OK += c.ok
		oc.Failed += c.failed
		oc.TimedOut += c.timedOut
		oc.Cancelled += c.cancelled
		for code, n := range c.codes {
			if oc.Codes == nil {
				oc.Codes = map[int]int64{}
			}
			oc.Codes[code] += n
		}
		for code, rc := range c.reasons {
			oc.addReasons(code, rc.reasons())
		}
		if c.hist != nil {
			oc.Latency.p.Merge(c.hist)
		}
	}
	for i, n := range pc.others {
		if n == 0 {
			continue
		}
		name := (event.Kicked + event.Kind(i)).String()
		if s.Events[name] == nil {
			s.Events[name] = map[policy.Platform]int64{}
		}
		s.Events[name][p] += n
	}
	if pc.kick != nil && pc.kick.TotalCount() > 0 {
		h := s.KickNotice[p]
		if h == nil {
			h = newHist(r.highest, r.cfg.digits)
			s.KickNotice[p] = h
		}
		h.p.Merge(pc.kick)
	}
}

func (r *Recorder) finishSeries(acc *seriesAcc, end time.Time) Series {
	n := acc.n
	if d := end.Sub(r.secStart); d > 0 {
		n = max(n, int((d+time.Second-1)/time.Second))
	}
	n = min(n, r.cfg.maxSeconds)
	se := Series{Start: r.secStart, Seconds: n, Dropped: acc.drop, Ops: map[string]*OpSeries{}, Events: map[string][]int64{}}
	for i, os := range acc.ops {
		if os == nil {
			continue
		}
		os.pad(n)
		se.Ops[(event.Connect + event.Kind(i)).String()] = os
	}
	for i, c := range acc.others {
		if c != nil {
			se.Events[(event.Kicked + event.Kind(i)).String()] = padTo(c, n)
		}
	}
	se.OnlineMax = make([]int64, n)
	se.OnlineEnd = make([]int64, n)
	var carry int64
	for t := range n {
		m, end := carry, carry
		if t < len(acc.onlineLast) && acc.onlineLast[t] != 0 {
			m = max(m, acc.onlineMax[t])
			end = int64(acc.onlineLast[t] & onlineMask)
		}
		se.OnlineMax[t], se.OnlineEnd[t] = m, end
		carry = end
	}
	return se
}

// grow extends *a with zeros so that index t exists, and returns it.
func grow(a *[]int64, t int) []int64 {
	if t >= len(*a) {
		*a = append(*a, make([]int64, t+1-len(*a))...)
	}
	return *a
}

func growHist(a *[]*Hist, t int) []*Hist {
	if t >= len(*a) {
		*a = append(*a, make([]*Hist, t+1-len(*a))...)
	}
	return *a
}

func padTo(a []int64, n int) []int64 {
	if len(a) > n {
		return a[:n]
	}
	return append(a, make([]int64, n-len(a))...)
}

func (o *OpSeries) pad(n int) {
	o.OK, o.Failed, o.TimedOut, o.Cancelled = padTo(o.OK, n), padTo(o.Failed, n), padTo(o.TimedOut, n), padTo(o.Cancelled, n)
	o.MaxNs, o.SumNs = padTo(o.MaxNs, n), padTo(o.SumNs, n)
	if o.Latency != nil {
		if len(o.Latency) > n {
			o.Latency = o.Latency[:n]
		} else {
			o.Latency = append(o.Latency, make([]*Hist, n-len(o.Latency))...)
		}
	}
}

// Merge adds other into s exactly: counters add, histograms merge bucket by
// bucket, and series align by second from the earlier start. Start becomes
// the earlier start and End the later end. An empty Snapshot{} takes on
// other's histogram spec, so merging into one copies. Snapshots of different
// histogram specs do not merge.
func (s *Snapshot) Merge(other *Snapshot) error {
	if other == nil {
		return nil
	}
	if s.Histogram == (HistogramSpec{}) {
		s.Histogram = other.Histogram
		s.Start, s.End = other.Start, other.End
		s.Series.Start = other.Series.Start
	}
	if s.Histogram != other.Histogram {
		return fmt.Errorf("metrics: cannot merge snapshots of different histogram specs: %+v vs %+v", s.Histogram, other.Histogram)
	}
	if _, _, n := s.Series.span(&other.Series); n > maxSeriesSeconds {
		return fmt.Errorf("metrics: merged series would span %d s (max %d)", n, maxSeriesSeconds)
	}
	if other.Start.Before(s.Start) {
		s.Start = other.Start
	}
	if other.End.After(s.End) {
		s.End = other.End
	}
	s.Clamped += other.Clamped
	s.UnknownEvents += other.UnknownEvents
	if s.Ops == nil {
		s.Ops = map[string]map[policy.Platform]*OpCell{}
	}
	for op, byPlat := range other.Ops {
		if s.Ops[op] == nil {
			s.Ops[op] = map[policy.Platform]*OpCell{}
		}
		for p, oc := range byPlat {
			c := s.Ops[op][p]
			if c == nil {
				c = &OpCell{Latency: newHist(s.Histogram.Highest, s.Histogram.Digits)}
				s.Ops[op][p] = c
			}
			c.OK += oc.OK
			c.Failed += oc.Failed
			c.TimedOut += oc.TimedOut
			c.Cancelled += oc.Cancelled
			for code, n := range oc.Codes {
				if c.Codes == nil {
					c.Codes = map[int]int64{}
				}
				c.Codes[code] += n
			}
			for code, rs := range oc.Reasons {
				c.addReasons(code, rs)
			}
			if err := c.Latency.merge(oc.Latency); err != nil {
				return fmt.Errorf("%s on %s: %w", op, p, err)
			}
		}
	}
	for k, byPlat := range other.Events {
		if s.Events == nil {
			s.Events = map[string]map[policy.Platform]int64{}
		}
		if s.Events[k] == nil {
			s.Events[k] = map[policy.Platform]int64{}
		}
		for p, n := range byPlat {
			s.Events[k][p] += n
		}
	}
	for p, h := range other.KickNotice {
		if s.KickNotice == nil {
			s.KickNotice = map[policy.Platform]*Hist{}
		}
		if s.KickNotice[p] == nil {
			s.KickNotice[p] = newHist(s.Histogram.Highest, s.Histogram.Digits)
		}
		if err := s.KickNotice[p].merge(h); err != nil {
			return fmt.Errorf("kick notice on %s: %w", p, err)
		}
	}
	s.trimReasons()
	return s.Series.merge(&other.Series, s.Histogram)
}

// span returns the start of the merged series, the offsets of se and o in
// it, and its length.
func (se *Series) span(o *Series) (offA, offB, n int) {
	start := se.start(o)
	if se.Seconds > 0 {
		offA = int(se.Start.Sub(start) / time.Second)
	}
	if o.Seconds > 0 {
		offB = int(o.Start.Sub(start) / time.Second)
	}
	return offA, offB, max(offA+se.Seconds, offB+o.Seconds)
}

func (se *Series) start(o *Series) time.Time {
	switch {
	case o.Start.IsZero():
		return se.Start
	case se.Start.IsZero() || o.Start.Before(se.Start):
		return o.Start
	}
	return se.Start
}

func (se *Series) merge(o *Series, spec HistogramSpec) error {
	start := se.start(o)
	offA, offB, n := se.span(o)
	shift := func(a []int64) []int64 {
		out := make([]int64, n)
		copy(out[offA:], a)
		return out
	}
	add := func(dst, src []int64) {
		for i, v := range src {
			dst[offB+i] += v
		}
	}
	ops := map[string]*OpSeries{}
	for name, os := range se.Ops {
		m := &OpSeries{OK: shift(os.OK), Failed: shift(os.Failed), TimedOut: shift(os.TimedOut), Cancelled: shift(os.Cancelled), MaxNs: shift(os.MaxNs), SumNs: shift(os.SumNs)}
		if os.Latency != nil {
			m.Latency = make([]*Hist, n)
			copy(m.Latency[offA:], os.Latency)
		}
		ops[name] = m
	}
	for name, os := range o.Ops {
		m := ops[name]
		if m == nil {
			m = &OpSeries{OK: make([]int64, n), Failed: make([]int64, n), TimedOut: make([]int64, n), Cancelled: make([]int64, n), MaxNs: make([]int64, n), SumNs: make([]int64, n)}
			ops[name] = m
		}
		add(m.OK, os.OK)
		add(m.Failed, os.Failed)
		add(m.TimedOut, os.TimedOut)
		add(m.Cancelled, os.Cancelled)
		add(m.SumNs, os.SumNs)
		for i, v := range os.MaxNs {
			m.MaxNs[offB+i] = max(m.MaxNs[offB+i], v)
		}
		if os.Latency != nil && m.Latency == nil {
			m.Latency = make([]*Hist, n)
		}
		for i, h := range os.Latency {
			if h == nil {
				continue
			}
			t := offB + i
			if m.Latency[t] == nil {
				m.Latency[t] = newHist(spec.Highest, spec.SeriesDigits)
			}
			if err := m.Latency[t].merge(h); err != nil {
				return fmt.Errorf("%s series second %d: %w", name, t, err)
			}
		}
	}
	events := map[string][]int64{}
	for name, a := range se.Events {
		events[name] = shift(a)
	}
	for name, a := range o.Events {
		if events[name] == nil {
			events[name] = make([]int64, n)
		}
		add(events[name], a)
	}
	onMax, onEnd := shift(se.OnlineMax), shift(se.OnlineEnd)
	add(onMax, o.OnlineMax)
	add(onEnd, o.OnlineEnd)
	*se = Series{Start: start, Seconds: n, Ops: ops, Events: events, OnlineMax: onMax, OnlineEnd: onEnd, Dropped: se.Dropped + o.Dropped}
	return nil
}
