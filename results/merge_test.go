package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

// TestMergeShards splits the synthetic run by user into two shard files and
// checks that merging them gives what one process recorded.
func TestMergeShards(t *testing.T) {
	whole := syntheticFile(t)
	a, b := recorder(), recorder()
	for _, e := range syntheticEvents() {
		if e.UserID[len(e.UserID)-1]%2 == 0 {
			a.Observe(&e)
		} else {
			b.Observe(&e)
		}
	}
	fa, fb := *whole, *whole
	fa.Shard, fa.Metrics, fa.Environment.CPUs, fa.Interrupted = "1/2", a.Snapshot(), 2, false
	fb.Shard, fb.Metrics, fb.Environment.CPUs, fb.Interrupted = "2/2", b.Snapshot(), 4, true
	fb.Started, fb.Ended = start.Add(-time.Second), start.Add(time.Minute+time.Second)
	m, err := Merge(&fa, &fb)
	if err != nil {
		t.Fatal(err)
	}
	if m.MergedFrom != 2 || m.Shard != "" || m.Environment.CPUs != 6 || !m.Interrupted || m.Thresholds != nil {
		t.Errorf("merged header: %+v", m)
	}
	if !m.Started.Equal(fb.Started) || !m.Ended.Equal(fb.Ended) || time.Duration(m.Duration) != time.Minute+2*time.Second {
		t.Errorf("merged span %v..%v (%v)", m.Started, m.Ended, time.Duration(m.Duration))
	}
	// The metrics by their threshold names (judge/eval, which answers them,
	// imports this package).
	values := map[string]func(s *metrics.Snapshot) float64{
		"login.count":         func(s *metrics.Snapshot) float64 { return float64(s.Op("login").Count) },
		"login.p50":           func(s *metrics.Snapshot) float64 { return s.Op("login").Quantile(0.50).Seconds() },
		"login.p99":           func(s *metrics.Snapshot) float64 { return s.Op("login").Quantile(0.99).Seconds() },
		"login.p99.9":         func(s *metrics.Snapshot) float64 { return s.Op("login").Quantile(0.999).Seconds() },
		"login.max":           func(s *metrics.Snapshot) float64 { return s.Op("login").Max().Seconds() },
		"login.Web.p90":       func(s *metrics.Snapshot) float64 { return s.OpPlatform("login", policy.Web).Quantile(0.9).Seconds() },
		"errors.rate":         func(s *metrics.Snapshot) float64 { e, a := s.Errors(); return float64(e) / float64(a) },
		"connect.mean":        func(s *metrics.Snapshot) float64 { return s.Op("connect").Mean().Seconds() },
		"heartbeat.timed_out": func(s *metrics.Snapshot) float64 { return float64(s.Op("heartbeat").TimedOut) },
		"kick_notice.p99":     func(s *metrics.Snapshot) float64 { return s.KickDelay("").Quantile(0.99).Seconds() },
		"kicked.count":        func(s *metrics.Snapshot) float64 { return float64(s.EventCount("kicked", "")) },
		"disconnect.count":    func(s *metrics.Snapshot) float64 { return float64(s.EventCount("disconnect", "")) },
		"online.end":          func(s *metrics.Snapshot) float64 { return float64(s.OnlineEnd()) },
	}
	for metric, value := range values {
		if got, want := value(m.Metrics), value(whole.Metrics); got != want {
			t.Errorf("%s: merged %v, whole %v", metric, got, want)
		}
	}
	// The terminal summary of the merged file reads like the whole run's,
	// apart from the header and the online maximum (an upper bound).
	var sm, sw bytes.Buffer
	m.Thresholds = whole.Thresholds
	if err := WriteSummary(&sm, m); err != nil {
		t.Fatal(err)
	}
	WriteSummary(&sw, whole)
	body := func(s string) string {
		s = s[strings.Index(s, "OPERATION"):]
		i := strings.Index(s, "instances online")
		j := i + strings.Index(s[i:], "\n")
		return s[:i] + s[j:]
	}
	if body(sm.String()) != body(sw.String()) {
		t.Errorf("summaries differ:\n%s\nvs\n%s", body(sm.String()), body(sw.String()))
	}
	// The inputs are unchanged.
	if fa.Metrics.Op("login").Count+fb.Metrics.Op("login").Count != whole.Metrics.Op("login").Count {
		t.Error("merge changed its inputs")
	}
}

func TestMergeRefuses(t *testing.T) {
	base := syntheticFile(t)
	other := func(fn func(f *File)) *File {
		c := *base
		fn(&c)
		return &c
	}
	cases := []struct {
		name  string
		files []*File
		want  string
	}{
		{"nothing", nil, "nothing to merge"},
		{"other scenario", []*File{base, other(func(f *File) { f.Scenario = "churn" })}, `file 2 is scenario "churn" with seed 42 but file 1 is scenario "quickstart"`},
		{"other seed", []*File{base, other(func(f *File) { f.Seed = 7 })}, "seed 7"},
		{"same shard twice", []*File{other(func(f *File) { f.Shard = "1/3" }), base, other(func(f *File) { f.Shard = "1/3" })}, "files 1 and 3 are both shard 1/3"},
		{"no metrics", []*File{base, other(func(f *File) { f.Metrics = nil })}, "file 2 has no metrics"},
		{"other schema", []*File{base, other(func(f *File) { f.Schema = "imload/results/v0" })}, `schema "imload/results/v0"`},
		{"capacity search", []*File{base, other(func(f *File) { f.Capacity = &capacity.Report{Sustained: 700} })}, "file 2 holds a capacity search, which runs in one process (imload run refuses --shard for it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.files...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// The kickout verdicts of the shards add up; files must agree on having
// verdicts, MAU accounting, the thresholds and the split.
func TestMergeVerdictsAndRefusals(t *testing.T) {
	base := syntheticFile(t)
	shard := func(s string, fn func(f *File)) *File {
		c := *base
		c.Shard = s
		if fn != nil {
			fn(&c)
		}
		return &c
	}
	withKick := func(users int64) func(f *File) {
		return func(f *File) {
			f.Kickout = &check.Report{Policy: "dual-platform", Checks: check.Checks{Users: users}}
		}
	}
	m, err := Merge(shard("0/2", withKick(3)), shard("1/2", withKick(4)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kickout == nil || m.Kickout.Checks.Users != 7 || m.Kickout.Policy != "dual-platform" || m.MAU != nil || m.Thresholds != nil {
		t.Errorf("merged kickout %+v, mau %v, thresholds %v", m.Kickout, m.MAU, m.Thresholds)
	}
	cases := []struct {
		name  string
		files []*File
		want  string
	}{
		{"kickout in one only", []*File{shard("0/2", withKick(1)), shard("1/2", func(f *File) { f.Kickout = nil })}, "differ in having kickout verdicts"},
		{"mau in one only", []*File{shard("0/2", nil), shard("1/2", func(f *File) { f.MAU = &mau.Report{} })}, "differ in having MAU results"},
		{"other thresholds", []*File{shard("0/2", nil), shard("1/2", func(f *File) { f.Thresholds = f.Thresholds[:1] })}, "file 2 has other thresholds than file 1"},
		{"other split", []*File{shard("0/2", nil), shard("1/4", nil)}, "file 2 is shard 1/4, but an earlier file is a shard of 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.files...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
