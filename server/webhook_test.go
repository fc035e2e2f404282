package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// receiver is a webhook receiver on a loopback port. reply chooses the
// answer to the nth request (from 1); block, when set, holds every request
// until it is closed.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	reply func(n int) (status int, body string)
	block chan struct{}

	mu  sync.Mutex
	got []received
}

type received struct {
	query url.Values
	cb    StateChangeCallback
	raw   string
}

const okReply = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`

func newReceiver(t *testing.T, reply func(n int) (int, string), block chan struct{}) *receiver {
	t.Helper()
	r := &receiver{t: t, reply: reply, block: block}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	if block != nil {
		t.Cleanup(func() {
			select {
			case <-block:
			default:
				close(block)
			}
		})
	}
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	if r.block != nil {
		<-r.block
	}
	var cb StateChangeCallback
	if req.Method != http.MethodPost || json.Unmarshal(b, &cb) != nil {
		r.t.Errorf("receiver: %s with body %q", req.Method, b)
	}
	r.mu.Lock()
	r.got = append(r.got, received{query: req.URL.Query(), cb: cb, raw: string(b)})
	n := len(r.got)
	r.mu.Unlock()
	status, body := http.StatusOK, okReply
	if r.reply != nil {
		status, body = r.reply(n)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// withWebhook points the server at a receiver with fast retries.
func withWebhook(r *receiver, mods ...func(*WebhookOptions)) func(*Config) {
	return func(c *Config) {
		c.WebhookURL = r.srv.URL + "/im/callback?token=abc"
		c.Webhook = WebhookOptions{Backoff: time.Millisecond, Timeout: time.Second}
		for _, m := range mods {
			m(&c.Webhook)
		}
	}
}

func flush(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := s.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

// describe renders a callback as "Action/To_Account/Reason[kicked...]".
func describeCallback(cb StateChangeCallback) string {
	var k []string
	for _, d := range cb.KickedDevice {
		k = append(k, d.Platform)
	}
	return fmt.Sprintf("%s/%s/%s[%s]", cb.Info.Action, cb.Info.ToAccount, cb.Info.Reason, strings.Join(k, ","))
}

func TestWebhookStateChanges(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*Config)
		act  func(h *harness)
		want []string // callbacks in order
		opt  []string // OptPlatform of each
	}{
		{
			name: "login displacing a device lists it, logout unregisters",
			act: func(h *harness) {
				a := h.dial(policy.Android, "phone")
				a.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
				b := h.dial(policy.IPhone, "iphone")
				b.mustLogin(policy.IPhone, "alice", h.ticket("alice", time.Hour))
				if f := a.next(); f.Op != protocol.OpKickedOffline {
					h.t.Fatalf("phone got %+v", f)
				}
				if r := b.call(protocol.Frame{Op: protocol.OpLogout}); r.Code != 0 {
					h.t.Fatal(r)
				}
			},
			want: []string{"Login/alice/Register[]", "Login/alice/Register[Android]", "Logout/alice/Unregister[]"},
			opt:  []string{"Android", "iOS", "iOS"},
		},
		{
			name: "a login displacing two devices lists both",
			cfg:  withPolicy(policy.DualPlatform, 1, 1),
			act: func(h *harness) {
				for _, d := range []struct {
					p    policy.Platform
					inst string
				}{{policy.Windows, "pc"}, {policy.Web, "tab"}} {
					c := h.dial(d.p, d.inst)
					c.mustLogin(d.p, "bob", h.ticket("bob", time.Hour))
				}
				c := h.dial(policy.Mac, "mac")
				c.mustLogin(policy.Mac, "bob", h.ticket("bob", time.Hour))
				w := h.dial(policy.Web, "tab2")
				w.mustLogin(policy.Web, "bob", h.ticket("bob", time.Hour))
			},
			want: []string{"Login/bob/Register[]", "Login/bob/Register[]", "Login/bob/Register[Windows]", "Login/bob/Register[Web]"},
			opt:  []string{"Windows", "Web", "Mac", "Web"},
		},
		{
			name: "a dropped connection ends in Disconnect LinkClose",
			act: func(h *harness) {
				c := h.dial(policy.Windows, "pc")
				c.mustLogin(policy.Windows, "carol", h.ticket("carol", time.Hour))
				c.ws.Close()
				eventually(h.t, "disconnect", func() bool { return h.s.Stats().Connected == 0 })
				h.advanceUntil("removal", time.Second, func() bool { return len(h.s.OnlineStatus("carol")) == 0 })
			},
			want: []string{"Login/carol/Register[]", "Disconnect/carol/LinkClose[]"},
			opt:  []string{"Windows", "Windows"},
		},
		{
			name: "a silent connection ends in Disconnect TimeOut",
			cfg:  func(c *Config) { c.IdleTimeout = 30 * time.Second },
			act: func(h *harness) {
				c := h.dial(policy.Mac, "mac")
				c.mustLogin(policy.Mac, "dave", h.ticket("dave", time.Hour))
				h.advanceUntil("removal", 5*time.Second, func() bool { return len(h.s.OnlineStatus("dave")) == 0 })
			},
			want: []string{"Login/dave/Register[]", "Disconnect/dave/TimeOut[]"},
			opt:  []string{"Mac", "Mac"},
		},
		{
			name: "a REST kick logs every session out",
			cfg:  withPolicy(policy.MultiPlatform, 1, 1),
			act: func(h *harness) {
				for _, p := range []policy.Platform{policy.Android, policy.Linux} {
					c := h.dial(p, string(p))
					c.mustLogin(p, "erin", h.ticket("erin", time.Hour))
				}
				h.rest("im_open_login_svc/kick", KickRequest{UserID: "erin"}, nil)
			},
			want: []string{"Login/erin/Register[]", "Login/erin/Register[]", "Logout/erin/Kicked[]", "Logout/erin/Kicked[]"},
			opt:  []string{"Android", "Linux", "RESTAPI", "RESTAPI"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, nil, nil)
			mods := []func(*Config){withWebhook(r)}
			if tc.cfg != nil {
				mods = append(mods, tc.cfg)
			}
			h := newHarness(t, mods...)
			tc.act(h)
			eventually(t, "callbacks", func() bool { return len(r.all()) >= len(tc.want) })
			flush(t, h.s)
			got := r.all()
			if len(got) != len(tc.want) {
				t.Fatalf("%d callbacks, want %d", len(got), len(tc.want))
			}
			for i, g := range got {
				if d := describeCallback(g.cb); d != tc.want[i] {
					t.Errorf("callback %d: %s, want %s (%s)", i, d, tc.want[i], g.raw)
				}
				q := g.query
				if q.Get("SdkAppid") != fmt.Sprint(testApp) || q.Get("CallbackCommand") != CallbackStateChange ||
					q.Get("contenttype") != "json" || q.Get("token") != "abc" || q.Get("OptPlatform") != tc.opt[i] {
					t.Errorf("callback %d: query %v, want OptPlatform %s", i, q, tc.opt[i])
				}
				if ip := q.Get("ClientIP"); (tc.opt[i] == "RESTAPI") != (ip == "") || ip != "" && ip != "127.0.0.1" {
					t.Errorf("callback %d: ClientIP %q", i, ip)
				}
				if g.cb.CallbackCommand != CallbackStateChange {
					t.Errorf("callback %d: CallbackCommand %q", i, g.cb.CallbackCommand)
				}
				if g.cb.ImloadEventTimeNs/int64(time.Millisecond) != g.cb.EventTime {
					t.Errorf("callback %d: ImloadEventTimeNs %d is not EventTime %d", i, g.cb.ImloadEventTimeNs, g.cb.EventTime)
				}
				if g.cb.EventTime < t0().UnixMilli() || g.cb.EventTime > h.clk.Now().UnixMilli() {
					t.Errorf("callback %d: EventTime %d outside the fake clock's [%d, %d]", i, g.cb.EventTime, t0().UnixMilli(), h.clk.Now().UnixMilli())
				}
			}
			st := h.s.WebhookStats()
			if !st.Enabled || st.Sent != uint64(len(tc.want)) || st.Queued != st.Sent || st.Failed+st.Dropped+st.Retries != 0 || st.Pending != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// The callbacks carry imload's extension: the login's seq and, in each
// KickedDevice entry, the seq of the session it displaced; a repeat login
// sends no callback.
func TestWebhookCarriesSeqs(t *testing.T) {
	r := newReceiver(t, nil, nil)
	h := newHarness(t, withWebhook(r))
	a := h.dial(policy.Android, "phone")
	ra := a.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
	b := h.dial(policy.IPhone, "iphone")
	rb := b.mustLogin(policy.IPhone, "alice", h.ticket("alice", time.Hour))
	if f := a.next(); f.Op != protocol.OpKickedOffline || f.Seq != ra.Seq || f.BySeq != rb.Seq {
		t.Fatalf("phone got %+v", f)
	}
	again := b.mustLogin(policy.IPhone, "alice", h.ticket("alice", time.Hour))
	if !again.RepeatLogin || again.Seq != rb.Seq {
		t.Fatalf("second login of the instance answered %+v, want a repeat with seq %d", again, rb.Seq)
	}
	if res := b.call(protocol.Frame{Op: protocol.OpLogout}); res.Code != 0 {
		t.Fatal(res)
	}
	eventually(t, "callbacks", func() bool { return len(r.all()) >= 3 })
	flush(t, h.s)
	got := r.all()
	if len(got) != 3 {
		t.Fatalf("%d callbacks, want 3 (the repeat login sends none)", len(got))
	}
	type want struct {
		desc   string
		seq    uint64
		kicked []uint64
	}
	wants := []want{
		{"Login/alice/Register[]", ra.Seq, nil},
		{"Login/alice/Register[Android]", rb.Seq, []uint64{ra.Seq}},
		{"Logout/alice/Unregister[]", rb.Seq, nil},
	}
	for i, g := range got {
		w := wants[i]
		var kicked []uint64
		for _, d := range g.cb.KickedDevice {
			kicked = append(kicked, d.ImloadSeq)
		}
		if d := describeCallback(g.cb); d != w.desc || g.cb.ImloadSeq != w.seq || fmt.Sprint(kicked) != fmt.Sprint(w.kicked) {
			t.Errorf("callback %d: %s seq %d kicked seqs %v, want %s seq %d kicked seqs %v", i, d, g.cb.ImloadSeq, kicked, w.desc, w.seq, w.kicked)
		}
		if !strings.Contains(g.raw, fmt.Sprintf(`"ImloadSeq":%d`, w.seq)) {
			t.Errorf("callback %d: body %s has no top-level ImloadSeq %d", i, g.raw, w.seq)
		}
	}
	if !strings.Contains(got[1].raw, fmt.Sprintf(`"KickedDevice":[{"Platform":"Android","ImloadSeq":%d}]`, ra.Seq)) {
		t.Errorf("body %s: KickedDevice lacks the victim's seq", got[1].raw)
	}
}

// The callback example of docs/PROTOCOL.md is a body the server would send:
// it decodes into StateChangeCallback and encodes back to the same bytes.
func TestWebhookDocExample(t *testing.T) {
	b, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```json" || !strings.Contains(lines[i+1], CallbackStateChange) {
			continue
		}
		n++
		ex := strings.TrimSpace(lines[i+1])
		var cb StateChangeCallback
		dec := json.NewDecoder(strings.NewReader(ex))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cb); err != nil {
			t.Fatalf("docs/PROTOCOL.md:%d: %v", i+2, err)
		}
		out, err := json.Marshal(cb)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != ex {
			t.Errorf("docs/PROTOCOL.md:%d: example\n%s\nis not what the server sends:\n%s", i+2, ex, out)
		}
		if cb.ImloadSeq == 0 || len(cb.KickedDevice) == 0 || cb.KickedDevice[0].ImloadSeq == 0 {
			t.Errorf("docs/PROTOCOL.md:%d: the example shows no ImloadSeq", i+2)
		}
	}
	if n == 0 {
		t.Fatal("docs/PROTOCOL.md has no State.StateChange example")
	}
}

