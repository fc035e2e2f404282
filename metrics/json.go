package metrics

import (
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// UnmarshalJSON decodes a snapshot and checks that it is whole: a known
// histogram spec that every histogram shares, known kinds, non-negative
// counts, latency histograms that count the successful operations (every
// attempt in files of earlier versions, HistogramSpec.LatencyOf ""), and series whose
// slices all have Seconds entries from a whole-second start.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	type plain Snapshot
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if err := (*Snapshot)(&p).validate(); err != nil {
		return fmt.Errorf("metrics: invalid snapshot: %w", err)
	}
	*s = Snapshot(p)
	return nil
}

func (s *Snapshot) validate() error {
	h := s.Histogram
	if h.LatencyOf != "" && h.LatencyOf != LatencyOK {
		return fmt.Errorf("histogram spec: latency_of %q (allowed: %q, or absent in files of earlier versions)", h.LatencyOf, LatencyOK)
	}
	if h.UnitNs <= 0 || h.Highest < 2 || h.Highest > 1<<50 || h.Digits < 1 || h.Digits > 5 || h.SeriesDigits < 1 || h.SeriesDigits > 5 {
		return fmt.Errorf("histogram spec %+v out of range (unit_ns > 0, 2 <= highest <= 2^50, digits and series_digits 1 to 5)", h)
	}
	main := hdr.NewPacked(1, h.Highest, h.Digits)
	perSec := hdr.NewPacked(1, h.Highest, h.SeriesDigits)
	for op, byPlat := range s.Ops {
		if k, ok := kindByName(op); !ok || !k.IsOp() {
			return fmt.Errorf("ops: %q is not an operation", op)
		}
		for p, c := range byPlat {
			where := fmt.Sprintf("ops.%s.%s", op, p)
			if c == nil || c.Latency == nil {
				return fmt.Errorf("%s: missing counts or latency", where)
			}
			if c.OK < 0 || c.Failed < 0 || c.TimedOut < 0 || c.Cancelled < 0 {
				return fmt.Errorf("%s: negative count", where)
			}
			if err := validReasons(where, c.Reasons); err != nil {
				return err
			}
			for code, n := range c.Codes {
				if n < 0 {
					return fmt.Errorf("%s.codes.%d: negative count", where, code)
				}
			}
			if err := geometry(where+".latency", c.Latency, main); err != nil {
				return err
			}
			switch h.LatencyOf {
			case LatencyOK:
				if c.Latency.Count() != c.OK {
					return fmt.Errorf("%s: latency histogram holds %d values for %d successful operations", where, c.Latency.Count(), c.OK)
				}
			case "":
				if c.Latency.Count() != c.Attempted() {
					return fmt.Errorf("%s: latency histogram holds %d values for %d attempts", where, c.Latency.Count(), c.Attempted())
				}
			}
		}
	}
	for name, byPlat := range s.Events {
		if k, ok := kindByName(name); !ok || !isOther(k) {
			return fmt.Errorf("events: %q is not an event kind", name)
		}
		for p, n := range byPlat {
			if n < 0 {
				return fmt.Errorf("events.%s.%s: negative count", name, p)
			}
		}
	}
	for p, hist := range s.KickNotice {
		if err := geometry("kick_notice."+string(p), hist, main); err != nil {
			return err
		}
	}
	return s.Series.validate(perSec)
}

func (se *Series) validate(perSec *hdr.PackedHistogram) error {
	n := se.Seconds
	if n < 0 || n > maxSeriesSeconds {
		return fmt.Errorf("series.seconds %d out of range 0 to %d", n, maxSeriesSeconds)
	}
	if n > 0 && (se.Start.IsZero() || !se.Start.Equal(se.Start.Truncate(time.Second))) {
		return fmt.Errorf("series.start %v is not a whole second", se.Start)
	}
	length := func(where string, got int) error {
		if got != n {
			return fmt.Errorf("%s has %d entries, want %d", where, got, n)
		}
		return nil
	}
	for op, os := range se.Ops {
		if k, ok := kindByName(op); !ok || !k.IsOp() || os == nil {
			return fmt.Errorf("series.ops: %q is not an operation", op)
		}
		for _, f := range []struct {
			name string
			a    []int64
		}{{"ok", os.OK}, {"failed", os.Failed}, {"timed_out", os.TimedOut}, {"max_ns", os.MaxNs}, {"sum_ns", os.SumNs}} {
			if err := length("series.ops."+op+"."+f.name, len(f.a)); err != nil {
				return err
			}
		}
		if os.Cancelled == nil {
			os.Cancelled = make([]int64, n) // a file of an earlier version
		} else if err := length("series.ops."+op+".cancelled", len(os.Cancelled)); err != nil {
			return err
		}
		if os.Latency != nil {
			if err := length("series.ops."+op+".latency", len(os.Latency)); err != nil {
				return err
			}
			for t, h := range os.Latency {
				if h == nil {
					continue
				}
				if err := geometry(fmt.Sprintf("series.ops.%s.latency[%d]", op, t), h, perSec); err != nil {
					return err
				}
			}
		}
	}
	for name, a := range se.Events {
		if k, ok := kindByName(name); !ok || !isOther(k) {
			return fmt.Errorf("series.events: %q is not an event kind", name)
		}
		if err := length("series.events."+name, len(a)); err != nil {
			return err
		}
	}
	if err := length("series.online_max", len(se.OnlineMax)); err != nil {
		return err
	}
	return length("series.online_end", len(se.OnlineEnd))
}

func geometry(where string, h *Hist, ref *hdr.PackedHistogram) error {
	if h == nil || h.p == nil {
		return fmt.Errorf("%s: missing histogram", where)
	}
	if err := (&Hist{p: ref}).sameGeometry(h); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}
