package run

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/report"
)

// mauOps returns the operations' counts of a MAU run's results and what
// its strategies say they asked of the target.
func mauTotals(t *testing.T, res *Outcome) (logins, connects, logouts, resumed int64) {
	t.Helper()
	rep, err := res.MAUReport()
	if err != nil || rep == nil {
		t.Fatalf("no MAU report: %v", err)
	}
	for _, s := range rep.Strategies {
		logins += s.Ops.Logins
		connects += s.Ops.Connects
		logouts += s.Ops.Logouts
		resumed += s.Ops.Resumes - s.Ops.ResumeFallbacks
	}
	return
}

// TestMAURunRecordsOperations: the app sessions of a month simulation are
// devices like any other: the results hold their operations' counts (as
// many logins, connects, logouts and resumes as the strategies asked of
// the target), and the kickout oracle judged every user of every strategy
// on the clean server with no violation. The terminal report shows both.
func TestMAURunRecordsOperations(t *testing.T) {
	sc := parseScenario(t, mauYAML("inproc", 400, 6, "[eager, lazy-logout, background-keep]"))
	res, err := Execute(t.Context(), Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := res.MAUReport()
	logins, connects, logouts, resumed := mauTotals(t, res)
	m := res.File.Metrics
	var okLogins int64
	for _, s := range rep.Strategies {
		okLogins += s.Logins()
		if s.Ops.LoginsFailed != 0 {
			t.Errorf("%s: %d failed logins", s.Name, s.Ops.LoginsFailed)
		}
	}
	if logins == 0 || logouts == 0 || resumed == 0 {
		t.Fatalf("the strategies did too little to test: %d logins, %d logouts, %d resumed", logins, logouts, resumed)
	}
	for _, c := range []struct {
		op   string
		want int64
	}{{"login", logins}, {"connect", connects}, {"logout", logouts}} {
		if got := m.Op(c.op).Count; got != c.want {
			t.Errorf("%s.count = %d, the strategies asked %d", c.op, got, c.want)
		}
	}
	// A resume without a token falls back to a login at once; one with a
	// token is sent, and a failed one falls back too.
	if got := m.Op("resume").OK; got != resumed {
		t.Errorf("resume ok = %d, the strategies resumed %d sessions", got, resumed)
	}
	if got := m.Op("login").OK; got != okLogins {
		t.Errorf("login ok = %d, the MAU count has %d successful logins", got, okLogins)
	}
	k := res.Kickout
	if k == nil || res.File.Kickout != k {
		t.Fatalf("no kickout report in the results: %v", res.File.Kickout)
	}
	if k.Violations() != 0 || k.Count(check.Undecided) != 0 {
		t.Errorf("the oracle found %d violations, %d undecided on the clean server:\n%s", k.Violations(), k.Count(check.Undecided), text(t, k.WriteText))
	}
	if want := int64(400 * len(rep.Strategies)); k.Checks.Users != want {
		t.Errorf("the oracle checked %d users, want %d", k.Checks.Users, want)
	}
	var judged int64
	for _, s := range rep.Strategies {
		o := s.Oracle
		if o == nil || o.Users != 400 || o.Every != 1 || o.Violations != 0 {
			t.Fatalf("%s: oracle summary %+v, want 400 users, every 1, 0 violations", s.Name, o)
		}
		judged += o.Logins
		// The oracle counts sessions: a fresh start's login while the
		// session lives on in the background is a repeat login of it
		// (the same sequence), which the MAU count counts.
		if o.Logins != s.Logins() && (s.Name != "background-keep" || o.Logins == 0 || o.Logins > s.Logins()) {
			t.Errorf("%s: the oracle judged %d logins, the month counted %d", s.Name, o.Logins, s.Logins())
		}
	}
	if k.Checks.Logins != judged {
		t.Errorf("the kickout report checked %d logins, the strategies' summaries %d", k.Checks.Logins, judged)
	}
	out := text(t, func(w io.Writer) error { return report.WriteText(w, res.File) })
	for _, want := range []string{"kickout oracle: policy", "kickout oracle, eager: all 400 users", "metrics: operations of every strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	t.Log(out)
	if strings.Contains(out, "no operations recorded") {
		t.Errorf("the report shows no operations:\n%s", out)
	}
}

func text(t *testing.T, write func(w io.Writer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
