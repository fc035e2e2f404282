package check

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// numShards spreads users over independently locked maps; a power of two.
const numShards = 256

// maxNames caps the device IDs (and platforms) interned per user; further
// names share the last slot.
const (
	maxDevices   = 1<<16 - 1
	maxPlatforms = 1<<8 - 1
)

// History keeps, per user, the ordered events that devices saw, and the
// target's own view (end-of-run online status, status-change callbacks).
// It is an event.Sink, safe for heavy concurrent use: users are sharded by a
// hash of their ID, each shard has its own lock, held only to append. The
// zero value is ready to use.
type History struct {
	shards   [numShards]shard
	webhooks atomic.Int64
	statuses atomic.Int64
	// settled holds what Settle judged early (settle.go).
	settled settledPart
}

type shard struct {
	mu     sync.Mutex
	users  map[string]*userLog
	events int64
	maxAt  int64 // latest event time (unix ns)
	_      [32]byte
}

// userLog is one user's append-only history. Strings are interned per user:
// a record names its device and platform by index.
type userLog struct {
	devs  []string
	plats []policy.Platform
	recs  []record
	hooks []webhook
	// online is the target's end-of-run status; hasStatus tells an empty
	// status from none.
	online    []serverInst
	hasStatus bool
	// statusFrom, statusTo: when the status was read (unix ns; 0: at
	// Options.StatusAt).
	statusFrom, statusTo int64
	// lastAt: the latest time any record or callback of the user names
	// (unix ns); version counts what was added to the log; tried: version
	// when Settle last judged the user and could not cut (settle.go), so
	// that it waits for more history first.
	lastAt         int64
	version, tried uint64
	// res: what earlier segments, judged and dropped by Settle, leave.
	res residue
}

// record is one event in 48 bytes.
type record struct {
	// start: when an operation started; for Kicked, the displacement time
	// derived from the device-reported latency (0 when unknown).
	start int64
	at    int64
	seq   uint64
	// bySeq: Kicked: the displacing login's seq. Login ok: the target's time
	// of acceptance (unix ns, 0: not given), read with serverTime; kept in
	// this field, which a login does not use, so that a record stays small.
	bySeq  uint64
	code   int32
	dev    uint16
	byDev  uint16 // 0: none, else index+1
	kind   event.Kind
	out    event.Outcome
	plat   uint8 // index+1 into plats, 0: none
	byPlat uint8 // index+1, 0: none
	flags  uint8
}

const flagRepeat = 1

// serverTime is when the target accepted a successful login (unix ns), 0
// when it did not say.
func (r *record) serverTime() int64 {
	if r.kind != event.Login || r.out != event.OK {
		return 0
	}
	return int64(r.bySeq)
}

type webhook struct {
	at     int64
	action string // interned: one of the constants below or a clone
	kicked []uint8
	// seq: the login's sequence (imload's extension), 0: not given;
	// kickedSeq: per kicked entry, the displaced session's (0: not given),
	// nil when no entry gives one.
	seq       uint64
	kickedSeq []uint64
}

type serverInst struct {
	seq  uint64
	dev  uint16
	plat uint8
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{} }

func (h *History) shardOf(userID string) *shard {
	// FNV-1a, inline so that the hot path does not allocate.
	var x uint32 = 2166136261
	for i := 0; i < len(userID); i++ {
		x ^= uint32(userID[i])
		x *= 16777619
	}
	return &h.shards[x&(numShards-1)]
}

// user returns the log of userID, creating it; s.mu must be held.
func (s *shard) user(userID string) *userLog {
	if s.users == nil {
		s.users = make(map[string]*userLog)
	}
	u := s.users[userID]
	if u == nil {
		u = &userLog{}
		s.users[strings.Clone(userID)] = u
	}
	return u
}

func (u *userLog) dev(id string) uint16 {
	for i, d := range u.devs {
		if d == id {
			return uint16(i)
		}
	}
	if len(u.devs) >= maxDevices {
		return maxDevices - 1
	}
	u.devs = append(u.devs, strings.Clone(id))
	return uint16(len(u.devs) - 1)
}

