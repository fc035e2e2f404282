package mau

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/imload/imload/policy"
)

// AppSession is one time the user has the app in the foreground, on a real
// 24-hour day (Calendar.At compresses it onto the simulated day).
type AppSession struct {
	// Start is the time of day the app comes to the foreground.
	Start time.Duration
	// Duration is how long it stays there; the session ends within the day.
	Duration time.Duration
	// Background is true when the app was still alive in the background
	// from an earlier session (a warm start), false for a fresh start. It
	// matters only when an earlier session left the app logged in.
	Background bool
	// OpensChat says the session opens the chat UI, ChatAt after Start, for
	// ChatDur (ending no later than the session).
	OpensChat bool
	ChatAt    time.Duration
	ChatDur   time.Duration
}

// End returns the time of day the session ends.
func (s AppSession) End() time.Duration { return s.Start + s.Duration }

// UserProfile is what stays fixed about a user for the whole run.
type UserProfile struct {
	Segment  int // index into the configured segments
	Platform policy.Platform
	// JoinDay is the first day the user may use the app (0: from the
	// start); ChurnDay the first day the user no longer does (the number of
	// days: not within the run).
	JoinDay  int
	ChurnDay int
}

// Model is the seeded usage model of a population over a run of days. It
// is pure: Activity depends only on (seed, user, day), never on a strategy
// or on the order of calls, so the same population runs under every
// strategy. A Model is safe for concurrent use.
type Model struct {
	seed      uint64
	days      int
	users     int
	segs      []segModel
	names     []string
	bounds    []int // bounds[i]: one past the last user of segment i
	weekend   []bool
	platforms policy.Mix
	hourCum   [24]float64
}

type segModel struct {
	dormant          bool
	open, openWkend  float64
	extraSessions    float64 // mean sessions - 1
	sessionMean      float64 // ns
	chat, chatMean   float64
	background       float64
	joining, churned float64
}

// diurnal weighs the hours of the day in which sessions start: quiet at
// night, peaks at lunch and in the evening.
var diurnal = [24]float64{1.5, 0.8, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 5, 5, 5, 5.5,
	7, 6, 5, 5, 5, 5.5, 6, 7, 8, 8.5, 6, 3.5}

// Session bounds.
const (
	minSession  = 10 * time.Second
	maxSession  = 6 * time.Hour
	sessionGap  = 30 * time.Second // least time between two sessions
	minChat     = 5 * time.Second
	lastMoment  = RealDay - time.Millisecond
	startLatest = RealDay - minSession
)

// NewModel resolves cfg's segments and platforms for a population of users
// (0: cfg.Users or the segments' counts).
func NewModel(cfg Config, users int) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n, err := cfg.population(users)
	if err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	sizes, err := resolveSegments(c.Segments, n)
	if err != nil {
		return nil, fmt.Errorf("mau.segments: %w", err)
	}
	cal, err := c.Calendar(time.Time{})
	if err != nil {
		return nil, err
	}
	m := &Model{seed: c.Seed, days: c.Days, users: n}
	end := 0
	for i, s := range c.Segments {
		end += sizes[i]
		m.bounds = append(m.bounds, end)
		m.names = append(m.names, s.Name)
		m.segs = append(m.segs, s.model())
	}
	for d := range c.Days {
		wd := cal.Date(d).Weekday()
		m.weekend = append(m.weekend, wd == time.Saturday || wd == time.Sunday)
	}
	// Validate refused bad names and weights; a weight of 0 leaves its
	// platform out, as NewMix does.
	m.platforms, _ = policy.NewMix(c.Platforms)
	sum := 0.0
	for h, w := range diurnal {
		sum += w
		m.hourCum[h] = sum
	}
	for h := range m.hourCum {
		m.hourCum[h] /= sum
	}
	return m, nil
}

func (s Segment) model() segModel {
	sm := segModel{
		dormant:     s.Dormant,
		open:        s.OpenProb,
		openWkend:   s.OpenProb,
		sessionMean: float64(s.SessionLength),
		chat:        s.ChatProb,
		chatMean:    float64(s.ChatLength),
		background:  s.BackgroundProb,
		joining:     s.Joining,
		churned:     s.Churning,
	}
	if s.WeekendOpenProb != nil {
		sm.openWkend = *s.WeekendOpenProb
	}
	if s.SessionsPerDay > 1 {
		sm.extraSessions = s.SessionsPerDay - 1
	}
	if sm.sessionMean == 0 {
		sm.sessionMean = float64(defaultSessionLength)
	}
	if sm.chatMean == 0 {
		sm.chatMean = float64(defaultChatLength)
	}
	return sm
}

