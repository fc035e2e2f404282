package xmpp

import "sync"

// saltKey identifies one salted password: the same user, password, salt
// and iteration count always salt to the same key.
type saltKey struct {
	user, password, salt string
	iter                 int
}

// saltCache keeps salted passwords for SCRAM, bounded in entries: when full
// it forgets everything and starts again, which costs one PBKDF2 per user.
type saltCache struct {
	mu  sync.Mutex
	max int
	m   map[saltKey][]byte
}

func newSaltCache(max int) *saltCache {
	if max <= 0 {
		return nil
	}
	return &saltCache{max: max, m: make(map[saltKey][]byte)}
}

func (c *saltCache) get(k saltKey) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

func (c *saltCache) put(k saltKey, v []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
}