// plat returns index+1 of p, 0 for the empty platform.
func (u *userLog) plat(p policy.Platform) uint8 {
	if p == "" {
		return 0
	}
	for i, q := range u.plats {
		if q == p {
			return uint8(i + 1)
		}
	}
	if len(u.plats) >= maxPlatforms {
		return maxPlatforms
	}
	u.plats = append(u.plats, policy.Platform(strings.Clone(string(p))))
	return uint8(len(u.plats))
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// kept reports whether the oracle needs events of kind k.
func kept(k event.Kind) bool {
	switch k {
	case event.Login, event.Logout, event.Resume, event.Kicked, event.SigExpired,
		event.Disconnect, event.AppKill, event.SwitchUser, event.Misbehaving, event.OnlineAtEnd:
		return true
	}
	return false
}

// Observe records e. Connect and heartbeat events and events without a user
// are not kept.
func (h *History) Observe(e *event.Event) {
	if e == nil || e.UserID == "" || !kept(e.Kind) {
		return
	}
	r := record{
		start: unixNano(e.Start),
		at:    unixNano(e.At),
		seq:   e.Seq,
		bySeq: e.BySeq,
		kind:  e.Kind,
		out:   e.Outcome,
	}
	if e.Kind == event.Login {
		r.bySeq = 0
		if e.Outcome == event.OK && e.ServerTime.After(time.Unix(0, 0)) {
			r.bySeq = uint64(e.ServerTime.UnixNano())
		}
	}
	if r.at == 0 {
		r.at = r.start
	}
	if e.Kind == event.Kicked {
		r.start = 0
		if e.Latency > 0 && r.at != 0 {
			r.start = r.at - int64(e.Latency)
		}
	}
	switch {
	case e.Code > 1<<31-1:
		r.code = 1<<31 - 1
	case e.Code < -1<<31:
		r.code = -1 << 31
	default:
		r.code = int32(e.Code)
	}
	if e.Repeat {
		r.flags |= flagRepeat
	}
	s := h.shardOf(e.UserID)
	s.mu.Lock()
	u := s.user(e.UserID)
	r.dev = u.dev(e.Device)
	r.plat = u.plat(e.Platform)
	if e.ByInstance != "" {
		r.byDev = u.dev(e.ByInstance) + 1
	}
	r.byPlat = u.plat(e.ByPlatform)
	u.recs = append(u.recs, r)
	u.lastAt = max(u.lastAt, r.at, r.start)
	u.version++
	s.events++
	if r.at > s.maxAt {
		s.maxAt = r.at
	}
	s.mu.Unlock()
}

// SetServerOnline records the target's end-of-run online status of a user:
// the instances it holds registered (empty: none). The oracle compares it
// with what the devices hold (ghost and lost sessions). Calling it again for
// the same user replaces the status.
func (h *History) SetServerOnline(userID string, instances []policy.Instance) {
	h.setServerOnline(userID, instances, 0, 0)
}

// SetServerOnlineAt is SetServerOnline for a status read between from and
// to: the oracle judges this user's status then, not at Options.StatusAt,
// and keeps a ghost or lost verdict only when it holds at both ends. Reading
// many users' statuses takes a while as devices go on; give each user the
// time of its own read.
func (h *History) SetServerOnlineAt(userID string, instances []policy.Instance, from, to time.Time) {
	if to.Before(from) {
		from, to = to, from
	}
	h.setServerOnline(userID, instances, unixNano(from), unixNano(to))
}

func (h *History) setServerOnline(userID string, instances []policy.Instance, from, to int64) {
	s := h.shardOf(userID)
	s.mu.Lock()
	u := s.user(userID)
	u.statusFrom, u.statusTo = from, to
	if !u.hasStatus {
		h.statuses.Add(1)
	}
	u.hasStatus = true
	u.online = u.online[:0]
	for _, in := range instances {
		u.online = append(u.online, serverInst{seq: in.Seq, dev: u.dev(in.ID), plat: u.plat(in.Platform)})
	}
	s.mu.Unlock()
}

// Webhook actions of the State.StateChange callback.
const (
	ActionLogin      = "Login"
	ActionLogout     = "Logout"
	ActionDisconnect = "Disconnect"
)

func internAction(a string) string {
	switch a {
	case ActionLogin:
		return ActionLogin
	case ActionLogout:
		return ActionLogout
	case ActionDisconnect:
		return ActionDisconnect
	}
	return strings.Clone(a)
}

// Callback is one State.StateChange callback of the target.
type Callback struct {
	UserID string // Info.To_Account
	Action string // Info.Action: Login, Logout or Disconnect
	// Seq is the sequence of the login the callback is about, when the
	// target gives it (imload's ImloadSeq extension); 0: not given.
	Seq uint64
	// Kicked lists the entries of KickedDevice.
	Kicked []KickedEntry
	At     time.Time // EventTime
}

// KickedEntry is one device a Login callback says its login displaced.
type KickedEntry struct {
	Platform policy.Platform
	// Seq is the displaced session's sequence, when the target gives it
	// (ImloadSeq of the entry); 0: not given.
	Seq uint64
}

// AddWebhook records one State.StateChange callback the target sent about
// userID: its Action (Login, Logout, Disconnect), the platforms in
// KickedDevice, and its EventTime. It is AddCallback without sequences.
func (h *History) AddWebhook(userID, action string, kicked []policy.Platform, at time.Time) {
	c := Callback{UserID: userID, Action: action, At: at}
	for _, p := range kicked {
		c.Kicked = append(c.Kicked, KickedEntry{Platform: p})
	}
	h.AddCallback(c)
}

// AddCallback records one State.StateChange callback. Once any callback is
// added, every user's Login callbacks are checked against the kicks devices
// saw: a callback that gives its login's sequence is judged against that
// login exactly, the others by whether some assignment of callbacks to
// logins explains them (see the package documentation).
func (h *History) AddCallback(c Callback) {
	s := h.shardOf(c.UserID)
	s.mu.Lock()
	u := s.user(c.UserID)
	w := webhook{at: unixNano(c.At), action: internAction(c.Action), seq: c.Seq}
	if len(c.Kicked) > 0 {
		w.kicked = make([]uint8, len(c.Kicked))
		for i, k := range c.Kicked {
			w.kicked[i] = u.plat(k.Platform)
			if k.Seq != 0 && w.kickedSeq == nil {
				w.kickedSeq = make([]uint64, len(c.Kicked))
			}
			if k.Seq != 0 {
				w.kickedSeq[i] = k.Seq
			}
		}
	}
	u.hooks = append(u.hooks, w)
	u.lastAt = max(u.lastAt, w.at)
	u.version++
	s.mu.Unlock()
	h.webhooks.Add(1)
}

// Users returns how many users the history holds.
func (h *History) Users() int {
	n := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		n += len(s.users)
		s.mu.Unlock()
	}
	return n
}

