package yamlpos

import (
	"errors"
	"fmt"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestErrorFormat(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Col: 5, Field: "x.y", Msg: "bad"}, "a.yaml:3:5: x.y: bad"},
		{Error{File: "a.yaml", Line: 3, Msg: "YAML syntax: oops"}, "a.yaml:3: YAML syntax: oops"},
		{Error{File: "a.yaml", Msg: "empty"}, "a.yaml: empty"},
		{Error{Line: 3, Col: 5, Field: "x", Msg: "bad"}, "3:5: x: bad"},
		{Error{Field: "x", Msg: "bad"}, "x: bad"},
		{Error{Msg: "bad"}, "bad"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}

func TestSyntax(t *testing.T) {
	var n yaml.Node
	err := yaml.Unmarshal([]byte("a: 1\nb: [\n"), &n)
	if err == nil {
		t.Fatal("no syntax error")
	}
	line, msg := Syntax(err)
	if line != 2 || msg != "did not find expected node content" {
		t.Errorf("Syntax(%q) = %d, %q", err, line, msg)
	}
	if line, msg := Syntax(errors.New("yaml: something")); line != 0 || msg != "something" {
		t.Errorf("no line: %d, %q", line, msg)
	}
}

func section(t *testing.T, text, key string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return root.Content[i+1]
		}
	}
	t.Fatalf("no %s", key)
	return nil
}

// Find reaches the nodes that field paths name.
func TestFind(t *testing.T) {
	n := section(t, "population: {users: 10}\nmau:\n  segments:\n    - name: a\n      share: 1\n  platforms: {Android: 1}\n", "mau")
	cases := []struct {
		path      string
		line, col int
	}{
		{"mau.segments[0].share", 5, 14},
		{"mau.segments[0]", 4, 7},
		{"mau.segments[3].share", 4, 5}, // no such segment: the list
		{"mau.platforms.Android", 6, 24},
		{"mau.pricing.included", 0, 0}, // not given
		{"other", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			got := Find(n, "mau", c.path)
			line, col := 0, 0
			if got != nil {
				line, col = got.Line, got.Column
			}
			if line != c.line || col != c.col {
				t.Errorf("at %d:%d, want %d:%d", line, col, c.line, c.col)
			}
		})
	}
	alias := section(t, "base: &b {x: {y: 1}}\nmau: {a: *b}\n", "mau")
	if got := Find(alias, "mau", "mau.a.x.y"); got == nil || got.Line != 1 || got.Column != 18 {
		t.Errorf("through an alias: %+v", got)
	}
}

func TestLocate(t *testing.T) {
	n := section(t, "mau:\n  days: 4\n  segments: [{name: a}]\n", "mau")
	err := errors.Join(
		Errorf("mau.days", "too few"),
		At(&yaml.Node{Line: 9, Column: 2}, "mau.x", "placed"),
		Errorf("mau.segments[0].share", "missing"),
		fmt.Errorf("a plain problem"),
	)
	got := Locate(n, "mau", err)
	want := []string{"2:9: mau.days: too few", "9:2: mau.x: placed", "3:14: mau.segments[0].share: missing", "2:3: a plain problem"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Error() != want[i] {
			t.Errorf("[%d] %q, want %q", i, got[i].Error(), want[i])
		}
	}
	if Locate(n, "mau", nil) != nil {
		t.Error("Locate(nil) is not empty")
	}
}

func TestPathsAndDescribe(t *testing.T) {
	if Join("", "a") != "a" || Join("a", "b") != "a.b" || Index("a", 2) != "a[2]" {
		t.Error("paths")
	}
	for text, want := range map[string]string{"{a: 1}": "a mapping", "[1]": "a list", "~": "nothing", "x": `"x"`, "1.5": `"1.5"`} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatal(err)
		}
		if got := Describe(doc.Content[0]); got != want {
			t.Errorf("Describe(%s) = %s, want %s", text, got, want)
		}
	}
}
