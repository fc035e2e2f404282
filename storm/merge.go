package storm

import (
	"fmt"
	"math"
	"slices"
)

// Merge combines the storm figures of the shards of one run: each shard
// played the same events on its own devices, so the figures of event i
// add (devices, attempts, resumes and logins, refusals, lost sessions, the
// oracle's counts), the recovery histograms merge exactly, and the
// per-second and 100 ms series add second by second from the event (their
// seconds count from each shard's own start of the phases, where the event
// struck at the same offset). Recovery percentiles, amplification and
// peaks are then read from the merged parts, as one process reads its own;
// the window is the longest of the shards' (each shard's refusals and
// oracle counts are those of its own window). The event's time is the
// earliest. Files of other timelines are refused.
func Merge(shards ...[]Figures) ([]Figures, error) {
	var out []Figures
	for n, fs := range shards {
		if n == 0 {
			out = make([]Figures, len(fs))
			for i := range fs {
				out[i] = clone(fs[i])
			}
			continue
		}
		if len(fs) != len(out) {
			return nil, fmt.Errorf("storm: shard %d has %d storms, shard 1 has %d: only the shards of one run merge", n+1, len(fs), len(out))
		}
		for i := range fs {
			if err := out[i].add(&fs[i]); err != nil {
				return nil, fmt.Errorf("storm: shard %d, events[%d]: %w", n+1, fs[i].Index, err)
			}
		}
	}
	for i := range out {
		rec, err := decodeRecovery(out[i].RecoveryHDR)
		if err != nil {
			return nil, fmt.Errorf("storm: events[%d]: recovery_hdr: %w", out[i].Index, err)
		}
		out[i].derive(rec)
	}
	return out, nil
}

func clone(f Figures) Figures {
	f.Series.Online = slices.Clone(f.Series.Online)
	f.Series.Connects = slices.Clone(f.Series.Connects)
	f.Series.Logins = slices.Clone(f.Series.Logins)
	f.Offered.Connects = slices.Clone(f.Offered.Connects)
	f.Offered.Logins = slices.Clone(f.Offered.Logins)
	if f.Kickout != nil {
		k := *f.Kickout
		f.Kickout = &k
	}
	return f
}

// add adds o, the same event in another shard, into f.
func (f *Figures) add(o *Figures) error {
	if o.Index != f.Index || o.Action != f.Action {
		return fmt.Errorf("%s, but the first shard's is events[%d] %s", o.Action, f.Index, f.Action)
	}
	if o.Time.Before(f.Time) {
		f.Time = o.Time
	}
	f.Affected += o.Affected
	f.Disrupted += o.Disrupted
	f.Recovered += o.Recovered
	f.Attempts += o.Attempts
	f.LoginAttempts += o.LoginAttempts
	f.Resumes += o.Resumes
	f.RepeatLogins += o.RepeatLogins
	f.FreshLogins += o.FreshLogins
	f.Refusals.LoginRate += o.Refusals.LoginRate
	f.Refusals.LoginBuckets += o.Refusals.LoginBuckets
	f.Refusals.Flapping += o.Refusals.Flapping
	f.LostResumable += o.LostResumable
	f.WindowS = max(f.WindowS, o.WindowS)
	switch {
	case f.Kickout == nil && o.Kickout == nil:
	case f.Kickout == nil || o.Kickout == nil:
		return fmt.Errorf("one shard has the kickout oracle's counts and another not: merge the shards of one run")
	default:
		f.Kickout.Kicks += o.Kickout.Kicks
		f.Kickout.Violations += o.Kickout.Violations
		f.Kickout.Undecided += o.Kickout.Undecided
	}
	a, err := decodeRecovery(f.RecoveryHDR)
	if err != nil {
		return fmt.Errorf("recovery_hdr: %w", err)
	}
	b, err := decodeRecovery(o.RecoveryHDR)
	if err != nil {
		return fmt.Errorf("recovery_hdr: %w", err)
	}
	a.Merge(b)
	f.RecoveryHDR = encodeRecovery(a)
	// The series, aligned by their seconds from the start of the phases.
	start := min(f.Series.StartS, o.Series.StartS)
	f.Series.Online = addAligned(f.Series.Online, f.Series.StartS, o.Series.Online, o.Series.StartS, start, true)
	f.Series.Connects = addAligned(f.Series.Connects, f.Series.StartS, o.Series.Connects, o.Series.StartS, start, false)
	f.Series.Logins = addAligned(f.Series.Logins, f.Series.StartS, o.Series.Logins, o.Series.StartS, start, false)
	f.Series.StartS = start
	start10 := min(f.Offered.StartS, o.Offered.StartS)
	f.Offered.Connects = addAligned(f.Offered.Connects, 10*f.Offered.StartS, o.Offered.Connects, 10*o.Offered.StartS, 10*start10, false)
	f.Offered.Logins = addAligned(f.Offered.Logins, 10*f.Offered.StartS, o.Offered.Logins, 10*o.Offered.StartS, 10*start10, false)
	f.Offered.StartS = start10
	return nil
}

// addAligned adds two series whose first entries are at slots as and bs
// into one that starts at slot start. A level (online devices) holds its
// last value past its series' end, and its first before its start is 0;
// a count is 0 outside its series.
func addAligned(a []int, as float64, b []int, bs float64, start float64, level bool) []int {
	ao, bo := int(math.Round(as-start)), int(math.Round(bs-start))
	n := max(ao+len(a), bo+len(b))
	out := make([]int, n)
	at := func(xs []int, off, i int) int {
		j := i - off
		switch {
		case len(xs) == 0 || j < 0:
			return 0
		case j >= len(xs):
			if level {
				return xs[len(xs)-1]
			}
			return 0
		}
		return xs[j]
	}
	for i := range out {
		out[i] = at(a, ao, i) + at(b, bo, i)
	}
	return out
}
