package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/policy"
)

// CallbackStateChange is the CallbackCommand of the Status Change webhook.
const CallbackStateChange = "State.StateChange"

// Defaults of WebhookOptions.
const (
	DefaultWebhookQueue    = 8192
	DefaultWebhookWorkers  = 2
	DefaultWebhookAttempts = 3
	DefaultWebhookBackoff  = 100 * time.Millisecond
	DefaultWebhookTimeout  = 2 * time.Second
	// MaxWebhookReply bounds the reply body read from the receiver.
	MaxWebhookReply = 64 << 10
)

// WebhookOptions tunes the Status Change webhook sender (Config.WebhookURL).
// Waits between tries and the bound of a try are in wall time, as socket
// deadlines are.
type WebhookOptions struct {
	// Queue is how many callbacks may wait to be sent (default 8192). When
	// it is full a callback is dropped and counted: the login path never
	// waits for the receiver.
	Queue int
	// Workers send concurrently (default 2). A user's callbacks always go
	// through the same worker, so they arrive in the order they happened.
	Workers int
	// Attempts is how many times one callback is tried (default 3): again
	// after a transport error, a non-2xx status, or a reply that is not
	// {"ActionStatus":"OK","ErrorCode":0}.
	Attempts int
	// Backoff is the wait before the second try, doubled before each next
	// one (default 100ms).
	Backoff time.Duration
	// Timeout bounds one try (default 2s).
	Timeout time.Duration
	// Client sends the requests (default: a client of its own).
	Client *http.Client
}

// StateChangeCallback is the body of a State.StateChange callback (SPEC.md
// section 7).
type StateChangeCallback struct {
	CallbackCommand string          `json:"CallbackCommand"`
	EventTime       int64           `json:"EventTime"` // unix milliseconds, server time
	Info            StateChangeInfo `json:"Info"`
	// KickedDevice lists the devices a login displaced (Login only).
	KickedDevice []KickedDevice `json:"KickedDevice,omitempty"`
	// ImloadEventTimeNs is imload's extension: EventTime in unix
	// nanoseconds, so that a receiver can place the change between logins
	// less than a millisecond apart.
	ImloadEventTimeNs int64 `json:"ImloadEventTimeNs,omitempty"`
	// ImloadSeq is imload's extension: the per-user sequence of the login
	// the change is about (the seq its login_result carried), so that a
	// receiver can tell racing logins' callbacks apart without guessing by
	// time.
	ImloadSeq uint64 `json:"ImloadSeq,omitempty"`
}

// StateChangeInfo says who changed state, how and why.
type StateChangeInfo struct {
	Action    string `json:"Action"` // Login, Logout or Disconnect
	ToAccount string `json:"To_Account"`
	// Reason: Register (Login); Unregister, or Kicked for a REST kick
	// (Logout); LinkClose or TimeOut (Disconnect).
	Reason string `json:"Reason"`
}

// KickedDevice is one device a login displaced.
type KickedDevice struct {
	Platform string `json:"Platform"`
	// ImloadSeq is imload's extension: the sequence of the displaced
	// session (the seq of its kicked_offline push).
	ImloadSeq uint64 `json:"ImloadSeq,omitempty"`
}

// CallbackReply is what a receiver answers to accept a callback.
type CallbackReply struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// CallbackPlatform names a platform as the callbacks do: the service's
// names, with iPhone as "iOS".
func CallbackPlatform(p policy.Platform) string {
	if p == policy.IPhone {
		return "iOS"
	}
	return string(p)
}

// ParseCallbackPlatform reads a platform of OptPlatform or KickedDevice:
// "iOS" or any platform name of policy.Platforms, in any letter case.
func ParseCallbackPlatform(s string) (policy.Platform, error) {
	if strings.EqualFold(s, "iOS") {
		return policy.IPhone, nil
	}
	return policy.ParsePlatform(s)
}

