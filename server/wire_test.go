package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// Tests of what docs/PROTOCOL.md promises where it used to be vague or where
// the server disagreed with it.

// peerStub is an in-process Peer that records its pushes, for tests that
// need a source address other than the loopback one.
type peerStub struct {
	mu     sync.Mutex
	pushes []protocol.Frame
	hung   string
}

func (p *peerStub) Push(f *protocol.Frame) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, *f)
	return true
}

func (p *peerStub) Hangup(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = reason
}

// attach connects an in-process client from address ip and says hello.
func (h *harness) attach(ip string, plat policy.Platform, inst string) *Conn {
	h.t.Helper()
	c, err := h.s.Attach(&peerStub{}, ip)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Detach(ReasonLinkClose) })
	if r, ok := c.Hello(&protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp,
		Platform: string(plat), Instance: inst}); !ok || r.Op != protocol.OpHelloOK {
		h.t.Fatalf("hello: %+v", r)
	}
	return c
}

// TestPlatformNamesAreExactOnTheWire: the seven names are taken as written;
// any other spelling gets 6017 (and a close after hello).
func TestPlatformNamesAreExactOnTheWire(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	for _, p := range policy.Platforms {
		c := h.dial(p, "dev-"+string(p))
		c.t = t
		if r := c.mustLogin(p, "olga", h.ticket("olga", time.Hour)); r.RepeatLogin {
			t.Fatalf("%s: %+v", p, r)
		}
	}
	for _, name := range []string{"android", "WEB", "iphone", "IPhone", "iOS", " Web", "Web "} {
		t.Run("hello "+name, func(t *testing.T) {
			c := h.dialRaw("raw")
			c.t = t
			c.send(protocol.Frame{Op: protocol.OpHello, V: 1, SDKAppID: testApp, Platform: name, Instance: "x"})
			if f := c.next(); f.Op != protocol.OpError || f.Code != codes.InvalidParam {
				t.Fatalf("hello with platform %q: %+v, want error 6017", name, f)
			}
			if !c.closed() {
				t.Fatal("connection not closed after a refused hello")
			}
		})
		t.Run("login "+name, func(t *testing.T) {
			c := h.dial(policy.Web, "tab-"+name)
			c.t = t
			r := c.call(protocol.Frame{Op: protocol.OpLogin, UserID: "pete", UserSig: h.ticket("pete", time.Hour), Platform: name})
			if r.Op != protocol.OpLoginResult || r.Code != codes.InvalidParam {
				t.Fatalf("login with platform %q: %+v, want 6017", name, r)
			}
			if len(h.s.OnlineStatus("pete")) != 0 {
				t.Fatalf("a session was made: %+v", h.s.OnlineStatus("pete"))
			}
		})
	}
}

// TestQueryPlatformNames: query_online_status names iPhone "IPhone" as the
// service's query does; the webhook keeps its own "iOS".
func TestQueryPlatformNames(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	for _, p := range policy.Platforms {
		h.dial(p, "q-"+string(p)).mustLogin(p, "quinn", h.ticket("quinn", time.Hour))
	}
	var res OnlineStatusResponse
	h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: []string{"quinn"}, IsNeedDetail: 1}, &res)
	var got []string
	for _, d := range res.QueryResult[0].Detail {
		got = append(got, d.Platform)
	}
	if want := "Android,IPhone,iPad,Windows,Mac,Linux,Web"; strings.Join(got, ",") != want {
		t.Fatalf("Detail platforms %v, want %s", got, want)
	}
	for _, p := range policy.Platforms {
		want := string(p)
		if p == policy.IPhone {
			want = "IPhone"
		}
		if got := QueryPlatform(p); got != want {
			t.Errorf("QueryPlatform(%s) = %q, want %q", p, got, want)
		}
	}
	if got := CallbackPlatform(policy.IPhone); got != "iOS" {
		t.Errorf("CallbackPlatform(iPhone) = %q, want iOS (the webhook's naming)", got)
	}
}

