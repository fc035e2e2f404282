package check

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

func TestRecordIsCompact(t *testing.T) {
	if n := unsafe.Sizeof(record{}); n > 48 {
		t.Fatalf("record is %d bytes, want at most 48", n)
	}
}

func TestHistoryConcurrentObserve(t *testing.T) {
	const (
		writers = 8
		users   = 50
		perUser = 40 // events per user per writer
	)
	h := NewHistory()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < users*perUser; i++ {
				u := i % users
				e := event.Event{
					Kind: event.Login, Outcome: event.OK,
					UserID:   fmt.Sprintf("user-%d", u),
					Device:   fmt.Sprintf("dev-%d", (i/users)%4),
					Platform: policy.Platforms[i%len(policy.Platforms)],
					At:       tms(i), Start: tms(i), Seq: uint64(i + 1),
				}
				h.Observe(&e)
				if i%97 == 0 {
					h.AddWebhook(e.UserID, ActionLogin, []policy.Platform{policy.Web}, tms(i))
					h.SetServerOnline(e.UserID, []policy.Instance{{ID: "dev-0", Platform: policy.Android}})
				}
			}
		}()
	}
	// Readers while writing: a snapshot must be consistent.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			var snap []userSnap
			for s := 0; s < numShards; s++ {
				snap = h.snapshot(s, snap)
			}
			for _, u := range snap {
				for _, r := range u.recs {
					if int(r.dev) >= len(u.devs) || int(r.plat) > len(u.plats) {
						t.Errorf("record names device %d of %d, platform %d of %d", r.dev, len(u.devs), r.plat, len(u.plats))
						return
					}
				}
			}
			_ = h.Users()
		}
	}()
	wg.Wait()
	if got := h.Users(); got != users {
		t.Fatalf("users %d, want %d", got, users)
	}
	if got, want := h.Events(), int64(writers*users*perUser); got != want {
		t.Fatalf("events %d, want %d", got, want)
	}
	var snap []userSnap
	for s := 0; s < numShards; s++ {
		snap = h.snapshot(s, snap)
	}
	for _, u := range snap {
		if len(u.recs) != writers*perUser {
			t.Fatalf("user %s has %d records, want %d", u.id, len(u.recs), writers*perUser)
		}
		if len(u.devs) != 4 {
			t.Fatalf("user %s interned %d device names, want 4: %v", u.id, len(u.devs), u.devs)
		}
		if u.hasStatus && len(u.online) != 1 {
			t.Fatalf("user %s status %v %v", u.id, u.hasStatus, u.online)
		}
	}
}

func TestHistoryKeepsWhatTheOracleNeeds(t *testing.T) {
	h := NewHistory()
	for _, k := range []event.Kind{event.Connect, event.Heartbeat} {
		h.Observe(&event.Event{Kind: k, UserID: "u", Device: "d"})
	}
	h.Observe(&event.Event{Kind: event.Login, Device: "d"}) // no user
	h.Observe(nil)
	if h.Events() != 0 {
		t.Fatalf("kept %d events that the oracle does not use", h.Events())
	}
	h.Observe(&event.Event{Kind: event.Kicked, UserID: "u", Device: "d", Platform: policy.Mac,
		At: tms(500), Latency: 20e6, Seq: 3, BySeq: 4, ByInstance: "e", ByPlatform: policy.Web})
	var snap []userSnap
	for s := 0; s < numShards; s++ {
		snap = h.snapshot(s, snap)
	}
	if len(snap) != 1 || len(snap[0].recs) != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	u, r := snap[0], snap[0].recs[0]
	if u.devs[r.dev] != "d" || u.devs[r.byDev-1] != "e" || u.platform(r.plat) != policy.Mac || u.platform(r.byPlat) != policy.Web {
		t.Fatalf("names lost: %+v %v %v", r, u.devs, u.plats)
	}
	if r.at-r.start != 20e6 || r.seq != 3 || r.bySeq != 4 {
		t.Fatalf("kick fields lost: %+v", r)
	}
}

func BenchmarkHistoryObserve(b *testing.B) {
	h := NewHistory()
	const users = 100_000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%06d", i)
	}
	devs := []string{"phone-1", "pad-2", "pc-3", "web-4"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := event.Event{Kind: event.Login, Outcome: event.OK, At: tms(1), Start: tms(0)}
		i := 0
		for pb.Next() {
			e.UserID = ids[i%users]
			e.Device = devs[i%4]
			e.Platform = policy.Platforms[i%4]
			e.Seq = uint64(i)
			h.Observe(&e)
			i += 7919
		}
	})
	b.ReportMetric(float64(h.Events())/b.Elapsed().Seconds(), "events/s")
}
