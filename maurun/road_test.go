package maurun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/imload/imload/check"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/report"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
)

// mauTotals returns what a MAU run's strategies say they asked of the
// target: logins, connects, logouts, and resumes that did not fall back to
// a login.
func mauTotals(t *testing.T, res *run.Outcome) (logins, connects, logouts, resumed int64) {
	t.Helper()
	rep := Report(res)
	if rep == nil {
		t.Fatal("no MAU report")
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
	res, err := Execute(t.Context(), run.Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report(res)
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
	if strings.Contains(out, "no operations recorded") {
		t.Errorf("the report shows no operations:\n%s", out)
	}
	// Thresholds on operations and verdicts are judged in a month.
	th := eval.Thresholds(mustThresholds(t, "login.count > 0", "errors.rate == 0%", "kickout.violations == 0"), eval.Inputs{Metrics: m, Kickout: k, MAU: rep})
	for _, r := range th {
		if !r.Pass || r.Error != "" {
			t.Errorf("threshold %+v, want it judged and passed", r)
		}
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

// mauDayYAML is a short month on 2-second days under one strategy.
func mauDayYAML(users, days int, strategy, extra string) string {
	return fmt.Sprintf(`name: mau-oracle
seed: 3
target: {driver: inproc}
population: {users: %d}
mau:
  day: 2s
  days: %d
  tick: 10m
  segments:
    - {name: chatters, share: 0.5, open_prob: 0.9, sessions_per_day: 2, chat_prob: 0.6, background_prob: 0.5}
    - {name: browsers, share: 0.5, open_prob: 0.3, sessions_per_day: 1.2, chat_prob: 0.02, background_prob: 0.3}
  strategies: [%s]
%sthresholds: [mau.mismatches == 0, kickout.violations == 0]
`, users, days, strategy, extra)
}

// TestMAUOracleCatchesStaleOnlineStatus: a server that keeps ended
// sessions in its online status (the fault stale-online-status, for 10 s:
// five of these days) is caught in a month simulation: the judged users'
// status after the month lists sessions their apps logged out of, ghost
// sessions, and the threshold kickout.violations == 0 fails. (A session
// whose app was killed may rightly still be listed: the target cannot tell
// a kill from a flap before its resume window ends; so the strategy is
// lazy-logout.)
func TestMAUOracleCatchesStaleOnlineStatus(t *testing.T) {
	sc := parseScenario(t, mauDayYAML(200, 3, "lazy-logout", ""))
	res, err := Execute(t.Context(), run.Options{Scenario: sc, Faults: []string{"stale-online-status"}})
	if err != nil {
		t.Fatal(err)
	}
	k := res.Kickout
	if k == nil || k.Count(check.GhostSession) == 0 {
		t.Fatalf("the oracle caught no ghost session: %+v", k)
	}
	rep := Report(res)
	if o := rep.Strategies[0].Oracle; o == nil || o.Verdicts["ghost_session"] != k.Count(check.GhostSession) {
		t.Errorf("the strategy's oracle summary %+v, want the report's %d ghost sessions", o, k.Count(check.GhostSession))
	}
	if ex := k.Verdicts[check.GhostSession].Examples; len(ex) == 0 || !strings.HasPrefix(ex[0].User, "lazy-logout/") {
		t.Errorf("the examples do not name their strategy: %+v", ex)
	}
	if th := res.File.Thresholds; res.Passed || len(th) != 2 || th[1].Pass || th[1].Error != "" || th[1].Actual != float64(k.Violations()) {
		t.Errorf("thresholds %+v, want kickout.violations == 0 failed on %d violations", th, k.Violations())
	}
}

// lyingDriver tells every app session, after its login, that it was
// kicked by that very login: a kick the policy never demands.
type lyingDriver struct{ driver.Driver }

func (d lyingDriver) Connect(ctx context.Context, dev driver.Device) (driver.Conn, error) {
	c, err := d.Driver.Connect(ctx, dev)
	if err != nil {
		return nil, err
	}
	return &lyingConn{Conn: c, dev: dev, lie: make(chan *driver.Push, 1)}, nil
}

type lyingConn struct {
	driver.Conn
	dev driver.Device
	lie chan *driver.Push
}

func (c *lyingConn) Login(ctx context.Context, req driver.LoginRequest) (driver.LoginResult, error) {
	res, err := c.Conn.Login(ctx, req)
	if err == nil && res.Code == 0 && !res.RepeatLogin && len(c.lie) == 0 {
		c.lie <- &driver.Push{Kind: driver.PushKicked, At: res.ServerTime, ServerTime: res.ServerTime, Seq: res.Seq,
			BySeq: res.Seq, ByPlatform: c.dev.Platform, ByInstance: c.dev.Instance, Reason: "multi_device"}
	}
	return res, err
}

func (c *lyingConn) Pushes() <-chan *driver.Push {
	if len(c.lie) > 0 {
		return c.lie
	}
	return c.Conn.Pushes()
}

// TestMAUOracleCatchesWrongKicks: a target whose app sessions are told of
// kicks that no login demands is caught in a month simulation: every kick
// the devices saw is judged, and each is a violation.
func TestMAUOracleCatchesWrongKicks(t *testing.T) {
	sc := parseScenario(t, mauDayYAML(150, 3, "eager", ""))
	res, err := execute(t.Context(), run.Options{Scenario: sc},
		func(d driver.Driver) driver.Driver { return lyingDriver{d} })
	if err != nil {
		t.Fatal(err)
	}
	k := res.Kickout
	rep := Report(res)
	kicked := rep.Strategies[0].Ops.Kicked
	if k == nil || kicked == 0 || k.Checks.Kicks != kicked {
		t.Fatalf("the devices saw %d kicks, the oracle checked %+v", kicked, k)
	}
	if k.Violations() == 0 {
		t.Errorf("no violation for %d kicks no login demands:\n%s", kicked, text(t, k.WriteText))
	}
	if got := res.File.Metrics.EventCount("kicked", ""); got != kicked {
		t.Errorf("kicked events %d, the devices saw %d kicks", got, kicked)
	}
}

// TestMAUOracleSample: above mau.oracle_users the oracle judges every k-th
// user, and the report says which share.
func TestMAUOracleSample(t *testing.T) {
	sc := parseScenario(t, mauDayYAML(300, 2, "eager", "  oracle_users: 50\n"))
	res, err := Execute(t.Context(), run.Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report(res)
	o := rep.Strategies[0].Oracle
	if o == nil || o.Every != 6 || o.Users != 50 || res.Kickout.Checks.Users != 50 {
		t.Fatalf("oracle summary %+v, kickout checks %+v, want every 6th user: 50", o, res.Kickout.Checks)
	}
	if m := res.File.Metrics.Op("login"); m.Count != rep.Strategies[0].Ops.Logins || o.Logins == 0 || o.Logins*3 > m.OK {
		t.Errorf("metrics hold %d logins (%d ok), the strategy asked %d; the oracle judged %d", m.Count, m.OK, rep.Strategies[0].Ops.Logins, o.Logins)
	}
	out := text(t, rep.WriteText)
	if !strings.Contains(out, "50 users (every 6th)") {
		t.Errorf("the report does not say which users were judged:\n%s", out)
	}
}

func mustThresholds(t *testing.T, exprs ...string) []scenario.Threshold {
	t.Helper()
	ths, err := scenario.ParseThresholds(exprs, "")
	if err != nil {
		t.Fatal(err)
	}
	return ths
}