// NewStateChangeCallback turns a StateChange into its callback body.
func NewStateChangeCallback(ch StateChange) StateChangeCallback {
	reason := ch.Reason
	if ch.Action == "Disconnect" && ch.Cause != "" {
		reason = ch.Cause // how the transport ended: LinkClose or TimeOut
	}
	cb := StateChangeCallback{
		CallbackCommand:   CallbackStateChange,
		EventTime:         ch.At.UnixMilli(),
		ImloadEventTimeNs: ch.At.UnixNano(),
		ImloadSeq:         ch.Seq,
		Info:              StateChangeInfo{Action: ch.Action, ToAccount: ch.UserID, Reason: reason},
	}
	for _, k := range ch.Kicked {
		cb.KickedDevice = append(cb.KickedDevice, KickedDevice{Platform: CallbackPlatform(k.Platform), ImloadSeq: k.Seq})
	}
	return cb
}

// WebhookStats counts the callbacks of the Status Change webhook.
type WebhookStats struct {
	Enabled bool
	Queued  uint64 // accepted into the queue
	Sent    uint64 // accepted by the receiver
	Retries uint64 // tries after the first
	Failed  uint64 // given up after every try, or abandoned at shutdown
	Dropped uint64 // not queued: the queue was full or the server was shutting down
	Pending int    // queued or being sent now
	// LastError is the last failure of a try ("" when none).
	LastError string
}

// webhookSender delivers StateChanges to the receiver at a URL. Each worker
// owns a queue; Server.Shutdown stops the workers after they have sent what
// is queued, or at once when its context ends.
type webhookSender struct {
	url    *url.URL
	app    string
	opt    WebhookOptions
	client *http.Client
	own    *http.Transport // closed at shutdown when the client is ours
	seed   maphash.Seed
	queues []chan StateChange

	closed atomic.Bool
	stop   chan struct{}
	ctx    context.Context // ends when shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	queued, sent, retries, failed, dropped atomic.Uint64
	pending                                atomic.Int64
	lastErr                                atomic.Pointer[string]
}

func newWebhookSender(raw string, app uint64, opt WebhookOptions) (*webhookSender, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("server: Config.WebhookURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server: Config.WebhookURL must be an http:// or https:// URL with a host, got %q", raw)
	}
	if opt.Queue <= 0 {
		opt.Queue = DefaultWebhookQueue
	}
	if opt.Workers <= 0 {
		opt.Workers = DefaultWebhookWorkers
	}
	if opt.Attempts <= 0 {
		opt.Attempts = DefaultWebhookAttempts
	}
	if opt.Backoff <= 0 {
		opt.Backoff = DefaultWebhookBackoff
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultWebhookTimeout
	}
	w := &webhookSender{url: u, app: strconv.FormatUint(app, 10), opt: opt, seed: maphash.MakeSeed(),
		stop: make(chan struct{})}
	w.client = opt.Client
	if w.client == nil {
		w.own = &http.Transport{MaxIdleConnsPerHost: opt.Workers, IdleConnTimeout: 30 * time.Second,
			ResponseHeaderTimeout: opt.Timeout}
		w.client = &http.Client{Transport: w.own}
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	per := max(1, opt.Queue/opt.Workers)
	w.queues = make([]chan StateChange, opt.Workers)
	for i := range w.queues {
		w.queues[i] = make(chan StateChange, per)
	}
	w.wg.Add(opt.Workers)
	for i := range w.queues {
		go w.work(w.queues[i])
	}
	return w, nil
}

// enqueue is the OnStateChange hook: it never blocks.
func (w *webhookSender) enqueue(ch StateChange) {
	if w.closed.Load() {
		w.dropped.Add(1)
		return
	}
	q := w.queues[maphash.String(w.seed, ch.UserID)%uint64(len(w.queues))]
	w.pending.Add(1)
	select {
	case q <- ch:
		w.queued.Add(1)
	default:
		w.pending.Add(-1)
		w.dropped.Add(1)
	}
}

func (w *webhookSender) work(q chan StateChange) {
	defer w.wg.Done()
	for {
		select {
		case ch := <-q:
			w.deliver(ch)
		case <-w.stop:
			for {
				select {
				case ch := <-q:
					w.deliver(ch)
				default:
					return
				}
			}
		}
	}
}

