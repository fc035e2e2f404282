package results

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

// WriteSummary prints the terminal summary of a results file: the run, a
// table per operation and platform (count, ok, failed, timed out,
// cancelled, rate, p50, p90, p99, p99.9, max), the events with the
// kick-notice delay, the errors by code with their meaning (in the target's
// words) and their messages, the operations the run's end cut off, and the
// threshold verdicts.
func WriteSummary(w io.Writer, f *File) error {
	ew := &errWriter{w: w}
	writeHeader(ew, f)
	n := countText(f)
	if s := f.Metrics; s != nil {
		writeOps(ew, s, n)
		writeEvents(ew, s, n)
		writeErrors(ew, s, f.Environment.Target.Kind)
		writeNotes(ew, s)
	}
	writeThresholds(ew, f.Thresholds)
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0) }

func writeHeader(w io.Writer, f *File) {
	t := newTable(w)
	scen := f.Scenario
	if f.ScenarioFile != "" {
		scen += " (" + f.ScenarioFile + ")"
	}
	fmt.Fprintf(t, "scenario\t%s, seed %d\n", scen, f.Seed)
	run := fmt.Sprintf("%s for %s", f.Started.UTC().Format("2006-01-02 15:04:05 UTC"), time.Duration(f.Duration))
	if f.Interrupted {
		run += ", interrupted"
	}
	if f.Aborted != "" {
		run += ", aborted: " + f.Aborted
	}
	switch {
	case f.MergedFrom > 0:
		run += fmt.Sprintf(", merged from %d shards", f.MergedFrom)
	case f.Shard != "":
		run += ", shard " + f.Shard
	}
	fmt.Fprintf(t, "run\t%s\n", run)
	e := f.Environment
	target := e.Target.Kind
	if e.Target.URL != "" {
		target += " " + e.Target.URL
	}
	if len(e.Shards) == 0 {
		fmt.Fprintf(t, "target\t%s\n", target)
	}
	for _, se := range e.Shards {
		tg := se.Target.Kind
		if se.Target.URL != "" {
			tg += " " + se.Target.URL
		}
		fmt.Fprintf(t, "shard %s\t%s on %s, %d CPUs\n", cmp.Or(se.Shard, "?"), tg, cmp.Or(se.Host, "an unnamed host"), se.CPUs)
	}
	cpus := fmt.Sprintf("%d CPUs", e.CPUs)
	if len(e.Shards) > 0 {
		cpus += " on " + plural(hosts(e.Shards), "host")
	}
	fmt.Fprintf(t, "imload\t%s, %s %s/%s, %s\n", e.Version, e.GoVersion, e.OS, e.Arch, cpus)
	if len(f.Faults) > 0 {
		fmt.Fprintf(t, "faults\t%s\n", FaultsLine(f.Faults))
	}
	t.Flush()
}

// countText is how the summary writes counts: a month simulation's run into
// millions and get thousands separators (2,107,519); an ordinary run's are
// written plain, as scripts reading the summary expect.
func countText(f *File) func(int64) string {
	if IsMonthRun(f) {
		return humanize.Comma
	}
	return func(n int64) string { return strconv.FormatInt(n, 10) }
}

func writeOps(w io.Writer, s *metrics.Snapshot, n func(int64) string) {
	ops := s.OpNames()
	if len(ops) == 0 {
		fmt.Fprintln(w, "\nno operations recorded")
		return
	}
	fmt.Fprintln(w)
	t := newTable(w)
	fmt.Fprintln(t, "OPERATION\tPLATFORM\tCOUNT\tOK\tFAILED\tTIMED OUT\tCANCELLED\tRATE/S\tP50\tP90\tP99\tP99.9\tMAX")
	row := func(o metrics.OpStats, name, plat string) {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, plat, n(o.Count), n(o.OK), n(o.Failed), n(o.TimedOut), n(o.Cancelled),
			fmtRate(o.Rate()), fmtDur(o.Quantile(0.5)), fmtDur(o.Quantile(0.9)), fmtDur(o.Quantile(0.99)),
			fmtDur(o.Quantile(0.999)), fmtDur(o.Max()))
	}
	for _, op := range ops {
		row(s.Op(op), op, "all")
		if plats := s.Platforms(op); len(plats) > 1 {
			for _, p := range plats {
				row(s.OpPlatform(op, p), "", string(p))
			}
		}
	}
	t.Flush()
}

