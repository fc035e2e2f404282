package report

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/imload/imload/check"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

//go:embed assets/echarts.min.js assets/echarts.version
var assets embed.FS

//go:embed page.html.tmpl
var pageTemplate string

// page is what the HTML template shows.
type page struct {
	Title       string
	Run         [][2]string
	Interrupted bool
	Notes       []string
	// Faults lists the armed faults with their firings ("": none armed);
	// Warnings head the page (an armed fault that never fired).
	Faults   string
	Warnings []string
	// monthRun: the file is a month simulation's, whose report leaves out
	// the sections it has nothing for (Show).
	monthRun bool

	Ops        []opRow
	Thresholds []thresholdRow
	ThPassed   int

	Latency  []chart
	Spectrum []chart
	Online   *chart
	Errors   []errorRow
	// Cancelled lists the operations the run's end cut off, by kind.
	Cancelled string
	ErrChart  *chart
	Events    []eventRow
	Kicks     *chart

	Kickout  *kickoutView
	MAU      *mauView
	Capacity *capacityView
	Storms   *stormsView

	ECharts        template.JS
	EChartsVersion string
}

// Charts lists every chart of the page, in page order.
func (p *page) Charts() []chart {
	var out []chart
	out = append(out, p.Latency...)
	out = append(out, p.Spectrum...)
	for _, c := range []*chart{p.Online, p.ErrChart, p.Kicks} {
		if c != nil {
			out = append(out, *c)
		}
	}
	if p.MAU != nil && p.MAU.DAU != nil {
		out = append(out, *p.MAU.DAU)
	}
	if p.Storms != nil {
		out = append(out, p.Storms.Charts...)
	}
	if p.Capacity != nil && p.Capacity.Chart != nil {
		out = append(out, *p.Capacity.Chart)
	}
	return out
}

type opRow struct {
	Op, Platform                           string
	Count, OK, Failed, TimedOut, Cancelled int64
	Rate, P50, P90, P99, P999, Max         string
	First                                  bool
}

type thresholdRow struct {
	Expr, Actual, Error string
	Pass                bool
}

type errorRow struct {
	Op, Code, Meaning string
	Count             int64
	// Reasons are the messages of the failures (the most frequent, then
	// the count of the others).
	Reasons []reasonRow
}

type reasonRow struct {
	Message string
	Count   int64
}

type eventRow struct {
	Event, Platform                 string
	Count                           int64
	Rate                            string
	Kicked                          bool
	NoticeN                         int64
	NoticeP50, NoticeP99, NoticeMax string
	First                           bool
}

type kickoutView struct {
	Summary    string
	Checks     [][2]string
	Verdicts   []verdictRow
	Violations int64
	Latency    [][2]string
	Examples   []exampleView
}

type verdictRow struct {
	Class     string
	Count     int64
	Violation bool
}

type exampleView struct {
	Class, User, Text string
}

type mauView struct {
	Summary    string
	Months     []string
	Rows       []mauRow
	Cheapest   string
	Mismatches []string
	DAU        *chart
}

type mauRow struct {
	Name, Spec          string
	MAU                 []int
	Logins, Reconnects  int64
	DAUMean             string
	DAUMax              int
	PeakOnline          string
	Failed              int64
	Cost, OverCheapest  string
	Cheapest, Projected bool
}

// WriteHTML writes the HTML report of f: one self-contained page whose
// charts are drawn by the ECharts library inlined in it, so it opens with no
// network.
func WriteHTML(w io.Writer, f *results.File) error {
	p, err := buildPage(f)
	if err != nil {
		return err
	}
	tpl, err := template.New("page").Funcs(template.FuncMap{"join": strings.Join, "n": groupDigits}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: page template: %w", err)
	}
	return tpl.Execute(w, p)
}

// WriteHTMLFile writes the HTML report of f to path atomically.
func WriteHTMLFile(path string, f *results.File) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteHTML(w, f) })
}

