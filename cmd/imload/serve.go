package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/policy/policyfile"
	"github.com/imload/imload/server"
)

type serveFlags struct {
	addr         string
	sdkappid     uint64
	keyFile      string
	keyEnv       string
	admin        string
	policy       string
	instances    int
	webInstances int
	faults       []string
	resumeWindow time.Duration
	idleTimeout  time.Duration
	heartbeat    time.Duration
	day          time.Duration
	scenario     string // take the target's settings from this scenario
	webhook      string // State.StateChange callback URL
	service      server.Service
}

// newServeCmd runs the reference login server alone.
func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference login server until interrupted",
		Long: "serve runs imload's reference login server: the WebSocket protocol of\n" +
			"docs/PROTOCOL.md at /v1/ws, enforcing a multi-device login policy. It binds\n" +
			"loopback unless --addr says otherwise, and shuts down gracefully on SIGINT\n" +
			"or SIGTERM (every connection gets error 1007, then is closed).\n\n" +
			"--policy is a policy name (" + strings.Join(policy.Names(), ", ") + ")\n" +
			"or the path of a policy YAML file. --fault injects a deliberate bug, for\n" +
			"testing checkers: " + strings.Join(server.FaultNames(), ", ") + ".",
		Example: "  imload serve --sdkappid 1400000001 --key-env IMLOAD_KEY --policy dual-platform --web-instances 10",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:9000", "listen address (host:port); loopback unless you mean otherwise")
	fl.Uint64Var(&f.sdkappid, "sdkappid", 0, "the app's SDKAppID (required)")
	fl.StringVar(&f.keyFile, "key-file", "", "file holding the app's secret key (this or --key-env)")
	fl.StringVar(&f.keyEnv, "key-env", "", "environment variable holding the app's secret key (this or --key-file)")
	fl.StringVar(&f.admin, "admin", "administrator", "administrator UserID of the REST API")
	fl.StringVar(&f.policy, "policy", policy.SinglePlatform, "multi-device policy: a name or a policy YAML file")
	fl.IntVar(&f.instances, "instances", 0, "instances per native platform (Tencent policies: 1 to 3; 0: the policy's default)")
	fl.IntVar(&f.webInstances, "web-instances", 0, "Web instances (Tencent policies: 1 to 10; 0: the policy's default)")
	fl.StringArrayVar(&f.faults, "fault", nil, "inject a fault (repeatable): "+strings.Join(server.FaultNames(), ", "))
	fl.DurationVar(&f.resumeWindow, "resume-window", server.DefaultResumeWindow, "how long a dropped session stays resumable")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close a connection silent for this long")
	fl.DurationVar(&f.heartbeat, "heartbeat", server.DefaultHeartbeat, "ping interval asked of clients (hello_ok)")
	fl.DurationVar(&f.day, "day", 24*time.Hour, "length of a statistics day (compress it for MAU runs)")
	fl.StringVar(&f.webhook, "webhook", "", "send State.StateChange callbacks (login, logout, disconnect) to this http:// or https:// URL")
	fl.IntVar(&f.service.Workers, "login-workers", 0, "service model: logins served at once (with --login-cost; the ceiling is workers/cost logins per second)")
	fl.DurationVar(&f.service.LoginCost, "login-cost", 0, "service model: how long each login holds a worker (0: no cost)")
	fl.IntVar(&f.service.MaxSessions, "max-sessions", 0, "refuse logins beyond this many sessions with code 1009 (0: no bound)")
	fl.StringVar(&f.scenario, "scenario", "", "take sdkappid, admin, policy, instances and faults from this scenario's target (flags given win)")
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	if err := f.fromScenario(cmd); err != nil {
		return err
	}
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	s, err := server.New(cfg)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, err := s.Start(f.addr)
	if err != nil {
		_ = s.Shutdown(context.Background())
		return withCode(exitFailed, err)
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if host, _, err := net.SplitHostPort(addr.String()); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(errOut, "imload serve: warning: listening on %s, which is not loopback: anyone who can reach it can log in with a valid ticket\n", host)
		}
	}
	if w := idleWarning(cfg.IdleTimeout, cfg.Heartbeat); w != "" {
		fmt.Fprintf(errOut, "imload serve: warning: %s\n", w)
	}
	if len(cfg.Faults.Names()) > 0 {
		fmt.Fprintf(errOut, "imload serve: faults injected: %s\n", strings.Join(cfg.Faults.Names(), ", "))
	}
	fmt.Fprintf(out, "imload serve: listening on ws://%s%s (policy %s, sdkappid %d)\n", addr, server.WSPath, cfg.Policy.Name, cfg.SDKAppID)
	if c := cfg.Service.Ceiling(); c > 0 {
		fmt.Fprintf(out, "imload serve: service model: %d workers, %s per login: at most %.0f logins/s\n", cfg.Service.Workers, cfg.Service.LoginCost, c)
	}
	if cfg.Service.MaxSessions > 0 {
		fmt.Fprintf(out, "imload serve: at most %d sessions (code 1009 beyond)\n", cfg.Service.MaxSessions)
	}
	fmt.Fprintf(out, "imload serve: metrics at http://%s%s\n", addr, server.MetricsPath)
	fmt.Fprintf(out, "imload serve: REST admin API at http://%s%s{service}/{command} (admin %s)\n", addr, server.RESTPrefix, cfg.Admin)
	if cfg.WebhookURL != "" {
		fmt.Fprintf(out, "imload serve: State.StateChange callbacks to %s\n", cfg.WebhookURL)
	}

	<-ctx.Done()
	fmt.Fprintln(errOut, "imload serve: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.Shutdown(sctx)
	st := s.Stats()
	var failed uint64
	for _, n := range st.LoginsFailed {
		failed += n
	}
	fmt.Fprintf(out, "imload serve: stopped: %d logins (%d refused), %d kicks, %d resumes\n", st.LoginsOK, failed, st.Kicks, st.Resumes)
	if err != nil {
		return withCode(exitFailed, err)
	}
	return nil
}

