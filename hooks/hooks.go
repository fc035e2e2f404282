// Package hooks receives a target's State.StateChange callbacks for the
// kickout oracle: a loopback (or given) HTTP listener that keeps them until
// the run ends, and the end of a run's callbacks (wait for the sender,
// refuse to judge when it lost some, add them to the oracle's history).
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
)

// maxCallbackBody bounds one callback's body.
const maxCallbackBody = 64 << 10

// Listener receives a target's State.StateChange callbacks (SPEC.md
// section 7) over HTTP, on any path, and keeps them for the kickout oracle.
// Callbacks are held until Commit adds them to a check.History, so that a
// run can leave them out when the sender says it lost some: a callback that
// never came would otherwise read as a login without one.
type Listener struct {
	app uint64 // the SdkAppid expected (0: any)
	clk clock.Clock
	ln  net.Listener
	srv *http.Server
	// done closes when Serve has returned.
	done chan struct{}

	received, rejected, ignored, duplicates atomic.Int64
	committed                               atomic.Int64 // callbacks Commit added to a history
	last                                    atomic.Int64 // wall time of the last callback, unix ns

	mu   sync.Mutex
	held []check.Callback
	// seen holds the callbacks that carry ImloadEventTimeNs, by that time:
	// a sender that gave up waiting for a reply sends the same one again,
	// and an instant in nanoseconds tells a repeat from a second change.
	// Commit forgets those older than seenFor before the latest, so that
	// it does not grow with the run's length.
	seen     map[string]int64
	seenLast int64 // the latest time in seen
	prunedAt int64 // seenLast when seen was last pruned
	shut     bool
	close    sync.Once
	err      error
}

// Listen listens on addr ("" : a loopback port) for the callbacks of
// SDKAppID app (0: any app). wrap, when not nil, wraps the handler (tests
// use it to play a target that lies).
func Listen(addr string, app uint64, clk clock.Clock, wrap func(http.Handler) http.Handler) (*Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if clk == nil {
		clk = clock.Real{}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook listener on %s: %w", addr, err)
	}
	l := &Listener{app: app, clk: clk, ln: ln, done: make(chan struct{}), seen: map[string]int64{}}
	var h http.Handler = l
	if wrap != nil {
		h = wrap(h)
	}
	l.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(ln) // http.ErrServerClosed after Close
	}()
	return l, nil
}

// URL is where a target sends its callbacks.
func (l *Listener) URL() string { return "http://" + l.ln.Addr().String() + "/imload/webhook" }

// Received counts the State.StateChange callbacks accepted; Rejected those
// refused (not POST, not JSON, another SdkAppid, a body too large);
// Ignored the callbacks of other commands, accepted and not kept.
func (l *Listener) Received() int64 { return l.received.Load() }

// Rejected counts the requests refused.
func (l *Listener) Rejected() int64 { return l.rejected.Load() }

// Ignored counts callbacks of other commands.
func (l *Listener) Ignored() int64 { return l.ignored.Load() }

// Duplicates counts callbacks received again (same ImloadEventTimeNs,
// account, action, reason and devices) and not kept twice.
func (l *Listener) Duplicates() int64 { return l.duplicates.Load() }

