package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/imload/imload/capacity"
	"github.com/imload/imload/check"
	"github.com/imload/imload/health"
	"github.com/imload/imload/internal/atomicfile"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/storm"
)

// Schema is the version of the file format this package writes and reads.
const Schema = "imload/results/v1"

// File is the content of results.json.
type File struct {
	Schema       string `json:"schema"`
	Scenario     string `json:"scenario"`
	ScenarioFile string `json:"scenario_file,omitempty"`
	Seed         int64  `json:"seed"`
	// Shard is "i/N" when the run was one shard of N; empty otherwise and
	// after a merge.
	Shard       string    `json:"shard,omitempty"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
	Duration    Duration  `json:"duration"`
	Interrupted bool      `json:"interrupted"`
	// Aborted says why the run ended before its phases did, on purpose
	// ("": it did not): its first operations all failed the same way, or
	// an abort_on_fail threshold could no longer pass.
	Aborted     string      `json:"aborted,omitempty"`
	Environment Environment `json:"environment"`
	// MergedFrom is how many shard files a merged file holds (0: not merged).
	MergedFrom int               `json:"merged_from,omitempty"`
	Metrics    *metrics.Snapshot `json:"metrics"`
	Thresholds []Threshold       `json:"thresholds,omitempty"`
	// Kickout holds the kickout oracle's verdicts (nil: the oracle was
	// off) and MAU the MAU/DAU accounting of a month simulation (nil: not
	// one), each in the shape its own package defines.
	Kickout *check.Report `json:"kickout,omitempty"`
	MAU     *mau.Report   `json:"mau,omitempty"`
	// Storms are the figures of the scenario's events (package storm).
	Storms []storm.Figures `json:"storms,omitempty"`
	// Generator is the load generator's own health over the run (its
	// scheduler lag, send lag, CPU and GC pauses; nil: not measured, or a
	// merged file) and Capacity a capacity search's answer (nil: not one).
	Generator *health.Report   `json:"generator,omitempty"`
	Capacity  *capacity.Report `json:"capacity,omitempty"`
	// Faults are the reference server's faults the run armed (--fault,
	// target.faults), each with its firings; none armed: empty.
	Faults []Fault `json:"faults,omitempty"`
	// Notes say which sections a file held but could not be read (they are
	// then nil): a report still shows the rest, a merge refuses the file.
	// Not written.
	Notes []string `json:"-"`
}

// UnmarshalJSON decodes a results document; a kickout or mau section that
// does not decode is left nil and explained in Notes.
func (f *File) UnmarshalJSON(b []byte) error {
	type plain File // without this method
	var doc struct {
		*plain
		Kickout json.RawMessage `json:"kickout"`
		MAU     json.RawMessage `json:"mau"`
	}
	doc.plain = (*plain)(f)
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	f.Kickout, f.MAU, f.Notes = nil, nil, nil
	if section(doc.Kickout) {
		var r check.Report
		if err := json.Unmarshal(doc.Kickout, &r); err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("kickout section left out: %v", err))
		} else {
			f.Kickout = &r
		}
	}
	if section(doc.MAU) {
		var r mau.Report
		if err := json.Unmarshal(doc.MAU, &r); err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("mau section left out: %v", err))
		} else {
			f.MAU = &r
		}
	}
	return nil
}

// section reports whether raw holds a section (not absent, not null).
func section(raw json.RawMessage) bool {
	return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null"
}

// Environment says where and with what the run happened.
type Environment struct {
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	Version   string `json:"imload_version"`
	Target    Target `json:"target"`
	// Host is the machine's name ("": not known).
	Host string `json:"host,omitempty"`
	// Shards says, in a merged file, where each shard ran; CPUs then
	// counts each host once.
	Shards []ShardEnv `json:"shards,omitempty"`
}

// ShardEnv is where one shard of a merged run ran.
type ShardEnv struct {
	Shard  string `json:"shard"`
	Host   string `json:"host,omitempty"`
	CPUs   int    `json:"cpus"`
	Target Target `json:"target"`
}

// Target is what the devices talked to.
type Target struct {
	Kind string `json:"kind"`          // "embedded", "ws", ...
	URL  string `json:"url,omitempty"` // without credentials (see RedactURL)
}

// Threshold is one threshold's verdict.
type Threshold struct {
	Expr   string  `json:"expr"`   // as written: "login.p99 < 250ms"
	Metric string  `json:"metric"` // "login.p99"
	Actual float64 `json:"actual"` // in the metric's unit: seconds, a fraction, a count, per second
	Pass   bool    `json:"pass"`
	// Error says why the metric had no value (e.g. no samples); Pass is then
	// false.
	Error string `json:"error,omitempty"`
	// NotJudged says why a count had a value but no verdict: the run was
	// cut short ("interrupted", "aborted") before the count could decide
	// it. Pass is then false, but the threshold did not fail.
	NotJudged string `json:"not_judged,omitempty"`
	// Note says how the threshold was judged when not as written (a shard
	// judges a count at 1/N of its value).
	Note string `json:"note,omitempty"`
}

// Passed reports whether every threshold passed (true when there are none).
func Passed(ths []Threshold) bool {
	for _, t := range ths {
		if !t.Pass {
			return false
		}
	}
	return true
}

// Duration is a time.Duration written as text ("1m30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"1m30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// CurrentEnvironment describes this process: Go version, OS, architecture,
// CPUs, the given imload version, and the target with its URL redacted.
func CurrentEnvironment(version string, target Target) Environment {
	target.URL = RedactURL(target.URL)
	host, _ := os.Hostname()
	return Environment{
		Host:      host,
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		Version:   version,
		Target:    target,
	}
}

// RedactURL removes what may carry credentials from a URL: user info, the
// query (the REST API carries the admin UserSig there) and the fragment. Text
// that does not parse as a URL is dropped entirely.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL removed)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// WriteFile writes f to path atomically (atomicfile.Write: a temporary file
// in the same directory, synced, renamed over path; a device such as
// /dev/null is written in place). The schema is always Schema and
// the target URL is redacted.
func WriteFile(path string, f *File) error {
	if f == nil || f.Metrics == nil {
		return fmt.Errorf("results: writing %s: no metrics to write", path)
	}
	c := *f
	c.Schema = Schema
	c.Environment.Target.URL = RedactURL(c.Environment.Target.URL)
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encoding %s: %w", path, err)
	}
	data = append(data, '\n')
	err = atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ReadFile reads and checks a results file.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode parses a results document and checks its schema and metrics.
func Decode(data []byte) (*File, error) {
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a results file: %w", jsonError(data, err))
	}
	switch {
	case probe.Schema == nil:
		return nil, errors.New(`not a results file: no "schema" field (want "` + Schema + `")`)
	case *probe.Schema != Schema:
		if strings.HasPrefix(*probe.Schema, "imload/results/") {
			return nil, fmt.Errorf("results schema %q is not supported: this imload reads %q; use the imload that wrote the file", *probe.Schema, Schema)
		}
		return nil, fmt.Errorf("schema %q is not an imload results schema (want %q)", *probe.Schema, Schema)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(data, err)
	}
	if f.Metrics == nil {
		return nil, errors.New(`no "metrics" in the results file`)
	}
	return &f, nil
}

// jsonError adds line:col to JSON errors that carry an offset.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	// The offset counts the bytes read, the offending one included.
	if off < 1 || off > int64(len(data)) {
		return err
	}
	before := data[:off-1]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d col %d: %w", line, col, err)
}
