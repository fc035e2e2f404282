package server

import (
	"hash/maphash"
	"sync"
	"time"
)

// Account is one account of the app as the REST API sees it.
type Account struct {
	UserID   string
	Nick     string
	FaceURL  string
	Imported bool      // made by account_import or multiaccount_import, not by a login
	Created  time.Time // server time of the import or the first login
}

const accShards = 32

// accounts is the app's set of accounts: imported over REST, or created by
// a user's first successful login (there is no sign-up; SPEC.md section 1).
// Lookups take one shard lock; registrations and deletions are also counted
// per calendar day for getappinfo.
type accounts struct {
	seed   maphash.Seed
	shards [accShards]accShard
	cal    calendar

	mu   sync.Mutex // guards days
	days map[int]*accDay
}

type accShard struct {
	mu sync.Mutex
	m  map[string]*Account
}

// accDay counts the changes of one calendar day.
type accDay struct {
	registered, deleted uint64
}

func newAccounts(cal calendar) *accounts {
	a := &accounts{seed: maphash.MakeSeed(), cal: cal, days: map[int]*accDay{}}
	for i := range a.shards {
		a.shards[i].m = map[string]*Account{}
	}
	return a
}

func (a *accounts) shard(id string) *accShard {
	return &a.shards[maphash.String(a.seed, id)%accShards]
}

// create adds an account unless one exists; it reports whether it did.
func (a *accounts) create(acc Account) bool {
	sh := a.shard(acc.UserID)
	sh.mu.Lock()
	if sh.m[acc.UserID] != nil {
		sh.mu.Unlock()
		return false
	}
	p := acc
	sh.m[acc.UserID] = &p
	sh.mu.Unlock()
	a.count(acc.Created, func(d *accDay) { d.registered++ })
	return true
}

// importAccount creates an imported account, or marks an existing one
// imported and sets its nickname and face URL when given.
func (a *accounts) importAccount(acc Account) {
	if a.create(acc) {
		return
	}
	sh := a.shard(acc.UserID)
	sh.mu.Lock()
	if p := sh.m[acc.UserID]; p != nil {
		p.Imported = true
		if acc.Nick != "" {
			p.Nick = acc.Nick
		}
		if acc.FaceURL != "" {
			p.FaceURL = acc.FaceURL
		}
		sh.mu.Unlock()
		return
	}
	sh.mu.Unlock()
	a.importAccount(acc) // deleted meanwhile
}

// has reports whether id is an account.
func (a *accounts) has(id string) bool {
	sh := a.shard(id)
	sh.mu.Lock()
	ok := sh.m[id] != nil
	sh.mu.Unlock()
	return ok
}

// get returns a copy of an account.
func (a *accounts) get(id string) (Account, bool) {
	sh := a.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if p := sh.m[id]; p != nil {
		return *p, true
	}
	return Account{}, false
}

// remove deletes an account; it reports whether there was one.
func (a *accounts) remove(id string, at time.Time) bool {
	sh := a.shard(id)
	sh.mu.Lock()
	_, ok := sh.m[id]
	delete(sh.m, id)
	sh.mu.Unlock()
	if ok {
		a.count(at, func(d *accDay) { d.deleted++ })
	}
	return ok
}

func (a *accounts) count(at time.Time, fn func(*accDay)) {
	day := a.cal.dayOf(at)
	a.mu.Lock()
	d := a.days[day]
	if d == nil {
		d = &accDay{}
		a.days[day] = d
	}
	fn(d)
	a.mu.Unlock()
}

// registrations returns, for each day in [from, to], the accounts registered
// that day and the accounts existing at its end.
func (a *accounts) registrations(from, to int) (oneDay, total []uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var before int64
	for d, c := range a.days {
		if d < from {
			before += int64(c.registered) - int64(c.deleted)
		}
	}
	n := to - from + 1
	oneDay, total = make([]uint64, n), make([]uint64, n)
	run := before
	for i := 0; i < n; i++ {
		if c := a.days[from+i]; c != nil {
			oneDay[i] = c.registered
			run += int64(c.registered) - int64(c.deleted)
		}
		total[i] = uint64(max(run, 0))
	}
	return oneDay, total
}

// size is how many accounts exist.
func (a *accounts) size() int {
	n := 0
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// noteLogin creates the account of a user's first successful login.
func (a *accounts) noteLogin(ch StateChange) {
	if ch.Action == "Login" && !a.has(ch.UserID) {
		a.create(Account{UserID: ch.UserID, Created: ch.At})
	}
}

// Account returns the account of userID: imported over REST or created by
// the user's first successful login.
func (s *Server) Account(userID string) (Account, bool) { return s.accounts.get(userID) }

// Accounts is how many accounts exist.
func (s *Server) Accounts() int { return s.accounts.size() }
