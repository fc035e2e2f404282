package codes

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/imload/imload/usersig"
)

// constants reads the integer constants declared in codes.go, by name.
func constants(t *testing.T) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					n, err := strconv.Atoi(v.Value)
					if err != nil {
						t.Fatalf("%s = %s: %v", name.Name, v.Value, err)
					}
					out[name.Name] = n
				case *ast.Ident:
					n, ok := out[v.Name]
					if !ok {
						t.Fatalf("%s = %s: not a constant declared before it", name.Name, v.Name)
					}
					out[name.Name] = n
				default:
					t.Fatalf("%s: value is not a number or a constant", name.Name)
				}
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("read only %d constants from codes.go", len(out))
	}
	return out
}

// One list: every constant of the package is in the catalogue with a
// text, every entry names a constant of its value, no code is listed twice.
func TestEveryCodeHasOneEntryWithAText(t *testing.T) {
	consts := constants(t)
	seen := map[int]string{}
	for _, c := range All() {
		if c.Text == "" {
			t.Errorf("%s (%d) has no text", c.Name, c.Code)
		}
		if v, ok := consts[c.Name]; !ok || v != c.Code {
			t.Errorf("entry %s (%d): the constant %s is %d (declared: %v)", c.Name, c.Code, c.Name, v, ok)
		}
		if other, dup := seen[c.Code]; dup {
			t.Errorf("code %d listed twice, as %s and %s", c.Code, other, c.Name)
		}
		seen[c.Code] = c.Name
	}
	for name, v := range consts {
		if Text(v) == "" || !Known(v) {
			t.Errorf("constant %s (%d) is not in the catalogue", name, v)
		}
	}
	if Text(123456) != "" || Known(123456) {
		t.Error("Text of an unknown code is not empty")
	}
	if Text(LoginRefused) == "" {
		t.Error("1008 has no text")
	}
}

// usersig, a leaf too, names the ticket codes itself; they must be these.
func TestUsersigCodesAgree(t *testing.T) {
	for _, c := range []struct{ usersig, codes int }{
		{usersig.CodeExpired, SigExpired}, {usersig.CodeEmpty, SigEmpty}, {usersig.CodeUndecodable, SigUndecodable},
		{usersig.CodeBadSignature, SigBadSignature}, {usersig.CodeUserMismatch, SigUserMismatch},
		{usersig.CodeAppMismatch, SigAppMismatch},
	} {
		if c.usersig != c.codes {
			t.Errorf("usersig says %d, codes says %d", c.usersig, c.codes)
		}
	}
}
