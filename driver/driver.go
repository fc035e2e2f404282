// Package driver is the seam between simulated devices and a target login
// service: connect, login, logout, resume, heartbeat, and a stream of server
// pushes. A driver adds no policy logic and never imports agent or server
// (the inproc driver, which calls the server core directly, lives in
// driver/inproc).
package driver

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/imload/imload/policy"
)

// Device identifies the simulated client behind one connection.
type Device struct {
	SDKAppID uint64
	Platform policy.Platform
	Instance string // stable ID of the device / app instance
}

// LoginRequest is one login call.
type LoginRequest struct {
	UserID  string
	UserSig string
}

// LoginResult is the target's answer. Code != 0 is a refusal by the target
// (e.g. 70001); transport failures and timeouts are returned as errors.
type LoginResult struct {
	Code        int
	Message     string
	Seq         uint64 // per-user login sequence (0 when the target gives none)
	ResumeToken string
	RepeatLogin bool
	ServerTime  time.Time
	SigExpireAt time.Time // zero when unknown
}

// ResumeResult answers a resume after reconnect.
type ResumeResult struct {
	Code    int
	Message string
	Seq     uint64
}

// PushKind says what the target pushed.
type PushKind uint8

const (
	PushKicked     PushKind = iota + 1 // kicked_offline: another login displaced this one
	PushSigExpired                     // user_sig_expired while online
	PushClosed                         // the connection ended (by the server or the network)
)

// Push is something the target said without being asked.
type Push struct {
	Kind PushKind
	At   time.Time // when the driver received it
	// ServerTime is the target's clock in the push (server_time_ms: for a
	// kick, when the target ended the session), zero when it gives none.
	ServerTime time.Time
	ByPlatform policy.Platform
	ByInstance string
	BySeq      uint64
	Seq        uint64 // victim's login sequence when known
	Code       int
	Reason     string
}

// Conn is one device's connection to the target. Calls on one Conn are not
// concurrent with each other (one device, one caller); Pushes is read by the
// same device concurrently.
type Conn interface {
	Login(ctx context.Context, req LoginRequest) (LoginResult, error)
	Logout(ctx context.Context) (code int, err error)
	// Resume re-attaches a logged-in session after a transport drop, on a
	// fresh Conn, without a new login.
	Resume(ctx context.Context, token string) (ResumeResult, error)
	Ping(ctx context.Context) error
	// Pushes delivers server pushes, each its own value that the receiver
	// may keep (a pointer, so that a device parked on the channel keeps a
	// small frame); it is closed after PushClosed.
	Pushes() <-chan *Push
	// Close drops the transport at once: no logout is sent (network loss or
	// app kill).
	Close() error
}

// PushNotifier is a Conn that says when pushes wait on its Pushes
// channel, so that a device needs no goroutine parked on the channel
// between its steps. After NotifyPushes(f) the Conn calls f after each push
// it queues and after it closes the channel, from the goroutine that did
// so. f must not block; it may be called when nothing waits (the device
// looks at the channel). A push queued before f was set is not announced:
// the caller looks at the channel once after setting f. NotifyPushes(nil)
// stops the calls.
type PushNotifier interface {
	NotifyPushes(f func())
}

// Notify implements PushNotifier for a Conn that embeds it: the Conn calls
// Pushed after it queues a push or closes its channel.
type Notify struct{ f atomic.Pointer[func()] }

// NotifyPushes implements PushNotifier.
func (n *Notify) NotifyPushes(f func()) {
	if f == nil {
		n.f.Store(nil)
		return
	}
	n.f.Store(&f)
}

// Pushed calls the function set by NotifyPushes, if any.
func (n *Notify) Pushed() {
	if f := n.f.Load(); f != nil {
		(*f)()
	}
}

// Driver connects devices to one target.
type Driver interface {
	Name() string
	Connect(ctx context.Context, dev Device) (Conn, error)
	// Close releases what the driver holds (not its Conns).
	Close() error
}

// ErrClosed is returned by calls on a Conn whose transport has ended.
var ErrClosed = errors.New("driver: connection closed")

// ErrKicked is returned (it wraps ErrClosed) by a call whose connection the
// target ended with a kick (kicked_offline, then the close) before it
// answered the call: the target did not act on it, since nothing a
// connection sends after its kick counts. A device that learns of the kick
// only from this error has lost a race with the kick's push, which follows.
var ErrKicked = fmt.Errorf("driver: kicked offline before the answer: %w", ErrClosed)

// ErrTimeout wraps calls that got no answer before their context ended.
var ErrTimeout = errors.New("driver: timed out")
