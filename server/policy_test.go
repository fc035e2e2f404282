package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// step is one login by a new device, and the devices it must displace,
// written out by hand from SPEC.md section 3 (not computed by policy).
type step struct {
	dev    string // instance name; its platform is given by its prefix
	kicked []string
}

// platformOf maps the instance names of the tables to platforms.
func platformOf(dev string) policy.Platform {
	for _, p := range []struct {
		prefix string
		plat   policy.Platform
	}{{"web", policy.Web}, {"and", policy.Android}, {"iph", policy.IPhone}, {"ipad", policy.IPad},
		{"win", policy.Windows}, {"mac", policy.Mac}, {"lin", policy.Linux}} {
		if strings.HasPrefix(dev, p.prefix) {
			return p.plat
		}
	}
	panic("no platform for " + dev)
}

func webs(from, to int) []step {
	var out []step
	for i := from; i <= to; i++ {
		out = append(out, step{dev: fmt.Sprintf("web%d", i)})
	}
	return out
}

func seq(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		}
	}
	return out
}

func kicks(dev string, victims ...string) step { return step{dev: dev, kicked: victims} }

func TestPolicyKicks(t *testing.T) {
	cases := []struct {
		policy    string
		inst, web int
		steps     []step
	}{
		{policy.SinglePlatform, 1, 1, seq(kicks("and1"), kicks("win1", "and1"), kicks("web1", "win1"), kicks("and2", "web1"), kicks("and3", "and2"))},
		{policy.SinglePlatform, 3, 10, seq(kicks("and1"), kicks("and2"), kicks("and3"), kicks("and4", "and1"),
			kicks("iph1", "and2", "and3", "and4"), kicks("web1", "iph1"), webs(2, 10), kicks("web11", "web1"))},
		{policy.DualPlatform, 1, 1, seq(kicks("and1"), kicks("web1"), kicks("win1", "and1"), kicks("web2", "web1"),
			kicks("mac1", "win1"), kicks("ipad1", "mac1"))},
		{policy.DualPlatform, 3, 10, seq(kicks("and1"), kicks("and2"), webs(1, 3), kicks("win1", "and1", "and2"),
			kicks("win2"), kicks("win3"), kicks("win4", "win1"), webs(4, 10), kicks("web11", "web1"), kicks("web12", "web2"))},
		{policy.TriplePlatform, 1, 1, seq(kicks("and1"), kicks("win1"), kicks("web1"), kicks("iph1", "and1"),
			kicks("mac1", "win1"), kicks("web2", "web1"), kicks("and2", "iph1"), kicks("lin1", "mac1"))},
		{policy.TriplePlatform, 3, 10, seq(kicks("and1"), kicks("and2"), kicks("and3"), kicks("and4", "and1"),
			kicks("win1"), kicks("lin1", "win1"), kicks("iph1", "and2", "and3", "and4"), kicks("web1"), kicks("lin2"))},
		{policy.MultiPlatform, 1, 1, seq(kicks("and1"), kicks("iph1"), kicks("ipad1"), kicks("win1"), kicks("mac1"),
			kicks("lin1"), kicks("web1"), kicks("and2", "and1"), kicks("web2", "web1"), kicks("mac2", "mac1"))},
		{policy.MultiPlatform, 3, 10, seq(kicks("and1"), kicks("and2"), kicks("and3"), kicks("and4", "and1"),
			kicks("win1"), webs(1, 10), kicks("web11", "web1"), kicks("and5", "and2"), kicks("win2"))},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/native%d/web%d", tc.policy, tc.inst, tc.web), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withPolicy(tc.policy, tc.inst, tc.web))
			const user = "policy_user"
			devs := map[string]*client{}
			seqs := map[string]uint64{}
			alive := map[string]bool{}
			for i, st := range tc.steps {
				c := h.dial(platformOf(st.dev), st.dev)
				devs[st.dev] = c
				r := c.mustLogin(platformOf(st.dev), user, h.ticket(user, time.Hour))
				if r.Seq != uint64(i+1) {
					t.Fatalf("login %d (%s): seq %d, want %d", i+1, st.dev, r.Seq, i+1)
				}
				seqs[st.dev] = r.Seq
				for _, v := range st.kicked {
					vc := devs[v]
					f := vc.next()
					if f.Op != protocol.OpKickedOffline || f.ByInstance != st.dev || f.BySeq != r.Seq ||
						f.ByPlatform != string(platformOf(st.dev)) || f.Seq != seqs[v] || f.Reason != KickMultiDevice {
						t.Fatalf("%s after login of %s: got %+v, want kicked_offline by %s seq %d", v, st.dev, f, st.dev, r.Seq)
					}
					if !vc.closed() {
						t.Fatalf("%s: still open after kicked_offline", v)
					}
					if !alive[v] {
						t.Fatalf("%s kicked twice or never online", v)
					}
					delete(alive, v)
				}
				alive[st.dev] = true
				var want []string
				for d := range alive {
					want = append(want, d)
				}
				slices.Sort(want)
				var got []string
				for _, in := range h.s.OnlineStatus(user) {
					got = append(got, in.Instance)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("after login of %s online %v, want %v", st.dev, got, want)
				}
			}
			// Survivors were told nothing and still answer pings.
			for d := range alive {
				c := devs[d]
				if r := c.call(protocol.Frame{Op: protocol.OpPing}); r.Op != protocol.OpPong {
					t.Fatalf("%s: ping answered %+v", d, r)
				}
				c.quiet(20 * time.Millisecond)
			}
			st := h.s.Stats()
			nk := 0
			for _, s := range tc.steps {
				nk += len(s.kicked)
			}
			if st.Kicks != uint64(nk) || st.LoginsOK != uint64(len(tc.steps)) || st.Online != len(alive) {
				t.Fatalf("stats kicks %d logins %d online %d, want %d %d %d", st.Kicks, st.LoginsOK, st.Online, nk, len(tc.steps), len(alive))
			}
		})
	}
}
