package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/usersig"
)

// newSigCmd makes, checks and reads UserSig tickets.
func newSigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sig",
		Short: "Make, verify and inspect UserSig tickets (TLSSigAPIv2)",
		Long: "sig works with UserSig tickets as Tencent Cloud Chat's TLSSigAPIv2 makes them.\n" +
			"The app's secret key comes from a file (--key-file, a trailing newline is\n" +
			"ignored) or an environment variable (--key-env); it is never printed.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput("unknown command %q for \"imload sig\" (allowed: gen, verify, inspect)", args[0])
			}
			return cmd.Help()
		},
	}
	clk := clock.Real{}
	cmd.AddCommand(newSigGenCmd(clk), newSigVerifyCmd(clk), newSigInspectCmd(clk))
	return cmd
}

// reported is a failure already written to the command's output: main adds
// nothing but the exit code.
type reported struct{ err error }

func (reported) Error() string   { return "" }
func (r reported) Unwrap() error { return r.err }

// badInput is an exit-2 error.
func badInput(format string, args ...any) error {
	return withCode(exitBadInput, fmt.Errorf(format, args...))
}

// ticketFlags are the flags that say whose ticket it is and how it is signed.
type ticketFlags struct {
	sdkappid   uint64
	keyFile    string
	keyEnv     string
	user       string
	userbufB64 string
	now        int64
}

func (f *ticketFlags) register(cmd *cobra.Command, nowUsage string) {
	fl := cmd.Flags()
	fl.Uint64Var(&f.sdkappid, "sdkappid", 0, "the app's SDKAppID (required)")
	fl.StringVar(&f.keyFile, "key-file", "", "file holding the app's secret key (this or --key-env)")
	fl.StringVar(&f.keyEnv, "key-env", "", "environment variable holding the app's secret key (this or --key-file)")
	fl.StringVar(&f.user, "user", "", "the UserID (required)")
	fl.StringVar(&f.userbufB64, "userbuf-b64", "", "user buffer, standard base64 (default: none)")
	fl.Int64Var(&f.now, "now", 0, nowUsage)
}

// check validates the flags and returns the key and the user buffer.
func (f *ticketFlags) check(cmd *cobra.Command) (key, userbuf []byte, err error) {
	fl := cmd.Flags()
	if !fl.Changed("sdkappid") || f.sdkappid == 0 {
		return nil, nil, badInput("--sdkappid is required: the app's SDKAppID, a positive integer")
	}
	if f.user == "" {
		return nil, nil, badInput("--user is required: the UserID the ticket is for")
	}
	if key, err = f.key(); err != nil {
		return nil, nil, err
	}
	if f.userbufB64 != "" {
		if userbuf, err = base64.StdEncoding.DecodeString(f.userbufB64); err != nil {
			return nil, nil, badInput("--userbuf-b64: not standard base64 (A-Z a-z 0-9 + / with = padding): %v", err)
		}
	}
	return key, userbuf, nil
}

// key reads the secret key from exactly one of --key-file and --key-env.
// Errors never quote the key.
func (f *ticketFlags) key() ([]byte, error) {
	switch {
	case f.keyFile == "" && f.keyEnv == "":
		return nil, badInput("the secret key is required: give --key-file FILE or --key-env VAR")
	case f.keyFile != "" && f.keyEnv != "":
		return nil, badInput("--key-file and --key-env both given: give one of them")
	case f.keyFile != "":
		data, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, badInput("--key-file: %w", err)
		}
		key := strings.TrimRight(string(data), "\r\n")
		if key == "" {
			return nil, badInput("--key-file %s: the file holds no key", f.keyFile)
		}
		return []byte(key), nil
	default:
		key, ok := os.LookupEnv(f.keyEnv)
		if !ok {
			return nil, badInput("--key-env: environment variable %s is not set", f.keyEnv)
		}
		if key == "" {
			return nil, badInput("--key-env: environment variable %s is empty", f.keyEnv)
		}
		return []byte(key), nil
	}
}

// at is --now as a time, or the clock's time when it is not given.
func at(cmd *cobra.Command, now int64, clk clock.Clock) time.Time {
	if cmd.Flags().Changed("now") {
		return time.Unix(now, 0)
	}
	return clk.Now()
}

// parseLifetime reads a ticket lifetime: a Go duration (24h, 90m) or whole
// days (180d), at least one second, in whole seconds.
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 1 || n > 100*365 {
			return 0, fmt.Errorf("--expire %q: want days from 1d to 36500d, or a duration such as 24h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--expire %q: want a duration such as 24h or 90m, or days such as 180d", s)
		}
	}
	if d < time.Second || d%time.Second != 0 {
		return 0, fmt.Errorf("--expire %q: want whole seconds, at least 1s", s)
	}
	return d, nil
}