func TestWebhookRetries(t *testing.T) {
	cases := []struct {
		name    string
		reply   func(n int) (int, string)
		tries   int
		sent    uint64
		failed  uint64
		lastErr string
	}{
		{"500 then FAIL then OK", func(n int) (int, string) {
			switch n {
			case 1:
				return http.StatusInternalServerError, "oops"
			case 2:
				return http.StatusOK, `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"busy"}`
			}
			return http.StatusOK, okReply
		}, 3, 1, 0, `ActionStatus "FAIL"`},
		{"always 503", func(int) (int, string) { return http.StatusServiceUnavailable, "" }, 3, 0, 1, "HTTP status 503"},
		{"200 without JSON", func(int) (int, string) { return http.StatusOK, "ok" }, 3, 0, 1, "not the JSON"},
		{"OK at once", nil, 1, 1, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.reply, nil)
			h := newHarness(t, withWebhook(r))
			c := h.dial(policy.Web, "tab")
			c.mustLogin(policy.Web, "alice", h.ticket("alice", time.Hour))
			flush(t, h.s)
			got := r.all()
			if len(got) != tc.tries {
				t.Fatalf("%d tries, want %d", len(got), tc.tries)
			}
			for _, g := range got[1:] {
				if g.raw != got[0].raw {
					t.Errorf("retry sent %q, first try %q", g.raw, got[0].raw)
				}
			}
			st := h.s.WebhookStats()
			if st.Sent != tc.sent || st.Failed != tc.failed || st.Retries != uint64(tc.tries-1) || !strings.Contains(st.LastError, tc.lastErr) {
				t.Errorf("stats %+v, want sent %d failed %d retries %d, last error with %q", st, tc.sent, tc.failed, tc.tries-1, tc.lastErr)
			}
		})
	}
}

