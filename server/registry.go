package server

import (
	"crypto/rand"
	"encoding/base64"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/imload/imload/policy"
)

// Session states as OnlineStatus reports them.
const (
	StateOnline       = "online"       // logged in, transport up
	StateDisconnected = "disconnected" // logged in, transport down, within the resume window
)

// SessionInfo is one logged-in instance of a user.
type SessionInfo struct {
	UserID      string
	Platform    policy.Platform
	Instance    string
	Seq         uint64
	State       string // StateOnline or StateDisconnected
	LoginAt     time.Time
	SigExpireAt time.Time
}

type sessState uint8

const (
	sessOnline sessState = iota + 1
	sessDetached
	sessEnded
)

// session is one login of one instance. It outlives its transport for the
// resume window. Every field is guarded by rec.mu.
type session struct {
	rec      *userRecord
	platform policy.Platform
	instance string
	seq      uint64
	token    string
	ip       string
	loginAt  time.Time
	sigExp   time.Time // the ticket's last valid instant
	state    sessState
	conn     *Conn // nil while detached or ended
	sigTask  *task
	endTask  *task // end of the resume window
	sigDue   bool  // the ticket expired and the notice is still owed
	lost     string
}

func (x *session) info() SessionInfo {
	st := StateOnline
	if x.state != sessOnline {
		st = StateDisconnected
	}
	return SessionInfo{UserID: x.rec.id, Platform: x.platform, Instance: x.instance, Seq: x.seq,
		State: st, LoginAt: x.loginAt, SigExpireAt: x.sigExp}
}

// instanceOf is the session as the policy sees it. An instance is its
// platform and instance id together (docs/PROTOCOL.md section 6), so the ID
// the policy compares names both.
func (x *session) instanceOf() policy.Instance {
	return policy.Instance{ID: instanceKey(x.platform, x.instance), Platform: x.platform, Seq: x.seq}
}

func instanceKey(p policy.Platform, instance string) string { return string(p) + "/" + instance }

// userRecord is everything the server keeps about one UserID. Logins, kicks
// and logouts of a user are serialised by its mutex; different users never
// share a lock on the login path.
type userRecord struct {
	id   string
	hash uint64

	mu       sync.Mutex
	seq      uint64
	sessions []*session
	// Tickets issued at or before invalidBefore (unix seconds) fail with
	// 70052 (REST kick).
	invalidBefore int64
	// gone holds resume tokens of sessions kicked while their transport was
	// down, until their resume window ends: resuming them answers 6208.
	gone   map[string]time.Time
	fails  map[string]*failState // by source IP
	ghosts []ghost               // stale-online-status fault
	// The last day and month of a successful login, for DAU and MAU.
	lastDay, lastMonth int
	counted            bool
}

type failState struct {
	start        time.Time
	count        int
	blockedUntil time.Time
}

type ghost struct {
	info  SessionInfo
	until time.Time
}

func (r *userRecord) find(token string) *session {
	for _, x := range r.sessions {
		if x.token == token {
			return x
		}
	}
	return nil
}

func (r *userRecord) remove(x *session) {
	for i, y := range r.sessions {
		if y == x {
			copy(r.sessions[i:], r.sessions[i+1:])
			r.sessions[len(r.sessions)-1] = nil
			r.sessions = r.sessions[:len(r.sessions)-1]
			return
		}
	}
}

// prune drops expired tombstones, failure counts and ghosts.
func (r *userRecord) prune(now time.Time, failKeep time.Duration) {
	for tok, until := range r.gone {
		if !now.Before(until) {
			delete(r.gone, tok)
		}
	}
	for ip, f := range r.fails {
		if now.Sub(f.start) > failKeep && !now.Before(f.blockedUntil) {
			delete(r.fails, ip)
		}
	}
	keep := r.ghosts[:0]
	for _, g := range r.ghosts {
		if now.Before(g.until) {
			keep = append(keep, g)
		}
	}
	r.ghosts = keep
}

const regShards = 64

// registry maps UserIDs to records, sharded by hash.
type registry struct {
	seed   maphash.Seed
	shards [regShards]regShard
}

type regShard struct {
	mu    sync.Mutex
	users map[string]*userRecord
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].users = map[string]*userRecord{}
	}
	return r
}

// get returns the record of id, creating it when create is set (else nil
// for an unknown user).
func (r *registry) get(id string, create bool) *userRecord {
	h := maphash.String(r.seed, id)
	sh := &r.shards[h%regShards]
	sh.mu.Lock()
	rec := sh.users[id]
	if rec == nil && create {
		rec = &userRecord{id: id, hash: h, lastDay: -1 << 31, lastMonth: -1}
		sh.users[id] = rec
	}
	sh.mu.Unlock()
	return rec
}

// each calls fn for every record (for Shutdown and Stats; not the hot path).
func (r *registry) each(fn func(*userRecord)) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		recs := make([]*userRecord, 0, len(sh.users))
		for _, rec := range sh.users {
			recs = append(recs, rec)
		}
		sh.mu.Unlock()
		for _, rec := range recs {
			fn(rec)
		}
	}
}

// Resume tokens name their user so that a resume finds the record without
// a global token map: base64url(UserID) "." base64url(16 random bytes).
func newToken(userID string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(userID)) + "." + enc.EncodeToString(b[:])
}

func tokenUser(token string) (string, bool) {
	u, rnd, ok := strings.Cut(token, ".")
	if !ok || len(rnd) != 22 {
		return "", false
	}
	id, err := base64.RawURLEncoding.DecodeString(u)
	if err != nil || len(id) == 0 {
		return "", false
	}
	return string(id), true
}

// checkUserID applies SPEC.md section 1: non-empty printable ASCII, at most
// 32 bytes. It returns what is wrong, or "".
func checkUserID(id string) string {
	if id == "" {
		return "UserID is empty"
	}
	if len(id) > 32 {
		return "UserID is longer than 32 bytes"
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return "UserID has a byte outside printable ASCII (0x20-0x7e)"
		}
	}
	return ""
}