func writeEvents(w io.Writer, s *metrics.Snapshot, count func(int64) string) {
	names := s.EventNames()
	online := s.OnlineMax()
	if len(names) == 0 && online == 0 {
		return
	}
	fmt.Fprintln(w)
	if len(names) == 0 {
		writeOnline(w, s)
		return
	}
	t := newTable(w)
	fmt.Fprintln(t, "EVENT\tPLATFORM\tCOUNT\tRATE/S\tKICK LATENCY N\tP50\tP99\tMAX")
	row := func(name string, p policy.Platform, label string) {
		n := s.EventCount(name, p)
		notice := ""
		if name == "kicked" {
			d := s.KickDelay(p)
			notice = fmt.Sprintf("\t%s\t%s\t%s\t%s", count(int64(d.Samples())), fmtDur(d.Quantile(0.5)), fmtDur(d.Quantile(0.99)), fmtDur(d.Max()))
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s%s\n", label, platLabel(p), count(n), fmtRate(perSecond(n, s.Duration())), notice)
	}
	for _, name := range names {
		row(name, "", name)
		if plats := s.Platforms(name); len(plats) > 1 {
			for _, p := range plats {
				row(name, p, "")
			}
		}
	}
	t.Flush()
	writeOnline(w, s)
}

// onlineNote says what the online figure counts, since it may exceed a
// closed phase's devices.
const onlineNote = "  (SDK instances logged in, not devices: the sessions of an open phase's arrivals still online when a closed phase\n" +
	"  starts add to its devices; an instance counts from its login or resume to its logout, kick, drop, app kill or switch)"

func writeOnline(w io.Writer, s *metrics.Snapshot) {
	fmt.Fprintf(w, "instances online: max %d, at the end %d\n%s\n", s.OnlineMax(), s.OnlineEnd(), onlineNote)
}

func platLabel(p policy.Platform) string {
	if p == "" {
		return "all"
	}
	return string(p)
}

func writeErrors(w io.Writer, s *metrics.Snapshot, target string) {
	type line struct {
		op    string
		code  int
		timed bool
		n     int64
	}
	var lines []line
	reasons := map[string]map[int]*metrics.Reasons{}
	var cancelled []string
	for _, op := range s.OpNames() {
		o := s.Op(op)
		reasons[op] = o.Reasons
		if o.Cancelled > 0 {
			cancelled = append(cancelled, fmt.Sprintf("%s %d", op, o.Cancelled))
		}
		for code, n := range o.Codes {
			lines = append(lines, line{op: op, code: code, n: n})
		}
		if o.TimedOut > 0 {
			lines = append(lines, line{op: op, timed: true, n: o.TimedOut})
		}
	}
	fmt.Fprintln(w)
	if len(cancelled) > 0 {
		defer fmt.Fprintf(w, "cancelled by the run's end (in no error rate): %s\n", strings.Join(cancelled, ", "))
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, "errors: none")
		return
	}
	opOrder := func(op string) int { return slices.Index(s.OpNames(), op) }
	slices.SortFunc(lines, func(a, b line) int {
		return cmp.Or(cmp.Compare(opOrder(a.op), opOrder(b.op)), cmp.Compare(b.n, a.n), cmp.Compare(a.code, b.code))
	})
	t := newTable(w)
	fmt.Fprintln(t, "ERRORS\tCODE\tCOUNT\tMEANING")
	for _, l := range lines {
		code, text := strconv.Itoa(l.code), CodeTextFor(target, l.code)
		if l.timed {
			code, text = "timeout", "no answer within the operation timeout"
		}
		if text == "" {
			text = "(unknown code)"
		}
		fmt.Fprintf(t, "%s\t%s\t%d\t%s\n", l.op, code, l.n, text)
		if l.timed {
			continue
		}
		if r := reasons[l.op][l.code]; r != nil {
			for _, x := range r.Top {
				fmt.Fprintf(t, "\t\t%d\t  %s\n", x.Count, ReasonText(x.Message))
			}
			if r.Other > 0 {
				fmt.Fprintf(t, "\t\t%d\t  (other messages)\n", r.Other)
			}
		}
	}
	t.Flush()
}

