package report

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"

	"github.com/imload/imload/metrics"
)

// csvHeader is the header row WriteCSV writes.
var csvHeader = []string{"second", "op", "attempted", "ok", "failed", "timed_out", "p50_ms", "p99_ms", "max_ms", "online", "cancelled"}

// WriteCSV writes the per-second series of s as CSV: one row per second and
// operation (all platforms together), seconds counted from the series start;
// attempted = ok + failed + timed_out + cancelled (the last column, after
// the columns of earlier versions).
// p50_ms and p99_ms are empty for operations without a per-second histogram
// and for seconds without attempts; max_ms is empty without attempts.
// online is the number of instances online at the end of the second (exact
// also for merged shards).
func WriteCSV(w io.Writer, s *metrics.Snapshot) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	ops := perSecond(s)
	if len(ops) > 0 {
		rec := make([]string, len(csvHeader))
		for i := 0; i < s.Series.Seconds; i++ {
			online := strconv.FormatInt(at(s.Series.OnlineEnd, i), 10)
			for _, o := range ops {
				r := o.rows[i]
				rec[0] = strconv.Itoa(i)
				rec[1] = o.op
				rec[2] = strconv.FormatInt(r.attempted, 10)
				rec[3] = strconv.FormatInt(r.ok, 10)
				rec[4] = strconv.FormatInt(r.failed, 10)
				rec[5] = strconv.FormatInt(r.timedOut, 10)
				rec[6] = ms(r.p50)
				rec[7] = ms(r.p99)
				rec[8] = ms(r.max)
				rec[9] = online
				rec[10] = strconv.FormatInt(r.cancelled, 10)
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSVFile writes the CSV of s to path atomically.
func WriteCSVFile(path string, s *metrics.Snapshot) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteCSV(w, s) })
}

// ms formats milliseconds with microsecond precision, "" for NaN.
func ms(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
