// Package storm measures how devices come back from a storm: for each event
// of a scenario's timeline (a server restart, a network drop or partition,
// a wave of expiring tickets, a surge of arrivals), the time until 50, 95
// and 99% of the devices it disrupted are online again, the peak connects
// and logins per second on the way, the retry amplification (connect
// attempts per recovered device), resumes against fresh logins, the
// refusals of each server protection, and a per-second series of online
// devices and connects around it. A Tracker is an event.Sink; the run marks
// each storm on it as it strikes and reads the Figures at the end.
package storm

import (
	"math"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
)

// Figures are one storm's results (results.json storms[]). Times are
// seconds; a recovery percentile the devices never reached is absent.
type Figures struct {
	Action string `json:"action"`
	// Index is the event's place in the scenario's events.
	Index int `json:"index"`
	// AtS is when it struck, seconds from the start of the phases.
	AtS  float64   `json:"at_s"`
	Time time.Time `json:"time"`
	// Detail says what the event was (share, duration, sessions, ...).
	Detail string `json:"detail,omitempty"`
	// Affected devices the event hit; Disrupted of them went offline after
	// it (a surge's arrivals all count as disrupted: they start offline);
	// Recovered of those came online again.
	Affected  int `json:"affected"`
	Disrupted int `json:"disrupted"`
	Recovered int `json:"recovered"`
	// Recovery percentiles over the disrupted devices: from the event to
	// the device online again.
	RecoveryP50 *float64 `json:"recovery_p50_s,omitempty"`
	RecoveryP95 *float64 `json:"recovery_p95_s,omitempty"`
	RecoveryP99 *float64 `json:"recovery_p99_s,omitempty"`
	// WindowS is the recovery window: from the event to the last recovery
	// (or the end of the run when some device never came back), at least 1s.
	WindowS float64 `json:"window_s"`
	// Peaks over the window, over all devices (attempts, whatever their
	// outcome).
	PeakConnects float64 `json:"peak_connects_per_s"`
	PeakLogins   float64 `json:"peak_logins_per_s"`
	// The offered peaks: attempts by the instant the devices meant to
	// make them (their backoff's wake-up), over 100 ms slices, as rates
	// per second. The peaks above count attempts as the harness could
	// start them, which a burst beyond its speed spreads out; these show
	// the burst the clients' schedules asked for: devices in step (no
	// jitter) against spread (jitter).
	PeakOfferedConnects float64 `json:"peak_offered_connects_100ms_per_s"`
	PeakOfferedLogins   float64 `json:"peak_offered_logins_100ms_per_s"`
	// Attempts are the disrupted devices' connect attempts from the event
	// to their recovery (or the end); Amplification is Attempts per
	// recovered device (1: every device came back at its first attempt).
	Attempts      int     `json:"attempts"`
	Amplification float64 `json:"amplification"`
	// LoginAttempts are their logins and resumes over the same span, and
	// LoginAmplification those per recovered device (1: one each).
	LoginAttempts      int     `json:"login_attempts"`
	LoginAmplification float64 `json:"login_amplification"`
	// How the devices came back: a resume of their session, a repeat
	// login of it (after a ticket refresh), or a fresh login (a new
	// session: a resume would have spared it).
	Resumes      int `json:"resumes"`
	RepeatLogins int `json:"repeat_logins"`
	FreshLogins  int `json:"fresh_logins"`
	// Refusals by protection within the window, all devices.
	Refusals Refusals `json:"refusals"`
	// LostResumable counts resumes answered 1006 (session unknown) within
	// the server's resume window after a restart that keeps sessions
	// resumable: sessions lost that should not have been. A violation.
	LostResumable int `json:"lost_resumable"`
	// Kickout is the kickout oracle's counts within the recovery window
	// (set by the run; nil: the oracle was off): the kicks it judged and the
	// violations (0 on a correct server) and undecided verdicts it found.
	Kickout *Kickout `json:"kickout,omitempty"`
	// Series is per second from 5 s before the event to the end of the run.
	Series Series `json:"series"`
	// Offered counts attempts by their intended instant in 100 ms slices,
	// from the event's slice to the end of the run.
	Offered Offered `json:"offered_100ms"`
	// RecoveryHDR holds the disrupted devices' recovery times (from the
	// event to online again, in microseconds) as an HdrHistogram, V2
	// compressed: the percentiles above are read from it (to 0.1%), and
	// shards' histograms merge exactly.
	RecoveryHDR string `json:"recovery_hdr,omitempty"`
}

