package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	_ "embed"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/imload/imload/compare"
)

//go:embed compare.html.tmpl
var compareTemplate string

// comparePage is what the comparison template shows.
type comparePage struct {
	Title                 string
	Style, ErrorCapture   template.HTML
	ChartCount            template.HTML
	Regressed             []string
	Differences, Warnings []string
	Runs                  [][5]string
	Method                string
	Rows                  []compareRow
	Spectrum, Latency     []chart
	Kickout, MAU          [][3]string
	ECharts               template.JS
	EChartsVersion        string
}

// Charts lists every chart of the page, in page order.
func (p *comparePage) Charts() []chart {
	return append(append([]chart(nil), p.Spectrum...), p.Latency...)
}

type compareRow struct {
	Figure, Platform, Base, New, Change, Interval, Tolerance, RankP string
	Verdict, Class, Note                                            string
	Sub                                                             bool
}

// WriteCompareHTML writes a comparison (package compare) as one
// self-contained page: the verdicts, the percentile spectra of both sides
// overlaid, and latency over time of every run, with the look, the
// JavaScript error capture and the inlined ECharts of the run report.
func WriteCompareHTML(w io.Writer, r *compare.Result) error {
	p, err := buildComparePage(r)
	if err != nil {
		return err
	}
	tpl, err := template.New("compare").Funcs(template.FuncMap{"join": strings.Join}).Parse(compareTemplate)
	if err != nil {
		return fmt.Errorf("report: compare template: %w", err)
	}
	return tpl.Execute(w, p)
}

// WriteCompareHTMLFile writes the comparison page to path atomically.
func WriteCompareHTMLFile(path string, r *compare.Result) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteCompareHTML(w, r) })
}

// pagePart cuts a literal part of the run report's page template: from
// the first from (after the index of anchor, when given) through the next
// to. The parts it cuts hold no template actions.
func pagePart(anchor, from, to string) (template.HTML, error) {
	s := pageTemplate
	if anchor != "" {
		i := strings.Index(s, anchor)
		if i < 0 {
			return "", fmt.Errorf("report: page template lacks %q", anchor)
		}
		j := strings.LastIndex(s[:i], from)
		if j < 0 {
			return "", fmt.Errorf("report: page template lacks %q before %q", from, anchor)
		}
		s = s[j:]
	}
	i := strings.Index(s, from)
	if i < 0 {
		return "", fmt.Errorf("report: page template lacks %q", from)
	}
	k := strings.Index(s[i:], to)
	if k < 0 {
		return "", fmt.Errorf("report: page template lacks %q after %q", to, from)
	}
	part := s[i : i+k+len(to)]
	if strings.Contains(part, "{{") {
		return "", fmt.Errorf("report: page template part %q holds template actions", from)
	}
	return template.HTML(part), nil
}

func buildComparePage(r *compare.Result) (*comparePage, error) {
	lib, err := assets.ReadFile("assets/echarts.min.js")
	if err != nil {
		return nil, fmt.Errorf("report: embedded ECharts: %w", err)
	}
	ver, _ := assets.ReadFile("assets/echarts.version")
	p := &comparePage{
		Regressed: r.RegressedFigures(), Differences: r.Differences, Warnings: r.Warnings,
		ECharts: template.JS(lib), EChartsVersion: strings.TrimSpace(string(ver)),
	}
	if p.Style, err = pagePart("", "<style>", "</style>"); err != nil {
		return nil, err
	}
	if p.ErrorCapture, err = pagePart("", `<div id="js-errors"`, "</script>"); err != nil {
		return nil, err
	}
	if p.ChartCount, err = pagePart("document.querySelectorAll('.item')", "<script>", "</script>"); err != nil {
		return nil, err
	}
	scen := ""
	if len(r.Base) > 0 {
		scen = r.Base[0].Scenario
	}
	p.Title = "imload compare: " + scen
	for side, rs := range [][]compare.RunInfo{r.Base, r.New} {
		name := [2]string{"base", "new"}[side]
		for _, ri := range rs {
			p.Runs = append(p.Runs, [5]string{name, ri.Name, ri.Scenario, strconv.FormatInt(ri.Seed, 10), strconv.Itoa(ri.Seconds)})
		}
	}
	m := r.Method
	p.Method = fmt.Sprintf("Intervals: %.0f%%, %s, %d resamples, seed %d, %s.", 100*m.Confidence, m.Bootstrap, m.Resamples, m.Seed, m.BlockRule)
	if m.RankTest != "" {
		p.Method += " Rank test: " + m.RankTest + "."
	}
	prevOp := ""
	for _, f := range r.Figures {
		row := compareRow{
			Figure: f.Metric(), Platform: f.Platform,
			Base: compare.FormatValue(f.Unit, float64(f.Base)), New: compare.FormatValue(f.Unit, float64(f.New)),
			Change: compare.FormatChange(f.Difference, float64(f.Change)), Interval: compare.FormatInterval(f.Difference, float64(f.Lo), float64(f.Hi)),
			Tolerance: f.Tolerance, RankP: "-", Verdict: string(f.Verdict), Note: f.Note,
			Sub: f.Op == prevOp && f.Platform != "all",
		}
		if !f.Gated {
			row.Tolerance = "off"
		}
		if !math.IsNaN(float64(f.RankP)) {
			row.RankP = strconv.FormatFloat(float64(f.RankP), 'f', 3, 64)
		}
		switch f.Verdict {
		case compare.Regressed:
			row.Class = "regressed"
		case compare.Improved:
			row.Class = "improved"
		}
		prevOp = f.Op
		p.Rows = append(p.Rows, row)
	}
	count := func(v compare.Num) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return strconv.FormatFloat(float64(v), 'f', -1, 64)
	}
	for _, c := range r.Kickout {
		p.Kickout = append(p.Kickout, [3]string{c.Name, count(c.Base), count(c.New)})
	}
	for _, c := range r.MAU {
		p.MAU = append(p.MAU, [3]string{c.Name, count(c.Base), count(c.New)})
	}
	if err := compareCharts(p, r); err != nil {
		return nil, err
	}
	return p, nil
}

