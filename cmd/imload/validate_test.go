package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imload/imload/judge"
)

// execScenarioCmd runs the imload root command with args and captures its
// output.
func execScenarioCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return exitBadInput // as main does
	}
	return exitOK
}

const testdataDir = "../../scenario/testdata/"

// cmdCase is one run of the imload command and what it must print, exit
// with and return.
type cmdCase struct {
	name       string
	args       []string
	wantOut    string
	wantErr    string // "": not checked
	wantCode   int
	errMessage string // "": not checked
}

func runCmdCases(t *testing.T, cases []cmdCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := execScenarioCmd(t, c.args...)
			if out != c.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, c.wantOut)
			}
			if c.wantErr != "" && errOut != c.wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, c.wantErr)
			}
			if got := exitCode(err); got != c.wantCode {
				t.Errorf("exit code %d (%v), want %d", got, err, c.wantCode)
			}
			if c.errMessage != "" && (err == nil || err.Error() != c.errMessage) {
				t.Errorf("error %v, want %q", err, c.errMessage)
			}
		})
	}
}

func TestValidateCmd(t *testing.T) {
	minimal := testdataDir + "good/minimal.yaml"
	full := testdataDir + "good/full.yaml"
	bad := testdataDir + "bad/negative_rate.yaml"
	badErr, err := os.ReadFile(testdataDir + "bad/probability_out.err")
	if err != nil {
		t.Fatal(err)
	}
	misspelt := testdataDir + "bad/threshold_unknown_metric.yaml"
	misspeltErr, err := os.ReadFile(testdataDir + "bad/threshold_unknown_metric.err")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(misspeltErr), "testdata/bad/threshold_unknown_metric.yaml:8:5: thresholds[0]: col 1: unknown metric \"logn.p99\"; did you mean login.p99?") {
		t.Fatalf("golden file lost the misspelt metric's position or suggestion:\n%s", misspeltErr)
	}
	cases := []cmdCase{
		{
			name:    "one valid file",
			args:    []string{"validate", minimal},
			wantOut: minimal + ": ok (1 phase, 10 users, policy dual-platform)\n",
		},
		{
			name:    "two valid files",
			args:    []string{"validate", minimal, full},
			wantOut: minimal + ": ok (1 phase, 10 users, policy dual-platform)\n" + full + ": ok (2 phases, 1000 users, policy triple-platform)\n",
		},
		{
			name:       "valid and invalid",
			args:       []string{"validate", bad, minimal},
			wantOut:    minimal + ": ok (1 phase, 10 users, policy dual-platform)\n",
			wantErr:    bad + ":12:9: phases[1].rate: must be >= 0, got -5\n",
			wantCode:   exitBadInput,
			errMessage: "1 of 2 scenario files invalid",
		},
		{
			name:       "every error of a file",
			args:       []string{"validate", testdataDir + "bad/probability_out.yaml"},
			wantErr:    strings.ReplaceAll(string(badErr), "testdata/", testdataDir),
			wantCode:   exitBadInput,
			errMessage: "1 of 1 scenario files invalid",
		},
		{
			name:       "misspelt threshold metric",
			args:       []string{"validate", misspelt, minimal},
			wantOut:    minimal + ": ok (1 phase, 10 users, policy dual-platform)\n",
			wantErr:    strings.ReplaceAll(string(misspeltErr), "testdata/", testdataDir),
			wantCode:   exitBadInput,
			errMessage: "1 of 2 scenario files invalid",
		},
		{
			name:    "capacity gate",
			args:    []string{"validate", testdataDir + "good/capacity_gate.yaml"},
			wantOut: testdataDir + "good/capacity_gate.yaml: ok (0 phases, 100 users, policy dual-platform)\n",
		},
		{
			name:       "misspelt capacity metric",
			args:       []string{"validate", testdataDir + "bad/capacity_metric_misspelt.yaml"},
			wantErr:    testdataDir + "bad/capacity_metric_misspelt.yaml:6:5: thresholds[1]: col 10: unknown metric \"capacity.sustaned\"; did you mean capacity.sustained? (allowed after capacity: sustained, interval)\n",
			wantCode:   exitBadInput,
			errMessage: "1 of 1 scenario files invalid",
		},
		{
			name:       "missing file",
			args:       []string{"validate", "no-such-scenario.yaml"},
			wantErr:    "no-such-scenario.yaml: scenario: open no-such-scenario.yaml: no such file or directory\n",
			wantCode:   exitBadInput,
			errMessage: "1 of 1 scenario files invalid",
		},
		{
			name:     "no file",
			args:     []string{"validate"},
			wantCode: exitBadInput,
		},
	}
	runCmdCases(t, cases)
}

func TestValidateRepoScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	if len(files) == 0 {
		t.Skip("no scenarios/*.yaml yet")
	}
	out, errOut, err := execScenarioCmd(t, append([]string{"validate"}, files...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if n := strings.Count(out, ": ok ("); n != len(files) {
		t.Errorf("%d ok lines for %d files:\n%s", n, len(files), out)
	}
}

func TestSchemaCmd(t *testing.T) {
	out, _, err := execScenarioCmd(t, "schema")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("schema output is not JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["type"] != "object" {
		t.Errorf("unexpected schema head: $schema=%v type=%v", doc["$schema"], doc["type"])
	}
	props, _ := doc["properties"].(map[string]any)
	for _, k := range []string{"target", "population", "platforms", "phases", "behaviour", "checks", "thresholds", "mau"} {
		if _, ok := props[k]; !ok {
			t.Errorf("schema lacks %s", k)
		}
	}
	if _, _, err := execScenarioCmd(t, "schema", "extra"); exitCode(err) != exitBadInput {
		t.Errorf("schema with an argument: %v", err)
	}
}

const policyTestdata = "../../policy/policyfile/testdata/"

// validate takes a file of policy keys for a policy file (docs/POLICY.md),
// and --policy takes every file for one.
func TestValidatePolicyFiles(t *testing.T) {
	noCap := policyTestdata + "good/xmpp-no-cap.yaml"
	dual := policyTestdata + "good/dual-multi.yaml"
	badPlat := policyTestdata + "bad/unknown-platform.yaml"
	misspelt := policyTestdata + "bad/unknown-key.yaml"
	minimal := testdataDir + "good/minimal.yaml"
	cases := []cmdCase{
		{
			name:    "a policy file is detected",
			args:    []string{"validate", noCap},
			wantOut: noCap + ": ok (policy xmpp-no-cap: no limits; a login on an online instance replaces it; on conflict kick_old)\n",
		},
		{
			name: "policy and scenario files together",
			args: []string{"validate", dual, minimal},
			wantOut: dual + ": ok (policy my-dual: per platform at most 3 (Web 10); group native of 6 platforms: at most 1 platform; on conflict kick_old)\n" +
				minimal + ": ok (1 phase, 10 users, policy dual-platform)\n",
		},
		{
			name:       "a bad policy file",
			args:       []string{"validate", badPlat, minimal},
			wantOut:    minimal + ": ok (1 phase, 10 users, policy dual-platform)\n",
			wantErr:    badPlat + `:4:26: groups[0].platforms[1]: unknown platform "Andriod" (allowed: Android, iPhone, iPad, Windows, Mac, Linux, Web)` + "\n",
			wantCode:   exitBadInput,
			errMessage: "1 of 2 files invalid",
		},
		{
			name:       "--policy: a misspelt key is a policy error",
			args:       []string{"validate", "--policy", misspelt},
			wantErr:    misspelt + ":2:1: per_platfrom: unknown key (allowed: name, description, per_platform, groups, replace_same_instance, on_conflict)\n",
			wantCode:   exitBadInput,
			errMessage: "1 of 1 policy files invalid",
		},
		{
			name:       "--policy: a scenario is no policy",
			args:       []string{"validate", "--policy", minimal},
			wantCode:   exitBadInput,
			errMessage: "1 of 1 policy files invalid",
		},
	}
	runCmdCases(t, cases)
}

func TestSchemaCmdPolicy(t *testing.T) {
	out, _, err := execScenarioCmd(t, "schema", "--policy")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("schema output is not JSON: %v", err)
	}
	if doc["$id"] != "https://github.com/imload/imload/policy.schema.json" || doc["type"] != "object" {
		t.Errorf("unexpected schema head: $id=%v type=%v", doc["$id"], doc["type"])
	}
	props, _ := doc["properties"].(map[string]any)
	for _, k := range []string{"name", "per_platform", "groups", "replace_same_instance", "on_conflict"} {
		if _, ok := props[k]; !ok {
			t.Errorf("policy schema lacks %s", k)
		}
	}
}

// imload schema lists every threshold metric of the catalogue.
func TestSchemaListsThresholdMetrics(t *testing.T) {
	out, _, err := execScenarioCmd(t, "schema")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	desc := doc.Properties["thresholds"].Description
	for _, m := range judge.Catalogue() {
		if !strings.Contains(desc, m.Pattern()) {
			t.Errorf("schema's thresholds description lacks %s:\n%s", m.Pattern(), desc)
		}
	}
}