// deliver sends one callback, trying up to Attempts times.
func (w *webhookSender) deliver(ch StateChange) {
	defer w.pending.Add(-1)
	body, err := json.Marshal(NewStateChangeCallback(ch))
	if err != nil { // cannot happen: plain strings and numbers
		w.fail(err)
		return
	}
	target := w.target(ch)
	wait := w.opt.Backoff
	for try := 1; ; try++ {
		if w.ctx.Err() != nil {
			w.fail(fmt.Errorf("abandoned at shutdown: %w", w.ctx.Err()))
			return
		}
		err := w.try(target, body)
		if err == nil {
			w.sent.Add(1)
			return
		}
		msg := err.Error()
		w.lastErr.Store(&msg)
		if try >= w.opt.Attempts {
			w.failed.Add(1)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.fail(fmt.Errorf("abandoned at shutdown: %w", w.ctx.Err()))
			return
		}
		wait *= 2
		w.retries.Add(1)
	}
}

func (w *webhookSender) fail(err error) {
	msg := err.Error()
	w.lastErr.Store(&msg)
	w.failed.Add(1)
}

// target is the URL of one callback: the configured URL with the query
// parameters of SPEC.md section 7 added.
func (w *webhookSender) target(ch StateChange) string {
	u := *w.url
	q := u.Query()
	q.Set("SdkAppid", w.app)
	q.Set("CallbackCommand", CallbackStateChange)
	q.Set("contenttype", "json")
	q.Set("ClientIP", ch.ClientIP)
	opt := "RESTAPI" // a REST kick
	if ch.Reason != ReasonKicked || ch.ClientIP != "" {
		opt = CallbackPlatform(ch.Platform)
	}
	q.Set("OptPlatform", opt)
	u.RawQuery = q.Encode()
	return u.String()
}

// try makes one request; nil means the receiver accepted the callback.
func (w *webhookSender) try(target string, body []byte) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook POST: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxWebhookReply))
	if err != nil {
		return fmt.Errorf("webhook reply: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook reply: HTTP status %d", resp.StatusCode)
	}
	var r CallbackReply
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("webhook reply is not the JSON {\"ActionStatus\":\"OK\",\"ErrorCode\":0}: %w", err)
	}
	if r.ActionStatus != "OK" || r.ErrorCode != 0 {
		return fmt.Errorf("webhook reply: ActionStatus %q, ErrorCode %d, ErrorInfo %q", r.ActionStatus, r.ErrorCode, r.ErrorInfo)
	}
	return nil
}

// flush waits until nothing is queued or being sent.
func (w *webhookSender) flush(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for w.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("server: %d webhook callbacks still pending: %w", w.pending.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// close stops taking callbacks, lets the workers send what is queued, and
// abandons the rest when ctx ends first.
func (w *webhookSender) close(ctx context.Context) error {
	if !w.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(w.stop)
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		w.cancel()
		<-done
		err = fmt.Errorf("server: webhook callbacks abandoned at shutdown: %w", ctx.Err())
	}
	w.cancel()
	// A hook that raced with close may have queued after the workers left.
	for _, q := range w.queues {
		for len(q) > 0 {
			<-q
			w.pending.Add(-1)
			w.failed.Add(1)
		}
	}
	if w.own != nil {
		w.own.CloseIdleConnections()
	}
	return err
}

func (w *webhookSender) stats() WebhookStats {
	st := WebhookStats{Enabled: true, Queued: w.queued.Load(), Sent: w.sent.Load(), Retries: w.retries.Load(),
		Failed: w.failed.Load(), Dropped: w.dropped.Load(), Pending: int(max(w.pending.Load(), 0))}
	if p := w.lastErr.Load(); p != nil {
		st.LastError = *p
	}
	return st
}

// WebhookStats counts the callbacks of the Status Change webhook; Enabled is
// false when Config.WebhookURL is empty.
func (s *Server) WebhookStats() WebhookStats {
	if s.webhook == nil {
		return WebhookStats{}
	}
	return s.webhook.stats()
}

// FlushWebhooks waits until every callback queued so far has been accepted
// by the receiver or given up, so that a harness can judge them. It returns
// at once when there is no webhook.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	if s.webhook == nil {
		return nil
	}
	return s.webhook.flush(ctx)
}