func reply(w http.ResponseWriter, code int, info string) {
	status := "OK"
	if code != 0 {
		status = "FAIL"
	}
	b, _ := json.Marshal(server.CallbackReply{ActionStatus: status, ErrorCode: code, ErrorInfo: info})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// ServeHTTP takes one callback.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reject := func(status int, info string) {
		l.rejected.Add(1)
		w.WriteHeader(status)
		reply(w, 1, info)
	}
	if r.Method != http.MethodPost {
		reject(http.StatusMethodNotAllowed, "callbacks are POST requests")
		return
	}
	q := r.URL.Query()
	if l.app != 0 {
		if app, err := strconv.ParseUint(q.Get("SdkAppid"), 10, 64); err != nil || app != l.app {
			reject(http.StatusForbidden, fmt.Sprintf("SdkAppid %q is not the run's %d", q.Get("SdkAppid"), l.app))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("body unreadable or over %d bytes", maxCallbackBody))
		return
	}
	var cb server.StateChangeCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		reject(http.StatusBadRequest, "body is not JSON: "+err.Error())
		return
	}
	cmd := cb.CallbackCommand
	if cmd == "" {
		cmd = q.Get("CallbackCommand")
	}
	if cmd != server.CallbackStateChange {
		l.ignored.Add(1)
		reply(w, 0, "")
		return
	}
	if cb.Info.ToAccount == "" || cb.Info.Action == "" {
		reject(http.StatusBadRequest, "Info.To_Account and Info.Action are required")
		return
	}
	at := l.clk.Now()
	switch {
	case cb.ImloadEventTimeNs > 0 && cb.ImloadEventTimeNs/int64(time.Millisecond) == cb.EventTime:
		at = time.Unix(0, cb.ImloadEventTimeNs) // the same instant, finer
	case cb.EventTime > 0:
		at = time.UnixMilli(cb.EventTime)
	}
	// ImloadSeq (imload's extension) names the login and each displaced
	// session by sequence: the oracle then judges the callback against
	// that login exactly.
	h := check.Callback{UserID: cb.Info.ToAccount, Action: cb.Info.Action, Seq: cb.ImloadSeq, At: at}
	for _, d := range cb.KickedDevice {
		p, err := server.ParseCallbackPlatform(d.Platform)
		if err != nil {
			p = policy.Platform(d.Platform) // judged as it is: a platform no device has
		}
		h.Kicked = append(h.Kicked, check.KickedEntry{Platform: p, Seq: d.ImloadSeq})
	}
	var key string
	if cb.ImloadEventTimeNs > 0 {
		key = fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%v", cb.ImloadEventTimeNs, cb.Info.ToAccount, cb.Info.Action, cb.Info.Reason, cb.KickedDevice)
	}
	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		reject(http.StatusServiceUnavailable, "the run has stopped listening")
		return
	}
	if key != "" {
		if _, dup := l.seen[key]; dup {
			l.mu.Unlock()
			l.duplicates.Add(1)
			reply(w, 0, "")
			return
		}
		l.seen[key] = cb.ImloadEventTimeNs
		l.seenLast = max(l.seenLast, cb.ImloadEventTimeNs)
	}
	l.held = append(l.held, h)
	l.mu.Unlock()
	l.received.Add(1)
	l.last.Store(time.Now().UnixNano())
	reply(w, 0, "")
}

