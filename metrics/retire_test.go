package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unsafe"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// TestRetiredSecondsSnapshotTheSame feeds the same events, some of them late
// (for seconds their shard has retired) or before the start, to a recorder
// that retires seconds into its archive and to one that never does: every
// snapshot, taken midway and at the end, must encode byte for byte the same.
func TestRetiredSecondsSnapshotTheSame(t *testing.T) {
	const span = 400 * time.Second
	evs := genEvents(7, 60000, t0, span)
	for i := range evs {
		switch {
		case i%97 == 0:
			evs[i].At = evs[i].At.Add(-150 * time.Second) // long retired, or before the start
		case i%31 == 0:
			evs[i].At = evs[i].At.Add(-45 * time.Second) // just retired
		}
	}
	fc := clock.NewFake(t0.Add(span / 2))
	retiring := NewRecorder(WithStart(t0), WithClock(fc), WithShards(8))
	keeping := NewRecorder(WithStart(t0), WithClock(fc), WithShards(8))
	keeping.cfg.retireAfter = maxSeriesSeconds
	same := func(when string) {
		t.Helper()
		a, err := json.Marshal(retiring.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(keeping.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the snapshots differ (%d and %d bytes)", when, len(a), len(b))
		}
	}
	for i := range evs {
		if i == len(evs)/2 {
			same("midway")
		}
		retiring.Observe(&evs[i])
		keeping.Observe(&evs[i])
	}
	fc.Set(t0.Add(span))
	same("at the end")
	if retiring.arch.n < int(span/time.Second)-3*retireAfter {
		t.Errorf("archive holds %d seconds of %v: the seconds were not retired", retiring.arch.n, span)
	}
	if keeping.arch.n != 0 {
		t.Errorf("the keeping recorder retired %d seconds", keeping.arch.n)
	}
}

// TestSeriesMemoryPerSecond checks that what the series retains grows by one
// second's slot and one merged histogram per second of the run, whatever
// the number of shards: over an hour, per shard per second it was most of
// a soak's growth.
func TestSeriesMemoryPerSecond(t *testing.T) {
	const perSec = 80
	r := NewRecorder(WithStart(t0), WithClock(clock.NewFake(t0)), WithShards(8))
	lat := func(i int) time.Duration { return time.Duration(1+i%40) * time.Millisecond }
	feed := func(from, to int) {
		for s := from; s < to; s++ {
			for i := range perSec {
				e := event.Event{
					Kind: event.Login, Outcome: event.OK, Latency: lat(i),
					UserID: "u", Device: string(rune('a'+i%26)) + string(rune('a'+i/26)), Platform: policy.Android,
					At: t0.Add(time.Duration(s)*time.Second + time.Duration(i)*time.Second/perSec),
				}
				r.Observe(&e)
			}
		}
	}
	// One second's histogram merged over the shards, as the archive keeps it.
	one := NewRecorder(WithShards(1)).newSeriesHist()
	for i := range perSec {
		_ = one.RecordValue(int64(lat(i) / DefaultLowest))
	}
	one.Compact()
	perSecond := 2*int(unsafe.Sizeof(second{})) + 2*one.GetMemorySize() // a slice doubles

	feed(0, 600)
	b600, held600 := seriesBytes(r)
	feed(600, 3600)
	b3600, held3600 := seriesBytes(r)
	if grown := (b3600 - b600) / 3000; grown > perSecond {
		t.Errorf("the series retained %d bytes a second from 600 s to 3600 s, want at most %d (8 shards)", grown, perSecond)
	}
	if limit := len(r.shards) * (2*retireAfter + 1); held600 > limit || held3600 > limit {
		t.Errorf("the shards hold %d seconds at 600 s and %d at 3600 s, want at most %d", held600, held3600, limit)
	}
	if s := r.Snapshot(); s.Series.Seconds != 3600 || s.Op("login").Count != 3600*perSec {
		t.Errorf("series of %d seconds, %d logins", s.Series.Seconds, s.Op("login").Count)
	}
}

// seriesBytes returns the bytes the series of r holds (its slots and
// histograms) and the number of seconds its shards hold.
func seriesBytes(r *Recorder) (bytes, held int) {
	size := func(secs []second) int {
		n := cap(secs) * int(unsafe.Sizeof(second{}))
		for i := range secs {
			for _, h := range secs[i].hist {
				if h != nil {
					n += h.GetMemorySize()
				}
			}
		}
		return n
	}
	for _, s := range r.shards {
		s.mu.Lock()
		bytes += size(s.secs)
		held += len(s.secs) + len(s.late)
		for _, sc := range s.late {
			bytes += size([]second{*sc})
		}
		s.mu.Unlock()
	}
	r.arch.mu.Lock()
	bytes += size(r.arch.secs)
	r.arch.mu.Unlock()
	return bytes, held
}
