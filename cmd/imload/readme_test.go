package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeCommand is one command of a ```sh block of the README.
type readmeCommand struct {
	line int    // in README.md
	text string // the command, its comment taken off
	want int    // the exit code its comment promises ("exits 1"), else 0
	bg   bool   // it ends with & (a server left running)
}

// readmeBlocks returns the README's ```sh blocks, each as its commands,
// with the heading each sits under.
func readmeBlocks(t *testing.T, readme []byte) (blocks [][]readmeCommand, headings []string) {
	t.Helper()
	exits := regexp.MustCompile(`\bexits ([0-9]+)`)
	var cur []readmeCommand
	in, heading, pending, start := false, "", "", 0
	for i, line := range strings.Split(string(readme), "\n") {
		switch {
		case !in && strings.HasPrefix(line, "#"):
			heading = strings.TrimLeft(line, "# ")
		case !in && line == "```sh":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks, headings = append(blocks, cur), append(headings, heading)
		case in:
			if pending == "" {
				start = i + 1
			}
			pending += line
			if strings.HasSuffix(line, `\`) {
				pending = strings.TrimSuffix(pending, `\`) + " "
				continue
			}
			text, comment, _ := strings.Cut(pending, " #")
			pending = ""
			c := readmeCommand{line: start, text: strings.TrimSpace(text), want: 0}
			if m := exits.FindStringSubmatch(comment); m != nil {
				c.want, _ = strconv.Atoi(m[1])
			}
			c.text, c.bg = strings.CutSuffix(c.text, "&")
			c.text = strings.TrimSpace(c.text)
			if c.text != "" {
				cur = append(cur, c)
			}
		}
	}
	return blocks, headings
}

// readmeSkips are the README's commands this test does not run, by prefix,
// each with its reason.
var readmeSkips = []struct{ prefix, why string }{
	{"scripts/test", "the whole test suite, of which this test is part"},
	{"scripts/shards", "60,000 devices over several processes for minutes"},
	{"scripts/ejabberd", "needs ejabberd (scripts/test starts one for the XMPP tests)"},
	{"IMLOAD_XMPP_SECRET=", "needs ejabberd"},
	{"imload run scenarios/mau-strategies.yaml", "a month of 100,000 users: from 30 s to minutes on a shared machine"},
	{"imload run scenarios/storm-restart.yaml", "40 s, over this test's budget (run/events_test.go covers the fault)"},
	{"imload compare --base", "needs three replicate runs a side"},
	{"imload run scenario.yaml", "names a placeholder scenario"},
}

// The README's commands work as written: each one that can run here runs
// from a fresh copy of the tree (the files git tracks, nothing a run left)
// and exits with the code the README promises (0, or the "exits N" of its
// comment). `go run ./cmd/imload` runs a binary built once. Commands that
// promise a failure run side by side (their verdict does not hang on the
// machine's load); the others one after another, in the README's order,
// in one directory (the report commands read the quickstart's results).
// The set-up section keeps exactly two commands: one runs the main job, one
// the tests.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands: about 45 s")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, headings := readmeBlocks(t, readme)
	if len(blocks) == 0 || headings[0] != "Set up" || len(blocks[0]) != 2 {
		t.Fatalf("the README's first command block is %v under %q, want the two set-up commands", blocks[0], headings[0])
	}
	tree := freshTree(t)
	bin := buildImload(t, t.TempDir())
	// The server's default port may be taken on a shared machine: the
	// README's 9000 becomes a free one, in the commands and the scenario.
	port := freePort(t)
	sc := filepath.Join(tree, "scenarios", "serve-target.yaml")
	b, err := os.ReadFile(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sc, bytes.ReplaceAll(b, []byte("127.0.0.1:9000"), []byte("127.0.0.1:"+port)), 0o644); err != nil {
		t.Fatal(err)
	}
	total := time.Now()
	ran := 0
	for b, block := range blocks {
		var script strings.Builder
		script.WriteString("imload() { \"$IMLOAD\" \"$@\"; }\nfail=0\npids=()\n")
		n := 0
		for _, c := range block {
			cmd := strings.ReplaceAll(c.text, "go run ./cmd/imload", "imload")
			cmd = strings.ReplaceAll(cmd, "127.0.0.1:9000", "127.0.0.1:"+port)
			if strings.HasPrefix(cmd, "imload serve") && !strings.Contains(cmd, "--addr") {
				cmd += " --addr 127.0.0.1:" + port // its default, 127.0.0.1:9000, moved
			}
			if why := skipReason(cmd); why != "" {
				t.Logf("README.md:%d: not run (%s): %s", c.line, why, c.text)
				continue
			}
			n++
			if strings.HasPrefix(cmd, "imload compare base.json new.json") {
				// Its inputs: two runs of one scenario; the quickstart's, twice.
				script.WriteString("cp results.json base.json && cp results.json new.json\n")
			}
			check := fmt.Sprintf("if [ $rc -ne %d ]; then echo \"README.md:%d: exit $rc, want %d: %s\" >&2; fail=1; fi", c.want, c.line, c.want, strings.ReplaceAll(c.text, `"`, `\"`))
			switch {
			case c.bg:
				fmt.Fprintf(&script, "%s > bg-%d.log 2>&1 &\n", cmd, c.line)
				// Wait until the server listens.
				fmt.Fprintf(&script, "for i in $(seq 200); do (echo > /dev/tcp/127.0.0.1/%s) 2>/dev/null && break; sleep 0.05; done\n", port)
			case c.want != 0:
				fmt.Fprintf(&script, "( %s > out-%d.log 2>&1; rc=$?; %s; exit $fail ) &\npids+=($!)\n", cmd, c.line, check)
			case strings.HasPrefix(cmd, "export ") || strings.HasPrefix(cmd, "kill "):
				fmt.Fprintf(&script, "%s\n", cmd)
			default:
				fmt.Fprintf(&script, "%s > out-%d.log 2>&1; rc=$?\n", cmd, c.line)
				fmt.Fprintf(&script, "if [ $rc -eq 1 ] && [ %d -eq 0 ] && lagged out-%d.log; then echo \"README.md:%d: latency thresholds failed on a starved machine\" >&2; rc=0; fi\n", c.want, c.line, c.line)
				fmt.Fprintf(&script, "%s\n", check)
			}
		}
		if n == 0 {
			continue
		}
		ran += n
		script.WriteString("for p in \"${pids[@]}\"; do wait $p || fail=1; done\nexit $fail\n")
		t.Run(fmt.Sprintf("block%d", b), func(t *testing.T) {
			runScript(t, tree, bin, script.String())
		})
	}
	t.Logf("ran %d README commands in %v", ran, time.Since(total).Round(time.Second))
	if ran < 8 {
		t.Errorf("ran only %d README commands", ran)
	}
}

// lagged is bash: whether a run's output says the generator lagged and
// only latency thresholds failed: a machine too busy for the README's own
// latency targets, which the run then says on its first line.
const lagged = `lagged() {
  grep -q '^WARNING: the load generator lagged' "$1" || return 1
  ! grep '^FAIL ' "$1" | grep -qv '\.p[0-9.]* <'
}
`

func runScript(t *testing.T, dir, bin, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", lagged+"trap 'kill $(jobs -p) 2>/dev/null' EXIT\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IMLOAD="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%v:\n%s", time.Since(start).Round(100*time.Millisecond), script)
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "*-*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", filepath.Base(l), tail(b, 3000))
		}
		t.Fatalf("%v\n%s", err, out.String())
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*-*.log"))
	for _, l := range logs {
		os.Remove(l)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func skipReason(cmd string) string {
	for _, s := range readmeSkips {
		if strings.HasPrefix(cmd, s.prefix) {
			return s.why
		}
	}
	return ""
}

// freshTree copies the files git tracks (as they are in the work tree)
// into a new directory: a clone's files, without what earlier runs left.
func freshTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join("..", "..")
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // removed in the work tree, or a link
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
