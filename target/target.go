package target

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
)

// Spec is what to open.
type Spec struct {
	Target *scenario.Target
	Policy *policy.Policy
	// Key is the app's secret key (see Key).
	Key []byte
	// Faults of the embedded server, by name; refused for a target URL.
	Faults []string
	// Clock of the driver and the embedded server (nil: the real clock).
	Clock clock.Clock
	// WebhookURL is where the embedded server sends its State.StateChange
	// callbacks ("" : nowhere).
	WebhookURL string
	// TicketLifetime of the tickets the devices get (0: agent's default).
	TicketLifetime time.Duration
	// Server, when set, adjusts the embedded server's configuration before
	// it starts (a month simulation's calendar and timeouts).
	Server func(*server.Config)
}

// Traits are what the oracle must know of a target to judge it.
type Traits struct {
	// Sequenced: the target numbers each user's logins (the seq of logins
	// and kicks), so the oracle orders logins by number; otherwise it
	// searches for an order.
	Sequenced bool
	// AnonymousKicks: a kick names no displacer (XMPP's <conflict/>).
	AnonymousKicks bool
	// ServerTime: the target runs in this process on the run's own clock,
	// so its view of who is online can be read and stamped with the
	// run's time (the embedded server).
	ServerTime bool
	// RefusalCodes are the login codes with which the target refuses a
	// login that conflicts with the sessions online.
	RefusalCodes []int
}

// Target is an opened target.
type Target struct {
	// Kind is the results file's name of the target: embedded, inproc, ws
	// or xmpp.
	Kind string
	// URL the devices dial ("" : in process).
	URL    string
	Driver driver.Driver
	// Server is the embedded reference server (nil for a target URL).
	Server  *server.Server
	Tickets agent.Tickets
	Traits  Traits
	// About says what the target is, for the run's log ("" : nothing to
	// say).
	About string
}

// Open opens the target s names with the driver registered under
// s.Target.Driver.
func Open(s Spec) (*Target, error) {
	if s.Clock == nil {
		s.Clock = clock.Real{}
	}
	name := cmp.Or(s.Target.Driver, scenario.DefaultDriver)
	if err := scenario.CheckDriver(name, s.Target.URL != ""); err != nil {
		return nil, fmt.Errorf("target.driver: %w", err)
	}
	d, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("target.driver: %q is not registered (registered: %s)", name, strings.Join(Names(), ", "))
	}
	if len(s.Faults) > 0 && s.Target.URL != "" {
		return nil, errors.New("faults apply to the embedded server only, and the scenario names a target URL")
	}
	faults, err := server.ParseFaults(s.Faults)
	if err != nil {
		return nil, err
	}
	t, err := d.open(&s, faults)
	if err != nil {
		return nil, err
	}
	if t.Tickets == nil {
		t.Tickets = &agent.SigTickets{SDKAppID: s.Target.SDKAppID, Key: s.Key, Lifetime: s.TicketLifetime}
	}
	t.Traits.ServerTime = t.Server != nil
	return t, nil
}

// embedded starts the reference server of s.
func embedded(s *Spec, faults server.Faults) (*server.Server, error) {
	cfg := server.Config{
		SDKAppID:   s.Target.SDKAppID,
		Key:        s.Key,
		Admin:      s.Target.Admin,
		Policy:     s.Policy,
		Clock:      s.Clock,
		Faults:     faults,
		WebhookURL: s.WebhookURL,
	}
	if p := s.Target.Protect; p != nil {
		cfg.Protect = protect(p)
	}
	if sv := s.Target.Service; sv != nil {
		cfg.Service = server.Service{Workers: sv.Workers, LoginCost: sv.LoginCost.D(), MaxSessions: sv.MaxSessions}
	}
	if s.Server != nil {
		s.Server(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	return srv, nil
}

// protect is the server's form of target.protect.
func protect(p *scenario.Protect) server.Protect {
	var out server.Protect
	if r := p.LoginRate; r != nil {
		out.LoginRate, out.LoginBurst = r.Rate, r.Burst
	}
	if b := p.LoginBuckets; b != nil {
		out.LoginBuckets, out.BucketEvery = b.Buckets, b.Every.D()
	}
	if f := p.Flapping; f != nil {
		out.FlapConnects, out.FlapWindow, out.FlapBan = f.Connects, f.Window.D(), f.Ban.D()
	}
	return out
}

// Close closes the driver and shuts the embedded server down, waiting at
// most budget (0: 5s) for its sessions to end.
func (t *Target) Close(budget time.Duration) error {
	err := t.Driver.Close()
	if t.Server != nil {
		if budget <= 0 {
			budget = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		err = errors.Join(err, t.Server.Shutdown(ctx))
	}
	return err
}

// Key returns the app's secret key: from the scenario's env variable or
// file, or, for the embedded server with neither, a fresh random key.
func Key(t *scenario.Target) ([]byte, error) {
	switch {
	case t.KeyEnv != "":
		v := os.Getenv(t.KeyEnv)
		if v == "" {
			return nil, fmt.Errorf("target.key_env: environment variable %s is empty or unset", t.KeyEnv)
		}
		return []byte(v), nil
	case t.KeyFile != "":
		b, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("target.key_file: %w", err)
		}
		k := strings.TrimRight(string(b), "\r\n")
		if k == "" {
			return nil, fmt.Errorf("target.key_file: %s is empty", t.KeyFile)
		}
		return []byte(k), nil
	case t.URL != "":
		return nil, errors.New("target.url needs key_env or key_file")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b[:])), nil
}
