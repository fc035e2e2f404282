package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/imload/imload/event"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

// monthFile is a month simulation's results, as maurun.Execute writes
// them: four strategies with their options spelt out, numbers in the
// millions, operations without errors, no kicks and no per-second series.
func monthFile(t testing.TB) *results.File {
	f := *loadSynth(t)
	f.Environment.Target = results.Target{Kind: results.MonthTargetPrefix + "inproc"}
	r := *synthMAU()
	r.Strategies = nil
	specs := []mau.StrategySpec{
		{Name: "eager", LoginOn: "app_start", LogoutOn: "never", Background: "drop"},
		{Name: "lazy", LoginOn: "chat_open", LogoutOn: "never", Background: "drop"},
		{Name: "lazy-logout", LoginOn: "chat_open", LogoutOn: "chat_close", Background: "drop"},
		{Name: "background-keep", LoginOn: "app_start", LogoutOn: "never", Background: "keep"},
	}
	for i, sp := range specs {
		st := synthMAU().Strategies[i%2]
		st.Name, st.Spec = sp.Name, sp
		for j := range st.Months {
			st.Months[j].MAU, st.Months[j].Logins = 83446+1000*i, 1053759
		}
		for j := range st.Days {
			st.Days[j].Reconnects = 1103432
		}
		st.Ops.Logins, st.Ops.LoginsFailed = 2107519, 0
		st.Cost.Total = 18362.25
		r.Strategies = append(r.Strategies, st)
	}
	f.MAU = &r
	// Logins in the thousands, with no error and no per-second series.
	rec := metrics.NewRecorder()
	for i := range 1234 {
		rec.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, UserID: "u" + strconv.Itoa(i), Device: "d", Platform: policy.Android, Latency: time.Millisecond})
	}
	m := rec.Snapshot()
	m.Series = metrics.Series{}
	f.Metrics = m
	return &f
}

// A month simulation's page leaves out the sections it has nothing for
// (no "No per-second series", no empty errors section) and writes its
// numbers with thousands separators; a run of phases keeps every section.
func TestHTMLMonthRun(t *testing.T) {
	f := monthFile(t)
	page := renderHTML(t, f)
	for _, s := range []string{"No per-second series", "No latency recorded", "No operations recorded", `<section id="latency">`, `<section id="online">`, `href="#latency"`} {
		if strings.Contains(page, s) {
			t.Errorf("the month's page has %q", s)
		}
	}
	logins := "<td>" + humanize.Comma(f.MAU.Strategies[0].Logins()) + "</td>"
	if f.MAU.Strategies[0].Logins() < 1000 {
		t.Fatalf("logins %s have no thousands", logins)
	}
	for _, s := range []string{`<section id="mau">`, `<section id="summary">`, "<td>83,446</td>", logins, "<td>3,310,296</td>", "18,362.25 USD"} {
		if !strings.Contains(page, s) {
			t.Errorf("the month's page lacks %q", s)
		}
	}
	phases := *f
	phases.Environment.Target = results.Target{Kind: "embedded"}
	if page := renderHTML(t, &phases); !strings.Contains(page, "No per-second series") || !strings.Contains(page, `<section id="latency">`) {
		t.Error("a run of phases lost its empty sections")
	}
}

// A month simulation's terminal summary writes its counts with thousands
// separators; a run of phases writes them plain.
func TestTextMonthRunGroupsCounts(t *testing.T) {
	f := monthFile(t)
	login := strconv.FormatInt(f.Metrics.Op("login").Count, 10)
	if len(login) < 4 {
		t.Fatalf("login count %s has no thousands", login)
	}
	grouped := login[:len(login)-3] + "," + login[len(login)-3:]
	row := func(f *results.File) string {
		var buf bytes.Buffer
		if err := WriteText(&buf, f); err != nil {
			t.Fatal(err)
		}
		return regexp.MustCompile(`(?m)^login\s+all\s+\S+`).FindString(buf.String())
	}
	if got := row(f); !strings.HasSuffix(got, " "+grouped) {
		t.Errorf("month run: login row %q, want count %s", got, grouped)
	}
	phases := *f
	phases.Environment.Target = results.Target{Kind: "embedded"}
	if got := row(&phases); !strings.HasSuffix(got, " "+login) {
		t.Errorf("run of phases: login row %q, want count %s", got, login)
	}
}

// The strategy table of a month's page fits a 1400 px window: it does not
// scroll sideways and its cost column is in view.
func TestBrowserMonthTableFits(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "month.html")
	if err := WriteHTMLFile(page, monthFile(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Measure once laid out, into attributes --dump-dom shows.
	probe := `<script>(function () {
  var t = document.querySelector('table.mau'), box = t.parentElement, cost = null;
  t.querySelectorAll('th').forEach(function (th) { if (th.textContent === 'cost') cost = th; });
  document.body.setAttribute('data-mau-overflow', String(box.scrollWidth - box.clientWidth));
  document.body.setAttribute('data-cost-right', String(Math.ceil(cost.getBoundingClientRect().right)));
  document.body.setAttribute('data-viewport', String(document.documentElement.clientWidth));
})();</script></body>`
	i := bytes.LastIndex(b, []byte("</body>")) // the inlined library holds the text too
	b = append(b[:i:i], append([]byte(probe), b[i+len("</body>"):]...)...)
	if err := os.WriteFile(page, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dom, _ := runChromium(t, bin, "file://"+filepath.ToSlash(page), "--dump-dom", "--window-size=1400,1000", "--hide-scrollbars")
	attr := func(name string) int {
		m := regexp.MustCompile(name + `="(-?\d+)"`).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("no %s in the page", name)
		}
		v, _ := strconv.Atoi(string(m[1]))
		return v
	}
	over, right, view := attr("data-mau-overflow"), attr("data-cost-right"), attr("data-viewport")
	t.Logf("strategy table: %d px beyond its box; cost column ends at %d of %d px", over, right, view)
	if over > 0 {
		t.Errorf("the strategy table scrolls sideways by %d px at 1400 px", over)
	}
	if right > view {
		t.Errorf("the cost column ends at %d px, beyond the %d px window", right, view)
	}
}
