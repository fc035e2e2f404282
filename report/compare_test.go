package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/compare"
)

// synthCompare compares the synthetic results with a second copy of them
// (another seed), so the page has every section filled.
func synthCompare(t *testing.T) *compare.Result {
	t.Helper()
	b := loadSynth(t)
	n := loadSynth(t)
	n.Seed++
	r, err := compare.Compare([]compare.Run{{Name: "base.json", File: b}}, []compare.Run{{Name: "new.json", File: n}}, compare.Options{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompareHTMLStructure(t *testing.T) {
	r := synthCompare(t)
	var buf bytes.Buffer
	if err := WriteCompareHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	var sections []string
	for _, m := range sectionRe.FindAllStringSubmatch(page, -1) {
		sections = append(sections, m[1])
	}
	if got, want := strings.Join(sections, ","), "runs,verdicts,spectrum,latency,counts"; got != want {
		t.Errorf("sections %s, want %s", got, want)
	}
	lib, err := os.ReadFile("assets/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, string(lib)) {
		t.Error("the ECharts library is not inlined")
	}
	own := strings.Replace(page, string(lib), "", 1)
	for _, tag := range tagRe.FindAllString(own, -1) {
		if remoteAttr.MatchString(tag) || strings.Contains(strings.ToLower(tag), " src=") {
			t.Errorf("tag loads something from elsewhere: %s", tag)
		}
	}
	for _, want := range []string{`<div id="js-errors"`, "header h1 {", "data-charts-drawn", "login.p99", "no change", "base.json", "Differs: seed"} {
		if !strings.Contains(own, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Spectra of both sides overlaid, and latency over time of both runs.
	for _, id := range []string{"chart_spectrum_login", "chart_compare_latency_login"} {
		i := strings.Index(own, "let option_"+id+" = ")
		if i < 0 {
			t.Errorf("no chart %s", id)
			continue
		}
		opt := own[i : i+strings.Index(own[i:], "\n")]
		if !strings.Contains(opt, `"name":"base`) || !strings.Contains(opt, `"name":"new`) {
			t.Errorf("%s lacks a base or a new series", id)
		}
	}
	rows := strings.Count(own, `<td class="l">login.`)
	if want := 7; rows < want {
		t.Errorf("%d login rows in the verdict table, want at least %d", rows, want)
	}
}

// TestBrowserRendersCompare opens the comparison page in headless Chromium,
// as TestBrowserRendersReport does the report: no JavaScript error, every
// chart container drawn on a canvas.
func TestBrowserRendersCompare(t *testing.T) {
	bin := chromium(t)
	r := synthCompare(t)
	page := filepath.Join(t.TempDir(), "compare.html")
	if err := WriteCompareHTMLFile(page, r); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range itemRe.FindAllSubmatch(html, -1) {
		ids = append(ids, string(m[1]))
	}
	if len(ids) < 2 {
		t.Fatalf("the page has %d chart containers", len(ids))
	}
	dom, logs := runChromium(t, bin, "file://"+filepath.ToSlash(page), "--dump-dom", "--enable-logging=stderr", "--v=0")
	for _, line := range consoleRe.FindAll(logs, -1) {
		t.Errorf("console: %s", line)
	}
	if jsErrorsRe.Match(dom) {
		t.Error("the page caught JavaScript errors (data-js-errors is set)")
	}
	drawn := map[string]bool{}
	for _, m := range drawnRe.FindAllSubmatch(dom, -1) {
		drawn[string(m[1])] = true
	}
	for _, id := range ids {
		if !drawn[id] {
			t.Errorf("chart %s has no canvas", id)
		}
	}
	if want := fmt.Sprintf(`data-charts-drawn="%d"`, len(ids)); !bytes.Contains(dom, []byte(want)) {
		t.Errorf("the page's own count lacks %s", want)
	}
}