// Events returns how many device events the history kept, counting those
// Settle judged and dropped since.
func (h *History) Events() int64 {
	var n int64
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		n += s.events
		s.mu.Unlock()
	}
	return n
}

// end returns the latest event time seen (unix ns).
func (h *History) end() int64 {
	var t int64
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		if s.maxAt > t {
			t = s.maxAt
		}
		s.mu.Unlock()
	}
	return t
}

// userSnap is a consistent view of one user's log: slices cut at their
// length when taken, so appends that follow are not seen.
type userSnap struct {
	id        string
	devs      []string
	plats     []policy.Platform
	recs      []record
	hooks     []webhook
	online    []serverInst
	hasStatus bool
	// statusFrom, statusTo: when the status was read (0: Options.StatusAt).
	statusFrom, statusTo int64
	res                  residue
}

// snapshot appends the users of shard i to dst.
func (h *History) snapshot(i int, dst []userSnap) []userSnap {
	s := &h.shards[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.users {
		dst = append(dst, userSnap{
			id:         id,
			devs:       u.devs[:len(u.devs):len(u.devs)],
			plats:      u.plats[:len(u.plats):len(u.plats)],
			recs:       u.recs[:len(u.recs):len(u.recs)],
			hooks:      u.hooks[:len(u.hooks):len(u.hooks)],
			online:     append([]serverInst(nil), u.online...),
			hasStatus:  u.hasStatus,
			statusFrom: u.statusFrom,
			statusTo:   u.statusTo,
			res:        u.res,
		})
	}
	return dst
}

func (u *userSnap) platform(i uint8) policy.Platform {
	if i == 0 || int(i) > len(u.plats) {
		return ""
	}
	return u.plats[i-1]
}
