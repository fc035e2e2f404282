package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// in is an online instance: id, platform, login sequence number.
func in(id string, p Platform, seq uint64) Instance { return Instance{ID: id, Platform: p, Seq: seq} }

// series makes n instances of platform p with IDs prefix1..prefixN and
// sequence numbers from seq on.
func series(prefix string, p Platform, n int, seq uint64) []Instance {
	out := make([]Instance, n)
	for i := range out {
		out[i] = in(fmt.Sprintf("%s%d", prefix, i+1), p, seq+uint64(i))
	}
	return out
}

func ids(xs []Instance) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

func cat(parts ...[]Instance) []Instance { return slices.Concat(parts...) }

type displaceCase struct {
	name      string
	policy    string
	inst, web int
	online    []Instance
	login     Instance
	want      []string // IDs displaced, earliest first
}

func runDisplace(t *testing.T, cases []displaceCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.policy+"/"+c.name, func(t *testing.T) {
			pol, err := Lookup(c.policy, c.inst, c.web)
			if err != nil {
				t.Fatal(err)
			}
			if !pol.Allowed(c.online) {
				t.Fatalf("the case's online set %v is not allowed under %s", ids(c.online), c.policy)
			}
			// The input order must not matter: try it reversed and shuffled.
			orders := [][]Instance{c.online, slices.Clone(c.online), slices.Clone(c.online)}
			slices.Reverse(orders[1])
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(orders[2]), func(i, j int) { orders[2][i], orders[2][j] = orders[2][j], orders[2][i] })
			for _, online := range orders {
				got := pol.Displace(online, c.login)
				if !slices.Equal(ids(got), c.want) && !(len(got) == 0 && len(c.want) == 0) {
					t.Fatalf("%s online %v, login %s on %s: displaced %v, want %v",
						c.policy, ids(c.online), c.login.ID, c.login.Platform, ids(got), c.want)
				}
			}
			after := remaining(c.online, pol.Displace(c.online, c.login), c.login, pol.ReplaceSameInstance)
			if !pol.Allowed(after) {
				t.Fatalf("after the login %v is online, which %s does not allow", ids(after), c.policy)
			}
		})
	}
}

// remaining is the online set after login displaced kicked.
func remaining(online, kicked []Instance, login Instance, replace bool) []Instance {
	var out []Instance
	for _, x := range online {
		if !slices.ContainsFunc(kicked, func(k Instance) bool { return k.Seq == x.Seq && k.ID == x.ID }) && x.ID != login.ID {
			out = append(out, x)
		}
	}
	return append(out, login)
}

