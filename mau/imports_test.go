package mau

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces doc.go: of imload's packages mau imports only clock,
// driver and policy (never server, agent, check or report).
func TestImports(t *testing.T) {
	allowed := []string{"clock", "driver", "policy"}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, "github.com/imload/imload/"); ok && !slices.Contains(allowed, rest) {
				t.Errorf("%s imports %s; mau may import only %v of imload's packages", f, path, allowed)
			}
		}
	}
}
