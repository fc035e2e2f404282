package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns
// has a position, and that what it accepts is valid.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("phases: [{<<: {model: open}, duration: 1s, rate: 1}]\npopulation: {users: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var es *Errors
			if !errors.As(err, &es) || len(es.List) == 0 {
				t.Fatalf("error is not a non-empty *Errors: %#v", err)
			}
			for _, e := range es.List {
				if e.Line < 1 || e.Col < 1 || e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("error without position or message: %+v", *e)
				}
			}
			return
		}
		if s.Population.Users <= 0 || (len(s.Phases) == 0 && s.MAU == nil && s.Capacity == nil) || len(s.Platforms) == 0 || s.Target.Timeout <= 0 {
			t.Fatalf("accepted an invalid scenario: %+v", s)
		}
		if len(s.ParsedThresholds) != len(s.Thresholds) {
			t.Fatalf("thresholds not all parsed")
		}
	})
}
