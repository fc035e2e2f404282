package report

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imload/imload/"

// report renders results files and reaches no target (its own imports are
// checked with every package's in internal/archtest). Nothing it builds on
// does either: of driver only the interface package
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
