package metrics

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

const (
	numOps    = int(event.Heartbeat-event.Connect) + 1 // operations
	numOthers = int(event.LastKind-event.Kicked) + 1   // things a device suffers or does
	numKnown  = 7                                      // the platforms of policy.Platforms
)

// UnknownPlatform names events that carry no platform.
const UnknownPlatform policy.Platform = "unknown"

func opIndex(k event.Kind) int    { return int(k - event.Connect) }
func otherIndex(k event.Kind) int { return int(k - event.Kicked) }
func isOther(k event.Kind) bool   { return k >= event.Kicked && k <= event.LastKind }

// The online count and a change counter share one atomic word, so that the
// shard which saw the last change of a second can be found at Snapshot: the
// low onlineBits bits are the count, the rest a version that every change
// increments.
const (
	onlineBits = 28
	onlineMask = 1<<onlineBits - 1
	onlineUp   = 1<<onlineBits + 1
	onlineDown = 1<<onlineBits - 1
)

// Recorder records events into sharded histograms and counters. It is safe
// for concurrent use; see the package comment for what it keeps.
type Recorder struct {
	cfg      config
	start    time.Time
	secStart time.Time // start truncated to a whole second: second 0 of the series
	highest  int64     // histogram range in units
	seed     maphash.Seed
	mask     uint64
	shards   []*shard
	online   atomic.Uint64 // see onlineBits
	arch     archive
}

// A shard keeps the seconds of the series from retireAfter seconds behind
// the latest it saw; it moves older ones into the recorder's archive, which
// holds one second merged over every shard: the series costs one second's
// counters and histogram per second of the run, not one per shard.
const retireAfter = 30

// archive is the seconds the shards retired, merged. A shard retires only
// while it can take mu at once (TryLock), and Snapshot holds mu throughout,
// so a snapshot never sees a second both in a shard and here, or in
// neither.
type archive struct {
	mu   sync.Mutex
	n    int      // seconds retired: 0..n-1
	secs []second // by second from 0 (may be shorter than n)
}

// NewRecorder makes a recorder.
func NewRecorder(opts ...Option) *Recorder {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.start.IsZero() {
		cfg.start = cfg.clock.Now()
	}
	n := 1
	if cfg.shards > 1 {
		n = 1 << bits.Len(uint(cfg.shards-1))
	}
	r := &Recorder{
		cfg:      cfg,
		start:    cfg.start,
		secStart: cfg.start.Truncate(time.Second),
		highest:  int64(cfg.highest / cfg.lowest),
		seed:     maphash.MakeSeed(),
		mask:     uint64(n - 1),
		shards:   make([]*shard, n),
	}
	for i := range r.shards {
		r.shards[i] = &shard{}
	}
	return r
}

// Start returns the start of the run.
func (r *Recorder) Start() time.Time { return r.start }

// shard is one lock's worth of the recorder.
type shard struct {
	mu      sync.Mutex
	plats   [numKnown]*platCells
	extra   map[policy.Platform]*platCells
	online  map[deviceKey]struct{}
	secBase int             // the second of secs[0]; earlier ones are retired
	secs    []second        // seconds from secBase
	late    map[int]*second // seconds before secBase that events came for since
	clamped int64           // latencies outside the histogram range
	unknown int64           // events of no known kind
	dropped int64           // events left out of the series
	_       [64]byte
}

type deviceKey struct{ user, device string }

type platCells struct {
	ops    [numOps]opCell
	others [numOthers]int64
	kick   *hdr.PackedHistogram // kick notice delay
}

type opCell struct {
	ok, failed, timedOut, cancelled int64
	codes                           map[int]int64
	reasons                         map[int]*reasonCounts // failed operations: code → reasons
	hist                            *hdr.PackedHistogram
}

// second is what a shard keeps of one second of the run.
type second struct {
	ops        [numOps]secOp
	others     [numOthers]int64
	onlineMax  int64
	onlineLast uint64 // packed word after the last change seen; 0: none
	hist       [numOps]*hdr.PackedHistogram
}

type secOp struct{ ok, failed, timedOut, cancelled, maxNs, sumNs int64 }

