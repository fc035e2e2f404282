// Package failfast makes a misconfigured run say so in seconds instead of
// failing every operation for its whole length: a preflight connect to a
// target URL before the phases (Preflight), and a watch over the first
// operations of the devices (Sink). Both apply to a target URL only: the
// embedded server is configured from the scenario itself (its SDKAppID, key
// and path cannot disagree), and tests that refuse every login on purpose
// run against it.
package failfast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
)

// Misconfigured is the error of a run ended because its first operations
// all failed the same way: Diagnosis names the likely setting. The run's
// results are still written, marked aborted with the diagnosis.
type Misconfigured struct {
	Diagnosis string
}

func (e *Misconfigured) Error() string { return e.Diagnosis }

// After is how many first operations failing the same way end a
// run: enough that chance cannot explain it, few enough that a run at a
// few arrivals per second ends within seconds.
const After = 20

// preflightTimeout bounds the preflight connect.
const preflightTimeout = 5 * time.Second

// Preflight connects once to a target URL before any device does, and
// explains a failure by the setting that likely caused it (nil: it
// connected, or the target is in process).
func Preflight(ctx context.Context, d driver.Driver, url string, sdkappid uint64) error {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	c, err := d.Connect(ctx, driver.Device{SDKAppID: sdkappid, Platform: policy.Web, Instance: "imload-preflight"})
	if err != nil {
		return &Misconfigured{Diagnosis: connectDiagnosis(url, err)}
	}
	_ = c.Close()
	return nil
}

// connectDiagnosis says what a failed connect to url likely means.
func connectDiagnosis(url string, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return fmt.Sprintf("connection refused at %s: nothing listens there; check target.url, or start the server (imload serve)", url)
	case strings.Contains(msg, "HTTP 404"):
		return fmt.Sprintf("HTTP 404 at %s: the path is wrong; check target.url (imload serve speaks at /v1/ws)", url)
	case strings.Contains(msg, "no such host"):
		return fmt.Sprintf("host of %s not found; check target.url", url)
	case errors.Is(err, driver.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer from %s within %s; check target.url and the network", url, preflightTimeout)
	}
	return fmt.Sprintf("cannot connect to %s: %v; check target.url", url, err)
}

// loginHints name the setting behind a login code that, answered to every
// first login, means the scenario does not match the target.
var loginHints = map[int]func(s settings) string{
	codes.AppNotFound: func(s settings) string {
		return fmt.Sprintf("target.sdkappid is %d; the server answers %d %s (set target.sdkappid to the server's SDKAppID)", s.sdkappid, codes.AppNotFound, codes.Text(codes.AppNotFound))
	},
	codes.SigAppMismatch: func(s settings) string {
		return fmt.Sprintf("target.sdkappid is %d; the server answers %d %s", s.sdkappid, codes.SigAppMismatch, codes.Text(codes.SigAppMismatch))
	},
	codes.KeyNotFound: func(s settings) string {
		return fmt.Sprintf("target.sdkappid is %d; the server answers %d %s (the server has no key for this SDKAppID)", s.sdkappid, codes.KeyNotFound, codes.Text(codes.KeyNotFound))
	},
	codes.SigBadSignature: func(s settings) string {
		return fmt.Sprintf("the server answers %d %s: the key of %s is not the server's", codes.SigBadSignature, codes.Text(codes.SigBadSignature), s.keyFrom)
	},
	codes.SigUndecodable: func(s settings) string {
		return fmt.Sprintf("the server answers %d %s: check the key of %s and target.driver", codes.SigUndecodable, codes.Text(codes.SigUndecodable), s.keyFrom)
	},
	codes.BadVersion: func(s settings) string {
		return fmt.Sprintf("the server answers %d %s: it does not speak imload's protocol; check target.url and target.driver", codes.BadVersion, codes.Text(codes.BadVersion))
	},
}

// settings are what a diagnosis names.
type settings struct {
	url      string
	sdkappid uint64
	keyFrom  string // "target.key_env IMLOAD_KEY", ...
}

// New returns the watch over the first operations of a run against t: it
// calls abort with a *Misconfigured when they all fail the same way.
func New(t *scenario.Target, abort func(error)) *Sink {
	return &Sink{s: settings{url: t.URL, sdkappid: t.SDKAppID, keyFrom: keySource(t)}, abort: abort}
}

// Sink watches the devices' first connects and logins: when the first
// After of them all fail the same way, with a code that names a
// setting (or a connect that fails), it calls abort with the diagnosis. One
// successful login, or a failure of another kind, disarms it.
type Sink struct {
	s     settings
	abort func(error)
	off   atomic.Bool

	mu     sync.Mutex
	first  failKey
	n      int
	sample string
}

type failKey struct {
	kind event.Kind
	code int
}

// Observe implements event.Sink.
func (f *Sink) Observe(e *event.Event) {
	if f.off.Load() || (e.Kind != event.Connect && e.Kind != event.Login) {
		return
	}
	switch {
	case e.Outcome == event.OK && e.Kind == event.Login:
		f.off.Store(true)
		return
	case e.Outcome == event.OK:
		return // a connect that works says nothing of the login
	}
	k := failKey{e.Kind, e.Code}
	if e.Outcome == event.TimedOut {
		k.code = -1
	}
	if e.Kind == event.Login {
		if _, ok := loginHints[k.code]; !ok {
			f.off.Store(true) // a refusal the scenario may mean (expired tickets, limits)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off.Load() {
		return
	}
	if f.n == 0 {
		f.first = k
	} else if k != f.first {
		f.off.Store(true)
		return
	}
	f.n++
	if f.n < After {
		return
	}
	f.off.Store(true)
	f.abort(&Misconfigured{Diagnosis: f.diagnosis()})
}

func (f *Sink) diagnosis() string {
	k := f.first
	lead := fmt.Sprintf("the first %d %ss all failed", f.n, k.kind)
	if k.kind == event.Login {
		return lead + ": " + loginHints[k.code](f.s)
	}
	where := "the target"
	if f.s.url != "" {
		where = f.s.url
	}
	if k.code == -1 {
		return fmt.Sprintf("%s: no answer from %s within the operation timeout", lead, where)
	}
	if k.code != 0 {
		return fmt.Sprintf("%s at %s with %d %s", lead, where, k.code, codes.Text(k.code))
	}
	return fmt.Sprintf("%s at %s (transport errors)", lead, where)
}

// keySource names where the scenario takes the app's key from.
func keySource(t *scenario.Target) string {
	switch {
	case t.KeyEnv != "":
		return "target.key_env " + t.KeyEnv
	case t.KeyFile != "":
		return "target.key_file " + t.KeyFile
	}
	return "the generated key"
}
