package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/imload/imload/results"
)

// An armed fault that never fired opens the terminal report, before the
// caller's note and the summary, and heads the HTML page as a banner; the
// page's header lists the armed faults.
func TestFaultWarningsOpenTheReports(t *testing.T) {
	f := loadSynth(t)
	f.Faults = []results.Fault{{Name: "wrong-victim", Why: "no login had a second candidate"}, {Name: "slow-login", Fired: 9}}
	var buf bytes.Buffer
	if err := WriteTextWithNote(&buf, f, "a note of the caller's"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasPrefix(lines[0], "WARNING: fault wrong-victim armed but never applicable: no login had a second candidate") {
		t.Errorf("first line %q", lines[0])
	}
	if i := strings.Index(buf.String(), "a note of the caller's"); i < len(lines[0]) || i > strings.Index(buf.String(), "scenario ") {
		t.Errorf("the note is not between the warnings and the summary:\n%s", buf.String())
	}
	page := renderHTML(t, f)
	if !strings.Contains(page, `<p class="faults" id="faults">Faults armed: wrong-victim (fired 0 times), slow-login (fired 9 times)</p>`) {
		t.Error("the page's header does not list the armed faults")
	}
	if !strings.Contains(page, `<div class="banner error fault-warning">WARNING: fault wrong-victim armed but never applicable`) {
		t.Error("the page has no banner for the fault that never fired")
	}
	if strings.Contains(page, "slow-login armed but never") {
		t.Error("a fault that fired has a warning")
	}
}
