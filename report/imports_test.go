package report

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/imload/imload/"

// report renders results files; it reaches no target. Its own files import
// none of server, agent or driver.
func TestImportsStayInside(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
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
			for _, bad := range []string{"server", "agent", "driver"} {
				if p := module + bad; path == p || strings.HasPrefix(path, p+"/") {
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}

// Nor does anything it builds on: of driver only the interface package
// arrives (through mau), never a driver implementation, the server or the
// agent.
func TestDependenciesStayInside(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		inside := func(pkg string) bool { return dep == module+pkg || strings.HasPrefix(dep, module+pkg+"/") }
		if inside("server") || inside("agent") || strings.HasPrefix(dep, module+"driver/") {
			t.Errorf("report depends on %s", dep)
		}
	}
}
