package report

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

func renderHTML(t *testing.T, f *results.File) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var (
	tagRe       = regexp.MustCompile(`(?is)<(script|link|img|iframe|source|embed|object)\b[^>]*>`)
	remoteAttr  = regexp.MustCompile(`(?i)\b(src|href|data)\s*=\s*["']?\s*(https?:)?//`)
	itemRe      = regexp.MustCompile(`<div class="item" id="(chart_[A-Za-z0-9_]+)"`)
	optionRe    = regexp.MustCompile(`let option_(chart_[A-Za-z0-9_]+) = (.*)\n`)
	sectionRe   = regexp.MustCompile(`<section id="([a-z]+)">`)
	allSections = []string{"run", "summary", "thresholds", "latency", "spectrum", "online", "errors", "kicks", "kickout", "mau"}
)

func TestHTMLStructure(t *testing.T) {
	f := loadSynth(t)
	page := renderHTML(t, f)

	var sections []string
	for _, m := range sectionRe.FindAllStringSubmatch(page, -1) {
		sections = append(sections, m[1])
	}
	if strings.Join(sections, ",") != strings.Join(allSections, ",") {
		t.Errorf("sections %v, want %v", sections, allSections)
	}
	lib, err := os.ReadFile("assets/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, string(lib)) {
		t.Error("the ECharts library is not inlined whole")
	}
	// Tags the page itself writes, the library's own text aside.
	own := strings.Replace(page, string(lib), "", 1)
	for _, tag := range tagRe.FindAllString(own, -1) {
		if remoteAttr.MatchString(tag) || strings.Contains(strings.ToLower(tag), " src=") {
			t.Errorf("tag loads something from elsewhere: %s", tag)
		}
	}
	if strings.Contains(page, "go-echarts-assets") {
		t.Error("page names the go-echarts assets host")
	}

	ids := itemRe.FindAllStringSubmatch(page, -1)
	want := []string{"chart_latency_connect", "chart_latency_login", "chart_latency_logout", "chart_latency_resume",
		"chart_spectrum_connect", "chart_spectrum_login", "chart_spectrum_logout", "chart_spectrum_resume", "chart_spectrum_kick_notice",
		"chart_online", "chart_errors", "chart_kicks", "chart_mau_dau"}
	var got []string
	for _, m := range ids {
		got = append(got, m[1])
		if !strings.Contains(page, "echarts.init(document.getElementById('"+m[1]+"')") {
			t.Errorf("chart %s is never drawn", m[1])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("charts %v\nwant %v", got, want)
	}

	for _, s := range []string{
		"synthetic", "testdata/synthetic.yaml", "v0.0.0-test", // run metadata
		"login.p99 &lt; 50ms", "FAIL", // thresholds
		"6017", "invalid parameter", "6208", // errors by code
		"wrong_victim", "late_kick", "u044-Windows kicked by seq 2", "2 violations", // oracle
		"(cheapest)", "MAU 2026-01", "MAU 2026-02", "login_on: chat_open", // MAU
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// TestHTMLEmbedsSeries decodes the options of the latency and online charts
// and checks their data against the snapshot's series.
func TestHTMLEmbedsSeries(t *testing.T) {
	f := loadSynth(t)
	s := f.Metrics
	page := renderHTML(t, f)
	options := map[string]map[string]any{}
	for _, m := range optionRe.FindAllStringSubmatch(page, -1) {
		var o map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(m[2]), ";")), &o); err != nil {
			if strings.Contains(m[1], "spectrum") {
				continue // holds formatter functions: JavaScript, not JSON
			}
			t.Fatalf("option of %s: %v", m[1], err)
		}
		options[m[1]] = o
	}
	series := func(chart, name string) []any {
		t.Helper()
		o := options[chart]
		if o == nil {
			t.Fatalf("no option for %s", chart)
		}
		for _, x := range o["series"].([]any) {
			sr := x.(map[string]any)
			if sr["name"] == name {
				var out []any
				for _, d := range sr["data"].([]any) {
					out = append(out, d.(map[string]any)["value"])
				}
				return out
			}
		}
		t.Fatalf("%s has no series %q", chart, name)
		return nil
	}
	maxes := series("chart_latency_login", "max")
	login := s.Series.Ops["login"]
	if len(maxes) != s.Series.Seconds {
		t.Fatalf("%d max points, %d seconds", len(maxes), s.Series.Seconds)
	}
	for i, v := range maxes {
		if login.Attempted(i) == 0 {
			if v != "-" {
				t.Errorf("second %d: max %v without attempts", i, v)
			}
			continue
		}
		if want := float64(login.MaxNs[i]) / 1e6; math.Abs(v.(float64)-want) > 0.0006 {
			t.Errorf("second %d: max %v, series %.3f", i, v, want)
		}
	}
	online := series("chart_online", "online (end)")
	for i, v := range online {
		if int64(v.(float64)) != s.Series.OnlineEnd[i] {
			t.Errorf("second %d: online %v, series %d", i, v, s.Series.OnlineEnd[i])
		}
	}
	kicked := series("chart_kicks", "kicked")
	var n int64
	for _, v := range kicked {
		n += int64(v.(float64))
	}
	if n != s.EventCount("kicked", "") {
		t.Errorf("kicks chart sums to %d, snapshot %d", n, s.EventCount("kicked", ""))
	}
}