func buildPage(f *results.File) (*page, error) {
	lib, err := assets.ReadFile("assets/echarts.min.js")
	if err != nil {
		return nil, fmt.Errorf("report: embedded ECharts: %w", err)
	}
	ver, _ := assets.ReadFile("assets/echarts.version")
	p := &page{
		Title:          "imload report: " + cmp.Or(f.Scenario, f.ScenarioFile, "run"),
		Interrupted:    f.Interrupted,
		ECharts:        template.JS(lib),
		EChartsVersion: strings.TrimSpace(string(ver)),
	}
	p.Run = runRows(f)
	p.Faults = results.FaultsLine(f.Faults)
	p.monthRun = results.IsMonthRun(f)
	p.Warnings = results.FaultWarnings(f)
	for _, t := range f.Thresholds {
		row := thresholdRow{Expr: t.Expr, Pass: t.Pass, Error: t.Error}
		if t.Error == "" {
			row.Actual = results.FormatActual(t.Metric, t.Actual)
		}
		if t.Pass {
			p.ThPassed++
		}
		p.Thresholds = append(p.Thresholds, row)
	}
	if s := f.Metrics; s != nil {
		p.Notes = append(p.Notes, snapshotNotes(s)...)
		p.Ops = opRows(s)
		p.Errors = errorRows(s, f.Environment.Target.Kind)
		p.Cancelled = cancelledText(s)
		p.Events = eventRows(s)
		ops := perSecond(s)
		for _, o := range ops {
			p.Latency = append(p.Latency, latencyChart(o))
		}
		ds, err := distributions(s)
		if err != nil {
			return nil, err
		}
		unitMs := float64(s.Histogram.UnitNs) / 1e6
		for i := 0; i < len(ds); {
			j := i
			for j < len(ds) && ds[j].name == ds[i].name {
				j++
			}
			p.Spectrum = append(p.Spectrum, spectrumChart(ds[i].name, ds[i:j], unitMs))
			i = j
		}
		if s.Series.Seconds > 0 {
			c := onlineChart(s, ops)
			p.Online = &c
			if c, ok := errorsChart(ops, s.Series.Seconds); ok {
				p.ErrChart = &c
			}
			if c, ok := eventsChart(s); ok {
				p.Kicks = &c
			}
		}
	}
	v := DecodeVerdicts(f)
	p.Notes = append(p.Notes, v.Notes...)
	if v.Kickout != nil {
		p.Kickout = kickoutOf(v.Kickout)
	}
	if v.MAU != nil {
		p.MAU = mauOf(v.MAU)
	}
	p.Storms = stormsOf(f.Storms)
	if f.Capacity != nil {
		p.Capacity = capacityOf(f.Capacity)
	}
	return p, nil
}

func runRows(f *results.File) [][2]string {
	e := f.Environment
	rows := [][2]string{
		{"scenario", f.Scenario},
		{"scenario file", f.ScenarioFile},
		{"seed", strconv.FormatInt(f.Seed, 10)},
		{"started", f.Started.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"ended", f.Ended.UTC().Format("2006-01-02 15:04:05 UTC")},
		{"duration", fmtDur(time.Duration(f.Duration))},
		{"interrupted", yesNo(f.Interrupted)},
	}
	if f.Shard != "" {
		rows = append(rows, [2]string{"shard", f.Shard})
	}
	if f.MergedFrom > 0 {
		rows = append(rows, [2]string{"merged from", fmt.Sprintf("%d shards", f.MergedFrom)})
	}
	target := e.Target.Kind
	if e.Target.URL != "" {
		target += " " + e.Target.URL
	}
	rows = append(rows,
		[2]string{"target", target},
		[2]string{"faults armed", results.FaultsLine(f.Faults)},
		[2]string{"imload", e.Version},
		[2]string{"environment", fmt.Sprintf("%s, %s/%s, %d CPUs", e.GoVersion, e.OS, e.Arch, e.CPUs)},
		[2]string{"results schema", f.Schema},
	)
	out := rows[:0]
	for _, r := range rows {
		if r[1] != "" {
			out = append(out, r)
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func snapshotNotes(s *metrics.Snapshot) []string {
	var out []string
	if s.Clamped > 0 {
		out = append(out, fmt.Sprintf("%d latencies fell outside the histogram range and were recorded at its nearest end", s.Clamped))
	}
	if s.Series.Dropped > 0 {
		out = append(out, fmt.Sprintf("%d events had no time or came after the series cap and are not in the per-second series", s.Series.Dropped))
	}
	if s.UnknownEvents > 0 {
		out = append(out, fmt.Sprintf("%d events of unknown kind were ignored", s.UnknownEvents))
	}
	return out
}

func opRows(s *metrics.Snapshot) []opRow {
	var out []opRow
	row := func(o metrics.OpStats, plat string, first bool) opRow {
		return opRow{
			Op: o.Kind, Platform: plat, First: first,
			Count: o.Count, OK: o.OK, Failed: o.Failed, TimedOut: o.TimedOut, Cancelled: o.Cancelled,
			Rate: fmtRate(o.Rate()), P50: fmtDur(o.Quantile(0.5)), P90: fmtDur(o.Quantile(0.9)),
			P99: fmtDur(o.Quantile(0.99)), P999: fmtDur(o.Quantile(0.999)), Max: fmtDur(o.Max()),
		}
	}
	for _, op := range s.OpNames() {
		all := s.Op(op)
		all.Kind = op
		out = append(out, row(all, "all", true))
		if plats := s.Platforms(op); len(plats) > 1 {
			for _, pl := range plats {
				o := s.OpPlatform(op, pl)
				o.Kind = op
				out = append(out, row(o, string(pl), false))
			}
		}
	}
	return out
}

// cancelledText lists the operations the run's end cut off ("" : none).
func cancelledText(s *metrics.Snapshot) string {
	var parts []string
	for _, op := range s.OpNames() {
		if n := s.Op(op).Cancelled; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, n))
		}
	}
	return strings.Join(parts, ", ")
}