// Users returns the population size.
func (m *Model) Users() int { return m.users }

// Days returns the number of simulated days.
func (m *Model) Days() int { return m.days }

// Seed returns the model's seed.
func (m *Model) Seed() uint64 { return m.seed }

// SegmentName returns the name of segment i.
func (m *Model) SegmentName(i int) string { return m.names[i] }

// SegmentSizes returns the number of users in each segment.
func (m *Model) SegmentSizes() []int {
	out := make([]int, len(m.bounds))
	prev := 0
	for i, b := range m.bounds {
		out[i] = b - prev
		prev = b
	}
	return out
}

// Profile returns what is fixed about user u (0 <= u < Users()).
func (m *Model) Profile(u int) UserProfile {
	seg := sort.SearchInts(m.bounds, u+1)
	s := &m.segs[seg]
	r := newRNG(m.seed, uint64(u), math.MaxUint64)
	p := UserProfile{Segment: seg, ChurnDay: m.days}
	p.Platform = m.platforms.Pick(r.float())
	if r.float() < s.joining && m.days > 1 {
		p.JoinDay = 1 + int(r.next()%uint64(m.days-1))
	}
	if r.float() < s.churned && p.JoinDay+1 < m.days {
		p.ChurnDay = p.JoinDay + 1 + int(r.next()%uint64(m.days-p.JoinDay-1))
	}
	return p
}

// Activity returns user u's app sessions on simulated day d, in time order.
func (m *Model) Activity(u, d int) []AppSession { return m.AppendActivity(nil, u, d) }

// AppendActivity appends user u's sessions on day d to dst; it allocates
// only when dst has no room.
func (m *Model) AppendActivity(dst []AppSession, u, d int) []AppSession {
	if u < 0 || u >= m.users || d < 0 || d >= m.days {
		return dst
	}
	p := m.Profile(u)
	s := &m.segs[p.Segment]
	if s.dormant || d < p.JoinDay || d >= p.ChurnDay {
		return dst
	}
	r := newRNG(m.seed, uint64(u), uint64(d))
	open := s.open
	if m.weekend[d] {
		open = s.openWkend
	}
	if r.float() >= open {
		return dst
	}
	n := 1 + r.poisson(s.extraSessions)
	first := len(dst)
	for range n {
		dst = append(dst, AppSession{Start: m.startTime(&r)})
	}
	day := dst[first:]
	for i := 1; i < len(day); i++ { // insertion sort: a handful of sessions
		for j := i; j > 0 && day[j].Start < day[j-1].Start; j-- {
			day[j], day[j-1] = day[j-1], day[j]
		}
	}
	free := time.Duration(0) // earliest start allowed for the next session
	kept := first
	for i := range day {
		ss := day[i]
		// Draw every number whether or not the session survives, so one
		// session's fate never shifts another's.
		length := clampDur(time.Duration(r.exp(s.sessionMean)), minSession, maxSession)
		ss.Background = r.float() < s.background
		ss.OpensChat = r.float() < s.chat
		chatFrac := r.float()
		chatLen := clampDur(time.Duration(r.exp(s.chatMean)), minChat, maxSession)
		ss.Start = max(ss.Start, free)
		if ss.Start > startLatest {
			if kept > first {
				continue // no room left today
			}
			ss.Start = startLatest // a day the app is opened has a session
		}
		ss.Duration = min(length, lastMoment-ss.Start)
		if ss.OpensChat {
			ss.ChatAt = time.Duration(chatFrac * 0.5 * float64(ss.Duration))
			ss.ChatDur = min(chatLen, ss.Duration-ss.ChatAt)
		}
		free = ss.End() + sessionGap
		dst[kept] = ss
		kept++
	}
	return dst[:kept]
}

// startTime draws a time of day from the diurnal profile.
func (m *Model) startTime(r *rng) time.Duration {
	x := r.float()
	h := sort.SearchFloat64s(m.hourCum[:], x)
	if h > 23 {
		h = 23
	}
	return time.Duration(h)*time.Hour + time.Duration(r.float()*float64(time.Hour))
}

func clampDur(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// rng is splitmix64: tiny, fast, allocation-free, and good enough for a
// usage model. Each (seed, user, day) gets its own stream.
type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRNG(seed, a, b uint64) rng {
	return rng{s: mix64(mix64(mix64(seed+0x9e3779b97f4a7c15)^a) ^ b)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// exp draws from the exponential distribution with the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }

// poisson draws from the Poisson distribution (Knuth; means up to 50).
func (r *rng) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	limit := math.Exp(-mean)
	k, p := 0, r.float()
	for p > limit {
		k++
		p *= r.float()
	}
	return k
}
