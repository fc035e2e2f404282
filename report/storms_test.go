package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imload/imload/storm"
)

func stormFigures() []storm.Figures {
	p50, p95 := 0.4, 1.2
	return []storm.Figures{{
		Action: "restart_server", Index: 0, AtS: 20, Detail: "sessions resumable",
		Affected: 100, Disrupted: 100, Recovered: 98, RecoveryP50: &p50, RecoveryP95: &p95,
		WindowS: 3, PeakConnects: 812, PeakLogins: 30, Attempts: 130, Amplification: 1.33,
		LoginAttempts: 100, LoginAmplification: 1.02, Resumes: 95, FreshLogins: 3,
		Refusals: storm.Refusals{LoginRate: 7}, LostResumable: 2,
		Series: storm.Series{StartS: 15, Online: []int{100, 100, 100, 100, 100, 0, 50, 98}, Connects: []int{0, 0, 0, 0, 0, 812, 100, 2}, Logins: []int{0, 0, 0, 0, 0, 10, 30, 1}},
	}}
}

func TestStormText(t *testing.T) {
	f := loadSynth(t)
	f.Storms = stormFigures()
	var buf bytes.Buffer
	if err := WriteText(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"events[0] restart_server at 20.0s (sessions resumable)", "p50 0.400s, p95 1.200s, p99 never",
		"812 connects/s, 30 logins/s", "1.33 connects", "95 resumes, 0 repeat logins, 3 fresh logins", "login rate 7",
		"FAIL: 2 lost resumable sessions"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestStormHTML(t *testing.T) {
	f := loadSynth(t)
	if page := renderHTML(t, f); strings.Contains(page, `id="storms"`) {
		t.Error("a file without storms has a storms section")
	}
	f.Storms = stormFigures()
	page := renderHTML(t, f)
	for _, want := range []string{`<section id="storms">`, `id="chart_storm_0_restart_server"`, "812", "never", `"connects/s"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