// TestWebhookQueueOverflow: with the receiver stuck, logins still answer at
// once and the callbacks beyond the queue are dropped and counted.
func TestWebhookQueueOverflow(t *testing.T) {
	block := make(chan struct{})
	r := newReceiver(t, nil, block)
	h := newHarness(t, withWebhook(r, func(o *WebhookOptions) { o.Workers, o.Queue, o.Timeout = 1, 2, 10*time.Second }),
		withPolicy(policy.MultiPlatform, 1, 1))
	const n = 8
	start := time.Now()
	for i := range n {
		c := h.dial(policy.Web, fmt.Sprintf("tab%d", i))
		c.mustLogin(policy.Web, fmt.Sprintf("u%d", i), h.ticket(fmt.Sprintf("u%d", i), time.Hour))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d logins took %s with the receiver stuck", n, d)
	}
	st := h.s.WebhookStats()
	// One callback in the worker's hands and two in its queue at most.
	if st.Queued > 3 || st.Dropped < n-3 || st.Queued+st.Dropped != n {
		t.Fatalf("while stuck: %+v, want at most 3 queued and the rest of %d dropped", st, n)
	}
	close(block)
	flush(t, h.s)
	st = h.s.WebhookStats()
	if st.Sent != st.Queued || st.Pending != 0 || len(r.all()) != int(st.Sent) {
		t.Fatalf("after release: %+v, receiver got %d", st, len(r.all()))
	}
}