// Quiet waits until no callback has come for d (wall time), or ctx ends:
// for a target whose callbacks trail its answers.
func (l *Listener) Quiet(ctx context.Context, d time.Duration) {
	t := time.NewTicker(max(d/10, time.Millisecond))
	defer t.Stop()
	start := time.Now().UnixNano()
	for {
		last := max(l.last.Load(), start)
		if time.Now().UnixNano()-last >= int64(d) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops listening and waits for the callbacks being taken.
func (l *Listener) Close(ctx context.Context) error {
	l.close.Do(func() {
		l.mu.Lock()
		l.shut = true
		l.mu.Unlock()
		if err := l.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = l.srv.Close()
			l.err = fmt.Errorf("webhook listener: %w", err)
		}
		<-l.done
	})
	return l.err
}

// seenFor is how long a callback is remembered to tell its repeats: far
// longer than a sender's retries of one callback take (the embedded
// server's three tries end within seconds).
const seenFor = time.Minute

// Commit adds the callbacks held so far to each of hs (nil ones skipped)
// and forgets them; it returns how many it added. It also forgets the
// callbacks seen more than seenFor before the latest.
func (l *Listener) Commit(hs ...*check.History) int {
	l.mu.Lock()
	held := l.held
	l.held = nil
	if l.seenLast-l.prunedAt >= int64(seenFor/4) {
		for k, at := range l.seen {
			if at < l.seenLast-int64(seenFor) {
				delete(l.seen, k)
			}
		}
		l.prunedAt = l.seenLast
	}
	l.mu.Unlock()
	added := false
	for _, h := range hs {
		if h == nil {
			continue
		}
		for _, c := range held {
			h.AddCallback(c)
		}
		added = true
	}
	if added {
		l.committed.Add(int64(len(held)))
	}
	return len(held)
}

// Receiver is a run's callback listener, with the embedded server whose
// sender it can ask about losses (nil for a target URL). A nil *Receiver
// (the oracle is off) does nothing.
type Receiver struct {
	l   *Listener
	srv *server.Server
}

// Start listens on addr ("" : a loopback port) for the callbacks of
// SDKAppID app; wrap as for Listen.
func Start(addr string, app uint64, wrap func(http.Handler) http.Handler) (*Receiver, error) {
	l, err := Listen(addr, app, nil, wrap)
	if err != nil {
		return nil, err
	}
	return &Receiver{l: l}, nil
}

// Attach names the embedded server that sends the callbacks.
func (w *Receiver) Attach(srv *server.Server) {
	if w != nil {
		w.srv = srv
	}
}

// URL is where the target sends its callbacks ("" : nowhere).
func (w *Receiver) URL() string {
	if w == nil {
		return ""
	}
	return w.l.URL()
}

// Drain adds the callbacks received so far to each of hs, as the run goes
// on, so that the oracle can judge users before the run ends
// (check.History.Settle); nil-safe.
func (w *Receiver) Drain(hs ...*check.History) int {
	if w == nil {
		return 0
	}
	return w.l.Commit(hs...)
}

// Lost returns how many callbacks the embedded server has lost so far
// (dropped from its full queue, or failed); 0 for a target URL and for a
// nil Receiver. Once it is above 0, Finish will discard the run's
// callbacks.
func (w *Receiver) Lost() uint64 {
	if w == nil || w.srv == nil {
		return 0
	}
	st := w.srv.WebhookStats()
	return st.Dropped + st.Failed
}

// Finish waits for the callbacks of the run, stops listening and adds them
// to each of hs, unless the embedded server lost some: then the callbacks
// Drain added are discarded (a callback that never came would read as a
// login without one). It returns a note for the log.
func (w *Receiver) Finish(budget time.Duration, hs ...*check.History) string {
	if w == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	var lost uint64
	if w.srv != nil {
		if err := w.srv.FlushWebhooks(ctx); err != nil {
			_ = w.l.Close(ctx)
			discard(hs)
			return fmt.Sprintf("webhooks: not checked: %v", err)
		}
		st := w.srv.WebhookStats()
		lost = st.Dropped + st.Failed
		if lost > 0 {
			_ = w.l.Close(ctx)
			discard(hs)
			return fmt.Sprintf("webhooks: not checked: the embedded server lost %d callbacks (%d dropped from a full queue, %d failed; last error %q)",
				lost, st.Dropped, st.Failed, st.LastError)
		}
	} else {
		w.l.Quiet(ctx, time.Second)
	}
	if err := w.l.Close(ctx); err != nil {
		discard(hs)
		return err.Error()
	}
	w.l.Commit(hs...)
	// Drain added some while the run went on.
	note := fmt.Sprintf("webhooks: %d State.StateChange callbacks checked", w.l.committed.Load())
	if d := w.l.Duplicates(); d > 0 {
		note += fmt.Sprintf(", %d repeats of a callback ignored", d)
	}
	if r := w.l.Rejected(); r > 0 {
		note += fmt.Sprintf(", %d requests refused", r)
	}
	return note
}

// discard drops the callbacks Drain added to hs.
func discard(hs []*check.History) {
	for _, h := range hs {
		if h != nil {
			h.DiscardCallbacks()
		}
	}
}

// Close stops the listener when the run ends early.
func (w *Receiver) Close() {
	if w == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.l.Close(ctx)
}
