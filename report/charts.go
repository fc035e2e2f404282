package report

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"

	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
)

// chart is one rendered chart: its container element and the script that
// draws it with the inlined ECharts library.
type chart struct {
	ID      string
	Element template.HTML
	Script  template.HTML
}

// spectrumMaxX is 1/(1-0.99999): the percentile axis ends at 99.999 %.
const spectrumMaxX = 1e5

// Chart sizes and the formatter that turns the spectrum's log axis,
// 1/(1-q), back into percentiles.
const (
	chartHeight       = "340px"
	percentileLabelJS = `function (v) { var p = 100 - 100 / v; return (Math.round(p * 1000) / 1000) + '%'; }`
	spectrumTooltipJS = `function (p) { var q = 100 - 100 / p.value[0]; return p.seriesName + '<br/>' + q.toFixed(3) + ' %: ' + p.value[1] + ' ms'; }`
)

// newInit is the initialization of every chart: a fixed ID so the page is
// reproducible, full width, and no assets host (the library is inlined).
func newInit(id string) charts.GlobalOpts {
	return charts.WithInitializationOpts(opts.Initialization{
		ChartID:    id,
		Width:      "100%",
		Height:     chartHeight,
		Theme:      "white",
		Renderer:   "canvas",
		AssetsHost: "./",
		PageTitle:  "imload report",
	})
}

func commonOpts(id, title, subtitle string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		newInit(id),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: title, Subtitle: subtitle}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "4", Right: "10", Type: "scroll", Width: "60%"}),
		charts.WithGridOpts(opts.Grid{Left: "64", Right: "64", Top: "64", Bottom: "48"}),
	}
}

// snippet renders a chart into its element and script. Every "<" inside
// the script is written as the escape \u003c, so no name taken from the
// results file can end the script element or open a comment in it; the
// script's JavaScript (templates and the functions above) uses "<" only in
// string literals, where the escape means the same.
func snippet(id string, r render.Renderer) chart {
	s := r.RenderSnippet()
	script := s.Script
	const open, end = "<script", "</script>"
	if i, j := strings.Index(script, ">"), strings.LastIndex(script, end); strings.HasPrefix(script, open) && i >= 0 && j > i {
		script = script[:i+1] + strings.ReplaceAll(script[i+1:j], "<", `\u003c`) + script[j:]
	}
	return chart{ID: id, Element: template.HTML(s.Element), Script: template.HTML(script)}
}

func chartID(parts ...string) string {
	var b strings.Builder
	b.WriteString("chart")
	for _, p := range parts {
		b.WriteByte('_')
		for _, r := range p {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}

// secondLabels are the category labels of a per-second axis.
func secondLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// lineData turns values into points; NaN is a gap ("-" to ECharts).
func lineData(vs []float64) []opts.LineData {
	out := make([]opts.LineData, len(vs))
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[i] = opts.LineData{Value: "-"}
		} else {
			out[i] = opts.LineData{Value: round3(v)}
		}
	}
	return out
}

func countData(vs []int64) []opts.LineData {
	out := make([]opts.LineData, len(vs))
	for i, v := range vs {
		out[i] = opts.LineData{Value: v}
	}
	return out
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func timeAxis(seconds int) []charts.GlobalOpts {
	o := []charts.GlobalOpts{
		charts.WithXAxisOpts(opts.XAxis{Name: "second", NameLocation: "middle", NameGap: 28, Type: "category"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
	}
	if seconds > 300 {
		o = append(o, charts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}, opts.DataZoom{Type: "slider"}))
	}
	return o
}

func lineOpts() charts.SeriesOpts {
	return charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), ConnectNulls: opts.Bool(false)})
}

// latencyChart draws one operation's latency per second: p50, p99 and max
// (the mean instead of the percentiles for operations without a per-second
// histogram), in milliseconds.
func latencyChart(o opSeconds) chart {
	id := chartID("latency", o.op)
	n := len(o.rows)
	pick := func(f func(second) float64) []float64 {
		vs := make([]float64, n)
		for i, r := range o.rows {
			vs[i] = f(r)
		}
		return vs
	}
	sub := "per second, all platforms; ms, log scale"
	if !o.quantiles {
		sub = "per second, all platforms; ms, log scale (no per-second histogram: mean and max)"
	}
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, o.op+" latency", sub),
		append(timeAxis(n), charts.WithYAxisOpts(opts.YAxis{Name: "ms", Type: "log"}))...)...)
	l.SetXAxis(secondLabels(n))
	if o.quantiles {
		l.AddSeries("p50", lineData(pick(func(r second) float64 { return r.p50 })), lineOpts())
		l.AddSeries("p99", lineData(pick(func(r second) float64 { return r.p99 })), lineOpts())
	} else {
		l.AddSeries("mean", lineData(pick(func(r second) float64 { return r.mean })), lineOpts())
	}
	l.AddSeries("max", lineData(pick(func(r second) float64 { return r.max })), lineOpts())
	return snippet(id, l)
}

// spectrumPoints turns a distribution into points of the spectrum: x is
// 1/(1-q) on a log axis, clipped at 99.999 %, y the latency in ms.
func spectrumPoints(d distribution, unitMs float64) []opts.LineData {
	var out []opts.LineData
	for _, b := range d.hist.CumulativeDistributionWithTicks(TicksPerHalfDistance) {
		q := b.Quantile / 100
		x := spectrumMaxX
		if q < 1 {
			x = math.Min(1/(1-q), spectrumMaxX)
		}
		out = append(out, opts.LineData{Value: []float64{round3(x), round3(float64(b.ValueAt) * unitMs)}})
		if x >= spectrumMaxX {
			break
		}
	}
	return out
}

