package metrics

import (
	"encoding/json"
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Hist is an HDR histogram in a snapshot, counting values in the snapshot's
// unit. It is kept sparse and serialises to JSON as a string: the standard
// HdrHistogram V2 compressed encoding in base64, which HdrHistogram tools in
// other languages read too.
type Hist struct{ p *hdr.PackedHistogram }

func newHist(highest int64, digits int) *Hist {
	return &Hist{p: hdr.NewPacked(1, highest, digits)}
}

// Count returns the number of values recorded.
func (h *Hist) Count() int64 {
	if h == nil || h.p == nil {
		return 0
	}
	return h.p.TotalCount()
}

// Histogram returns a dense copy, e.g. for percentile distribution output.
func (h *Hist) Histogram() *hdr.Histogram {
	d := hdr.New(h.p.LowestTrackableValue(), h.p.HighestTrackableValue(), int(h.p.SignificantFigures()))
	h.p.MergeInto(d)
	return d
}

func (h *Hist) clone() *Hist { return &Hist{p: h.p.Clone()} }

// merge adds o's counts; histograms of one geometry merge exactly.
func (h *Hist) merge(o *Hist) error {
	if o == nil || o.p == nil {
		return nil
	}
	if err := h.sameGeometry(o); err != nil {
		return err
	}
	if dropped := h.p.Merge(o.p); dropped != 0 {
		return fmt.Errorf("metrics: histogram merge dropped %d values", dropped)
	}
	return nil
}

func (h *Hist) sameGeometry(o *Hist) error {
	a, b := h.p, o.p
	if a.LowestTrackableValue() != b.LowestTrackableValue() ||
		a.HighestTrackableValue() != b.HighestTrackableValue() ||
		a.SignificantFigures() != b.SignificantFigures() {
		return fmt.Errorf("metrics: histogram geometry differs: [%d, %d] with %d digits vs [%d, %d] with %d digits",
			a.LowestTrackableValue(), a.HighestTrackableValue(), a.SignificantFigures(),
			b.LowestTrackableValue(), b.HighestTrackableValue(), b.SignificantFigures())
	}
	return nil
}

// MarshalJSON encodes the histogram as a base64 V2 compressed string.
func (h *Hist) MarshalJSON() ([]byte, error) {
	b, err := h.p.Encode()
	if err != nil {
		return nil, fmt.Errorf("metrics: encoding histogram: %w", err)
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes a base64 V2 compressed string.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("metrics: histogram must be a base64 string: %w", err)
	}
	p, err := hdr.DecodePacked([]byte(s))
	if err != nil {
		return fmt.Errorf("metrics: decoding histogram: %w", err)
	}
	h.p = p
	return nil
}