// TestWebhookShutdown: Shutdown ends the workers; a callback stuck at the
// receiver is abandoned when Shutdown's context ends, and later changes are
// dropped.
func TestWebhookShutdown(t *testing.T) {
	block := make(chan struct{})
	r := newReceiver(t, nil, block)
	h := newHarness(t, withWebhook(r, func(o *WebhookOptions) { o.Timeout = time.Minute }))
	c := h.dial(policy.Android, "phone")
	c.mustLogin(policy.Android, "alice", h.ticket("alice", time.Hour))
	eventually(t, "the callback at the receiver", func() bool {
		return h.s.WebhookStats().Pending == 1 && h.s.WebhookStats().Queued == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.s.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "webhook") {
		t.Errorf("Shutdown: %v, want the abandoned callbacks reported", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
	st := h.s.WebhookStats()
	if st.Failed != 1 || st.Pending != 0 || st.Sent != 0 {
		t.Errorf("after shutdown: %+v", st)
	}
	h.s.webhook.enqueue(StateChange{Action: "Login", UserID: "late", At: h.clk.Now()})
	if st := h.s.WebhookStats(); st.Dropped != 1 {
		t.Errorf("a change after shutdown: %+v, want dropped", st)
	}
}

func TestWebhookConfig(t *testing.T) {
	for _, u := range []string{"ftp://127.0.0.1/x", "127.0.0.1:9000", "http://", "http://[::1"} {
		t.Run(u, func(t *testing.T) {
			_, err := New(Config{SDKAppID: testApp, Key: testKey, WebhookURL: u})
			if err == nil || !strings.Contains(err.Error(), "WebhookURL") {
				t.Fatalf("New with WebhookURL %q: %v, want an error naming WebhookURL", u, err)
			}
		})
	}
	s, err := New(Config{SDKAppID: testApp, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if st := s.WebhookStats(); st.Enabled {
		t.Errorf("stats without a URL: %+v", st)
	}
	if err := s.FlushWebhooks(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestCallbackPlatforms(t *testing.T) {
	for _, p := range policy.Platforms {
		got, err := ParseCallbackPlatform(CallbackPlatform(p))
		if err != nil || got != p {
			t.Errorf("%s → %q → %s, %v", p, CallbackPlatform(p), got, err)
		}
	}
	if _, err := ParseCallbackPlatform("Symbian"); err == nil {
		t.Error("Symbian parsed")
	}
}

// BenchmarkStateChangeHooks measures what a login pays for the accounts
// store and the webhook queue (the hooks run on the login's goroutine); the
// workers send to a loopback receiver meanwhile, and callbacks the queue
// could not take are reported per operation.
func BenchmarkStateChangeHooks(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, okReply)
	}))
	defer srv.Close()
	s, err := New(Config{SDKAppID: testApp, Key: testKey, WebhookURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("user_%06d", i)
	}
	ch := StateChange{Action: "Login", Reason: "Register", Platform: policy.Android, ClientIP: "127.0.0.1",
		At: time.Now(), Kicked: []SessionInfo{{Platform: policy.IPhone}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ch.UserID = ids[i%len(ids)]
		s.notify(ch)
	}
	b.StopTimer()
	st := s.WebhookStats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkWebhookDelivery measures how many callbacks per second the
// sender delivers to a loopback receiver (default workers).
func BenchmarkWebhookDelivery(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, okReply)
	}))
	defer srv.Close()
	s, err := New(Config{SDKAppID: testApp, Key: testKey, WebhookURL: srv.URL, Webhook: WebhookOptions{Queue: 2 * b.N}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ch := StateChange{Action: "Logout", Reason: "Unregister", Platform: policy.Web, ClientIP: "127.0.0.1", At: time.Now()}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		ch.UserID = fmt.Sprintf("user_%06d", i%4096)
		s.notify(ch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.FlushWebhooks(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "callbacks/s")
	if st := s.WebhookStats(); st.Sent != uint64(b.N) {
		b.Fatalf("sent %d of %d: %+v", st.Sent, b.N, st)
	}
}
