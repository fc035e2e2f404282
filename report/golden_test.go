package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestCSVGolden(t *testing.T) {
	f := loadSynth(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, f.Metrics); err != nil {
		t.Fatal(err)
	}
	golden(t, "synthetic.csv", buf.Bytes())
}

// TestCSVAgreesWithSnapshot checks the CSV against the snapshot's totals:
// per operation the attempts, ok, failed and timed-out counts add up to the
// run's, no second's max exceeds the run's max, and online is the series'
// end value.
func TestCSVAgreesWithSnapshot(t *testing.T) {
	f := loadSynth(t)
	s := f.Metrics
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("header %v", recs[0])
	}
	ops := seriesOps(s)
	if got, want := len(recs)-1, s.Series.Seconds*len(ops); got != want {
		t.Fatalf("%d rows, want %d (%d seconds × %d ops)", got, want, s.Series.Seconds, len(ops))
	}
	type sums struct{ att, ok, failed, timed int64 }
	got := map[string]*sums{}
	for _, r := range recs[1:] {
		sec, _ := strconv.Atoi(r[0])
		n := func(i int) int64 { v, _ := strconv.ParseInt(r[i], 10, 64); return v }
		x := got[r[1]]
		if x == nil {
			x = &sums{}
			got[r[1]] = x
		}
		x.att, x.ok, x.failed, x.timed = x.att+n(2), x.ok+n(3), x.failed+n(4), x.timed+n(5)
		if n(2) != n(3)+n(4)+n(5)+n(10) {
			t.Errorf("second %d %s: attempted %d is not ok+failed+timed_out+cancelled", sec, r[1], n(2))
		}
		if r[8] != "" {
			mx, _ := strconv.ParseFloat(r[8], 64)
			if runMax := s.Op(r[1]).Max(); mx > float64(runMax)/1e6*1.01 {
				t.Errorf("second %d %s: max %.3f ms above the run's %v", sec, r[1], mx, runMax)
			}
		}
		if (r[6] == "") != (r[1] != "login" || n(2) == 0) {
			t.Errorf("second %d %s: p50 %q (only login keeps per-second histograms)", sec, r[1], r[6])
		}
		if on := n(9); on != s.Series.OnlineEnd[sec] {
			t.Errorf("second %d: online %d, series says %d", sec, on, s.Series.OnlineEnd[sec])
		}
	}
	for _, op := range ops {
		o := s.Op(op)
		want := sums{o.Count, o.OK, o.Failed, o.TimedOut}
		if g := got[op]; g == nil || *g != want {
			t.Errorf("%s: CSV sums %+v, snapshot %+v", op, g, want)
		}
	}
}

func TestCSVEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *metrics.Snapshot
	}{{"nil snapshot", nil}, {"no series", &metrics.Snapshot{}}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			if got, want := buf.String(), strings.Join(csvHeader, ",")+"\n"; got != want {
				t.Errorf("got %q, want the header only", got)
			}
		})
	}
}

func TestHgrmEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *metrics.Snapshot
	}{{"nil snapshot", nil}, {"no operations", &metrics.Snapshot{}}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "hgrm")
			paths, err := WriteHgrmDir(dir, tc.s)
			if err != nil || len(paths) != 0 {
				t.Fatalf("WriteHgrmDir = %v, %v; want no files and no error", paths, err)
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				t.Errorf("directory not made: %v", err)
			}
		})
	}
}

func TestHgrmGolden(t *testing.T) {
	f := loadSynth(t)
	dir := t.TempDir()
	paths, err := WriteHgrmDir(dir, f.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "hgrm/"+filepath.Base(p), b)
	}
	golden(t, "hgrm.list", []byte(strings.Join(names, "\n")+"\n"))
	for _, want := range []string{"login.all.hgrm", "login.Android.hgrm", "login.Windows.hgrm", "resume.all.hgrm", "kick_notice.all.hgrm"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %v", want, names)
		}
	}
}

// TestHgrmAgreesWithSnapshot parses each written distribution: its rows rise
// in value, percentile and count, the last row counts every sample, and the
// footer's total and max agree with the snapshot (values in ms).
func TestHgrmAgreesWithSnapshot(t *testing.T) {
	f := loadSynth(t)
	s := f.Metrics
	dir := t.TempDir()
	if _, err := WriteHgrmDir(dir, s); err != nil {
		t.Fatal(err)
	}
	for _, op := range s.OpNames() {
		for _, plat := range append([]string{"all"}, platNames(s, op)...) {
			t.Run(op+"."+plat, func(t *testing.T) {
				stats := s.Op(op)
				if plat != "all" {
					stats = s.OpPlatform(op, policy.Platform(plat))
				}
				b, err := os.ReadFile(filepath.Join(dir, op+"."+plat+".hgrm"))
				if err != nil {
					t.Fatal(err)
				}
				rows, total, maxMs := parseHgrm(t, string(b))
				if total != stats.Count {
					t.Errorf("footer total %d, snapshot %d", total, stats.Count)
				}
				if want := float64(stats.Max()) / float64(time.Millisecond); abs(maxMs-want) > 0.0011 {
					t.Errorf("footer max %.3f ms, snapshot %.3f ms", maxMs, want)
				}
				last := rows[len(rows)-1]
				if last[1] != 1 || int64(last[2]) != stats.Count {
					t.Errorf("last row %v: want percentile 1 and count %d", last, stats.Count)
				}
				for i := 1; i < len(rows); i++ {
					if rows[i][0] < rows[i-1][0] || rows[i][1] < rows[i-1][1] || rows[i][2] < rows[i-1][2] {
						t.Fatalf("row %d %v falls below row %d %v", i, rows[i], i-1, rows[i-1])
					}
				}
				if p50 := valueAt(rows, 0.5); abs(p50-float64(stats.Quantile(0.5))/1e6) > 0.0011 {
					t.Errorf("p50 row %.3f ms, snapshot %v", p50, stats.Quantile(0.5))
				}
			})
		}
	}
}

func platNames(s *metrics.Snapshot, op string) []string {
	var out []string
	for _, p := range s.Platforms(op) {
		out = append(out, string(p))
	}
	return out
}

// parseHgrm returns the rows (value ms, percentile, total count) and the
// footer's total count and max.
func parseHgrm(t *testing.T, text string) (rows [][3]float64, total int64, maxMs float64) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if !strings.HasPrefix(lines[0], " Value\tPercentile\tTotalCount\t1/(1-Percentile)") {
		t.Fatalf("header %q", lines[0])
	}
	for _, l := range lines[1:] {
		switch {
		case strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, "#[Max"):
			fs := strings.FieldsFunc(l, func(r rune) bool { return r == '=' || r == ',' || r == ']' })
			maxMs, _ = strconv.ParseFloat(strings.TrimSpace(fs[1]), 64)
			total, _ = strconv.ParseInt(strings.TrimSpace(fs[3]), 10, 64)
		case strings.HasPrefix(l, "#"):
		default:
			fs := strings.Fields(l)
			if len(fs) != 4 {
				t.Fatalf("row %q: want 4 columns", l)
			}
			var r [3]float64
			for i := range 3 {
				v, err := strconv.ParseFloat(fs[i], 64)
				if err != nil {
					t.Fatalf("row %q: %v", l, err)
				}
				r[i] = v
			}
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	return rows, total, maxMs
}

// valueAt returns the value of the first row at or above percentile q.
func valueAt(rows [][3]float64, q float64) float64 {
	for _, r := range rows {
		if r[1] >= q {
			return r[0]
		}
	}
	return rows[len(rows)-1][0]
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
