// Package yamlpos is what imload's YAML decoders (scenario files, policy
// files, the mau section) share about positions: an error at
// file:line:col naming the field, yaml.v3's syntax errors read into a line
// and a message, field paths, and finding the node a field path names.
package yamlpos

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem of a YAML file, at a position, in a field.
type Error struct {
	File  string // may be empty
	Line  int    // 1-based; 0 when the problem has no position
	Col   int    // 1-based; 0 when only the line is known
	Field string // path of the field, e.g. "phases[1].rate"; empty for the document
	Msg   string // what is wrong, and what is allowed
}

// Error formats the problem as "file:line:col: field: msg", leaving out
// what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At is a problem at node n (nil: no position) in field.
func At(n *yaml.Node, field, format string, args ...any) *Error {
	e := &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// Errorf is a problem in field whose position Locate finds later.
func Errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Syntax reads an error of yaml.v3's parser, "yaml: line N: msg", into its
// line and message; line is 0 when the error names none.
func Syntax(err error) (line int, msg string) {
	s := err.Error()
	if m := syntaxLine.FindStringSubmatch(s); m != nil {
		line, _ = strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(s, "yaml: ")
}

// Resolve follows aliases (a bounded number, so that a cycle cannot hang).
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// Join appends a mapping key to a field path.
func Join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// Index appends a list index to a field path.
func Index(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

// Describe names what a node holds, for "got ..." in errors: "a mapping",
// "a list", "nothing" (null) or the quoted scalar.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// Find returns the node of a field path such as "mau.segments[0].share"
// under n, whose own path is base ("mau"): the deepest node the path
// reaches, nil when it reaches none below n or does not start with base.
func Find(n *yaml.Node, base, path string) *yaml.Node {
	rest, ok := strings.CutPrefix(path, base)
	if !ok {
		return nil
	}
	cur, found := n, (*yaml.Node)(nil)
	for rest != "" {
		cur = Resolve(cur)
		if cur == nil {
			break
		}
		var next *yaml.Node
		switch rest[0] {
		case '.':
			key := rest[1:]
			if i := strings.IndexAny(key, ".["); i >= 0 {
				key = key[:i]
			}
			rest = rest[1+len(key):]
			if cur.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(cur.Content); i += 2 {
					if cur.Content[i].Value == key {
						next = cur.Content[i+1]
					}
				}
			}
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return found
			}
			i, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			if err == nil && cur.Kind == yaml.SequenceNode && i >= 0 && i < len(cur.Content) {
				next = cur.Content[i]
			}
		default:
			return found
		}
		if next == nil {
			break
		}
		cur, found = next, next
	}
	return found
}

// Locate lists the problems in err (one, or several joined) at their
// positions: an *Error that has one keeps it; one without is put at the
// node its field names under n (whose path is base), else at n; any other
// error becomes a problem at n.
func Locate(n *yaml.Node, base string, err error) []*Error {
	var out []*Error
	var walk func(err error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			out = append(out, At(n, "", "%s", err.Error()))
			return
		}
		c := *e
		if c.Line == 0 {
			at := Find(n, base, c.Field)
			if at == nil {
				at = n
			}
			if at != nil {
				c.Line, c.Col = at.Line, at.Column
			}
		}
		out = append(out, &c)
	}
	walk(err)
	return out
}