// Kickout is the kickout oracle's counts within a storm's recovery window.
type Kickout struct {
	Kicks      int64 `json:"kicks"`
	Violations int64 `json:"violations"`
	Undecided  int64 `json:"undecided"`
}

// Offered are attempts per 100 ms slice by their intended instant, from
// StartS (seconds from the start of the phases).
type Offered struct {
	StartS   float64 `json:"start_s"`
	Connects []int   `json:"connects"`
	Logins   []int   `json:"logins"`
}

// Refusals counts answers of the server's protections.
type Refusals struct {
	LoginRate    int `json:"login_rate"`
	LoginBuckets int `json:"login_buckets"`
	Flapping     int `json:"flapping"`
}

// Series are per-second values from StartS (seconds from the start of the
// phases): online devices at the end of each second, connect and login
// attempts in it.
type Series struct {
	StartS   float64 `json:"start_s"`
	Online   []int   `json:"online"`
	Connects []int   `json:"connects"`
	Logins   []int   `json:"logins"`
}

// Violations is how many figures are violations (lost resumable sessions
// and the oracle's violations within the window).
func (f *Figures) Violations() int {
	n := f.LostResumable
	if f.Kickout != nil {
		n += int(f.Kickout.Violations)
	}
	return n
}

// Mark says which devices an event hit.
type Mark struct {
	Action string
	Index  int
	Detail string
	// AllOnline: every device online now (a restart); else Devices.
	AllOnline bool
	Devices   []string
	// ResumeWindow > 0: sessions stay resumable this long, so a resume
	// answered 1006 within it is a lost session.
	ResumeWindow time.Duration
}

// Tracker is an event.Sink that follows every device's online state and
// the storms marked on it. Safe for concurrent use.
type Tracker struct {
	mu     sync.Mutex
	start  time.Time
	online map[string]bool // device → online as it sees itself
	count  int
	secs   []second
	tenths []tenth // 100 ms slices
	storms []*track
}

type second struct {
	online             int
	set                bool
	connects, logins   int
	rate, bucket, flap int
}

type tenth struct{ connects, logins int }

// offered is when an attempt was meant to start.
func offered(e *event.Event) time.Time {
	if e.Intended.IsZero() {
		return e.Start
	}
	return e.Intended
}

// tenth returns the 100 ms slice of at.
func (t *Tracker) tenth(at time.Time) *tenth {
	i := max(int(at.Sub(t.start)/(100*time.Millisecond)), 0)
	for len(t.tenths) <= i {
		t.tenths = append(t.tenths, tenth{})
	}
	return &t.tenths[i]
}

type track struct {
	m      Mark
	at     time.Time
	devs   map[string]*dev
	lost   int
	margin time.Duration
}

type dev struct {
	disrupted bool
	recovered bool
	at        time.Time
	attempts  int
	logins    int
	how       uint8 // 1 resume, 2 repeat login, 3 fresh login
}

// New makes a tracker whose seconds count from start.
func New(start time.Time) *Tracker {
	return &Tracker{start: start, online: map[string]bool{}}
}

// SetStart moves the origin of the seconds (the phases' start).
func (t *Tracker) SetStart(start time.Time) {
	t.mu.Lock()
	t.start = start
	t.mu.Unlock()
}

func (t *Tracker) sec(at time.Time) *second {
	i := int(math.Floor(at.Sub(t.start).Seconds()))
	if i < 0 {
		i = 0
	}
	for len(t.secs) <= i {
		t.secs = append(t.secs, second{})
	}
	return &t.secs[i]
}