func newSigGenCmd(clk clock.Clock) *cobra.Command {
	var f ticketFlags
	var expire string
	cmd := &cobra.Command{
		Use: "gen [flags]",
		Example: "  imload sig gen --sdkappid 1400000000 --key-file app.key --user alice --expire 24h\n" +
			"  APP_KEY=... imload sig gen --sdkappid 1400000000 --key-env APP_KEY --user bob --expire 180d --userbuf-b64 cm9vbToxMjM0",
		Short: "Print a new ticket",
		Long: "gen prints a ticket for --user, issued now (or at --now) and valid for --expire.\n" +
			"The output is byte for byte what Tencent's Go TLSSigAPIv2 makes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, userbuf, err := f.check(cmd)
			if err != nil {
				return err
			}
			life, err := parseLifetime(expire)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			ticket, err := usersig.Gen(f.sdkappid, key, f.user, life, at(cmd, f.now, clk), userbuf)
			if err != nil {
				return withCode(exitBadInput, fmt.Errorf("--user: %w", err))
			}
			fmt.Fprintln(cmd.OutOrStdout(), ticket)
			return nil
		},
	}
	f.register(cmd, "issue time, unix seconds (default: now)")
	cmd.Flags().StringVar(&expire, "expire", "24h", "lifetime: a duration (24h, 90m) or days (180d)")
	return cmd
}

// invalid writes the verdict on a ticket that failed and returns the exit-1
// error.
func invalid(w io.Writer, err error) error {
	var ue *usersig.Error
	if !errors.As(err, &ue) {
		return withCode(exitFailed, err)
	}
	fmt.Fprintf(w, "invalid: %d: %s\n", ue.Code, ue.Reason)
	return withCode(exitFailed, reported{err})
}

func newSigVerifyCmd(clk clock.Clock) *cobra.Command {
	var f ticketFlags
	cmd := &cobra.Command{
		Use:     "verify [flags] TICKET",
		Example: "  imload sig verify --sdkappid 1400000000 --key-file app.key --user alice \"$TICKET\"",
		Short:   "Check a ticket as the login service does",
		Long: "verify checks TICKET for a login of --user to --sdkappid at --now (default: now),\n" +
			"in the service's order: SDKAppID, UserID, expiry, user buffer, signature.\n" +
			"A valid ticket prints \"valid until <time>\" and exits 0; an invalid one prints\n" +
			"\"invalid: <code>: <reason>\" (70001 expired, 70002 empty, 70003 undecodable,\n" +
			"70009 bad signature, 70013 UserID mismatch, 70014 SDKAppID mismatch) and exits 1.",
		Args: exactlyOneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			key, userbuf, err := f.check(cmd)
			if err != nil {
				return err
			}
			now := at(cmd, f.now, clk)
			t, err := usersig.Verify(args[0], f.sdkappid, key, f.user, userbuf, now)
			if err != nil {
				return invalid(cmd.OutOrStdout(), err)
			}
			exp := t.ExpiresAt()
			fmt.Fprintf(cmd.OutOrStdout(), "valid until %s (%s left)\n",
				exp.UTC().Format(time.RFC3339), exp.Sub(now.Truncate(time.Second)))
			return nil
		},
	}
	f.register(cmd, "the time of the login, unix seconds (default: now)")
	return cmd
}

func exactlyOneTicket(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return badInput("want exactly one TICKET argument, got %d", len(args))
	}
	return nil
}

func newSigInspectCmd(clk clock.Clock) *cobra.Command {
	var now int64
	cmd := &cobra.Command{
		Use:   "inspect [flags] TICKET",
		Short: "Print the fields of a ticket (no key needed; the signature is not checked)",
		Args:  exactlyOneTicket,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			t, err := usersig.Decode(args[0])
			if err != nil {
				return invalid(w, err)
			}
			exp := t.ExpiresAt()
			state := "not expired"
			if at(cmd, now, clk).After(exp) {
				state = "expired"
			}
			userbuf := "(none)"
			if t.UserBuf != nil {
				userbuf = fmt.Sprintf("%s (%d bytes)", base64.StdEncoding.EncodeToString(t.UserBuf), len(t.UserBuf))
			}
			fmt.Fprintf(w, "version:    %s\n", t.Version)
			fmt.Fprintf(w, "identifier: %s\n", printable(t.Identifier))
			fmt.Fprintf(w, "sdkappid:   %d\n", t.SDKAppID)
			fmt.Fprintf(w, "issued:     %s (%d)\n", time.Unix(t.Time, 0).UTC().Format(time.RFC3339), t.Time)
			fmt.Fprintf(w, "lifetime:   %ds (%s)\n", t.Expire, time.Duration(t.Expire)*time.Second)
			fmt.Fprintf(w, "expires:    %s (%s)\n", exp.UTC().Format(time.RFC3339), state)
			fmt.Fprintf(w, "userbuf:    %s\n", userbuf)
			fmt.Fprintf(w, "sig:        %s (%d bytes, not checked)\n", base64.StdEncoding.EncodeToString(t.Sig), len(t.Sig))
			return nil
		},
	}
	cmd.Flags().Int64Var(&now, "now", 0, "the time to judge expiry at, unix seconds (default: now)")
	return cmd
}

// printable shows s as it is when it is printable ASCII, else quoted.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
