package policyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/policy"
)

func TestLoadFileGood(t *testing.T) {
	t.Run("dual-multi behaves as Tencent's dual-platform with 3/10", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/dual-multi.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if pol.Name != "my-dual" || pol.Description == "" || pol.DefaultPerPlatform != 3 || pol.Limit(policy.Web) != 10 || pol.ReplaceSameInstance {
			t.Fatalf("parsed %+v", pol)
		}
		ref, err := policy.Tencent(policy.DualPlatform, 3, 10)
		if err != nil {
			t.Fatal(err)
		}
		online := cat(series("w", policy.Web, 10, 1), series("a", policy.Android, 3, 11))
		for _, login := range []policy.Instance{in("m", policy.Mac, 20), in("a4", policy.Android, 20), in("w11", policy.Web, 20), in("i", policy.IPhone, 20)} {
			got, want := ids(pol.Displace(online, login)), ids(ref.Displace(online, login))
			if !slices.Equal(got, want) {
				t.Fatalf("login %s: displaced %v, Tencent dual-platform displaces %v", login.ID, got, want)
			}
		}
	})
	t.Run("block style, aliases, any letter case", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/block-style.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if len(pol.Groups) != 2 || pol.Groups[1].MaxPlatforms != 2 || pol.Limit(policy.Web) != 2 || pol.Limit(policy.Mac) != 1 || !pol.ReplaceSameInstance {
			t.Fatalf("parsed %+v", pol)
		}
		// A Web login displaces the desktop instance of its group.
		got := pol.Displace([]policy.Instance{in("m", policy.Mac, 1), in("a", policy.Android, 2)}, in("w", policy.Web, 3))
		if !slices.Equal(ids(got), []string{"m"}) {
			t.Fatalf("displaced %v, want [m]", ids(got))
		}
	})
	t.Run("refuse_new: a login that would displace is refused", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/refuse-new.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if pol.OnConflict != policy.RefuseNew {
			t.Fatalf("on_conflict %v, want refuse_new", pol.OnConflict)
		}
		online := []policy.Instance{in("a", policy.Android, 1), in("w", policy.Web, 2)}
		if v, refused := pol.Admit(online, in("m", policy.Mac, 3)); !refused || len(v) != 0 {
			t.Fatalf("third device: victims %v refused %v, want refused with no victim", ids(v), refused)
		}
		if v, refused := pol.Admit(online[:1], in("m", policy.Mac, 3)); refused || len(v) != 0 {
			t.Fatalf("second device: victims %v refused %v, want admitted with no victim", ids(v), refused)
		}
	})
	t.Run("one per platform, spelt out", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/one-per-platform.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if pol.Name != "one-per-platform" || len(pol.Groups) != 0 || pol.Limit(policy.Android) != 1 || pol.Limit(policy.Web) != 1 || pol.OnConflict != policy.KickOld {
			t.Fatalf("parsed %+v", pol)
		}
	})
	// A limit the file leaves out is no limit (docs/POLICY.md).
	t.Run("minimal: no limits", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/minimal.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if pol.Name != "no-limits" || len(pol.Groups) != 0 || pol.ReplaceSameInstance || pol.OnConflict != policy.KickOld {
			t.Fatalf("parsed %+v", pol)
		}
		for _, p := range policy.Platforms {
			if pol.Limit(p) != 0 {
				t.Errorf("limit of %s = %d, want 0 (none)", p, pol.Limit(p))
			}
		}
		online := cat(series("a", policy.Android, 5, 1), series("w", policy.Web, 5, 6))
		if got := pol.Displace(online, in("a1", policy.Android, 20)); len(got) != 0 {
			t.Fatalf("a repeat login displaced %v", ids(got))
		}
		if got := pol.Displace(online, in("a6", policy.Android, 20)); len(got) != 0 {
			t.Fatalf("a sixth Android displaced %v", ids(got))
		}
	})
	t.Run("xmpp with no cap: only the same resource is replaced", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/xmpp-no-cap.yaml")
		if err != nil {
			t.Fatal(err)
		}
		online := cat(series("a", policy.Android, 4, 1), series("m", policy.Mac, 3, 5))
		if got := pol.Displace(online, in("a9", policy.Android, 20)); len(got) != 0 {
			t.Fatalf("a new resource displaced %v, want nobody (no cap)", ids(got))
		}
		if got := ids(pol.Displace(online, in("m2", policy.Mac, 20))); !slices.Equal(got, []string{"m2"}) {
			t.Fatalf("a login on resource m2 displaced %v, want [m2]", got)
		}
	})
	t.Run("one cap over all platforms", func(t *testing.T) {
		pol, err := LoadFile("testdata/good/five-in-all.yaml")
		if err != nil {
			t.Fatal(err)
		}
		online := cat(series("w", policy.Web, 2, 1), series("a", policy.Android, 2, 3), series("m", policy.Mac, 1, 5))
		if got := ids(pol.Displace(online, in("i", policy.IPhone, 20))); !slices.Equal(got, []string{"w1"}) {
			t.Fatalf("a sixth session displaced %v, want the earliest, [w1]", got)
		}
		if got := pol.Displace(online[1:], in("i", policy.IPhone, 20)); len(got) != 0 {
			t.Fatalf("a fifth session displaced %v", ids(got))
		}
	})
}