// spectrumChart draws the percentile spectrum of one operation (or the
// kick-notice delay): latency by percentile, HdrHistogram style, one line
// per platform and one for all.
func spectrumChart(name string, ds []distribution, unitMs float64) chart {
	id := chartID("spectrum", name)
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, name+" latency by percentile", "ms; percentile axis 1/(1-q), log scale"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", Formatter: opts.FuncOpts(spectrumTooltipJS)}),
		charts.WithXAxisOpts(opts.XAxis{
			Name: "percentile", NameLocation: "middle", NameGap: 28, Type: "log", Min: 1, Max: spectrumMaxX,
			AxisLabel: &opts.AxisLabel{Formatter: opts.FuncOpts(percentileLabelJS)},
			SplitLine: &opts.SplitLine{Show: opts.Bool(true)},
		}),
		charts.WithYAxisOpts(opts.YAxis{Name: "ms", Type: "value"}),
	)...)
	for _, d := range ds {
		l.AddSeries(d.platform, spectrumPoints(d, unitMs), charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Step: "end"}))
	}
	return snippet(id, l)
}

// onlineChart draws instances online (max and end of each second) and
// logins per second (attempted and ok) on a second axis.
func onlineChart(s *metrics.Snapshot, ops []opSeconds) chart {
	id := chartID("online")
	n := s.Series.Seconds
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, "", "online: instances with a session; logins: attempts and successes per second"),
		append(timeAxis(n), charts.WithYAxisOpts(opts.YAxis{Name: "online", Type: "value"}))...)...)
	l.ExtendYAxis(opts.YAxis{Name: "logins/s", Type: "value", Position: "right", SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	l.SetXAxis(secondLabels(n))
	l.AddSeries("online (max)", countData(s.Series.OnlineMax), lineOpts())
	l.AddSeries("online (end)", countData(s.Series.OnlineEnd), lineOpts())
	for _, o := range ops {
		if o.op != "login" {
			continue
		}
		att, ok := make([]int64, n), make([]int64, n)
		for i, r := range o.rows {
			att[i], ok[i] = r.attempted, r.ok
		}
		right := charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1, ShowSymbol: opts.Bool(false)})
		l.AddSeries("logins/s", countData(att), right)
		l.AddSeries("logins ok/s", countData(ok), right)
	}
	return snippet(id, l)
}

// errorsChart stacks failed and timed-out attempts per second for the
// operations that had any; ok is false when none had.
func errorsChart(ops []opSeconds, seconds int) (chart, bool) {
	id := chartID("errors")
	b := charts.NewBar()
	b.SetGlobalOptions(append(commonOpts(id, "Failed and timed-out operations per second", "all platforms"),
		append(timeAxis(seconds), charts.WithYAxisOpts(opts.YAxis{Name: "per second", Type: "value"}))...)...)
	b.SetXAxis(secondLabels(seconds))
	has := false
	for _, o := range ops {
		failed, timed := make([]opts.BarData, len(o.rows)), make([]opts.BarData, len(o.rows))
		var nf, nt int64
		for i, r := range o.rows {
			failed[i], timed[i] = opts.BarData{Value: r.failed}, opts.BarData{Value: r.timedOut}
			nf += r.failed
			nt += r.timedOut
		}
		stack := charts.WithBarChartOpts(opts.BarChart{Stack: "errors"})
		if nf > 0 {
			b.AddSeries(o.op+" failed", failed, stack)
			has = true
		}
		if nt > 0 {
			b.AddSeries(o.op+" timed out", timed, stack)
			has = true
		}
	}
	return snippet(id, b), has
}

// eventsChart draws kicks and the other things devices suffered per second.
func eventsChart(s *metrics.Snapshot) (chart, bool) {
	id := chartID("kicks")
	n := s.Series.Seconds
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, "Kicks and other events per second", "kicked: kick notices devices received"),
		append(timeAxis(n), charts.WithYAxisOpts(opts.YAxis{Name: "per second", Type: "value"}))...)...)
	l.SetXAxis(secondLabels(n))
	names := s.EventNames()
	for name := range s.Series.Events {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	has := false
	for _, name := range names {
		vs, ok := s.Series.Events[name]
		if !ok {
			continue
		}
		l.AddSeries(name, countData(vs), lineOpts())
		has = true
	}
	return snippet(id, l), has
}

// dauChart draws each strategy's DAU per simulated day.
func dauChart(r *mau.Report) (chart, bool) {
	id := chartID("mau", "dau")
	var labels []string
	for _, st := range r.Strategies {
		if len(st.Days) > len(labels) {
			labels = labels[:0]
			for _, d := range st.Days {
				labels = append(labels, d.Date)
			}
		}
	}
	if len(labels) == 0 {
		return chart{}, false
	}
	l := charts.NewLine()
	l.SetGlobalOptions(append(commonOpts(id, "DAU per day by strategy", "distinct users with a successful login that day"),
		charts.WithXAxisOpts(opts.XAxis{Name: "day", NameLocation: "middle", NameGap: 28, Type: "category"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithYAxisOpts(opts.YAxis{Name: "DAU", Type: "value"}),
	)...)
	l.SetXAxis(labels)
	for _, st := range r.Strategies {
		vs := make([]int64, len(st.Days))
		for i, d := range st.Days {
			vs[i] = int64(d.DAU)
		}
		l.AddSeries(st.Name, countData(vs), lineOpts())
	}
	return snippet(id, l), true
}
