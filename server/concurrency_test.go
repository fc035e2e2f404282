package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// TestConcurrentLoginsOneUser logs one user in from 50 devices at once under
// single-platform: exactly one stays online, the one with the highest seq;
// the seqs are 1..50 without gaps; every other device was kicked by a later
// login and closed.
func TestConcurrentLoginsOneUser(t *testing.T) {
	h := newHarness(t)
	const n = 50
	const user = "crowd"
	clients := make([]*client, n)
	for i := range clients {
		plat := policy.Platforms[i%len(policy.Platforms)]
		clients[i] = h.dial(plat, fmt.Sprintf("dev%02d", i))
	}
	sig := h.ticket(user, time.Hour)
	results := make([]protocol.Frame, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			c := clients[i]
			c.send(protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: user, UserSig: sig,
				Platform: string(policy.Platforms[i%len(policy.Platforms)])})
		}(i)
	}
	close(start)
	wg.Wait()
	eventually(t, "all logins and kicks", func() bool {
		st := h.s.Stats()
		return st.LoginsOK == n && st.Kicks == n-1
	})
	// On each connection the login_result comes first; every device but
	// the last to log in then gets kicked_offline, displaced by a later seq,
	// and is closed.
	seen := map[uint64]int{}
	var winner uint64
	for i, c := range clients {
		r := c.next()
		if r.Op != protocol.OpLoginResult || r.Code != 0 || r.ID != 1 {
			t.Fatalf("dev%02d: first frame %+v, want its login_result", i, r)
		}
		results[i] = r
		if prev, dup := seen[r.Seq]; dup {
			t.Fatalf("seq %d given to dev%02d and dev%02d", r.Seq, prev, i)
		}
		seen[r.Seq] = i
		if r.Seq == n {
			winner = r.Seq
			continue
		}
		k := c.next()
		if k.Op != protocol.OpKickedOffline || k.Seq != r.Seq || k.BySeq <= r.Seq {
			t.Fatalf("dev%02d (seq %d): got %+v, want kicked_offline by a later seq", i, r.Seq, k)
		}
		if !c.closed() {
			t.Fatalf("dev%02d still open after its kick", i)
		}
	}
	c := clients[seen[n]]
	if r := c.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
		t.Fatalf("winner: %+v", r)
	}
	if len(seen) != n || winner != n {
		t.Fatalf("seqs %v", seen)
	}
	online := h.s.OnlineStatus(user)
	if len(online) != 1 || online[0].Seq != n || online[0].Instance != fmt.Sprintf("dev%02d", seen[n]) {
		t.Fatalf("online: %+v", online)
	}
	if st := h.s.Stats(); st.Kicks != n-1 || st.LoginsOK != n || st.Online != 1 {
		t.Fatalf("stats: kicks %d logins %d online %d", st.Kicks, st.LoginsOK, st.Online)
	}
}

// TestConcurrentUsers runs many users' logins and logouts in parallel and
// checks the counters add up (the race detector checks the locking).
func TestConcurrentUsers(t *testing.T) {
	h := newHarness(t)
	const users, rounds = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for u := 0; u < users; u++ {
		user := fmt.Sprintf("user%02d", u)
		sig := h.ticket(user, time.Hour)
		c := h.dial(policy.Web, user+"-tab")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c.id++
				c.send(protocol.Frame{Op: protocol.OpLogin, ID: c.id, UserID: user, UserSig: sig, Platform: "Web"})
				if f := <-c.frames; f.Code != 0 || f.Seq != uint64(r+1) {
					errs <- fmt.Errorf("%s round %d: login %+v", user, r, f)
					return
				}
				c.id++
				c.send(protocol.Frame{Op: protocol.OpLogout, ID: c.id})
				if f := <-c.frames; f.Code != 0 {
					errs <- fmt.Errorf("%s round %d: logout %+v", user, r, f)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := h.s.Stats()
	if st.LoginsOK != users*rounds || st.Logouts != users*rounds || st.Online != 0 || st.Days[0].LoginUsers != users {
		t.Fatalf("stats %+v", st)
	}
}