// ReasonText shows a failure's message ("" : the target gave none).
func ReasonText(msg string) string {
	if msg == "" {
		return "(no message)"
	}
	return msg
}

func writeNotes(w io.Writer, s *metrics.Snapshot) {
	if s.Clamped > 0 {
		fmt.Fprintf(w, "note: %d latencies fell outside the histogram range and were recorded at its nearest end\n", s.Clamped)
	}
	if s.Series.Dropped > 0 {
		fmt.Fprintf(w, "note: %d events had no time or came after the series cap and are not in the per-second series\n", s.Series.Dropped)
	}
	if s.UnknownEvents > 0 {
		fmt.Fprintf(w, "note: %d events of unknown kind were ignored\n", s.UnknownEvents)
	}
}

func writeThresholds(w io.Writer, ths []Threshold) {
	if len(ths) == 0 {
		return
	}
	fmt.Fprintln(w)
	t := newTable(w)
	failed, unjudged := 0, 0
	for _, th := range ths {
		verdict := "PASS"
		actual := "actual " + FormatActual(th.Metric, th.Actual)
		switch {
		case th.NotJudged != "":
			verdict = "----"
			unjudged++
			actual = fmt.Sprintf("not judged (%s): %s so far", th.NotJudged, actual)
		case !th.Pass:
			verdict = "FAIL"
			failed++
		}
		if th.Error != "" {
			actual = th.Error
		}
		if th.Note != "" {
			actual += " (" + th.Note + ")"
		}
		fmt.Fprintf(t, "%s\t%s\t%s\n", verdict, th.Expr, actual)
	}
	t.Flush()
	if unjudged > 0 {
		fmt.Fprintf(w, "thresholds: %d of %d not judged, the run was cut short\n", unjudged, len(ths))
	}
	if failed > 0 {
		fmt.Fprintf(w, "thresholds: %d of %d failed\n", failed, len(ths))
	} else if unjudged == 0 {
		fmt.Fprintf(w, "thresholds: all %d passed\n", len(ths))
	}
}

// FormatActual renders a metric value in its unit, by the metric's name:
// latencies (pNN, min, max, mean) as durations, error rates as percentages,
// rates per second, counts as whole numbers.
func FormatActual(metric string, v float64) string {
	switch {
	case strings.HasPrefix(metric, "online."):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case metric == "errors.rate" || strings.HasSuffix(metric, ".errors.rate"):
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	case isQuantile(metric) || strings.HasSuffix(metric, ".min") ||
		strings.HasSuffix(metric, ".max") || strings.HasSuffix(metric, ".mean"):
		return fmtDur(time.Duration(v * float64(time.Second)))
	case strings.HasSuffix(metric, ".rate"):
		return fmtRate(v) + "/s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// fmtDur shows a latency with about three significant digits, the precision
// of the histograms.
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	v, unit := float64(d)/float64(time.Microsecond), "µs"
	switch {
	case d >= time.Second:
		v, unit = d.Seconds(), "s"
	case d >= time.Millisecond:
		v, unit = float64(d)/float64(time.Millisecond), "ms"
	}
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + unit
}

// isQuantile reports whether a metric ends with a pNN or pNN.N statistic.
func isQuantile(metric string) bool {
	i := strings.LastIndex(metric, ".p")
	if i < 0 {
		return false
	}
	return isNumber(metric[i+2:])
}

func isNumber(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Count(s, ".") > 1 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

// hosts counts the distinct hosts of shards (an unnamed one each counts).
func hosts(shards []ShardEnv) int {
	seen := map[string]bool{}
	n := 0
	for _, se := range shards {
		if se.Host == "" || !seen[se.Host] {
			n++
		}
		seen[se.Host] = true
	}
	return n
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
