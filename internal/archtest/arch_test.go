package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	"health":                 nil,
	"capacity":               {"clock", "event", "health", "metrics"},
	"policy":                 nil,
	"policy/policyfile":      {"internal/yamlpos", "policy"},
	"usersig":                nil,
	"codes":                  nil,
	"protocol":               {"codes"},
	"faults":                 nil,
	"internal/atomicfile":    nil,
	"internal/yamlpos":       nil,
	"internal/archtest":      nil,
	"internal/freshstack":    nil,
	"internal/memstat":       nil,
	"internal/devbench":      {"agent", "driver/ws", "event", "internal/memstat", "pacer", "policy", "protocol", "scenario", "server", "usersig"},
	"deploy/k8s":             nil,
	"event":                  {"policy"},
	"judge":                  {"event", "policy"},
	"judge/eval":             {"capacity", "check", "judge", "mau", "metrics", "results"},
	"scenario":               {"compare/tolerance", "faults", "internal/yamlpos", "judge", "policy", "policy/policyfile"},
	"pacer":                  {"scenario", "clock"},
	"driver":                 {"policy", "clock"},
	"driver/internal/wsdial": {"driver"},
	"driver/ws":              {"codes", "driver", "driver/internal/wsdial", "internal/freshstack", "policy", "protocol", "clock"},
	"driver/xmpp":            {"codes", "driver", "driver/internal/wsdial", "internal/freshstack", "policy", "clock"},
	"driver/inproc":          {"codes", "driver", "policy", "protocol", "server"},
	"server":                 {"clock", "codes", "faults", "policy", "protocol", "usersig"},
	"agent":                  {"clock", "codes", "driver", "event", "internal/freshstack", "pacer", "policy", "scenario", "usersig"},
	"metrics":                {"clock", "event", "policy"},
	"results":                {"capacity", "check", "codes", "faults", "health", "mau", "metrics", "policy", "internal/atomicfile", "storm"},
	"storm":                  {"codes", "event"},
	"storm/play":             {"clock", "pacer", "scenario", "shard", "storm"},
	"driver/netem":           {"clock", "driver"},
	"check":                  {"event", "policy"},
	"mau":                    {"clock", "codes", "driver", "event", "internal/yamlpos", "policy"},
	"compare":                {"check", "compare/tolerance", "health", "mau", "metrics", "policy", "results"},
	"compare/tolerance":      {},
	"report":                 {"capacity", "check", "compare", "health", "mau", "metrics", "policy", "results", "internal/atomicfile", "storm"},
	"live":                   {"event", "scenario"},
	"failfast":               {"codes", "driver", "event", "policy", "scenario"},
	"promsink":               {"check", "event", "live", "policy"},
	"hooks":                  {"check", "clock", "policy", "server"},
	"shard":                  {"agent", "scenario"},
	"target":                 {"agent", "clock", "codes", "driver", "driver/inproc", "driver/ws", "driver/xmpp", "policy", "protocol", "scenario", "server"},
	"run":                    {"agent", "check", "clock", "driver/netem", "event", "failfast", "health", "hooks", "judge/eval", "live", "metrics", "pacer", "policy", "promsink", "results", "scenario", "server", "shard", "storm", "storm/play", "target"},
	"caprun":                 {"capacity", "event", "health", "judge", "judge/eval", "metrics", "results", "run", "scenario"},
	"maurun":                 {"agent", "check", "clock", "driver", "internal/yamlpos", "judge/eval", "mau", "metrics", "policy", "results", "run", "scenario", "server", "shard", "target", "usersig"},
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

// yamlFree lists packages whose transitive imports, by the table above, must
// hold no YAML parser: event is on every device's hot path and its
// dependencies stay small.
var yamlFree = []string{"event", "policy", "clock", "codes", "faults"}

func TestHotPathPackagesImportNoYAML(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The closure of yamlFree under the table: a package they may import
	// must be YAML-free too.
	closure := map[string]bool{}
	var visit func(pkg string)
	visit = func(pkg string) {
		if closure[pkg] {
			return
		}
		closure[pkg] = true
		for _, d := range allowed[pkg] {
			visit(d)
		}
	}
	for _, p := range yamlFree {
		if _, ok := allowed[p]; !ok {
			t.Fatalf("%s has no row in the architecture table", p)
		}
		visit(p)
	}
	for pkg := range closure {
		files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pkg), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); strings.Contains(strings.ToLower(p), "yaml") {
					t.Errorf("%s imports %s: %s must stay free of YAML (it is imported by %v)", file, p, pkg, yamlFree)
				}
			}
		}
	}
}

// TestArchitectureTableIsTheRules: the package table of docs/ARCHITECTURE.md
// says, package by package, what allowed says: "anything of ours" for none,
// "all but `a`, `b`" for a and b, "nothing (...)" for any.
func TestArchitectureTableIsTheRules(t *testing.T) {
	data, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := slices.Index(lines, "| package | role | must not import |")
	if start < 0 {
		t.Fatal("docs/ARCHITECTURE.md has no package table (| package | role | must not import |)")
	}
	tick := regexp.MustCompile("`([^`]+)`")
	table := map[string][]string{}
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("table row %q: want 3 cells", l)
		}
		m := tick.FindStringSubmatch(cells[0])
		if m == nil {
			t.Fatalf("table row %q: no `package`", l)
		}
		rule := strings.TrimSpace(cells[len(cells)-1])
		var allow []string
		switch {
		case rule == "anything of ours":
		case strings.HasPrefix(rule, "all but "):
			for _, d := range tick.FindAllStringSubmatch(rule, -1) {
				allow = append(allow, d[1])
			}
		case strings.HasPrefix(rule, "nothing"):
			allow = []string{"*"}
		default:
			t.Fatalf("table row of %s: %q is none of the rule's forms", m[1], rule)
		}
		table[m[1]] = allow
	}
	for pkg, want := range allowed {
		got, ok := table[pkg]
		if !ok {
			t.Errorf("docs/ARCHITECTURE.md's table has no row for %s", pkg)
			continue
		}
		w, g := slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
		if !slices.Equal(w, g) {
			t.Errorf("%s: the table allows %v, the rules %v", pkg, g, w)
		}
	}
	for pkg := range table {
		if _, ok := allowed[pkg]; !ok {
			t.Errorf("docs/ARCHITECTURE.md's table has a row for %s, which the rules do not know", pkg)
		}
	}
}
