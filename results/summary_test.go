package results

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestWriteSummaryGolden(t *testing.T) {
	interrupted := syntheticFile(t)
	interrupted.Interrupted, interrupted.Thresholds, interrupted.Shard = true, nil, "2/4"
	empty := syntheticFile(t)
	empty.Metrics = recorder().Snapshot()
	empty.Thresholds = empty.Thresholds[3:]
	cases := []struct {
		name string
		file *File
	}{
		{"summary", syntheticFile(t)},
		{"interrupted_shard", interrupted},
		{"empty", empty},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSummary(&buf, tc.file); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("summary differs from %s (run go test -update if the change is intended):\n%s", golden, buf.Bytes())
			}
		})
	}
}

func TestFormatActual(t *testing.T) {
	cases := []struct {
		metric string
		v      float64
		want   string
	}{
		{"login.p99", 0.2345, "234ms"},
		{"login.p99.9", 1.5, "1.50s"},
		{"login.Android.p50", 0.000850, "850µs"},
		{"connect.max", 0.0123, "12.3ms"},
		{"login.mean", 0, "0"},
		{"errors.rate", 0.0123, "1.23%"},
		{"login.errors.rate", 0.5, "50%"},
		{"login.rate", 51.25, "51.2/s"},
		{"login.count", 1200, "1200"},
		{"online.max", 90, "90"},
		{"kickout.violations", 0, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.metric, func(t *testing.T) {
			if got := FormatActual(tc.metric, tc.v); got != tc.want {
				t.Errorf("FormatActual(%q, %v) = %q, want %q", tc.metric, tc.v, got, tc.want)
			}
		})
	}
	if got := fmtDur(90 * time.Second); got != "90.0s" {
		t.Errorf("fmtDur(90s) = %q", got)
	}
}