// Observe implements event.Sink.
func (t *Tracker) Observe(e *event.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := e.At
	switch e.Kind {
	case event.Connect:
		t.sec(e.Start).connects++
		t.tenth(offered(e)).connects++
	case event.Login:
		t.sec(e.Start).logins++
		t.tenth(offered(e)).logins++
	}
	if e.Kind.IsOp() && e.Outcome == event.Failed {
		switch e.Code {
		case codes.LoginTooFrequent:
			t.sec(at).rate++
		case codes.LoginBucketBusy:
			t.sec(at).bucket++
		case codes.FlappingBanned:
			t.sec(at).flap++
		}
	}
	was := t.online[e.Device]
	now := was
	var how uint8
	switch e.Kind {
	case event.Login:
		if e.Outcome == event.OK {
			now, how = true, 3
			if e.Repeat {
				how = 2
			}
		}
	case event.Resume:
		if e.Outcome == event.OK {
			now, how = true, 1
		}
	case event.Logout, event.Kicked, event.SigExpired, event.Disconnect, event.AppKill, event.SwitchUser:
		now = false
	}
	if now != was {
		t.online[e.Device] = now
		if now {
			t.count++
		} else {
			t.count--
		}
	}
	s := t.sec(at)
	s.online, s.set = t.count, true
	for _, tr := range t.storms {
		d := tr.devs[e.Device]
		if d == nil || d.recovered {
			continue
		}
		switch e.Kind {
		case event.Connect:
			d.attempts++
		case event.Login, event.Resume:
			d.logins++
		}
		if e.Kind == event.Resume && e.Code == codes.ResumeFailed && tr.m.ResumeWindow > 0 &&
			e.Start.Sub(tr.at) < tr.m.ResumeWindow-tr.margin {
			tr.lost++
		}
		switch {
		case !now:
			d.disrupted = true
		case d.disrupted && how != 0:
			d.recovered, d.at, d.how = true, at, how
		}
	}
}

// Strike marks a storm at at.
func (t *Tracker) Strike(m Mark, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := &track{m: m, at: at, devs: map[string]*dev{}, margin: time.Second}
	if m.AllOnline {
		for d, on := range t.online {
			if on {
				tr.devs[d] = &dev{}
			}
		}
	}
	for _, d := range m.Devices {
		tr.devs[d] = &dev{}
	}
	t.storms = append(t.storms, tr)
}

// Arrived adds a device that a surge brought (it starts disrupted: offline
// until its first login).
func (t *Tracker) Arrived(index int, device string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.storms {
		if tr.m.Index == index {
			tr.devs[device] = &dev{disrupted: true}
		}
	}
}

// Figures computes every storm's figures; end is when the run ended.
func (t *Tracker) Figures(end time.Time) []Figures {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Figures, 0, len(t.storms))
	for _, tr := range t.storms {
		out = append(out, t.figures(tr, end))
	}
	return out
}

