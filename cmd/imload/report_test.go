package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const synthResults = "../../report/testdata/synthetic.json"

func TestReportCmd(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		args     []string
		wantOut  []string
		wantErr  string
		wantCode int
		files    []string
	}{
		{
			name:    "terminal summary",
			args:    []string{"report", synthResults},
			wantOut: []string{"scenario  synthetic", "OPERATION", "kickout oracle", "wrong_victim", "lazy"},
		},
		{
			name:    "files",
			args:    []string{"report", synthResults, "--html", filepath.Join(dir, "r.html"), "--hgrm", filepath.Join(dir, "hgrm"), "--csv", filepath.Join(dir, "s.csv")},
			wantOut: []string{"html: ", "hgrm: 23 files in ", "csv: "},
			files:   []string{"r.html", "hgrm/login.all.hgrm", "hgrm/login.Android.hgrm", "s.csv"},
		},
		{
			name:     "missing file",
			args:     []string{"report", filepath.Join(dir, "nope.json")},
			wantErr:  "nope.json",
			wantCode: exitBadInput,
		},
		{
			name:     "html into a missing directory",
			args:     []string{"report", synthResults, "--html", filepath.Join(dir, "no", "r.html")},
			wantErr:  "--html",
			wantCode: exitBadInput, // exit 1 means thresholds failed; a path that cannot be written is bad usage
		},
		{
			name:     "no results file",
			args:     []string{"report"},
			wantErr:  "accepts 1 arg",
			wantCode: exitBadInput,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := execScenarioCmd(t, tc.args...)
			if code := exitCode(err); code != tc.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tc.wantCode)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
			for _, s := range tc.wantOut {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, f := range tc.files {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}