// TestErrorsEchoTheReadableID: a frame whose JSON could be read gets its
// error with its id; only an unreadable one gets an error without id.
func TestErrorsEchoTheReadableID(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Linux, "box")
	cases := []struct {
		raw  string
		id   uint64
		code int
	}{
		{`{"op":"login","id":2,"platform":"Linux"}`, 2, codes.BadFrame},
		{`{"op":"login","id":3,"user_id":"","platform":"Linux"}`, 3, codes.BadFrame}, // empty is absent
		{`{"op":"login","id":4,"user_id":"rita"}`, 4, codes.BadFrame},
		{`{"op":"resume","id":5}`, 5, codes.BadFrame},
		{`{"op":"subscribe","id":6}`, 6, codes.UnknownOp},
		{`{"op":"pong","id":7}`, 7, codes.UnknownOp},
		{`{"id":8}`, 8, codes.BadFrame},
		{`{"op":"hello","id":9,"v":1}`, 9, codes.BadFrame},
		{`{"op":"login","id":10,`, 0, codes.BadFrame},
		{`{"op":"ping","id":"11"}`, 0, codes.BadFrame},
		{"{\"op\":\"ping\",\"id\":12,\"message\":\"\xff\"}", 0, codes.BadFrame}, // not UTF-8
	}
	for _, tc := range cases {
		c.sendRaw([]byte(tc.raw))
		f := c.next()
		if f.Op != protocol.OpError || f.Code != tc.code || f.ID != tc.id {
			t.Errorf("%s: %+v, want error %d with id %d", tc.raw, f, tc.code, tc.id)
		}
	}
	if r := c.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
		t.Fatalf("connection unusable after the errors: %+v", r)
	}
}