func TestLoadFileBad(t *testing.T) {
	cases := map[string]struct {
		line, col int
		field     string
		msg       string // a part of the message
	}{
		"unknown-key":           {2, 1, "per_platfrom", "unknown key (allowed: name, description, per_platform, groups, replace_same_instance, on_conflict)"},
		"on-conflict":           {3, 14, "on_conflict", `want kick_old or refuse_new, got "kick_newest"`},
		"unknown-platform":      {4, 26, "groups[0].platforms[1]", `unknown platform "Andriod" (allowed: Android, iPhone, iPad, Windows, Mac, Linux, Web)`},
		"negative-limit":        {3, 12, "per_platform.default", `want a whole number 0 or more (0: no limit), got "-1"`},
		"fraction-limit":        {3, 59, "groups[0].max_instances", `got "1.5"`},
		"no-name":               {1, 1, "name", "missing"},
		"empty-name":            {1, 7, "name", "want a non-empty name"},
		"group-without-limit":   {3, 5, "groups[0]", "sets no limit: set max_platforms or max_instances"},
		"group-twice":           {4, 12, "groups[1].name", `group "g" is already defined at line 3`},
		"platform-twice":        {3, 41, "groups[0].platforms[2]", "platform Android is listed twice"},
		"max-platforms-too-big": {3, 57, "groups[0].max_platforms", "3 is more than the group's 2 platforms (allowed: 0 to 2)"},
		"syntax":                {3, 0, "", "YAML syntax"},
		"list":                  {1, 1, "", "want a mapping with keys name, description"},
		"empty":                 {0, 0, "", "empty policy file"},
		"yes-no":                {2, 24, "replace_same_instance", `want true or false, got "yes"`},
		"unknown-group-key":     {5, 5, "groups[0].max_instance", "unknown key (allowed: name, platforms, max_platforms, max_instances)"},
		"unknown-per-platform":  {2, 28, "per_platform.Webb", "unknown key (allowed: default, Android, iPhone"},
		"per-platform-twice":    {4, 3, "per_platform.web", "platform Web given twice (first at line 3)"},
		"key-twice":             {3, 1, "name", "given twice (first at line 1)"},
		"groups-not-list":       {2, 9, "groups", "want a list of groups, got a mapping"},
		"group-no-platforms":    {3, 5, "groups[0]", "missing platforms (allowed: Android"},
		"empty-platforms":       {3, 26, "groups[0].platforms", "got an empty list"},
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Fatalf("%d files in testdata/bad, %d cases: every bad file needs a case", len(files), len(cases))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("no case for %s", file)
			}
			pol, err := LoadFile(file)
			if err == nil {
				t.Fatalf("accepted: %+v", pol)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.File != file || pe.Line != c.line || pe.Col != c.col || pe.Field != c.field || !strings.Contains(pe.Msg, c.msg) {
				t.Fatalf("error %q\nwant %s:%d:%d field %q with %q", err, file, c.line, c.col, c.field, c.msg)
			}
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want one wrapping fs.ErrNotExist", err)
	}
}

