package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/imload/imload"

// allowed lists, for each package of the module, the packages of the module
// it may import (non-test files); "*" allows any. A package missing here is
// an error, so a new package gets its row (and one in docs/ARCHITECTURE.md).
var allowed = map[string][]string{
	"clock":                  nil,
	"policy":                 nil,
	"usersig":                nil,
	"protocol":               nil,
	"internal/atomicfile":    nil,
	"internal/archtest":      nil,
	"deploy/k8s":             nil,
	"event":                  {"policy"},
	"scenario":               {"policy"},
	"pacer":                  {"scenario", "clock"},
	"driver":                 {"policy", "clock"},
	"driver/internal/wsdial": {"driver"},
	"driver/ws":              {"driver", "driver/internal/wsdial", "policy", "protocol", "clock"},
	"driver/xmpp":            {"driver", "driver/internal/wsdial", "policy", "protocol", "clock"},
	"driver/inproc":          {"driver", "policy", "protocol", "server"},
	"server":                 {"clock", "policy", "protocol", "usersig"},
	"agent":                  {"clock", "driver", "event", "pacer", "policy", "protocol", "scenario", "usersig"},
	"metrics":                {"clock", "event", "policy"},
	"results":                {"metrics", "policy", "protocol", "internal/atomicfile"},
	"check":                  {"event", "policy"},
	"mau":                    {"clock", "driver", "policy"},
	"compare":                {"check", "mau", "metrics", "policy", "results"},
	"report":                 {"check", "compare", "mau", "metrics", "policy", "results", "internal/atomicfile"},
	"run":                    {"*"},
	"cmd/imload":             {"*"},
}

// violations returns "pkg imports dep" for every import of imports (package
// → packages of the module it imports) that rules do not allow, and
// "pkg: no row" for packages rules do not know.
func violations(rules map[string][]string, imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		ok, known := rules[pkg]
		if !known {
			out = append(out, pkg+": no row in the architecture table")
			continue
		}
		allow := map[string]bool{}
		for _, a := range ok {
			allow[a] = true
		}
		for _, d := range deps {
			if !allow["*"] && !allow[d] {
				out = append(out, pkg+" imports "+d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// moduleImports parses every package under root and returns, per package
// directory (relative, slash-separated), the packages of the module its
// non-test files import.
func moduleImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		seen := map[string]bool{}
		for _, d := range out[pkg] {
			seen[d] = true
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module+"/"); ok && !seen[dep] {
				seen[dep] = true
				out[pkg] = append(out[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPackagesImportWhatTheArchitectureAllows(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	imports := moduleImports(t, root)
	if len(imports) < 10 {
		t.Fatalf("found only %d packages under %s", len(imports), root)
	}
	for _, v := range violations(allowed, imports) {
		t.Error(v)
	}
}

// The checker itself catches a forbidden import and an unknown package.
func TestViolationsCatchesForbiddenImports(t *testing.T) {
	got := violations(allowed, map[string][]string{
		"policy":  {"server"},
		"check":   {"event", "agent"},
		"newpkg":  nil,
		"run":     {"server", "agent"},
		"usersig": nil,
	})
	want := []string{"check imports agent", "newpkg: no row in the architecture table", "policy imports server"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("violations %q, want %q", got, want)
	}
}
