package compare

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/imload/imload/health"
	"github.com/imload/imload/results"
)

// Lagged seconds. A login's latency runs from its intended start, so a
// second in which imload itself was late (its scheduler woke late, its
// pacer sent late: a stalled process on a busy machine) adds imload's delay
// to the latencies of that second, whatever the target did. Such seconds
// measure the generator; by default the comparison leaves them out, on
// both sides alike (Options.KeepLagged keeps them).

// laggedSeconds says, for each second of f's per-second metrics, whether
// the generator lagged in it or in the second before: the scheduler lag's
// or the send lag's p99 of that generator second over l's limit. The
// metrics count an operation in the second it ended, and an operation
// ending in second t may have been in flight through a stall in t-1 (and a
// stall is seen in the second its late wake-up lands in, after it began).
// Nil when f records no per-second generator figures (an older or a merged
// file).
func laggedSeconds(f *results.File, l health.Limits) []bool {
	g := f.Generator
	n := f.Metrics.Series.Seconds
	if g == nil || len(g.PerSecond) == 0 || n == 0 {
		return nil
	}
	// The metrics' second t starts at Start + t s; the generator's second
	// i at g.Start + i s: the one that second t overlaps most.
	shift := int(math.Round(f.Metrics.Start.Sub(g.Start).Seconds()))
	out := make([]bool, n)
	lagged := func(i int) bool {
		if i < 0 || i >= len(g.PerSecond) {
			return false
		}
		s := g.PerSecond[i]
		return l.Lag > 0 && s.LagP99Ns > int64(l.Lag) || l.SendLag > 0 && s.SendP99Ns > int64(l.SendLag)
	}
	for t := range out {
		out[t] = lagged(t+shift) || lagged(t+shift-1)
	}
	return out
}

// keepSeconds drops the lagged seconds of r (lagged nil: keeps them all).
func keepSeconds(r runSecs, lagged []bool) runSecs {
	if lagged == nil {
		return r
	}
	out := r[:0:0]
	for t := range r {
		if t >= len(lagged) || !lagged[t] {
			out = append(out, r[t])
		}
	}
	return out
}

// generatorWarnings say which runs' generator lagged, and what the
// comparison did with their lagged seconds.
func generatorWarnings(r Run, lagged []bool, keep bool) []string {
	g := r.File.Generator
	if g == nil {
		return []string{r.Name + ": records no generator health (a merged or older file): whether imload kept its schedule is unknown, so a slowdown may be imload's"}
	}
	var out []string
	if g.Lagged {
		out = append(out, fmt.Sprintf("%s: the generator lagged (%s): a slowdown may be imload's, not the target's", r.Name, strings.Join(g.Reasons, "; ")))
	}
	n := 0
	for _, l := range lagged {
		if l {
			n++
		}
	}
	switch {
	case n == 0:
	case keep:
		out = append(out, fmt.Sprintf("%s: %d of %d seconds lagged (scheduler or send lag p99 over %s, in the second or the one before), kept (--keep-lagged)", r.Name, n, len(lagged), time.Duration(health.DefaultLimits.Lag)))
	case n == len(lagged):
		out = append(out, fmt.Sprintf("%s: every second lagged (scheduler or send lag p99 over %s, in the second or the one before): nothing of the run measures the target alone; rerun on a quieter machine, or compare with --keep-lagged", r.Name, time.Duration(health.DefaultLimits.Lag)))
	default:
		out = append(out, fmt.Sprintf("%s: %d of %d seconds left out: the generator lagged in them (scheduler or send lag p99 over %s, in the second or the one before)", r.Name, n, len(lagged), time.Duration(health.DefaultLimits.Lag)))
	}
	return out
}
