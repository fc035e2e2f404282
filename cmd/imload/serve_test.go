package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

// syncBuffer is a bytes.Buffer safe for the command and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeRunsUntilCancelled(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("serve-test-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newServeCmd()
	var out, errOut syncBuffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--sdkappid", "1400000009", "--key-file", keyFile,
		"--policy", "dual-platform", "--web-instances", "3", "--fault", "late-kick"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`imload serve: listening on (ws://\S+/v1/ws) \(policy dual-platform, sdkappid 1400000009\)`)
	var url string
	deadline := time.Now().Add(5 * time.Second)
	for url == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(errOut.String(), "faults injected: late-kick") {
		t.Fatalf("stderr %q does not name the fault", errOut.String())
	}

	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	sig, err := usersig.Gen(1400000009, []byte("serve-test-key"), "alice", time.Hour, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []protocol.Frame{
		{Op: protocol.OpHello, V: 1, SDKAppID: 1400000009, Platform: "Web", Instance: "tab"},
		{Op: protocol.OpLogin, ID: 1, UserID: "alice", UserSig: sig, Platform: "Web"},
	} {
		if err := ws.WriteJSON(f); err != nil {
			t.Fatal(err)
		}
		var r protocol.Frame
		if err := ws.ReadJSON(&r); err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 || (f.Op == protocol.OpLogin && r.Seq != 1) {
			t.Fatalf("%s answered %+v", f.Op, r)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	var last protocol.Frame
	_, b, err := ws.ReadMessage()
	if err != nil || json.Unmarshal(b, &last) != nil || last.Code != codes.ServerClosed {
		t.Fatalf("after shutdown the client read %q %v, want error 1007", b, err)
	}
	if !strings.Contains(out.String(), "stopped: 1 logins (0 refused)") {
		t.Fatalf("stdout %q lacks the summary", out.String())
	}
}

func TestServePolicyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(file, []byte("name: one-web-two-phones\nper_platform: {default: 2, Web: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := serveFlags{policy: file}
	cmd := newServeCmd()
	pol, err := f.resolvePolicy(cmd)
	if err != nil || pol.Name != "one-web-two-phones" || pol.Limit("Android") != 2 {
		t.Fatalf("policy %+v, %v", pol, err)
	}
	if err := cmd.Flags().Set("instances", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.resolvePolicy(cmd); err == nil || !strings.Contains(err.Error(), "sets its own limits") {
		t.Fatalf("file with --instances: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("nme: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&serveFlags{policy: bad}).resolvePolicy(newServeCmd()); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("bad file: %v", err)
	}
}

func TestServeRefusesBadFlags(t *testing.T) {
	t.Setenv("IMLOAD_SERVE_TEST_KEY", "k")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--sdkappid", "1"}, "--key-file FILE or --key-env VAR"},
		{[]string{"--key-env", "IMLOAD_SERVE_TEST_KEY"}, "--sdkappid is required"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_UNSET_VAR"}, "not set"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--policy", "quad-platform"}, "unknown policy"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--instances", "4"}, "1 to 3"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--fault", "slow-kick"}, "unknown fault"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--idle-timeout", "0s"}, "--idle-timeout must be"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--login-cost", "5ms"}, "needs Workers >= 1"},
		{[]string{"--sdkappid", "1", "--key-env", "IMLOAD_SERVE_TEST_KEY", "--max-sessions", "-1"}, "must be >= 0"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := newServeCmd()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0"}, tc.args...))
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != exitBadInput {
				t.Fatalf("error %v is not a bad-input exit", err)
			}
		})
	}
}

// TestServeWarnsOfAShortIdleTimeout: an idle timeout below 3 × heartbeat is
// accepted with a warning; the defaults give none.
func TestServeWarnsOfAShortIdleTimeout(t *testing.T) {
	if w := idleWarning(server.DefaultIdleTimeout, server.DefaultHeartbeat); w != "" {
		t.Fatalf("defaults warned: %s", w)
	}
	if w := idleWarning(6*time.Minute, 2*time.Minute); w != "" {
		t.Fatalf("exactly 3 × heartbeat warned: %s", w)
	}
	w := idleWarning(5*time.Minute, 2*time.Minute)
	if !strings.Contains(w, "--idle-timeout 5m0s is less than 3 × --heartbeat 2m0s (6m0s)") {
		t.Fatalf("warning %q", w)
	}
}