// FuzzParse: arbitrary YAML never panics, fails only with a *ParseError, and
// what parses is a usable policy.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pol, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			return
		}
		if pol.Name == "" {
			t.Fatal("parsed a policy without a name")
		}
		for _, g := range pol.Groups {
			if len(g.Platforms) == 0 || (g.MaxPlatforms == 0 && g.MaxInstances == 0) {
				t.Fatalf("parsed an empty group %+v", g)
			}
		}
		var online []policy.Instance
		for seq, p := range policy.Platforms {
			login := in(string(p), p, uint64(seq+1))
			online = remaining(online, pol.Displace(online, login), login, pol.ReplaceSameInstance)
			if !pol.Allowed(online) {
				t.Fatalf("%v online is not allowed", ids(online))
			}
		}
	})
}

func TestLooks(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !Looks(data) {
			t.Errorf("%s does not look like a policy file", f)
		}
	}
	for _, s := range []string{
		"name: x\npopulation: {users: 10}\nphases: [{duration: 1s, rate: 1}]\n", // a scenario
		"name: x\nmau: {}\n",
		"per_platform: {default: 1}\n", // no name
		"- name: x\n",
		"",
		"name: [\n",
	} {
		if Looks([]byte(s)) {
			t.Errorf("%q looks like a policy file", s)
		}
	}
	// A misspelt key still looks like a scenario: validate then reports it
	// as a scenario error; only files made of policy keys are policies.
	if Looks([]byte("name: x\nper_platfrom: {}\n")) {
		t.Error("a file with an unknown key looks like a policy file")
	}
}

// docExamples returns the YAML examples of docs/POLICY.md.
func docExamples(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "POLICY.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		body, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatal("an unterminated yaml block in docs/POLICY.md")
		}
		out = append(out, []byte(body))
	}
	return out
}

// samePolicy compares what two policies do: limits, groups and flags.
func samePolicy(a, b *policy.Policy) bool {
	for _, p := range policy.Platforms {
		if a.Limit(p) != b.Limit(p) {
			return false
		}
	}
	if len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		ga, gb := a.Groups[i], b.Groups[i]
		if ga.Name != gb.Name || !slices.Equal(ga.Platforms, gb.Platforms) || ga.MaxPlatforms != gb.MaxPlatforms || ga.MaxInstances != gb.MaxInstances {
			return false
		}
	}
	return a.Name == b.Name && a.ReplaceSameInstance == b.ReplaceSameInstance && a.CountReplaced == b.CountReplaced && a.OnConflict == b.OnConflict
}

// Every example of docs/POLICY.md parses and is the testdata policy whose
// behaviour TestLoadFileGood checks.
func TestDocExamples(t *testing.T) {
	fixtures := map[string]string{
		"xmpp-no-cap": "testdata/good/xmpp-no-cap.yaml",
		"five-in-all": "testdata/good/five-in-all.yaml",
		"two-refuse":  "testdata/good/refuse-new.yaml",
		"my-dual":     "testdata/good/dual-multi.yaml",
	}
	seen := map[string]bool{}
	for i, ex := range docExamples(t) {
		pol, err := Parse(ex, fmt.Sprintf("POLICY.md example %d", i+1))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		file, ok := fixtures[pol.Name]
		if !ok {
			t.Errorf("example %q has no fixture to compare with", pol.Name)
			continue
		}
		want, err := LoadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !samePolicy(pol, want) {
			t.Errorf("example %q: %+v, but %s is %+v", pol.Name, pol, file, want)
		}
		seen[pol.Name] = true
	}
	for name := range fixtures {
		if !seen[name] {
			t.Errorf("docs/POLICY.md lost the example %q", name)
		}
	}
}
