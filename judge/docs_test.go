package judge

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the metric table of README.md from the catalogue")

const (
	readme     = "../README.md"
	tableBegin = "<!-- metrics:begin -->\n"
	tableEnd   = "<!-- metrics:end -->"
)

// TestReadmeListsTheCatalogue keeps the README's metric table generated
// from the catalogue: go test ./judge -update rewrites it.
func TestReadmeListsTheCatalogue(t *testing.T) {
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	head, rest, ok1 := strings.Cut(text, tableBegin)
	table, tail, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the %q ... %q markers", tableBegin, tableEnd)
	}
	want := Markdown()
	if *update {
		if err := os.WriteFile(readme, []byte(head+tableBegin+want+tableEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if table != want {
		t.Errorf("README.md's metric table differs from the catalogue (go test ./judge -update):\n got %q\nwant %q", table, want)
	}
}

// Every entry is in the generated lists, with its placeholders explained.
func TestListsNameEveryEntry(t *testing.T) {
	md, sum := Markdown(), Summary()
	for _, m := range catalogue {
		if !strings.Contains(md, "| `"+m.Pattern()+"` |") {
			t.Errorf("Markdown lacks %s", m.Pattern())
		}
		if !strings.Contains(sum, m.Pattern()) {
			t.Errorf("Summary lacks %s", m.Pattern())
		}
	}
	for _, names := range [][]string{OpNames(), EventNames(), ClassNames(), platformNames()} {
		for _, n := range names {
			if !strings.Contains(sum, n) || !strings.Contains(md, "`"+n+"`") {
				t.Errorf("lists do not explain %s", n)
			}
		}
	}
}
