package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/results"
)

// buildImload builds the imload command into dir.
func buildImload(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "imload")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// urlScenario is the quickstart's load (20 s) against url, with the key in
// IMLOAD_TEST_KEY and the default SDKAppID.
func urlScenario(url string) string {
	return `name: misconfigured
seed: 42
target:
  url: ` + url + `
  key_env: IMLOAD_TEST_KEY
  policy: dual-platform
population:
  users: 2000
phases:
  - model: open
    duration: 10s
    rate: 50
    to_rate: 150
  - model: closed
    duration: 10s
    devices: 300
behaviour:
  hold: {dist: exponential, mean: 3s}
thresholds:
  - "login.p99 < 250ms"
  - "kickout.violations == 0"
`
}

// runBin runs bin with args (IMLOAD_TEST_KEY set), bounded by limit, and
// returns its exit code, output and how long it took.
func runBin(t *testing.T, bin string, limit time.Duration, args ...string) (code int, stdout, stderr string, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "IMLOAD_TEST_KEY=failfast-test-key")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return code, out.String(), errOut.String(), took
}

// TestRunFailsFast: a run whose target cannot serve it (another SDKAppID,
// a closed port, a wrong path) ends within 10 s, well before its 20 s of
// phases, with exit 2 and a diagnosis naming the setting; the results are
// written, marked aborted.
func TestRunFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the imload binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildImload(t, dir)

	// imload serve with another SDKAppID than the scenario's default.
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("failfast-test-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	defer stopSrv()
	srv := exec.CommandContext(srvCtx, bin, "serve", "--addr", "127.0.0.1:0", "--sdkappid", "1400000001", "--key-file", keyFile, "--policy", "dual-platform")
	pipe, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stopSrv(); _ = srv.Wait() }()
	re := regexp.MustCompile(`listening on (ws://\S+/v1/ws)`)
	served := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				served <- m[1]
			}
		}
	}()
	var serveURL string
	select {
	case serveURL = <-served:
	case <-time.After(20 * time.Second):
		t.Fatal("imload serve printed no listening line")
	}

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "ws://" + ln.Addr().String() + "/v1/ws"
	ln.Close()

	// A web server without the protocol's path.
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	wrongPath := "ws://" + strings.TrimPrefix(notFound.URL, "http://") + "/v1/wss"

	for _, c := range []struct{ name, url, want string }{
		{"other sdkappid", serveURL, "target.sdkappid is 1400000000; the server answers 70020 SDKAppID not found"},
		{"closed port", closedURL, "connection refused at " + closedURL},
		{"wrong path", wrongPath, "HTTP 404 at " + wrongPath + ": the path is wrong"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeScenario(t, t.TempDir(), "s.yaml", urlScenario(c.url))
			out := filepath.Join(filepath.Dir(path), "results.json")
			code, stdout, stderr, took := runBin(t, bin, 40*time.Second, "run", path, "-o", out, "-q")
			t.Logf("exit %d after %v", code, took)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if took > 10*time.Second {
				t.Errorf("took %v, want within 10s", took)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			f, err := results.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(f.Aborted, c.want) || f.Interrupted {
				t.Errorf("results: aborted %q interrupted %v, want aborted with %q", f.Aborted, f.Interrupted, c.want)
			}
			if !strings.Contains(stdout, "aborted: ") {
				t.Errorf("summary does not say the run was aborted:\n%s", stdout)
			}
		})
	}
}
