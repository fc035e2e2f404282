package xmpp

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The driver adds no policy logic: of imload's packages it uses driver,
// protocol (codes), policy (types only) and clock.
func TestImportsStayInside(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"driver": true, "protocol": true, "policy": true, "clock": true}
	const mod = "github.com/imload/imload/"
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, mod); ok && !allowed[rest] {
				t.Errorf("%s imports %s; the driver may use only %v of imload", name, path, allowed)
			}
		}
	}
}
