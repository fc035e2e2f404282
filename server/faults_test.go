package server

import (
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

func TestParseFault(t *testing.T) {
	for _, n := range FaultNames() {
		f, err := ParseFault(n)
		if err != nil || string(f) != n {
			t.Fatalf("ParseFault(%q) = %q, %v", n, f, err)
		}
		var fs Faults
		fs.Enable(f)
		if !fs.Has(f) || len(fs.Names()) != 1 || fs.Names()[0] != n {
			t.Fatalf("Enable(%s): %+v", n, fs)
		}
	}
	if f, err := ParseFault("Late_Kick"); err != nil || f != FaultLateKick {
		t.Fatalf("ParseFault(Late_Kick) = %q, %v", f, err)
	}
	if _, err := ParseFault("nope"); err == nil {
		t.Fatal("ParseFault accepted an unknown name")
	}
	if _, err := ParseFaults([]string{"late-kick", "bogus"}); err == nil {
		t.Fatal("ParseFaults accepted an unknown name")
	}
}

func withFault(f Fault) func(*Config) { return func(c *Config) { c.Faults.Enable(f) } }

// threeAndroids logs user in on and1..and3 (limit 3), then and4, and returns
// the four clients.
func threeAndroids(t *testing.T, h *harness, user string) []*client {
	t.Helper()
	var cs []*client
	for _, d := range []string{"and1", "and2", "and3", "and4"} {
		c := h.dial(policy.Android, d)
		c.mustLogin(policy.Android, user, h.ticket(user, time.Hour))
		cs = append(cs, c)
	}
	return cs
}

func TestFaultWrongVictim(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		mods = append(mods, withPolicy(policy.MultiPlatform, 3, 1))
		if fault {
			mods = append(mods, withFault(FaultWrongVictim))
		}
		h := newHarness(t, mods...)
		cs := threeAndroids(t, h, "olga")
		want := 0 // the earliest, and1
		if fault {
			want = 2 // the newest conflicting one, and3
		}
		f := cs[want].next()
		if f.Op != protocol.OpKickedOffline || f.Seq != uint64(want+1) || f.BySeq != 4 {
			t.Fatalf("fault %v: %s got %+v", fault, cs[want].name, f)
		}
		for i, c := range cs {
			if i != want && i != 3 && !c.quiet(20*time.Millisecond) {
				t.Fatalf("fault %v: %s was told something", fault, c.name)
			}
		}
	}
}

func TestFaultKickNotDelivered(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		if fault {
			mods = append(mods, withFault(FaultKickNotDelivered))
		}
		h := newHarness(t, mods...)
		a := h.dial(policy.Android, "phone")
		a.mustLogin(policy.Android, "pia", h.ticket("pia", time.Hour))
		b := h.dial(policy.Mac, "mac")
		b.mustLogin(policy.Mac, "pia", h.ticket("pia", time.Hour))
		// Either way the registry holds only the newest session.
		if in := h.s.OnlineStatus("pia"); len(in) != 1 || in[0].Instance != "mac" {
			t.Fatalf("fault %v: online %s", fault, instances(in))
		}
		if !fault {
			if f := a.next(); f.Op != protocol.OpKickedOffline || !a.closed() {
				t.Fatalf("no fault: %+v", f)
			}
			continue
		}
		// The victim was told nothing and its connection stays open; it
		// still believes it is logged in, but its logout finds no session.
		if r := a.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
			t.Fatalf("fault: victim %+v", r)
		}
		if r := a.call(protocol.Frame{Op: protocol.OpLogout}); r.Code != codes.NotLoggedIn {
			t.Fatalf("fault: victim logout %+v", r)
		}
		if st := h.s.Stats(); st.Kicks != 1 {
			t.Fatalf("fault: kicks %d", st.Kicks)
		}
	}
}

func TestFaultLimitNotEnforced(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		if fault {
			mods = append(mods, withFault(FaultLimitNotEnforced))
		}
		h := newHarness(t, mods...)
		a := h.dial(policy.Android, "phone")
		a.mustLogin(policy.Android, "quin", h.ticket("quin", time.Hour))
		b := h.dial(policy.Android, "phone2")
		b.mustLogin(policy.Android, "quin", h.ticket("quin", time.Hour))
		in := h.s.OnlineStatus("quin")
		if fault {
			if len(in) != 2 || !a.quiet(20*time.Millisecond) || h.s.Stats().Kicks != 0 {
				t.Fatalf("fault: online %s", instances(in))
			}
			if h.s.Policy().Allowed([]policy.Instance{{ID: "phone", Platform: policy.Android}, {ID: "phone2", Platform: policy.Android}}) {
				t.Fatal("the policy allows what the fault lets through; the test proves nothing")
			}
		} else if len(in) != 1 || a.next().Op != protocol.OpKickedOffline {
			t.Fatalf("no fault: online %s", instances(in))
		}
	}
}

