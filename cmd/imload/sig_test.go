package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/usersig"
)

// runSig runs the imload root command with args, capturing its output, and
// returns the exit code main would give.
func runSig(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	code = exitOK
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = exitBadInput
	}
	return out.String(), errOut.String(), code, err
}

const (
	sigApp  = "1400000000"
	sigKey  = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	sigUser = "alice"
	sigTime = int64(1700000000)
)

// keyFile writes the test key, with a trailing newline, to a file.
func keyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.key")
	if err := os.WriteFile(path, []byte(sigKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func genTicket(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"sig", "gen", "--sdkappid", sigApp, "--key-file", keyFile(t), "--user", sigUser,
		"--now", strconv.FormatInt(sigTime, 10)}, extra...)
	out, _, code, err := runSig(t, args...)
	if code != exitOK {
		t.Fatalf("gen exit %d: %v", code, err)
	}
	return strings.TrimSuffix(out, "\n")
}

func TestSigGenMatchesVector(t *testing.T) {
	// The first vector of usersig's testdata: the ticket Tencent's Go
	// implementation made for alice.
	f, err := os.Open("../../usersig/testdata/usersig-vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatal("no vector")
	}
	var v struct {
		SDKAppID   uint64 `json:"sdkappid"`
		Key        string `json:"key"`
		Identifier string `json:"identifier"`
		Expire     int64  `json:"expire"`
		Time       int64  `json:"time"`
		UserSig    string `json:"usersig"`
	}
	if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMLOAD_TEST_KEY", v.Key)
	out, _, code, err := runSig(t, "sig", "gen", "--sdkappid", strconv.FormatUint(v.SDKAppID, 10), "--key-env", "IMLOAD_TEST_KEY",
		"--user", v.Identifier, "--expire", strconv.FormatInt(v.Expire, 10)+"s", "--now", strconv.FormatInt(v.Time, 10))
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if out != v.UserSig+"\n" {
		t.Fatalf("gen printed %q, want the vector %q", out, v.UserSig)
	}
}

func TestSigGenVerify(t *testing.T) {
	kf := keyFile(t)
	t.Setenv("IMLOAD_TEST_KEY", sigKey)
	plain := genTicket(t)
	withBuf := genTicket(t, "--userbuf-b64", "cm9vbToxMjM0", "--expire", "2d")
	now := func(d time.Duration) string { return strconv.FormatInt(sigTime+int64(d/time.Second), 10) }
	verify := func(extra ...string) []string {
		return append([]string{"sig", "verify", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser}, extra...)
	}
	cases := []struct {
		name    string
		args    []string
		code    int
		out     string // exact stdout
		errCode int    // usersig code inside the error, for exit 1
	}{
		{"valid at issue", verify("--now", now(0), plain), exitOK, "valid until 2023-11-15T22:13:20Z (24h0m0s left)\n", 0},
		{"valid on the last second", verify("--now", now(24*time.Hour), plain), exitOK, "valid until 2023-11-15T22:13:20Z (0s left)\n", 0},
		{"key from the environment", []string{"sig", "verify", "--sdkappid", sigApp, "--key-env", "IMLOAD_TEST_KEY", "--user", sigUser, "--now", now(time.Hour), plain},
			exitOK, "valid until 2023-11-15T22:13:20Z (23h0m0s left)\n", 0},
		{"userbuf and 2d lifetime", verify("--userbuf-b64", "cm9vbToxMjM0", "--now", now(47*time.Hour), withBuf), exitOK, "valid until 2023-11-16T22:13:20Z (1h0m0s left)\n", 0},
		{"userbuf not checked when not given", verify("--now", now(0), withBuf), exitOK, "valid until 2023-11-16T22:13:20Z (48h0m0s left)\n", 0},
		{"expired", verify("--now", now(24*time.Hour+time.Second), plain), exitFailed, "invalid: 70001: ticket expired at 2023-11-15T22:13:20Z\n", usersig.CodeExpired},
		{"empty", verify("--now", now(0), ""), exitFailed, "invalid: 70002: ticket is empty\n", usersig.CodeEmpty},
		{"undecodable", verify("--now", now(0), plain[:len(plain)/2]), exitFailed, "", usersig.CodeUndecodable},
		{"other user", []string{"sig", "verify", "--sdkappid", sigApp, "--key-file", kf, "--user", "bob", "--now", now(0), plain},
			exitFailed, "invalid: 70013: ticket is for UserID \"alice\", not \"bob\"\n", usersig.CodeUserMismatch},
		{"other app", []string{"sig", "verify", "--sdkappid", "1400000001", "--key-file", kf, "--user", sigUser, "--now", now(0), plain},
			exitFailed, "invalid: 70014: ticket is for SDKAppID 1400000000, not 1400000001\n", usersig.CodeAppMismatch},
		{"other userbuf", verify("--userbuf-b64", "b3RoZXI=", "--now", now(0), withBuf), exitFailed, "invalid: 70009: user buffer differs\n", usersig.CodeBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code, err := runSig(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d (%v), want %d; stdout %q", code, err, c.code, out)
			}
			if c.out != "" && out != c.out {
				t.Fatalf("stdout %q, want %q", out, c.out)
			}
			if c.code == exitFailed {
				var ue *usersig.Error
				if !errors.As(err, &ue) || ue.Code != c.errCode {
					t.Fatalf("error %v, want usersig code %d", err, c.errCode)
				}
				if !strings.HasPrefix(out, "invalid: "+strconv.Itoa(c.errCode)+": ") {
					t.Fatalf("stdout %q does not give the code", out)
				}
				if err.Error() != "" {
					t.Fatalf("error %q would be printed twice by main", err)
				}
			}
			if strings.Contains(out+stderr, sigKey) {
				t.Fatal("the key was printed")
			}
		})
	}
}