// TestDisplaceTencent covers SPEC.md section 3: the four console policies
// with the default one instance per platform and with multi-instance (3 on
// each native platform, 10 on Web).
func TestDisplaceTencent(t *testing.T) {
	runDisplace(t, []displaceCase{
		// single-platform: one instance on one platform of all seven.
		{name: "iPhone kicks Android", policy: SinglePlatform,
			online: []Instance{in("a", Android, 1)}, login: in("i", IPhone, 2), want: []string{"a"}},
		{name: "Web kicks Android", policy: SinglePlatform,
			online: []Instance{in("a", Android, 1)}, login: in("w", Web, 2), want: []string{"a"}},
		{name: "Mac kicks Web", policy: SinglePlatform,
			online: []Instance{in("w", Web, 1)}, login: in("m", Mac, 2), want: []string{"w"}},
		{name: "Android kicks Android", policy: SinglePlatform,
			online: []Instance{in("a1", Android, 1)}, login: in("a2", Android, 2), want: []string{"a1"}},
		{name: "first login kicks nothing", policy: SinglePlatform,
			login: in("a", Android, 1)},
		{name: "repeat login of the same instance", policy: SinglePlatform,
			online: []Instance{in("a", Android, 1)}, login: in("a", Android, 2)},
		{name: "multi-instance: second Android stays", policy: SinglePlatform, inst: 3, web: 10,
			online: series("a", Android, 2, 1), login: in("a3", Android, 3)},
		{name: "multi-instance: 4th Android kicks the earliest", policy: SinglePlatform, inst: 3, web: 10,
			online: series("a", Android, 3, 1), login: in("a4", Android, 4), want: []string{"a1"}},
		{name: "multi-instance: iPhone kicks every Android", policy: SinglePlatform, inst: 3, web: 10,
			online: series("a", Android, 3, 1), login: in("i", IPhone, 4), want: []string{"a1", "a2", "a3"}},
		{name: "multi-instance: Mac kicks every Web", policy: SinglePlatform, inst: 3, web: 10,
			online: series("w", Web, 10, 1), login: in("m", Mac, 11), want: []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10"}},

		// dual-platform: one of the six native platforms, plus Web.
		{name: "Mac kicks Android not Web", policy: DualPlatform,
			online: []Instance{in("w", Web, 1), in("a", Android, 2)}, login: in("m", Mac, 3), want: []string{"a"}},
		{name: "Web kicks Web not Android", policy: DualPlatform,
			online: []Instance{in("a", Android, 1), in("w1", Web, 2)}, login: in("w2", Web, 3), want: []string{"w1"}},
		{name: "Web joins Android", policy: DualPlatform,
			online: []Instance{in("a", Android, 1)}, login: in("w", Web, 2)},
		{name: "iPad kicks iPhone", policy: DualPlatform,
			online: []Instance{in("i", IPhone, 1)}, login: in("p", IPad, 2), want: []string{"i"}},
		{name: "multi-instance: Linux kicks all Windows, keeps 10 Web", policy: DualPlatform, inst: 3, web: 10,
			online: cat(series("w", Web, 10, 1), series("win", Windows, 3, 11)), login: in("l", Linux, 14), want: []string{"win1", "win2", "win3"}},
		{name: "multi-instance: 11th Web kicks the earliest Web", policy: DualPlatform, inst: 3, web: 10,
			online: cat(series("w", Web, 10, 1), series("a", Android, 3, 11)), login: in("w11", Web, 14), want: []string{"w1"}},
		{name: "multi-instance: 4th Android kicks the earliest Android", policy: DualPlatform, inst: 3, web: 10,
			online: cat(series("a", Android, 3, 1), series("w", Web, 2, 4)), login: in("a4", Android, 6), want: []string{"a1"}},

		// triple-platform: one mobile, one desktop, plus Web.
		{name: "iPad kicks Android only", policy: TriplePlatform,
			online: []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, login: in("p", IPad, 4), want: []string{"a"}},
		{name: "Linux kicks Mac only", policy: TriplePlatform,
			online: []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, login: in("l", Linux, 4), want: []string{"m"}},
		{name: "Web kicks Web only", policy: TriplePlatform,
			online: []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, login: in("w2", Web, 4), want: []string{"w"}},
		{name: "desktop joins mobile and Web", policy: TriplePlatform,
			online: []Instance{in("a", Android, 1), in("w", Web, 2)}, login: in("win", Windows, 3)},
		{name: "multi-instance: iPhone kicks all Android", policy: TriplePlatform, inst: 3, web: 10,
			online: cat(series("a", Android, 2, 1), series("m", Mac, 3, 3)), login: in("i", IPhone, 6), want: []string{"a1", "a2"}},
		{name: "multi-instance: 4th Mac kicks the earliest Mac", policy: TriplePlatform, inst: 3, web: 10,
			online: cat(series("m", Mac, 3, 1), series("a", Android, 3, 4)), login: in("m4", Mac, 7), want: []string{"m1"}},

		// multi-platform: every platform at once.
		{name: "Mac joins", policy: MultiPlatform,
			online: []Instance{in("a", Android, 1), in("i", IPhone, 2), in("win", Windows, 3)}, login: in("m", Mac, 4)},
		{name: "Android kicks Android only", policy: MultiPlatform,
			online: []Instance{in("a1", Android, 1), in("i", IPhone, 2), in("p", IPad, 3), in("win", Windows, 4), in("m", Mac, 5), in("l", Linux, 6), in("w", Web, 7)},
			login:  in("a2", Android, 8), want: []string{"a1"}},
		{name: "multi-instance: 4th Android kicks the earliest Android", policy: MultiPlatform, inst: 3, web: 10,
			online: cat(series("a", Android, 3, 1), series("i", IPhone, 3, 4)), login: in("a4", Android, 7), want: []string{"a1"}},
		{name: "multi-instance: 11th Web kicks the earliest Web", policy: MultiPlatform, inst: 3, web: 10,
			online: cat(series("w", Web, 10, 1), series("a", Android, 1, 11)), login: in("w11", Web, 12), want: []string{"w1"}},
		{name: "multi-instance: 10th Web joins", policy: MultiPlatform, inst: 3, web: 10,
			online: series("w", Web, 9, 1), login: in("w10", Web, 10)},
		{name: "multi-instance: earliest by login order, not by list order", policy: MultiPlatform, inst: 3, web: 10,
			online: []Instance{in("a-late", Android, 9), in("a-early", Android, 2), in("a-mid", Android, 5)}, login: in("a4", Android, 10), want: []string{"a-early"}},
	})
}

// TestDisplacePresets shows each preset's characteristic kick.
func TestDisplacePresets(t *testing.T) {
	runDisplace(t, []displaceCase{
		{name: "5th Android kicks the earliest Android", policy: "easemob",
			online: cat(series("a", Android, 4, 1), series("w", Web, 4, 5)), login: in("a5", Android, 9), want: []string{"a1"}},
		{name: "no kicks across platforms", policy: "easemob",
			online: cat(series("a", Android, 4, 1), series("w", Web, 3, 5)), login: in("i", IPhone, 8)},
		{name: "cap from instances", policy: "easemob", inst: 2,
			online: series("m", Mac, 2, 1), login: in("m3", Mac, 3), want: []string{"m1"}},
		{name: "Web kicks Android", policy: "netease-single",
			online: []Instance{in("a", Android, 1)}, login: in("w", Web, 2), want: []string{"a"}},
		{name: "Mac kicks Web (same class), not Android", policy: "netease-dual",
			online: []Instance{in("w", Web, 1), in("a", Android, 2)}, login: in("m", Mac, 3), want: []string{"w"}},
		{name: "iPhone kicks Android", policy: "netease-dual",
			online: []Instance{in("w", Web, 1), in("a", Android, 2)}, login: in("i", IPhone, 3), want: []string{"a"}},
		{name: "11th device kicks the earliest of any platform", policy: "netease-all",
			online: cat(series("w", Web, 1, 1), series("a", Android, 5, 2), series("m", Mac, 4, 7)), login: in("i", IPhone, 11), want: []string{"w1"}},
		{name: "Windows kicks iPhone", policy: "zego-single",
			online: []Instance{in("i", IPhone, 1)}, login: in("win", Windows, 2), want: []string{"i"}},
		{name: "Mac kicks Android, not Web", policy: "zego-dual",
			online: []Instance{in("a", Android, 1), in("w", Web, 2)}, login: in("m", Mac, 3), want: []string{"a"}},
		{name: "Web kicks Web, not Android", policy: "zego-dual",
			online: []Instance{in("a", Android, 1), in("w", Web, 2)}, login: in("w2", Web, 3), want: []string{"w"}},
		{name: "11th native kicks the earliest native, not Web", policy: "zego-multi",
			online: cat(series("w", Web, 2, 1), series("a", Android, 6, 3), series("l", Linux, 4, 9)), login: in("p", IPad, 13), want: []string{"a1"}},
		{name: "11th Web kicks the earliest Web", policy: "zego-multi",
			online: cat(series("a", Android, 1, 1), series("w", Web, 10, 2)), login: in("w11", Web, 12), want: []string{"w1"}},
		{name: "iPad kicks Android only", policy: "rongcloud",
			online: []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, login: in("p", IPad, 4), want: []string{"a"}},
		{name: "Web kicks Web only", policy: "rongcloud",
			online: []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, login: in("w2", Web, 4), want: []string{"w"}},
		{name: "iPad kicks iPhone (same type), not Android", policy: "turms-each-type",
			online: []Instance{in("a", Android, 1), in("i", IPhone, 2)}, login: in("p", IPad, 3), want: []string{"i"}},
		{name: "Linux joins Android, iOS and browser", policy: "turms-each-type",
			online: []Instance{in("a", Android, 1), in("i", IPhone, 2), in("w", Web, 3)}, login: in("l", Linux, 4)},
		{name: "Android kicks Web", policy: "turms-one-device",
			online: []Instance{in("w", Web, 1)}, login: in("a", Android, 2), want: []string{"w"}},
		{name: "Windows kicks Web, not Android", policy: "turms-desktop-or-browser-mobile",
			online: []Instance{in("w", Web, 1), in("a", Android, 2)}, login: in("win", Windows, 3), want: []string{"w"}},
		{name: "same resource replaces the session", policy: "ejabberd",
			online: []Instance{in("phone", Android, 1), in("laptop", Linux, 2)}, login: in("phone", Android, 3), want: []string{"phone"}},
		{name: "session over max_user_sessions kicks the oldest", policy: "ejabberd", inst: 3,
			online: []Instance{in("w", Web, 1), in("a", Android, 2), in("l", Linux, 3)}, login: in("w2", Web, 4), want: []string{"w"}},
		{name: "default of 10 sessions", policy: "ejabberd",
			online: series("w", Web, 9, 1), login: in("w10", Web, 10)},
	})
}

// TestDisplaceRules covers the rules of Displace that no preset isolates.
func TestDisplaceRules(t *testing.T) {
	two := &Policy{Name: "two-of-three", DefaultPerPlatform: 2,
		Groups: []Group{{Name: "mobile", Platforms: []Platform{Android, IPhone, IPad}, MaxPlatforms: 2, MaxInstances: 3}}}
	cases := []struct {
		name   string
		pol    *Policy
		online []Instance
		login  Instance
		want   []string
	}{
		{"MaxPlatforms drops the platform whose earliest instance is earliest", two,
			[]Instance{in("i1", IPhone, 1), in("a1", Android, 2), in("i2", IPhone, 3)}, in("p", IPad, 4), []string{"i1", "i2"}},
		{"MaxInstances after MaxPlatforms counts what is left", two,
			[]Instance{in("a1", Android, 1), in("a2", Android, 2), in("i1", IPhone, 3)}, in("i2", IPhone, 4), []string{"a1"}},
		{"the per-platform kick also makes room in the group", two,
			[]Instance{in("i1", IPhone, 1), in("a1", Android, 2), in("a2", Android, 3)}, in("a3", Android, 4), []string{"a1"}},
		{"an over-full group (policy tightened) is brought back within its cap", &Policy{Name: "cap2", DefaultPerPlatform: 2,
			Groups: []Group{{Name: "mobile", Platforms: []Platform{Android, IPhone}, MaxInstances: 2}}},
			[]Instance{in("i1", IPhone, 1), in("a1", Android, 2), in("a2", Android, 3)}, in("a3", Android, 4), []string{"i1", "a1"}},
		{"ReplaceSameInstance also applies the limits", &Policy{Name: "r", DefaultPerPlatform: 1, ReplaceSameInstance: true},
			[]Instance{in("x", Android, 1), in("y", IPhone, 2)}, in("x", IPhone, 3), []string{"x", "y"}},
		{"platforms of no group are left alone", &Policy{Name: "g", Groups: []Group{{Name: "d", Platforms: []Platform{Mac, Linux}, MaxInstances: 1}}},
			[]Instance{in("a", Android, 1), in("m", Mac, 2)}, in("l", Linux, 3), []string{"m"}},
		{"no limits at all", &Policy{Name: "none"},
			series("a", Android, 50, 1), in("a51", Android, 51), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.pol.Displace(c.online, c.login)
			if !slices.Equal(ids(got), c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("displaced %v, want %v", ids(got), c.want)
			}
			if !c.pol.Allowed(remaining(c.online, got, c.login, c.pol.ReplaceSameInstance)) {
				t.Fatal("the result is not allowed")
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		policy    string
		inst, web int
		online    []Instance
		want      bool
	}{
		{SinglePlatform, 0, 0, []Instance{in("a", Android, 1)}, true},
		{SinglePlatform, 0, 0, []Instance{in("a", Android, 1), in("w", Web, 2)}, false},
		{SinglePlatform, 0, 0, series("a", Android, 2, 1), false},
		{SinglePlatform, 3, 10, series("a", Android, 3, 1), true},
		{SinglePlatform, 3, 10, series("a", Android, 4, 1), false},
		{DualPlatform, 0, 0, []Instance{in("a", Android, 1), in("w", Web, 2)}, true},
		{DualPlatform, 0, 0, []Instance{in("a", Android, 1), in("m", Mac, 2)}, false},
		{DualPlatform, 3, 10, cat(series("a", Android, 3, 1), series("w", Web, 10, 4)), true},
		{DualPlatform, 3, 10, cat(series("a", Android, 3, 1), series("w", Web, 11, 4)), false},
		{TriplePlatform, 0, 0, []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, true},
		{TriplePlatform, 0, 0, []Instance{in("a", Android, 1), in("i", IPhone, 2)}, false},
		{MultiPlatform, 0, 0, []Instance{in("a", Android, 1), in("i", IPhone, 2), in("p", IPad, 3), in("win", Windows, 4), in("m", Mac, 5), in("l", Linux, 6), in("w", Web, 7)}, true},
		{MultiPlatform, 0, 0, series("w", Web, 2, 1), false},
		{"easemob", 0, 0, cat(series("a", Android, 4, 1), series("i", IPhone, 4, 5)), true},
		{"easemob", 0, 0, series("a", Android, 5, 1), false},
		{"netease-dual", 0, 0, []Instance{in("w", Web, 1), in("m", Mac, 2)}, false},
		{"netease-all", 0, 0, cat(series("a", Android, 5, 1), series("w", Web, 5, 6)), true},
		{"netease-all", 0, 0, cat(series("a", Android, 5, 1), series("w", Web, 6, 6)), false},
		{"rongcloud", 0, 0, []Instance{in("a", Android, 1), in("m", Mac, 2), in("w", Web, 3)}, true},
		{"ejabberd", 2, 0, series("w", Web, 3, 1), false},
		{SinglePlatform, 0, 0, nil, true},
	}
	for _, c := range cases {
		var names []string
		for _, x := range c.online {
			names = append(names, string(x.Platform))
		}
		t.Run(fmt.Sprintf("%s/%d-%d/%s", c.policy, c.inst, c.web, strings.Join(names, "+")), func(t *testing.T) {
			pol, err := Lookup(c.policy, c.inst, c.web)
			if err != nil {
				t.Fatal(err)
			}
			if got := pol.Allowed(c.online); got != c.want {
				t.Fatalf("Allowed = %v, want %v", got, c.want)
			}
		})
	}
}

// TestDisplaceKeepsAllowed logs in random devices one after another under
// every preset: after each login the online set is allowed, the login is
// online, every displaced instance was online, and the per-platform victims
// are the earliest of their platform.
func TestDisplaceKeepsAllowed(t *testing.T) {
	for _, name := range Names() {
		for _, lim := range [][2]int{{0, 0}, {3, 10}} {
			pol, err := Lookup(name, lim[0], lim[1])
			if err != nil {
				continue // a preset with fixed limits
			}
			t.Run(fmt.Sprintf("%s/%d-%d", name, lim[0], lim[1]), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, uint64(len(name))))
				var online []Instance
				for seq := uint64(1); seq <= 400; seq++ {
					login := Instance{ID: fmt.Sprint("d", rng.IntN(30)), Platform: Platforms[rng.IntN(len(Platforms))], Seq: seq}
					kicked := pol.Displace(online, login)
					for _, k := range kicked {
						if !slices.Contains(online, k) {
							t.Fatalf("login %d displaced %+v, which was not online", seq, k)
						}
						if k.ID == login.ID && !pol.ReplaceSameInstance {
							t.Fatalf("login %d displaced its own instance", seq)
						}
					}
					if !slices.IsSortedFunc(kicked, func(a, b Instance) int { return int(a.Seq) - int(b.Seq) }) {
						t.Fatalf("displaced %v not earliest first", kicked)
					}
					online = remaining(online, kicked, login, pol.ReplaceSameInstance)
					if !pol.Allowed(online) {
						t.Fatalf("after login %d (%s on %s): %v online is not allowed", seq, login.ID, login.Platform, online)
					}
				}
			})
		}
	}
}