// Observe records one event. It implements event.Sink.
func (r *Recorder) Observe(e *event.Event) {
	key := e.Device
	if key == "" {
		key = e.UserID
	}
	s := r.shards[0]
	if r.mask != 0 {
		s = r.shards[maphash.String(r.seed, key)&r.mask]
	}
	sec := r.secondOf(e.At)
	p := e.Platform
	if p == "" {
		p = UnknownPlatform
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var sc *second
	if sec >= 0 {
		if sec-s.secBase >= 2*r.cfg.retireAfter {
			r.retire(s, sec-r.cfg.retireAfter)
		}
		sc = s.second(sec)
	} else {
		s.dropped++
	}
	switch {
	case e.Kind.IsOp():
		r.observeOp(s, s.cells(p), sc, e)
	case isOther(e.Kind):
		pc := s.cells(p)
		pc.others[otherIndex(e.Kind)]++
		if sc != nil {
			sc.others[otherIndex(e.Kind)]++
		}
		if e.Kind == event.Kicked && e.Latency > 0 {
			if pc.kick == nil {
				pc.kick = hdr.NewPacked(1, r.highest, r.cfg.digits)
			}
			_ = pc.kick.RecordValue(r.units(s, e.Latency))
		}
	default:
		s.unknown++
		return
	}
	r.track(s, sc, e)
}

func (r *Recorder) observeOp(s *shard, pc *platCells, sc *second, e *event.Event) {
	i := opIndex(e.Kind)
	c := &pc.ops[i]
	var so *secOp
	if sc != nil {
		so = &sc.ops[i]
	}
	// Anything that is neither ok, timed out nor cancelled counts as
	// failed, so that attempts always equal ok + failed + timed out +
	// cancelled.
	failed := false
	switch e.Outcome {
	case event.OK:
		c.ok++
		if so != nil {
			so.ok++
		}
	case event.TimedOut:
		c.timedOut++
		if so != nil {
			so.timedOut++
		}
	case event.Cancelled:
		c.cancelled++
		if so != nil {
			so.cancelled++
		}
	default:
		failed = true
		c.failed++
		if so != nil {
			so.failed++
		}
	}
	if e.Code != 0 || failed {
		if c.codes == nil {
			c.codes = make(map[int]int64)
		}
		c.codes[e.Code]++
	}
	if failed {
		c.addReason(e.Code, e.Reason)
	}
	// Latency is of successful operations only: a login refused at once,
	// or one cut off, is not a fast or slow login; its own counts say it.
	if e.Outcome != event.OK {
		return
	}
	v := r.units(s, e.Latency)
	if c.hist == nil {
		c.hist = hdr.NewPacked(1, r.highest, r.cfg.digits)
	}
	_ = c.hist.RecordValue(v)
	if so == nil {
		return
	}
	ns := max(int64(e.Latency), 0)
	so.maxNs = max(so.maxNs, ns)
	so.sumNs += ns
	if r.cfg.seriesHist[i] {
		h := sc.hist[i]
		if h == nil {
			h = r.newSeriesHist()
			sc.hist[i] = h
		}
		_ = h.RecordValue(v)
	}
}

// newSeriesHist returns an empty histogram of one second of the series.
func (r *Recorder) newSeriesHist() *hdr.PackedHistogram {
	return hdr.NewPacked(1, r.highest, r.cfg.seriesDigits)
}

// track keeps the set of instances online and the online gauge.
func (r *Recorder) track(s *shard, sc *second, e *event.Event) {
	var up bool
	switch e.Kind {
	case event.Login, event.Resume:
		if e.Outcome != event.OK {
			return
		}
		up = true
	case event.Logout, event.Kicked, event.SigExpired, event.Disconnect, event.AppKill, event.SwitchUser:
	default:
		return
	}
	k := deviceKey{e.UserID, e.Device}
	_, on := s.online[k]
	if on == up {
		return
	}
	var w uint64
	if up {
		if s.online == nil {
			s.online = make(map[deviceKey]struct{})
		}
		s.online[k] = struct{}{}
		w = r.online.Add(onlineUp)
	} else {
		delete(s.online, k)
		w = r.online.Add(onlineDown)
	}
	if sc != nil {
		sc.onlineMax = max(sc.onlineMax, int64(w&onlineMask))
		sc.onlineLast = max(sc.onlineLast, w)
	}
}

// units converts a latency to histogram units, clamped to the range.
func (r *Recorder) units(s *shard, d time.Duration) int64 {
	v := int64(d / r.cfg.lowest)
	switch {
	case v < 0:
		s.clamped++
		return 0
	case v > r.highest:
		s.clamped++
		return r.highest
	}
	return v
}

// secondOf gives the series slot of t, or -1 when t is unset or beyond the
// cap. Times before the start count in second 0.
func (r *Recorder) secondOf(t time.Time) int {
	if t.IsZero() {
		return -1
	}
	d := t.Sub(r.secStart)
	if d < 0 {
		return 0
	}
	sec := d / time.Second
	if sec >= time.Duration(r.cfg.maxSeconds) {
		return -1
	}
	return int(sec)
}

func (s *shard) cells(p policy.Platform) *platCells {
	if i := policy.Index(p); i >= 0 {
		if s.plats[i] == nil {
			s.plats[i] = &platCells{}
		}
		return s.plats[i]
	}
	pc := s.extra[p]
	if pc == nil {
		if s.extra == nil {
			s.extra = make(map[policy.Platform]*platCells)
		}
		pc = &platCells{}
		s.extra[p] = pc
	}
	return pc
}

func (s *shard) second(t int) *second {
	if t < s.secBase {
		sc := s.late[t]
		if sc == nil {
			if s.late == nil {
				s.late = make(map[int]*second)
			}
			sc = new(second)
			s.late[t] = sc
		}
		return sc
	}
	return slot(&s.secs, t-s.secBase)
}

// slot extends *secs so that index i exists, doubling its capacity when
// it must grow (slots past len are zero), and returns it.
func slot(secs *[]second, i int) *second {
	if i >= len(*secs) {
		if i < cap(*secs) {
			*secs = (*secs)[:i+1]
		} else {
			n := make([]second, i+1, max(2*cap(*secs), i+1, 64))
			copy(n, *secs)
			*secs = n
		}
	}
	return &(*secs)[i]
}

// retire moves the seconds of s before upTo, and its late ones, into the
// archive, unless a snapshot holds it. s.mu is held.
func (r *Recorder) retire(s *shard, upTo int) {
	a := &r.arch
	if !a.mu.TryLock() {
		return // a snapshot is reading; the next event tries again
	}
	defer a.mu.Unlock()
	n := min(upTo-s.secBase, len(s.secs))
	for i := range n {
		a.add(s.secBase+i, &s.secs[i])
	}
	for t, sc := range s.late {
		a.add(t, sc)
	}
	clear(s.late)
	// Slots past len must be zero: second reuses them.
	m := copy(s.secs, s.secs[n:])
	clear(s.secs[m:])
	s.secs = s.secs[:m]
	s.secBase = upTo
}

// add merges sc, which its shard gives up, into second t. a.mu is held.
func (a *archive) add(t int, sc *second) {
	a.n = max(a.n, t+1)
	if *sc == (second{}) {
		return
	}
	d := slot(&a.secs, t)
	for i := range sc.ops {
		o, so := &d.ops[i], &sc.ops[i]
		o.ok += so.ok
		o.failed += so.failed
		o.timedOut += so.timedOut
		o.cancelled += so.cancelled
		o.maxNs = max(o.maxNs, so.maxNs)
		o.sumNs += so.sumNs
		h := sc.hist[i]
		switch {
		case h == nil:
			continue
		case d.hist[i] == nil:
			d.hist[i] = h
		default:
			_ = d.hist[i].Merge(h)
		}
		d.hist[i].Compact()
	}
	for i, c := range sc.others {
		d.others[i] += c
	}
	d.onlineMax = max(d.onlineMax, sc.onlineMax)
	d.onlineLast = max(d.onlineLast, sc.onlineLast)
}