func errorRows(s *metrics.Snapshot, target string) []errorRow {
	var out []errorRow
	for _, op := range s.OpNames() {
		o := s.Op(op)
		codes := make([]int, 0, len(o.Codes))
		for c := range o.Codes {
			codes = append(codes, c)
		}
		slices.SortFunc(codes, func(a, b int) int { return cmp.Or(cmp.Compare(o.Codes[b], o.Codes[a]), cmp.Compare(a, b)) })
		for _, c := range codes {
			meaning := results.CodeTextFor(target, c)
			if meaning == "" {
				meaning = "(unknown code)"
			}
			row := errorRow{Op: op, Code: strconv.Itoa(c), Count: o.Codes[c], Meaning: meaning}
			if r := o.Reasons[c]; r != nil {
				for _, x := range r.Top {
					row.Reasons = append(row.Reasons, reasonRow{Message: results.ReasonText(x.Message), Count: x.Count})
				}
				if r.Other > 0 {
					row.Reasons = append(row.Reasons, reasonRow{Message: "(other messages)", Count: r.Other})
				}
			}
			out = append(out, row)
		}
		if o.TimedOut > 0 {
			out = append(out, errorRow{Op: op, Code: "timeout", Count: o.TimedOut, Meaning: "no answer within the operation timeout"})
		}
	}
	return out
}

func eventRows(s *metrics.Snapshot) []eventRow {
	var out []eventRow
	row := func(name string, p policy.Platform, first bool) eventRow {
		n := s.EventCount(name, p)
		r := eventRow{Event: name, Platform: platLabel(p), Count: n, First: first, Kicked: name == "kicked"}
		if d := s.Duration(); d > 0 {
			r.Rate = fmtRate(float64(n) / d.Seconds())
		}
		if r.Kicked {
			d := s.KickDelay(p)
			r.NoticeN = d.Samples()
			r.NoticeP50, r.NoticeP99, r.NoticeMax = fmtDur(d.Quantile(0.5)), fmtDur(d.Quantile(0.99)), fmtDur(d.Max())
		}
		return r
	}
	for _, name := range s.EventNames() {
		out = append(out, row(name, "", true))
		if plats := s.Platforms(name); len(plats) > 1 {
			for _, p := range plats {
				out = append(out, row(name, p, false))
			}
		}
	}
	return out
}

func platLabel(p policy.Platform) string {
	if p == "" {
		return "all"
	}
	return string(p)
}

func kickoutOf(r *check.Report) *kickoutView {
	v := &kickoutView{Violations: r.Violations()}
	pol := cmp.Or(r.Policy, "(not named)")
	v.Summary = fmt.Sprintf("policy %s, mode %s, grace %s, late after %s", pol, cmp.Or(r.Mode, "none"),
		fmtDur(msDur(r.GraceMS)), fmtDur(msDur(r.LateAfterMS)))
	c := r.Checks
	n := humanize.Comma
	v.Checks = [][2]string{
		{"users", fmt.Sprintf("%s (%s by sequence, %s by search)", n(c.Users), n(c.SequenceUsers), n(c.SearchUsers))},
		{"logins", fmt.Sprintf("%s (%s inferred)", n(c.Logins), n(c.InferredLogins))},
		{"kicks", fmt.Sprintf("%s (%s naming no displacer)", n(c.Kicks), n(c.UnnamedKicks))},
		{"displacements", n(c.Displacements)},
		{"online statuses", n(c.StatusUsers)},
		{"webhook callbacks", n(c.Webhooks)},
	}
	for cl := check.Class(0); cl < check.NumClasses; cl++ {
		vd := r.Verdicts[cl]
		v.Verdicts = append(v.Verdicts, verdictRow{Class: cl.String(), Count: vd.Count, Violation: cl.Violation()})
		for _, ex := range vd.Examples {
			v.Examples = append(v.Examples, exampleView{Class: cl.String(), User: ex.User, Text: ex.Text})
		}
	}
	kl := &r.KickLatency
	if n := kl.Count(); n > 0 {
		v.Latency = [][2]string{
			{"n", strconv.FormatInt(n, 10)},
			{"p50", fmtDur(kl.Quantile(50))},
			{"p90", fmtDur(kl.Quantile(90))},
			{"p99", fmtDur(kl.Quantile(99))},
			{"max", fmtDur(kl.Max())},
		}
	}
	if r.KickLatencyUnmeasured > 0 || r.KickLatencyEarly > 0 {
		v.Latency = append(v.Latency,
			[2]string{"unmeasured (no displacement time)", strconv.FormatInt(r.KickLatencyUnmeasured, 10)},
			[2]string{"early (target clock ahead)", strconv.FormatInt(r.KickLatencyEarly, 10)})
	}
	return v
}

