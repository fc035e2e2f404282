package server

import (
	"errors"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/usersig"
	"hash/maphash"
	"sync"
	"time"
)

// ticketCache remembers tickets whose signature verified, so that a ticket
// used again (re-login, account switch, reconnect storms) is not inflated
// and hashed again. A hit repeats every check that depends on the request
// or the time (SDKAppID, UserID, expiry) in the order usersig.Verify uses;
// only the signature, which depends on nothing but the ticket and the key,
// is taken from the cache.
type ticketCache struct {
	seed     maphash.Seed
	shardMax int // entries a shard keeps
	shards   [16]ticketShard
}

type ticketShard struct {
	mu sync.Mutex
	m  map[string]ticketFacts
}

type ticketFacts struct {
	identifier string
	sdkappid   uint64
	issued     int64 // unix seconds
	expire     int64 // seconds
}

// DefaultTicketCache is Config.TicketCache's default.
const DefaultTicketCache = 16 * 2048

func newTicketCache(n int) *ticketCache {
	if n <= 0 {
		n = DefaultTicketCache
	}
	c := &ticketCache{seed: maphash.MakeSeed()}
	c.shardMax = (n + len(c.shards) - 1) / len(c.shards)
	for i := range c.shards {
		c.shards[i].m = make(map[string]ticketFacts)
	}
	return c
}

func (c *ticketCache) shard(t string) *ticketShard {
	return &c.shards[maphash.String(c.seed, t)%uint64(len(c.shards))]
}

func (c *ticketCache) get(t string) (ticketFacts, bool) {
	sh := c.shard(t)
	sh.mu.Lock()
	f, ok := sh.m[t]
	sh.mu.Unlock()
	return f, ok
}

func (c *ticketCache) put(t string, f ticketFacts) {
	sh := c.shard(t)
	sh.mu.Lock()
	if len(sh.m) >= c.shardMax {
		for k := range sh.m { // evict an arbitrary entry
			delete(sh.m, k)
			break
		}
	}
	sh.m[t] = f
	sh.mu.Unlock()
}

// verify checks a login's ticket. It returns the ticket's facts and 0, or
// the error code and a message.
func (s *Server) verify(ticket, userID string, now time.Time) (ticketFacts, int, string) {
	if ticket == "" {
		return ticketFacts{}, codes.SigEmpty, "user_sig is empty"
	}
	if f, ok := s.tickets.get(ticket); ok {
		switch {
		case f.sdkappid != s.cfg.SDKAppID:
			return f, codes.SigAppMismatch, "ticket is for another SDKAppID"
		case f.identifier != userID:
			return f, codes.SigUserMismatch, "ticket is for another UserID"
		case now.Unix() > f.issued+f.expire && !s.cfg.Faults.AcceptExpired:
			return f, codes.SigExpired, "ticket expired at " + time.Unix(f.issued+f.expire, 0).UTC().Format(time.RFC3339)
		case now.Unix() > f.issued+f.expire:
			s.ctr.faults.fire(FaultAcceptExpired)
		}
		return f, 0, ""
	}
	t, err := usersig.Verify(ticket, s.cfg.SDKAppID, s.cfg.Key, userID, nil, now)
	var ue *usersig.Error
	if err != nil && errors.As(err, &ue) && ue.Code == usersig.CodeExpired && s.cfg.Faults.AcceptExpired && t != nil {
		// Fault: take an expired ticket as valid, once its signature holds.
		s.ctr.faults.fire(FaultAcceptExpired)
		t, err = usersig.Verify(ticket, s.cfg.SDKAppID, s.cfg.Key, userID, nil, time.Unix(t.Time, 0))
	}
	if err != nil {
		if errors.As(err, &ue) {
			return ticketFacts{}, ue.Code, ue.Reason
		}
		return ticketFacts{}, codes.SigUndecodable, err.Error()
	}
	f := ticketFacts{identifier: t.Identifier, sdkappid: t.SDKAppID, issued: t.Time, expire: t.Expire}
	s.tickets.put(ticket, f)
	return f, 0, ""
}

// countsAsFailure says which ticket failures count towards 70050.
func countsAsFailure(code int) bool {
	switch code {
	case codes.SigUndecodable, codes.SigBadSignature, codes.SigUserMismatch, codes.SigAppMismatch:
		return true
	}
	return false
}