func TestFaultLateKick(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		if fault {
			mods = append(mods, withFault(FaultLateKick), func(c *Config) { c.Faults.LateKickDelay = 5 * time.Second })
		}
		h := newHarness(t, mods...)
		a := h.dial(policy.Android, "phone")
		a.mustLogin(policy.Android, "rosa", h.ticket("rosa", time.Hour))
		b := h.dial(policy.Web, "tab")
		b.mustLogin(policy.Web, "rosa", h.ticket("rosa", time.Hour))
		if !fault {
			if f := a.next(); f.Op != protocol.OpKickedOffline {
				t.Fatalf("no fault: %+v", f)
			}
			continue
		}
		// Displaced at once (registry, stats), told only after the delay.
		if in := h.s.OnlineStatus("rosa"); len(in) != 1 || in[0].Instance != "tab" || h.s.Stats().Kicks != 1 {
			t.Fatalf("fault: online %s", instances(in))
		}
		h.clk.Advance(4 * time.Second)
		if !a.quiet(30 * time.Millisecond) {
			t.Fatal("fault: kick before the delay")
		}
		h.clk.Advance(time.Second)
		f := a.next()
		// server_time_ms says when the session ended (docs/PROTOCOL.md), not
		// when the late push went out: the kicked device measures the delay.
		if f.Op != protocol.OpKickedOffline || f.ServerTimeMs != t0().UnixMilli() || !a.closed() {
			t.Fatalf("fault: late kick %+v", f)
		}
	}
}

func TestFaultStaleOnlineStatus(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		if fault {
			mods = append(mods, withFault(FaultStaleOnlineStatus), func(c *Config) { c.Faults.StaleFor = 10 * time.Second })
		}
		h := newHarness(t, mods...)
		a := h.dial(policy.Windows, "pc")
		a.mustLogin(policy.Windows, "sam", h.ticket("sam", time.Hour))
		a.call(protocol.Frame{Op: protocol.OpLogout})
		in := h.s.OnlineStatus("sam")
		if !fault {
			if len(in) != 0 {
				t.Fatalf("no fault: %s", instances(in))
			}
			continue
		}
		if len(in) != 1 || in[0].Instance != "pc" || in[0].State != StateOnline {
			t.Fatalf("fault: %s, want the ended session still reported", instances(in))
		}
		h.clk.Advance(10 * time.Second)
		if in := h.s.OnlineStatus("sam"); len(in) != 0 {
			t.Fatalf("fault: still stale after StaleFor: %s", instances(in))
		}
	}
}

