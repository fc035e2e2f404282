package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

// hourFile is an hour-long run: 20 logins and 20 connects a second on two
// platforms, so the series hold 3,600 seconds with a login histogram each.
func hourFile(b *testing.B) *results.File {
	b.Helper()
	const seconds = 3600
	end := synthStart.Add(seconds * time.Second)
	rec := metrics.NewRecorder(metrics.WithStart(synthStart), metrics.WithClock(clock.NewFake(end)))
	plats := []policy.Platform{policy.Android, policy.IPhone}
	for i := range seconds * 20 {
		p := plats[i%2]
		user := fmt.Sprintf("u%d", i%500)
		at := synthStart.Add(time.Duration(i) * 50 * time.Millisecond)
		for _, k := range []event.Kind{event.Connect, event.Login} {
			rec.Observe(&event.Event{Kind: k, Outcome: event.OK, UserID: user, Device: user + "-" + string(p), Platform: p,
				At: at, Latency: time.Duration(1+i%97) * 100 * time.Microsecond})
		}
	}
	return &results.File{Schema: results.Schema, Scenario: "hour", Started: synthStart, Ended: end,
		Duration: results.Duration(seconds * time.Second), Metrics: rec.Snapshot()}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func BenchmarkWriteHTMLHour(b *testing.B) {
	f := hourFile(b)
	var size int64
	b.ResetTimer()
	for b.Loop() {
		var cw countingWriter
		if err := WriteHTML(&cw, f); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/page")
}

func BenchmarkWriteCSVHour(b *testing.B) {
	f := hourFile(b)
	rows := f.Metrics.Series.Seconds * len(seriesOps(f.Metrics))
	b.ResetTimer()
	for b.Loop() {
		if err := WriteCSV(io.Discard, f.Metrics); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