func (t *Tracker) figures(tr *track, end time.Time) Figures {
	f := Figures{Action: tr.m.Action, Index: tr.m.Index, Detail: tr.m.Detail, Time: tr.at,
		AtS: tr.at.Sub(t.start).Seconds(), Affected: len(tr.devs), LostResumable: tr.lost}
	rec := newRecovery()
	last := tr.at
	for _, d := range tr.devs {
		if !d.disrupted {
			continue
		}
		f.Disrupted++
		f.Attempts += d.attempts
		f.LoginAttempts += d.logins
		if !d.recovered {
			last = end
			continue
		}
		f.Recovered++
		_ = rec.RecordValue(max(int64(d.at.Sub(tr.at)/time.Microsecond), 1))
		if d.at.After(last) {
			last = d.at
		}
		switch d.how {
		case 1:
			f.Resumes++
		case 2:
			f.RepeatLogins++
		case 3:
			f.FreshLogins++
		}
	}
	f.RecoveryHDR = encodeRecovery(rec)
	win := max(last.Sub(tr.at), time.Second)
	f.WindowS = win.Seconds()
	from := int(math.Floor(tr.at.Sub(t.start).Seconds()))
	to := int(math.Ceil(tr.at.Add(win).Sub(t.start).Seconds()))
	for i := max(from, 0); i < to && i < len(t.secs); i++ {
		s := t.secs[i]
		f.Refusals.LoginRate += s.rate
		f.Refusals.LoginBuckets += s.bucket
		f.Refusals.Flapping += s.flap
	}
	lo10 := max(int(tr.at.Sub(t.start)/(100*time.Millisecond)), 0)
	f.Offered.StartS = float64(lo10) / 10
	for i := lo10; i < len(t.tenths); i++ {
		f.Offered.Connects = append(f.Offered.Connects, t.tenths[i].connects)
		f.Offered.Logins = append(f.Offered.Logins, t.tenths[i].logins)
	}
	// The series: from 5s before the event to the end of the run.
	lo := max(from-5, 0)
	f.Series.StartS = float64(lo)
	online := 0
	for i := 0; i < len(t.secs); i++ {
		s := t.secs[i]
		if s.set {
			online = s.online
		}
		if i >= lo {
			f.Series.Online = append(f.Series.Online, online)
			f.Series.Connects = append(f.Series.Connects, s.connects)
			f.Series.Logins = append(f.Series.Logins, s.logins)
		}
	}
	f.derive(rec)
	return f
}

// derive computes, from the figures' mergeable parts (counts, the
// recovery histogram, the series over the window), the figures read from
// them: recovery percentiles, amplification and peaks.
func (f *Figures) derive(rec *hdrhistogram.Histogram) {
	pct := func(p float64) *float64 {
		need := int64(math.Ceil(p * float64(f.Disrupted)))
		n := rec.TotalCount()
		if f.Disrupted == 0 || need > n {
			return nil
		}
		// The need-th smallest recovery of the disrupted devices (those
		// that never came back count as later than any).
		v := time.Duration(rec.ValueAtQuantile(100*float64(max(need, 1))/float64(n))) * time.Microsecond
		s := v.Seconds()
		return &s
	}
	f.RecoveryP50, f.RecoveryP95, f.RecoveryP99 = pct(0.50), pct(0.95), pct(0.99)
	f.Amplification, f.LoginAmplification = 0, 0
	if f.Recovered > 0 {
		f.Amplification = float64(f.Attempts) / float64(f.Recovered)
		f.LoginAmplification = float64(f.LoginAttempts) / float64(f.Recovered)
	}
	from := math.Floor(f.AtS)
	to := math.Ceil(f.AtS + f.WindowS)
	f.PeakConnects, f.PeakLogins = 0, 0
	for i := range f.Series.Connects {
		if sec := f.Series.StartS + float64(i); sec >= from && sec < to {
			f.PeakConnects = max(f.PeakConnects, float64(f.Series.Connects[i]))
			f.PeakLogins = max(f.PeakLogins, float64(f.Series.Logins[i]))
		}
	}
	f.PeakOfferedConnects, f.PeakOfferedLogins = 0, 0
	hi10 := math.Floor(10*(f.AtS+f.WindowS)) + 1
	for i := range f.Offered.Connects {
		if slice := math.Round(10*f.Offered.StartS) + float64(i); slice < hi10 {
			f.PeakOfferedConnects = max(f.PeakOfferedConnects, float64(10*f.Offered.Connects[i]))
			f.PeakOfferedLogins = max(f.PeakOfferedLogins, float64(10*f.Offered.Logins[i]))
		}
	}
}

// newRecovery is the histogram of recovery times: 1 µs to 1 h, 3 digits.
func newRecovery() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

func encodeRecovery(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "" // an in-memory encoding of a valid histogram does not fail
	}
	return string(b)
}

func decodeRecovery(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return newRecovery(), nil
	}
	return hdrhistogram.Decode([]byte(s))
}