// compareCharts adds a spectrum per operation (base and new, each side's
// runs merged) and a latency-over-time chart per operation (every run).
func compareCharts(p *comparePage, r *compare.Result) error {
	var ops []string
	for _, f := range r.Figures {
		if len(ops) == 0 || ops[len(ops)-1] != f.Op {
			ops = append(ops, f.Op)
		}
	}
	sides := [2][]compare.Run{r.BaseRuns, r.NewRuns}
	names := [2]string{"base", "new"}
	for _, op := range ops {
		var ds []distribution
		unitMs := 0.0
		for s, runs := range sides {
			var merged *hdr.Histogram
			for _, run := range runs {
				all, err := distributions(run.File.Metrics)
				if err != nil {
					return err
				}
				unitMs = float64(run.File.Metrics.Histogram.UnitNs) / 1e6
				for _, d := range all {
					if d.name != op || d.platform != "all" {
						continue
					}
					if merged == nil {
						merged = hdr.New(d.hist.LowestTrackableValue(), d.hist.HighestTrackableValue(), int(d.hist.SignificantFigures()))
					}
					if dropped := merged.Merge(d.hist); dropped != 0 {
						return fmt.Errorf("report: merging %s histograms of the %s runs dropped %d values", op, names[s], dropped)
					}
				}
			}
			if merged != nil {
				ds = append(ds, distribution{name: op, platform: names[s], hist: merged})
			}
		}
		if len(ds) > 0 {
			p.Spectrum = append(p.Spectrum, spectrumChart(op, ds, unitMs))
		}
		if c, ok := compareLatencyChart(op, sides, names); ok {
			p.Latency = append(p.Latency, c)
		}
	}
	return nil
}

// compareLatencyChart draws op's p99 per second (the mean for operations
// without per-second histograms) of every run, in ms on a log axis.
func compareLatencyChart(op string, sides [2][]compare.Run, names [2]string) (chart, bool) {
	id := chartID("compare", "latency", op)
	type line struct {
		name string
		vs   []float64
	}
	var lines []line
	n := 0
	quantiles := true
	for s, runs := range sides {
		for i, run := range runs {
			for _, o := range perSecond(run.File.Metrics) {
				if o.op != op {
					continue
				}
				quantiles = quantiles && o.quantiles
				vs := make([]float64, len(o.rows))
				for j, row := range o.rows {
					vs[j] = row.p99
					if !o.quantiles {
						vs[j] = row.mean
					}
				}
				name := names[s]
				if len(runs) > 1 {
					name += " " + strconv.Itoa(i+1)
				}
				lines = append(lines, line{name, vs})
				n = max(n, len(vs))
			}
		}
	}
	if len(lines) == 0 {
		return chart{}, false
	}
	stat := "p99"
	if !quantiles {
		stat = "mean"
	}
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, op+" latency over time", stat+" per second, all platforms; ms, log scale"),
		append(timeAxis(n), charts.WithYAxisOpts(opts.YAxis{Name: "ms", Type: "log"}))...)...)
	l.SetXAxis(secondLabels(n))
	for _, ln := range lines {
		vs := ln.vs
		for len(vs) < n {
			vs = append(vs, math.NaN())
		}
		l.AddSeries(ln.name+" "+stat, lineData(vs), lineOpts())
	}
	return snippet(id, l), true
}