func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func mauOf(r *mau.Report) *mauView {
	c := r.Calendar
	v := &mauView{Cheapest: r.Cheapest}
	mode := "simulated time"
	if c.Realtime {
		mode = "real time"
	}
	v.Summary = fmt.Sprintf("%s to %s (%d days, %s), day %s, %s; %s of %s users, seed %d",
		c.Start, c.End, c.Days, cmp.Or(c.Zone, "UTC"), cmp.Or(c.Day, "24h"), mode, humanize.Comma(int64(r.Users)), humanize.Comma(int64(r.Population)), r.Seed)
	for _, st := range r.Strategies {
		for _, m := range st.Months {
			if !slices.Contains(v.Months, m.Month) {
				v.Months = append(v.Months, m.Month)
			}
		}
	}
	slices.Sort(v.Months)
	for _, st := range r.Strategies {
		row := mauRow{Name: st.Name, Spec: specText(st.Spec), Logins: st.Logins(), Cheapest: st.Name == r.Cheapest, Projected: st.Projected}
		row.MAU = make([]int, len(v.Months))
		for _, m := range st.Months {
			row.MAU[slices.Index(v.Months, m.Month)] = m.MAU
		}
		for _, d := range st.Days {
			row.Reconnects += d.Reconnects
		}
		mean, most := st.DAUStats()
		row.DAUMean, row.DAUMax = humanize.FormatFloat("#,###.#", mean), most
		row.PeakOnline = humanize.Comma(st.PeakOnline)
		if st.PeakIsBound {
			row.PeakOnline = "≤ " + row.PeakOnline
		}
		row.Failed = st.Ops.LoginsFailed
		cur := st.Cost.Currency
		row.Cost = strings.TrimSpace(humanize.FormatFloat("#,###.##", st.Cost.Total) + " " + cur)
		if st.Cost.OverCheapest != 0 {
			row.OverCheapest = strings.TrimSpace("+" + humanize.FormatFloat("#,###.##", st.Cost.OverCheapest) + " " + cur)
		}
		v.Rows = append(v.Rows, row)
	}
	for _, m := range r.Mismatches {
		v.Mismatches = append(v.Mismatches, m.String())
	}
	if c, ok := dauChart(r); ok {
		v.DAU = &c
	}
	return v
}

func specText(s mau.StrategySpec) string {
	if !s.Custom() {
		return "preset"
	}
	var parts []string
	for _, kv := range [][2]string{{"login_on", s.LoginOn}, {"logout_on", s.LogoutOn}, {"background", s.Background}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return strings.Join(parts, ", ")
}

// fmtDur rounds a duration to three significant digits: "641µs", "1.12ms",
// "14.1s"; "-" for zero.
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	digits := int(math.Floor(math.Log10(float64(d)))) + 1
	if digits > 3 {
		p := time.Duration(math.Pow10(digits - 3))
		d = d.Round(p)
	}
	return d.String()
}

func fmtRate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// groupDigits writes a whole number with thousands separators (83,446),
// for the page's tables.
func groupDigits(v any) string {
	switch x := v.(type) {
	case int:
		return humanize.Comma(int64(x))
	case int64:
		return humanize.Comma(x)
	case uint64:
		return humanize.Comma(int64(x))
	}
	return fmt.Sprint(v)
}

// Show reports whether the page has the section name: every one, except
// that a month simulation's page leaves out those it has nothing for, so
// that its MAU section is not preceded by empty ones.
func (p *page) Show(name string) bool {
	if !p.monthRun {
		return true
	}
	switch name {
	case "summary":
		return len(p.Ops) > 0
	case "thresholds":
		return len(p.Thresholds) > 0
	case "latency":
		return len(p.Latency) > 0
	case "spectrum":
		return len(p.Spectrum) > 0
	case "online":
		return p.Online != nil
	case "errors":
		return len(p.Errors) > 0 || p.Cancelled != "" || p.ErrChart != nil
	case "kicks":
		return len(p.Events) > 0 || p.Kicks != nil
	case "kickout":
		return p.Kickout != nil
	}
	return true
}