// TestBadFirstFrameCloses: before hello_ok, anything but a valid hello gets
// 1004 (with the id when readable) and a close; a later hello is not read.
func TestBadFirstFrameCloses(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		raw string
		id  uint64
	}{
		{`{"op":"hello",`, 0},
		{`{"op":"hello","id":4}`, 4},
		{`{"op":"hello","id":5,"v":0,"platform":"Web"}`, 5},
		{`{"op":"dance","id":6}`, 6},
		{`{"id":7}`, 7},
		{"{\"op\":\"hello\",\"v\":1,\"instance\":\"\xfe\"}", 0},
	} {
		c := h.dialRaw("raw")
		c.sendRaw([]byte(tc.raw))
		f := c.next()
		if f.Op != protocol.OpError || f.Code != codes.NoHello || f.ID != tc.id {
			t.Errorf("%s: %+v, want error 1004 with id %d", tc.raw, f, tc.id)
		}
		// A hello sent now must not be answered: the server has closed.
		_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"hello","v":1,"platform":"Web"}`))
		if !c.closed() {
			t.Errorf("%s: connection not closed", tc.raw)
		}
		select {
		case f := <-c.frames:
			t.Errorf("%s: answered after the 1004: %+v", tc.raw, f)
		default:
		}
	}
}

// TestRateLimitScopeAndThreshold: the 11th counted failure of one UserID
// from one address within the window blocks that pair; the 12th attempt is
// the first refused, whatever its ticket; other addresses and other users
// are not affected.
func TestRateLimitScopeAndThreshold(t *testing.T) {
	h := newHarness(t)
	forged := h.ticket("sam", time.Hour)
	forged = forged[:len(forged)/2] // 70003 counts
	a := h.attach("192.0.2.1", policy.Android, "a")
	for i := 1; i <= DefaultFailureLimit+1; i++ {
		if r := a.Login(&protocol.Frame{Op: protocol.OpLogin, ID: uint64(i), UserID: "sam", UserSig: forged, Platform: "Android"}); r.Code != codes.SigUndecodable {
			t.Fatalf("attempt %d: %+v, want 70003", i, r)
		}
	}
	good := h.ticket("sam", time.Hour)
	if r := a.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 12, UserID: "sam", UserSig: good, Platform: "Android"}); r.Code != codes.SigRateLimited {
		t.Fatalf("attempt 12: %+v, want 70050", r)
	}
	b := h.attach("192.0.2.2", policy.Android, "b")
	if r := b.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: "sam", UserSig: good, Platform: "Android"}); r.Code != 0 {
		t.Fatalf("sam from another address: %+v, want success", r)
	}
	a2 := h.attach("192.0.2.1", policy.Web, "a2")
	if r := a2.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: "tina", UserSig: h.ticket("tina", time.Hour), Platform: "Web"}); r.Code != 0 {
		t.Fatalf("another user from the blocked address: %+v, want success", r)
	}
	h.clk.Advance(DefaultFailureBlock)
	if r := a.Login(&protocol.Frame{Op: protocol.OpLogin, ID: 13, UserID: "sam", UserSig: good, Platform: "Android"}); r.Code != 0 {
		t.Fatalf("after the block: %+v, want success", r)
	}
}

// TestKickedWhileConnectedResumeIs6208: 6208 answers a resume of any session
// kicked within the last resume window, connected or not at the kick.
func TestKickedWhileConnectedResumeIs6208(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Android, "phone-1")
	r := a.mustLogin(policy.Android, "uma", h.ticket("uma", time.Hour))
	h.dial(policy.Android, "phone-2").mustLogin(policy.Android, "uma", h.ticket("uma", time.Hour))
	if f := a.next(); f.Op != protocol.OpKickedOffline {
		t.Fatalf("%+v, want kicked_offline", f)
	}
	c := h.dial(policy.Android, "phone-1")
	if res := c.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != codes.KickedWhileOff {
		t.Fatalf("resume within the window after a kick while connected: %+v, want 6208", res)
	}
	h.clk.Advance(DefaultResumeWindow)
	if res := c.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != codes.ResumeFailed {
		t.Fatalf("resume a window after the kick: %+v, want 1006", res)
	}
}

// TestInstanceIdentityIsPlatformAndInstance: the same instance id on
// another platform is another instance.
func TestInstanceIdentityIsPlatformAndInstance(t *testing.T) {
	t.Run("multi-platform: both stay", func(t *testing.T) {
		h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
		a := h.dial(policy.Android, "same")
		ra := a.mustLogin(policy.Android, "vera", h.ticket("vera", time.Hour))
		b := h.dial(policy.IPhone, "same")
		rb := b.mustLogin(policy.IPhone, "vera", h.ticket("vera", time.Hour))
		if rb.RepeatLogin || rb.Seq != ra.Seq+1 || rb.ResumeToken == ra.ResumeToken {
			t.Fatalf("iPhone login after Android of the same instance id: %+v, want a new login", rb)
		}
		if !a.quiet(50*time.Millisecond) || !a.isOpen() {
			t.Fatal("the Android connection was closed")
		}
		if got := instances(h.s.OnlineStatus("vera")); got != "same/online,same/online" {
			t.Fatalf("sessions %s", got)
		}
	})
	t.Run("single-platform: the policy kicks", func(t *testing.T) {
		h := newHarness(t)
		a := h.dial(policy.Android, "same")
		a.mustLogin(policy.Android, "wade", h.ticket("wade", time.Hour))
		b := h.dial(policy.IPhone, "same")
		rb := b.mustLogin(policy.IPhone, "wade", h.ticket("wade", time.Hour))
		f := a.next()
		if f.Op != protocol.OpKickedOffline || f.Reason != KickMultiDevice || f.ByPlatform != "iPhone" || f.BySeq != rb.Seq {
			t.Fatalf("Android got %+v, want kicked_offline by iPhone", f)
		}
	})
	t.Run("switch platform on one connection", func(t *testing.T) {
		h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
		c := h.dial(policy.Android, "same")
		r1 := c.mustLogin(policy.Android, "xena", h.ticket("xena", time.Hour))
		r2 := c.mustLogin(policy.Web, "xena", h.ticket("xena", time.Hour))
		if r2.RepeatLogin || r2.Seq == r1.Seq {
			t.Fatalf("login on another platform on the same connection: %+v, want a new login", r2)
		}
		if got := h.s.OnlineStatus("xena"); len(got) != 1 || got[0].Platform != policy.Web {
			t.Fatalf("sessions %+v, want only the Web one (the Android one logged out)", got)
		}
	})
}

// TestResumeNeedsTheSameInstance: a resume on a connection whose hello named
// another platform or instance is refused with 6017; a hello that named
// neither may resume any session.
func TestResumeNeedsTheSameInstance(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	a := h.dial(policy.IPhone, "ios-1")
	r := a.mustLogin(policy.IPhone, "yuri", h.ticket("yuri", time.Hour))
	a.ws.Close()
	eventually(t, "detach", func() bool { return h.s.Stats().Connected == 0 })
	for _, tc := range []struct {
		plat policy.Platform
		inst string
	}{{policy.IPhone, "ios-2"}, {policy.Android, "ios-1"}, {"", "ios-2"}, {policy.IPad, ""}} {
		c := h.dialRaw("other")
		c.send(protocol.Frame{Op: protocol.OpHello, V: 1, SDKAppID: testApp, Platform: string(tc.plat), Instance: tc.inst})
		c.next()
		if res := c.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != codes.InvalidParam {
			t.Fatalf("resume from %s/%s: %+v, want 6017", tc.plat, tc.inst, res)
		}
	}
	if in := h.s.OnlineStatus("yuri"); len(in) != 1 || in[0].State != StateDisconnected {
		t.Fatalf("after the refused resumes: %+v, want the session still detached", in)
	}
	c := h.dialRaw("anonymous")
	c.send(protocol.Frame{Op: protocol.OpHello, V: 1, SDKAppID: testApp})
	c.next()
	if res := c.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != 0 {
		t.Fatalf("resume from a hello without platform and instance: %+v", res)
	}
}

// TestDetachedSessionSurvivesAnotherAccountOfItsInstance: the account switch
// concerns the session the connection carries, not a detached one of the
// same instance.
func TestDetachedSessionSurvivesAnotherAccountOfItsInstance(t *testing.T) {
	h := newHarness(t)
	a := h.dial(policy.Android, "phone")
	ra := a.mustLogin(policy.Android, "zack", h.ticket("zack", time.Hour))
	a.ws.Close()
	eventually(t, "detach", func() bool { return h.s.Stats().Connected == 0 })
	b := h.dial(policy.Android, "phone")
	b.mustLogin(policy.Android, "zoe", h.ticket("zoe", time.Hour))
	if in := h.s.OnlineStatus("zack"); len(in) != 1 || in[0].State != StateDisconnected {
		t.Fatalf("zack after zoe logged in on the same instance: %+v, want still detached", in)
	}
	c := h.dial(policy.Android, "phone")
	if res := c.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: ra.ResumeToken}); res.Code != 0 || res.Seq != ra.Seq {
		t.Fatalf("resume zack: %+v", res)
	}
}

// TestAccountDeleteEndsSessions: deleting an account that has sessions ends
// them as a REST kick does, so that query_online_status never answers 70107
// for a user who is logged in.
func TestAccountDeleteEndsSessions(t *testing.T) {
	h := newHarness(t, withPolicy(policy.MultiPlatform, 1, 1))
	a := h.dial(policy.Android, "phone")
	a.mustLogin(policy.Android, "abby", h.ticket("abby", time.Hour))
	w := h.dial(policy.Web, "tab")
	w.mustLogin(policy.Web, "abby", h.ticket("abby", time.Hour))
	w.ws.Close()
	eventually(t, "detach", func() bool { return h.s.Stats().Connected == 1 })
	old := h.ticket("abby", time.Hour)
	var res AccountResultsResponse
	if st := h.rest("im_open_login_svc/account_delete", AccountDeleteRequest{DeleteItem: []UserItem{{UserID: "abby"}}}, &res); st.ErrorCode != 0 || res.ResultItem[0].ResultCode != 0 {
		t.Fatalf("delete: %+v %+v", st, res)
	}
	if f := a.next(); f.Op != protocol.OpKickedOffline || f.Reason != KickAdmin {
		t.Fatalf("%+v, want kicked_offline admin_kick", f)
	}
	if !a.closed() {
		t.Fatal("not closed after the kick")
	}
	if in := h.s.OnlineStatus("abby"); len(in) != 0 {
		t.Fatalf("sessions after delete: %+v", in)
	}
	var q OnlineStatusResponse
	h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: []string{"abby"}}, &q)
	if len(q.ErrorList) != 1 || q.ErrorList[0].ErrorCode != codes.RESTNotImported || len(q.QueryResult) != 0 {
		t.Fatalf("query after delete: %+v", q)
	}
	c := h.dial(policy.Android, "phone")
	if r := c.loginOn(policy.Android, "abby", old); r.Code != codes.SigInvalidated {
		t.Fatalf("login with a ticket from before the delete: %+v, want 70052", r)
	}
	h.clk.Advance(time.Second)
	c.mustLogin(policy.Android, "abby", h.ticket("abby", time.Hour))
	eventually(t, "the account made again by the login", func() bool { _, ok := h.s.Account("abby"); return ok })
	h.rest("openim/query_online_status", OnlineStatusRequest{ToAccount: []string{"abby"}}, &q)
	if len(q.QueryResult) != 1 || q.QueryResult[0].Status != StatusOnline {
		t.Fatalf("query after a new login: %+v", q)
	}
}

// TestRepeatLoginsCountInLoginTimes: LoginTimes counts every successful
// login, repeat logins included; resumes do not count.
func TestRepeatLoginsCountInLoginTimes(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Web, "tab")
	r := c.mustLogin(policy.Web, "bert", h.ticket("bert", time.Hour))
	if rr := c.mustLogin(policy.Web, "bert", h.ticket("bert", time.Hour)); !rr.RepeatLogin {
		t.Fatalf("%+v, want a repeat login", rr)
	}
	c.ws.Close()
	eventually(t, "detach", func() bool { return h.s.Stats().Connected == 0 })
	d := h.dial(policy.Web, "tab")
	if res := d.call(protocol.Frame{Op: protocol.OpResume, ResumeToken: r.ResumeToken}); res.Code != 0 {
		t.Fatalf("resume: %+v", res)
	}
	var info AppInfoResponse
	h.rest("openconfigsvr/getappinfo", AppInfoRequest{RequestField: []string{"LoginTimes", "LoginUserNum"}}, &info)
	last := info.Result[len(info.Result)-1]
	if last["LoginTimes"] != "2" || last["LoginUserNum"] != "1" {
		t.Fatalf("today's row %v, want LoginTimes 2, LoginUserNum 1", last)
	}
}

// TestWebSocketPingsAreNotActivity: only data messages reset the idle timer.
func TestWebSocketPingsAreNotActivity(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Web, "tab")
	h.clk.Advance(DefaultIdleTimeout - time.Second)
	if err := c.ws.WriteControl(websocket.PingMessage, []byte("keepalive"), time.Now().Add(waitFor)); err != nil {
		t.Fatal(err)
	}
	// Whether the server has read the ping yet or not, a ping counted as
	// activity would keep the connection open past this point.
	h.clk.Advance(2 * time.Second)
	if !c.closed() {
		t.Fatal("a WebSocket ping kept the connection open past the idle timeout")
	}
}

// TestRequestWithoutIDIsAnsweredWithoutID: the answer to a request with no
// id has none either.
func TestRequestWithoutIDIsAnsweredWithoutID(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Web, "tab")
	c.sendRaw([]byte(`{"op":"ping"}`))
	if f := c.next(); f.Op != protocol.OpPong || f.ID != 0 {
		t.Fatalf("%+v, want a pong without id", f)
	}
	c.sendRaw([]byte(`{"op":"logout"}`))
	if f := c.next(); f.Op != protocol.OpLogoutResult || f.ID != 0 || f.Code != codes.NotLoggedIn {
		t.Fatalf("%+v, want logout_result 6014 without id", f)
	}
}

// TestBackToBackLoginsOnWebSocket: the reference server runs a
// connection's frames one at a time, so a login sent before the previous
// one was answered is a repeat login, never 6015.
func TestBackToBackLoginsOnWebSocket(t *testing.T) {
	h := newHarness(t)
	c := h.dial(policy.Linux, "box")
	sig := h.ticket("hank", time.Hour)
	for id := 1; id <= 5; id++ {
		c.sendRaw([]byte(fmt.Sprintf(`{"op":"login","id":%d,"user_id":"hank","user_sig":%q,"platform":"Linux"}`, id, sig)))
	}
	for id := uint64(1); id <= 5; id++ {
		f := c.next()
		if f.ID != id || f.Code != 0 || f.Seq != 1 || f.RepeatLogin != (id > 1) {
			t.Fatalf("answer %d: %+v, want seq 1, repeat_login %v", id, f, id > 1)
		}
	}
}