func BenchmarkDisplace(b *testing.B) {
	pol, err := Tencent(MultiPlatform, 3, 10)
	if err != nil {
		b.Fatal(err)
	}
	online := cat(series("a", Android, 3, 1), series("w", Web, 10, 4), series("m", Mac, 2, 14))
	login := in("a4", Android, 20)
	b.ReportAllocs()
	for b.Loop() {
		if len(pol.Displace(online, login)) != 1 {
			b.Fatal("want one displaced")
		}
	}
}

func BenchmarkDisplaceSingle(b *testing.B) {
	pol, err := Tencent(SinglePlatform, 3, 10)
	if err != nil {
		b.Fatal(err)
	}
	online := series("a", Android, 3, 1)
	login := in("i", IPhone, 20)
	b.ReportAllocs()
	for b.Loop() {
		if len(pol.Displace(online, login)) != 3 {
			b.Fatal("want three displaced")
		}
	}
}

// TestAdmit: under kick_old Admit is Displace and never refuses; under
// refuse_new it refuses exactly the logins Displace would push someone out
// for, displaces nobody, keeps the online set allowed, and a refusal stays a
// refusal with more sessions online (monotone, as the oracle assumes).
func TestAdmit(t *testing.T) {
	for _, name := range Names() {
		kick, err := Lookup(name, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			refuse := *kick
			refuse.OnConflict = RefuseNew
			rng := rand.New(rand.NewPCG(11, uint64(len(name))))
			var online []Instance
			refusals := 0
			for seq := uint64(1); seq <= 300; seq++ {
				login := Instance{ID: fmt.Sprint("d", rng.IntN(12)), Platform: Platforms[rng.IntN(len(Platforms))], Seq: seq}
				want := kick.Displace(online, login)
				if v, refused := kick.Admit(online, login); refused || !slices.Equal(v, want) {
					t.Fatalf("kick_old Admit = %v, %v; Displace = %v", v, refused, want)
				}
				v, refused := refuse.Admit(online, login)
				if len(v) != 0 || refused != (len(want) > 0) {
					t.Fatalf("refuse_new Admit = %v, %v; Displace = %v", v, refused, want)
				}
				if refused {
					refusals++
					more := append(slices.Clone(online), Instance{ID: "extra", Platform: Platforms[rng.IntN(len(Platforms))], Seq: seq + 1000})
					if _, r := refuse.Admit(more, login); !r {
						t.Fatalf("refused with %v online, admitted with %v", online, more)
					}
					continue
				}
				online = remaining(online, nil, login, refuse.ReplaceSameInstance)
				if !refuse.Allowed(online) {
					t.Fatalf("after login %d: %v online is not allowed", seq, online)
				}
			}
			if refusals == 0 && name != MultiPlatform {
				t.Error("no login refused: nothing was checked")
			}
		})
	}
}