// config turns the flags into a server configuration.
func (f *serveFlags) config(cmd *cobra.Command) (server.Config, error) {
	var cfg server.Config
	if f.sdkappid == 0 {
		return cfg, withCode(exitBadInput, errors.New("--sdkappid is required: the app's SDKAppID, a positive integer"))
	}
	key, err := f.key()
	if err != nil {
		return cfg, err
	}
	pol, err := f.resolvePolicy(cmd)
	if err != nil {
		return cfg, err
	}
	faults, err := server.ParseFaults(f.faults)
	if err != nil {
		return cfg, withCode(exitBadInput, fmt.Errorf("--fault: %w", err))
	}
	for name, d := range map[string]time.Duration{"--idle-timeout": f.idleTimeout, "--heartbeat": f.heartbeat, "--day": f.day} {
		if d <= 0 {
			return cfg, withCode(exitBadInput, fmt.Errorf("%s must be a positive duration such as 30s, got %s", name, d))
		}
	}
	if f.resumeWindow < 0 {
		return cfg, withCode(exitBadInput, fmt.Errorf("--resume-window must be 0s or more, got %s", f.resumeWindow))
	}
	rw := f.resumeWindow
	if rw == 0 {
		rw = -1 // no resume at all
	}
	if f.webhook != "" {
		if u, err := url.Parse(f.webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, withCode(exitBadInput, fmt.Errorf("--webhook must be an http:// or https:// URL with a host, got %q", f.webhook))
		}
	}
	return server.Config{
		SDKAppID: f.sdkappid, Key: key, Admin: f.admin, Policy: pol, Faults: faults,
		ResumeWindow: rw, IdleTimeout: f.idleTimeout, Heartbeat: f.heartbeat, Day: f.day,
		WebhookURL: f.webhook, Service: f.service,
	}, nil
}

// resolvePolicy reads --policy as a policy file when such a file exists,
// else as a policy name.
func (f *serveFlags) resolvePolicy(cmd *cobra.Command) (*policy.Policy, error) {
	if st, err := os.Stat(f.policy); err == nil && !st.IsDir() {
		if cmd.Flags().Changed("instances") || cmd.Flags().Changed("web-instances") {
			return nil, withCode(exitBadInput, fmt.Errorf("--policy %s is a policy file, which sets its own limits: drop --instances and --web-instances", f.policy))
		}
		pol, err := policyfile.LoadFile(f.policy)
		if err != nil {
			return nil, withCode(exitBadInput, fmt.Errorf("--policy: %w", err))
		}
		return pol, nil
	}
	pol, err := policy.Lookup(f.policy, f.instances, f.webInstances)
	if err != nil {
		return nil, withCode(exitBadInput, fmt.Errorf("--policy: %w (or give the path of a policy YAML file)", err))
	}
	return pol, nil
}

// key reads the secret key from exactly one of --key-file and --key-env;
// errors never quote it.
func (f *serveFlags) key() ([]byte, error) {
	bad := func(format string, args ...any) error { return withCode(exitBadInput, fmt.Errorf(format, args...)) }
	switch {
	case f.keyFile == "" && f.keyEnv == "":
		return nil, bad("the app's secret key is required: give --key-file FILE or --key-env VAR")
	case f.keyFile != "" && f.keyEnv != "":
		return nil, bad("--key-file and --key-env both given: give one of them")
	case f.keyFile != "":
		data, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, bad("--key-file: %w", err)
		}
		key := strings.TrimRight(string(data), "\r\n")
		if key == "" {
			return nil, bad("--key-file %s: the file holds no key", f.keyFile)
		}
		return []byte(key), nil
	default:
		key := os.Getenv(f.keyEnv)
		if key == "" {
			return nil, bad("--key-env: environment variable %s is not set or empty", f.keyEnv)
		}
		return []byte(key), nil
	}
}

// idleWarning says what is wrong with an idle timeout shorter than three
// heartbeat intervals (docs/PROTOCOL.md section 9: a client that pings
// every heartbeat_ms may miss one or two and still be online), or "".
// Such a timeout is accepted: tests and storms use short ones on purpose.
func idleWarning(idle, heartbeat time.Duration) string {
	if idle >= 3*heartbeat {
		return ""
	}
	return fmt.Sprintf("--idle-timeout %s is less than 3 × --heartbeat %s (%s): clients that ping every heartbeat will be closed after missing a single ping or two",
		idle, heartbeat, 3*heartbeat)
}
