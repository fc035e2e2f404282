package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

// TicksPerHalfDistance is the resolution of the percentile distributions:
// the number of rows per halving of the distance to 100 %, as HdrHistogram's
// own tools print them.
const TicksPerHalfDistance = 5

// WritePercentiles writes h as an HdrHistogram percentile distribution
// (.hgrm: columns Value, Percentile, TotalCount, 1/(1-Percentile) and the
// Mean/StdDeviation/Max/Total count/Buckets/SubBuckets footer) with values in
// milliseconds; unit is the duration one histogram value stands for.
func WritePercentiles(w io.Writer, h *hdr.Histogram, unit time.Duration) error {
	if unit <= 0 {
		return fmt.Errorf("report: histogram unit %v must be positive", unit)
	}
	_, err := h.PercentilesPrint(w, TicksPerHalfDistance, float64(time.Millisecond)/float64(unit))
	return err
}

// distribution is one histogram to write or chart: an operation (or
// "kick_notice") on one platform or on all ("all").
type distribution struct {
	name     string // "login"
	platform string // "Android", or "all"
	hist     *hdr.Histogram
}

func (d distribution) fileName() string {
	return safeName(d.name) + "." + safeName(d.platform) + ".hgrm"
}

// distributions lists the latency histograms of s that hold values: per
// operation, all platforms first and then each platform, then the
// kick-notice delay the same way.
func distributions(s *metrics.Snapshot) ([]distribution, error) {
	if s == nil {
		return nil, nil
	}
	var out []distribution
	add := func(name string, cells map[policy.Platform]*metrics.Hist, plats []policy.Platform) error {
		var all *hdr.Histogram
		var per []distribution
		for _, p := range plats {
			c := cells[p]
			if c.Count() == 0 {
				continue
			}
			h := c.Histogram()
			per = append(per, distribution{name: name, platform: string(p), hist: h})
			if all == nil {
				all = hdr.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
			}
			if dropped := all.Merge(h); dropped != 0 {
				return fmt.Errorf("report: merging %s histograms dropped %d values", name, dropped)
			}
		}
		if all == nil {
			return nil
		}
		out = append(out, distribution{name: name, platform: "all", hist: all})
		out = append(out, per...)
		return nil
	}
	for _, op := range s.OpNames() {
		cells := make(map[policy.Platform]*metrics.Hist, len(s.Ops[op]))
		for p, c := range s.Ops[op] {
			if c != nil {
				cells[p] = c.Latency
			}
		}
		if err := add(op, cells, s.Platforms(op)); err != nil {
			return nil, err
		}
	}
	if err := add("kick_notice", s.KickNotice, s.Platforms("kick_notice")); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteHgrmDir writes into dir, which it creates if needed, one percentile
// distribution per operation and platform that has samples
// ("login.Android.hgrm"), one per operation over all platforms
// ("login.all.hgrm"), and the same for the kick-notice delay
// ("kick_notice.all.hgrm"). Values are in milliseconds. It returns the
// paths written, in that order.
func WriteHgrmDir(dir string, s *metrics.Snapshot) ([]string, error) {
	ds, err := distributions(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: --hgrm directory: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	unit := s.Histogram.Unit()
	paths := make([]string, 0, len(ds))
	for _, d := range ds {
		path := filepath.Join(dir, d.fileName())
		if err := writeFileAtomic(path, func(w io.Writer) error { return WritePercentiles(w, d.hist, unit) }); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// safeName keeps letters, digits, '-' and '_' of a name for a file name.
func safeName(s string) string {
	if s == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
