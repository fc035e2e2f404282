package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// FuzzHTMLVerdicts renders the synthetic run with arbitrary kickout and MAU
// sections and scenario name: the page is always written, and nothing taken
// from the file adds a script element (the page has one to catch errors, the
// library, one per chart and the closing one).
func FuzzHTMLVerdicts(f *testing.F) {
	base := loadSynth(f)
	kick, err := json.Marshal(base.Kickout)
	if err != nil {
		f.Fatal(err)
	}
	m, err := json.Marshal(base.MAU)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kick, m, base.Scenario)
	f.Add([]byte(`{"verdicts":{"wrong_victim":{"count":1,"examples":[{"user":"</script><script>x()</script>","text":"<!--"}]}}}`),
		[]byte(`{"strategies":[{"name":"</script><!--<script>","days":[{"date":"<b>","dau":1}],"months":[{"month":"m"}]}],"cheapest":"x"}`),
		`</script><script>alert(1)</script>`)
	f.Add([]byte(`[]`), []byte(`null`), "")
	f.Add([]byte(`{"verdicts":{"nonsense":{"count":1}}}`), []byte(`{"strategies":3}`), "a")
	lib, err := os.ReadFile("assets/echarts.min.js")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kick, mau []byte, name string) {
		if !json.Valid(kick) || !json.Valid(mau) {
			t.Skip("a results file holds JSON sections only")
		}
		file := *withSection(t, withSection(t, base, "kickout", kick), "mau", mau)
		file.Scenario = name
		var buf bytes.Buffer
		if err := WriteHTML(&buf, &file); err != nil {
			t.Fatal(err)
		}
		own := strings.Replace(buf.String(), string(lib), "", 1)
		charts := len(itemRe.FindAllString(own, -1))
		if got, want := strings.Count(strings.ToLower(own), "<script"), charts+3; got != want {
			t.Errorf("%d script elements, want %d (%d charts)", got, want, charts)
		}
		if strings.Contains(own, "<!--") {
			t.Error("page holds a comment opener")
		}
	})
}