func TestSigVerifyOtherKey(t *testing.T) {
	ticket := genTicket(t)
	t.Setenv("IMLOAD_OTHER_KEY", "another app's key")
	out, _, code, err := runSig(t, "sig", "verify", "--sdkappid", sigApp, "--key-env", "IMLOAD_OTHER_KEY", "--user", sigUser,
		"--now", strconv.FormatInt(sigTime, 10), ticket)
	var ue *usersig.Error
	if code != exitFailed || !errors.As(err, &ue) || ue.Code != usersig.CodeBadSignature {
		t.Fatalf("exit %d, error %v: want 1 with 70009", code, err)
	}
	if out != "invalid: 70009: signature does not match the key\n" {
		t.Fatalf("stdout %q", out)
	}
}

func TestSigInspect(t *testing.T) {
	ticket := genTicket(t, "--userbuf-b64", "cm9vbToxMjM0")
	out, _, code, err := runSig(t, "sig", "inspect", "--now", strconv.FormatInt(sigTime+1, 10), ticket)
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	for _, want := range []string{
		"version:    2.0\n",
		"identifier: alice\n",
		"sdkappid:   1400000000\n",
		"issued:     2023-11-14T22:13:20Z (1700000000)\n",
		"lifetime:   86400s (24h0m0s)\n",
		"expires:    2023-11-15T22:13:20Z (not expired)\n",
		"userbuf:    cm9vbToxMjM0 (9 bytes)\n",
		"(32 bytes, not checked)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	out, _, _, _ = runSig(t, "sig", "inspect", "--now", strconv.FormatInt(sigTime+86401, 10), ticket)
	if !strings.Contains(out, "(expired)") {
		t.Errorf("inspect after expiry does not say expired:\n%s", out)
	}
	out, _, code, _ = runSig(t, "sig", "inspect", "not-a-ticket!")
	if code != exitFailed || !strings.HasPrefix(out, "invalid: 70003: ") {
		t.Errorf("inspect of garbage: exit %d, stdout %q", code, out)
	}
}

func TestSigBadInput(t *testing.T) {
	kf := keyFile(t)
	empty := filepath.Join(t.TempDir(), "empty.key")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMLOAD_EMPTY_KEY", "")
	ticket := genTicket(t)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no key", []string{"sig", "gen", "--sdkappid", sigApp, "--user", sigUser}, "give --key-file FILE or --key-env VAR"},
		{"both keys", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--key-env", "HOME", "--user", sigUser}, "give one of them"},
		{"no sdkappid", []string{"sig", "gen", "--key-file", kf, "--user", sigUser}, "--sdkappid is required"},
		{"zero sdkappid", []string{"sig", "gen", "--sdkappid", "0", "--key-file", kf, "--user", sigUser}, "--sdkappid is required"},
		{"sdkappid not a number", []string{"sig", "gen", "--sdkappid", "abc", "--key-file", kf, "--user", sigUser}, `--sdkappid: "abc" is not a whole number`},
		{"no user", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf}, "--user is required"},
		{"key file missing", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf + ".nope", "--user", sigUser}, "--key-file: open"},
		{"key file empty", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", empty, "--user", sigUser}, "the file holds no key"},
		{"key env unset", []string{"sig", "gen", "--sdkappid", sigApp, "--key-env", "IMLOAD_UNSET_KEY_VAR", "--user", sigUser}, "IMLOAD_UNSET_KEY_VAR is not set"},
		{"key env empty", []string{"sig", "gen", "--sdkappid", sigApp, "--key-env", "IMLOAD_EMPTY_KEY", "--user", sigUser}, "IMLOAD_EMPTY_KEY is empty"},
		{"bad userbuf", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, "--userbuf-b64", "%%%"}, "--userbuf-b64: not standard base64"},
		{"bad expire", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, "--expire", "soon"}, `--expire "soon": want a duration`},
		{"fractional expire", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, "--expire", "1500ms"}, "want whole seconds"},
		{"zero days", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, "--expire", "0d"}, "want days from 1d"},
		{"gen with an argument", []string{"sig", "gen", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, "extra"}, "unknown command"},
		{"verify without ticket", []string{"sig", "verify", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser}, "want exactly one TICKET argument, got 0"},
		{"verify without key", []string{"sig", "verify", "--sdkappid", sigApp, "--user", sigUser, ticket}, "give --key-file FILE or --key-env VAR"},
		{"verify with two tickets", []string{"sig", "verify", "--sdkappid", sigApp, "--key-file", kf, "--user", sigUser, ticket, ticket}, "got 2"},
		{"inspect without ticket", []string{"sig", "inspect"}, "want exactly one TICKET argument"},
		{"unknown subcommand", []string{"sig", "make"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code, err := runSig(t, c.args...)
			if code != exitBadInput {
				t.Fatalf("exit %d (%v), want %d; stdout %q", code, err, exitBadInput, out)
			}
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %v, want one containing %q", err, c.msg)
			}
			if strings.Contains(out+stderr+err.Error(), sigKey) {
				t.Fatal("the key was printed")
			}
		})
	}
}

// TestSigExpireDays: 180d is 180 days.
func TestSigExpireDays(t *testing.T) {
	ticket := genTicket(t, "--expire", "180d")
	tk, err := usersig.Decode(ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Expire != 180*86400 {
		t.Fatalf("lifetime %d s, want %d", tk.Expire, 180*86400)
	}
}