func TestHTMLSections(t *testing.T) {
	base := loadSynth(t)
	cases := []struct {
		name    string
		edit    func(f *results.File)
		want    []string
		notWant []string
	}{
		{name: "complete", want: []string{"Charts drawn with Apache ECharts 5.6.0"}, notWant: []string{`id="interrupted"`, "holds no MAU accounting"}},
		{name: "interrupted", edit: func(f *results.File) { f.Interrupted = true },
			want: []string{`id="interrupted"`, "This run was interrupted"}},
		{name: "no verdicts", edit: func(f *results.File) { f.Kickout, f.MAU, f.Thresholds = nil, nil, nil },
			want:    []string{"The kickout oracle did not run", "holds no MAU accounting", "set no thresholds"},
			notWant: []string{"chart_mau_dau"}},
		{name: "unreadable mau", edit: func(f *results.File) { *f = *withSection(t, f, "mau", []byte(`{"strategies": 3}`)) },
			want: []string{"Note: mau section left out", "holds no MAU accounting", "wrong_victim"}},
		{name: "no metrics series", edit: func(f *results.File) {
			m := *f.Metrics
			m.Series = metrics.Series{}
			f.Metrics = &m
		}, want: []string{"No per-second series"}, notWant: []string{"chart_online", "chart_latency_login"}},
		{name: "hostile names", edit: func(f *results.File) {
			f.Scenario = `</script><script>alert(1)</script>`
			*f = *withSection(t, f, "kickout", mustJSON(t, map[string]any{"policy": `</script><script>alert(2)`}))
			m := *f.Metrics
			m.Ops = maps.Clone(m.Ops)
			login := maps.Clone(m.Ops["login"])
			login[`</script><script>alert(3)//`] = login[policy.Android]
			m.Ops["login"] = login
			f.Metrics = &m
		}, want: []string{"&lt;/script&gt;&lt;script&gt;alert(1)"}, notWant: []string{"<script>alert("}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := *base
			if tc.edit != nil {
				tc.edit(&f)
			}
			page := renderHTML(t, &f)
			for _, s := range tc.want {
				if !strings.Contains(page, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.notWant {
				if i := strings.Index(page, s); i >= 0 {
					t.Errorf("page has %q: …%s…", s, page[max(0, i-200):min(len(page), i+100)])
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteHTMLFileAtomic(t *testing.T) {
	f := loadSynth(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTMLFile(path, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</html>")) {
		t.Errorf("file is not the whole page: %.60q … %.60q", b, b[max(0, len(b)-60):])
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only report.html (no temporary left)", len(entries))
	}
	if err := WriteHTMLFile(filepath.Join(dir, "missing", "report.html"), f); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("writing into a missing directory: %v, want an error naming the path", err)
	}
}
