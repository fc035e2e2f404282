package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// genEvents returns n events of many kinds, users, devices and platforms,
// with times ascending over span from start.
func genEvents(seed uint64, n int, start time.Time, span time.Duration) []event.Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const users, perUser = 150, 3
	devices := make([]string, users*perUser)
	for i := range devices {
		devices[i] = fmt.Sprintf("u%d-d%d", i/perUser, i%perUser)
	}
	offsets := make([]time.Duration, n)
	for i := range offsets {
		offsets[i] = time.Duration(rng.Int64N(int64(span)))
	}
	slices.Sort(offsets)
	kinds := []struct {
		k event.Kind
		w int
	}{
		{event.Login, 35}, {event.Connect, 12}, {event.Logout, 10}, {event.Heartbeat, 10}, {event.Resume, 5},
		{event.Kicked, 8}, {event.Disconnect, 6}, {event.SigExpired, 3}, {event.AppKill, 4},
		{event.SwitchUser, 3}, {event.Misbehaving, 2}, {event.Kind(99), 2},
	}
	total := 0
	for _, k := range kinds {
		total += k.w
	}
	codes := []int{70001, 6208, 1006, 0, 70009}
	out := make([]event.Event, n)
	for i := range out {
		d := rng.IntN(len(devices))
		w := rng.IntN(total)
		var kind event.Kind
		for _, k := range kinds {
			if w < k.w {
				kind = k.k
				break
			}
			w -= k.w
		}
		e := event.Event{
			Kind:     kind,
			UserID:   fmt.Sprintf("u%d", d/perUser),
			Device:   devices[d],
			Platform: policy.Platforms[d%len(policy.Platforms)],
			At:       start.Add(offsets[i]),
		}
		if kind.IsOp() {
			// Lognormal latency around 20 ms with a long tail.
			e.Latency = time.Duration(math.Exp(rng.NormFloat64()*1.1) * float64(20*time.Millisecond))
			switch r := rng.IntN(100); {
			case r < 85:
				e.Outcome = event.OK
			case r < 95:
				e.Outcome = event.Failed
				e.Code = codes[rng.IntN(len(codes))]
			default:
				e.Outcome = event.TimedOut
				e.Latency = 5 * time.Second
			}
		}
		if kind == event.Kicked && rng.IntN(4) > 0 {
			e.Latency = time.Duration(rng.Int64N(int64(200 * time.Millisecond)))
		}
		out[i] = e
	}
	return out
}

// expected counts the events the plain way.
type expected struct {
	ok, failed, timedOut map[string]int64
	codes                map[string]map[int]int64
	others               map[string]int64
	unknown              int64
}

func count(evs []event.Event) expected {
	x := expected{
		ok: map[string]int64{}, failed: map[string]int64{}, timedOut: map[string]int64{},
		codes: map[string]map[int]int64{}, others: map[string]int64{},
	}
	for _, e := range evs {
		name := e.Kind.String()
		switch {
		case e.Kind.IsOp():
			switch e.Outcome {
			case event.OK:
				x.ok[name]++
			case event.TimedOut:
				x.timedOut[name]++
			default:
				x.failed[name]++
			}
			if e.Outcome == event.Failed || e.Code != 0 {
				if x.codes[name] == nil {
					x.codes[name] = map[int]int64{}
				}
				x.codes[name][e.Code]++
			}
		case isOther(e.Kind):
			x.others[name]++
		default:
			x.unknown++
		}
	}
	return x
}