func TestFaultAcceptExpired(t *testing.T) {
	for _, fault := range []bool{false, true} {
		var mods []func(*Config)
		if fault {
			mods = append(mods, withFault(FaultAcceptExpired))
		}
		h := newHarness(t, mods...)
		old, err := usersig.Gen(testApp, testKey, "tina", time.Minute, t0().Add(-time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		forged, _ := usersig.Gen(testApp, []byte("other"), "tina", time.Minute, t0().Add(-time.Hour), nil)
		a := h.dial(policy.IPad, "pad")
		r := a.loginOn(policy.IPad, "tina", old)
		if !fault {
			if r.Code != codes.SigExpired {
				t.Fatalf("no fault: %+v", r)
			}
			continue
		}
		if r.Code != 0 {
			t.Fatalf("fault: expired ticket refused: %+v", r)
		}
		// The signature is still checked.
		b := h.dial(policy.IPad, "pad2")
		if r := b.loginOn(policy.IPad, "tina", forged); r.Code != codes.SigBadSignature {
			t.Fatalf("fault: forged expired ticket: %+v", r)
		}
	}
}

// refusalCase logs and1..and3 in (limit 3 per platform) and then and4: with
// refuse set (the fault refuse-new-login, or a refuse_new policy) and4 gets
// 1008 and nobody is kicked; otherwise and1 is kicked. A Web login, which
// displaces nobody, succeeds either way.
func refusalCase(t *testing.T, refuse bool, mods ...func(*Config)) {
	t.Helper()
	h := newHarness(t, mods...)
	user := "rita"
	var cs []*client
	for _, d := range []string{"and1", "and2", "and3"} {
		c := h.dial(policy.Android, d)
		c.mustLogin(policy.Android, user, h.ticket(user, time.Hour))
		cs = append(cs, c)
	}
	and4 := h.dial(policy.Android, "and4")
	res := and4.loginOn(policy.Android, user, h.ticket(user, time.Hour))
	if !refuse {
		if res.Code != 0 || res.Seq != 4 {
			t.Fatalf("and4 login: %+v, want seq 4", res)
		}
		if f := cs[0].next(); f.Op != protocol.OpKickedOffline || f.BySeq != 4 {
			t.Fatalf("and1 got %+v, want a kick by seq 4", f)
		}
		return
	}
	if res.Code != codes.LoginRefused || res.Seq != 0 || res.ResumeToken != "" {
		t.Fatalf("and4 login: %+v, want code %d and no session", res, codes.LoginRefused)
	}
	for _, c := range cs {
		if !c.quiet(20 * time.Millisecond) {
			t.Fatalf("%s was told something", c.name)
		}
	}
	if got := instances(h.s.OnlineStatus(user)); got != "and1/online,and2/online,and3/online" {
		t.Fatalf("online %q, want and1 and2 and3", got)
	}
	web := h.dial(policy.Web, "web1")
	if r := web.loginOn(policy.Web, user, h.ticket(user, time.Hour)); r.Code != 0 || r.Seq != 4 {
		t.Fatalf("web login: %+v, want seq 4 (the refusal took no sequence)", r)
	}
	// Once an Android logs out, and4 fits.
	cs[1].call(protocol.Frame{Op: protocol.OpLogout, ID: 99})
	if r := and4.loginOn(policy.Android, user, h.ticket(user, time.Hour)); r.Code != 0 || r.Seq != 5 {
		t.Fatalf("and4 after a logout: %+v, want seq 5", r)
	}
	if !cs[0].quiet(20*time.Millisecond) || !cs[2].quiet(20*time.Millisecond) {
		t.Fatal("an Android was told something after a login that had room")
	}
}

func TestFaultRefuseNewLogin(t *testing.T) {
	for _, fault := range []bool{false, true} {
		mods := []func(*Config){withPolicy(policy.MultiPlatform, 3, 1)}
		if fault {
			mods = append(mods, withFault(FaultRefuseNewLogin))
		}
		refusalCase(t, fault, mods...)
	}
}

// A refuse_new policy refuses without any fault.
func TestPolicyRefuseNew(t *testing.T) {
	refusalCase(t, true, func(c *Config) {
		pol, err := policy.Tencent(policy.MultiPlatform, 3, 1)
		if err != nil {
			panic(err)
		}
		pol.OnConflict = policy.RefuseNew
		c.Policy = pol
	})
}

func TestParseSlowLoginParams(t *testing.T) {
	f, err := ParseFaults([]string{"slow-login=5ms@25%"})
	if err != nil || !f.SlowLogin || f.SlowLoginDelay != 5*time.Millisecond || f.SlowLoginShare != 0.25 {
		t.Fatalf("ParseFaults(slow-login=5ms@25%%) = %+v, %v", f, err)
	}
	if f, err := ParseFaults([]string{"slow-login=1s"}); err != nil || f.SlowLoginDelay != time.Second || f.SlowLoginShare != 0 {
		t.Fatalf("slow-login=1s: %+v, %v", f, err)
	}
	for _, bad := range []string{"slow-login=", "slow-login=-1ms", "slow-login=5ms@0%", "slow-login=5ms@101%", "slow-login=5ms@25", "late-kick=1s"} {
		if _, err := ParseFaults([]string{bad}); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}

// slowPick delays exactly the share of any run of logins, spread evenly.
func TestSlowPickShare(t *testing.T) {
	for _, share := range []float64{0, 0.1, 0.25, 0.5, 0.9, 1} {
		n := 0
		for i := range uint64(1000) {
			if slowPick(i, share) {
				n++
			}
		}
		want := int(1000 * share)
		if share == 0 {
			want = 1000
		}
		if n != want {
			t.Errorf("share %v: %d of 1000 delayed, want %d", share, n, want)
		}
	}
	if slowPick(0, 0.25) || slowPick(1, 0.25) || slowPick(2, 0.25) || !slowPick(3, 0.25) {
		t.Error("share 25%: want the 4th login of every 4 delayed")
	}
}

// A slow login answers only once the server's clock has passed the delay.
func TestFaultSlowLogin(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Faults.Enable(FaultSlowLogin)
		c.Faults.SlowLoginDelay = time.Minute
	})
	c := h.dial(policy.Android, "and1")
	sig := h.ticket("sam", time.Hour)
	done := make(chan protocol.Frame, 1)
	go func() { done <- c.loginOn(policy.Android, "sam", sig) }()
	select {
	case r := <-done:
		t.Fatalf("login answered before the clock moved: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	for range 400 {
		h.clk.Advance(time.Minute)
		select {
		case r := <-done:
			if r.Code != 0 || r.Op != protocol.OpLoginResult {
				t.Fatalf("slow login answered %+v", r)
			}
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatal("the slow login never answered")
}
