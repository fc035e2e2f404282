package check

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// item is one thing a history holds, as it reached the oracle: a device's
// event or a callback, visible from at.
type item struct {
	at   int64
	n    int
	ev   *event.Event
	hook *Callback
}

// itemsOf takes a history apart into the events and callbacks that made it,
// in the order they reached the oracle, and the users' online statuses.
func itemsOf(h *History) ([]item, map[string][]policy.Instance) {
	var items []item
	status := map[string][]policy.Instance{}
	for i := range h.shards {
		for id, u := range h.shards[i].users {
			plat := func(p uint8) policy.Platform {
				if p == 0 || int(p) > len(u.plats) {
					return ""
				}
				return u.plats[p-1]
			}
			for k := range u.recs {
				r := &u.recs[k]
				e := &event.Event{Kind: r.kind, Outcome: r.out, UserID: id, Device: u.devs[r.dev], Platform: plat(r.plat),
					Seq: r.seq, Code: int(r.code), Repeat: r.flags&flagRepeat != 0, ByPlatform: plat(r.byPlat), At: time.Unix(0, r.at)}
				if r.start != 0 && r.kind != event.Kicked {
					e.Start = time.Unix(0, r.start)
				}
				switch {
				case r.kind == event.Kicked:
					e.BySeq = r.bySeq
					if r.start != 0 {
						e.Latency = time.Duration(r.at - r.start)
					}
				case r.kind == event.Login && r.bySeq != 0:
					e.ServerTime = time.Unix(0, int64(r.bySeq))
				}
				if r.byDev > 0 {
					e.ByInstance = u.devs[r.byDev-1]
				}
				items = append(items, item{at: r.at, ev: e})
			}
			for k := range u.hooks {
				w := &u.hooks[k]
				c := &Callback{UserID: id, Action: w.action, Seq: w.seq, At: time.Unix(0, w.at)}
				for j, p := range w.kicked {
					e := KickedEntry{Platform: plat(p)}
					if w.kickedSeq != nil {
						e.Seq = w.kickedSeq[j]
					}
					c.Kicked = append(c.Kicked, e)
				}
				items = append(items, item{at: w.at, hook: c})
			}
			if u.hasStatus {
				in := []policy.Instance{}
				for _, s := range u.online {
					in = append(in, policy.Instance{ID: u.devs[s.dev], Platform: plat(s.plat), Seq: s.seq})
				}
				status[id] = in
			}
		}
	}
	for i := range items {
		items[i].n = i
	}
	slices.SortFunc(items, func(x, y item) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.n, y.n)
	})
	return items, status
}

// replayed feeds items and statuses into a new history in the order they
// came, calling Settle every step of their time (step 0: never), and
// returns the history and what the Settle calls dropped.
func replayed(items []item, status map[string][]policy.Instance, pol *policy.Policy, opts Options, so SettleOptions, step time.Duration) (*History, SettleStats) {
	h := NewHistory()
	var st SettleStats
	var next int64
	for _, it := range items {
		if step > 0 && it.at >= next {
			if next != 0 {
				s := h.Settle(time.Unix(0, it.at), pol, opts, so)
				st.Users += s.Users
				st.Events += s.Events
				st.Hooks += s.Hooks
			}
			next = it.at + int64(step)
		}
		if it.ev != nil {
			h.Observe(it.ev)
		} else {
			h.AddCallback(*it.hook)
		}
	}
	for id, in := range status {
		h.SetServerOnline(id, in)
	}
	return h, st
}

func failDiff(t *testing.T, want, got *Report) {
	t.Helper()
	if d := Diff(want, got); d != nil {
		dump(t, want)
		dump(t, got)
		t.Fatalf("the report with settling differs from the end-of-run one:\n%s", strings.Join(d, "\n"))
	}
}

// Simulated runs, correct and faulted, fed to the oracle in the order they
// happened with Settle every 100 ms: the report equals the one of the
// whole history judged at the end, and settling dropped history.
func TestSettleGivesTheEndOfRunReport(t *testing.T) {
	faults := []simFault{faultNone, faultWrongVictim, faultDropKick, faultExtraKick, faultLateKick,
		faultNoEnforce, faultGhost, faultLost, faultWebhook}
	settled := 0
	for i, f := range faults {
		for _, devices := range []int{1, 2, 3} {
			pol := mustTencent(t, tencentNames[(i+devices)%len(tencentNames)], 1+devices%2, 1)
			cfg := simConfig{pol: pol, users: 30, devices: devices, acts: 40, platforms: mixPlatforms,
				seed: uint64(100*i + devices), fault: f, webhooks: i%2 == 0 || f == faultWebhook, hookSeq: i%3 != 0,
				status: true, churn: true}
			whole, _ := simulate(cfg)
			opts := testOpts()
			opts.Examples = 3
			opts.End = time.Unix(0, whole.end())
			items, status := itemsOf(whole)
			want := Check(whole, pol, opts)
			plain, _ := replayed(items, status, pol, opts, SettleOptions{}, 0)
			failDiff(t, want, Check(plain, pol, opts)) // the replay itself loses nothing
			// Quiet: past the late-kick fault's 3 s, as a run's quiet is
			// past its faults' delays.
			so := SettleOptions{Quiet: time.Second, Webhooks: cfg.webhooks}
			if f == faultLateKick {
				so.Quiet = 4 * time.Second
			}
			h, st := replayed(items, status, pol, opts, so, 100*time.Millisecond)
			got := Check(h, pol, opts)
			t.Logf("%s, %d devices: %d segments (%d events) settled, %d violations", f, devices, st.Users, st.Events, got.Violations())
			failDiff(t, want, got)
			if got.Checks.SettleCrossings != 0 {
				t.Fatalf("%s: %d crossings", f, got.Checks.SettleCrossings)
			}
			settled += st.Users
		}
	}
	if settled < 50 {
		t.Fatalf("only %d segments settled: the test does not exercise settling", settled)
	}
}
