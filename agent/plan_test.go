package agent

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
)

func planScenario() *scenario.Scenario {
	return &scenario.Scenario{
		Population: scenario.Population{Users: 50, IDPattern: "u%03d"},
		Platforms:  map[string]float64{"Android": 3, "Web": 1, "Mac": 1},
		Behaviour: scenario.Behaviour{
			Hold:          scenario.Dist{Kind: "uniform", Min: scenario.Duration(time.Second), Max: scenario.Duration(9 * time.Second)},
			Think:         scenario.Dist{Value: scenario.Duration(2 * time.Second)},
			LogoutRatio:   0.7,
			SwitchAccount: 0.2,
			Flap:          0.4,
			FlapDown:      scenario.Dist{Value: scenario.Duration(500 * time.Millisecond)},
			Misbehave:     scenario.Misbehave{LoginStorm: 0.1, LoginWhileLogin: 0.05, RetryAnyError: 0.02},
		},
	}
}

func TestPlanIsAFunctionOfSeedAndIndex(t *testing.T) {
	sc := planScenario()
	users := NewPopulation(sc.Population)
	p, err := NewPlanner(42, sc, users)
	if err != nil {
		t.Fatal(err)
	}
	// A second scenario value built in another order: map order must not
	// matter.
	sc2 := planScenario()
	sc2.Platforms = map[string]float64{}
	for _, name := range []string{"Mac", "Web", "Android"} {
		sc2.Platforms[name] = sc.Platforms[name]
	}
	differs := 0
	for i := 0; i < 300; i++ {
		a := p.Plan(i)
		// Drawn again, in another order, by another planner.
		b := PlanFor(42, i, sc2, NewPopulation(sc2.Population))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("plan %d differs:\n%+v\n%+v", i, a, b)
		}
		if c := PlanFor(43, i, sc, users); !reflect.DeepEqual(a, c) {
			differs++
		}
		if a.Index != i || a.Instance == "" {
			t.Errorf("plan %d: index %d instance %q", i, a.Index, a.Instance)
		}
	}
	if differs < 290 {
		t.Errorf("only %d of 300 plans change with the seed", differs)
	}
	// Planning devices out of order gives the same plans.
	if !reflect.DeepEqual(p.Plan(17), PlanFor(42, 17, sc, users)) {
		t.Error("plan 17 depends on what was planned before")
	}
}

func TestPlanFollowsTheScenario(t *testing.T) {
	sc := planScenario()
	p, err := NewPlanner(7, sc, NewPopulation(sc.Population))
	if err != nil {
		t.Fatal(err)
	}
	const n = 6000
	var logout, flap, sw, storm, wl, retry int
	plats := map[policy.Platform]int{}
	for i := 0; i < n; i++ {
		pl := p.Plan(i)
		plats[pl.Platform]++
		if pl.Hold < time.Second || pl.Hold > 9*time.Second {
			t.Fatalf("plan %d hold %v outside the uniform 1s..9s", i, pl.Hold)
		}
		if pl.Think != 2*time.Second {
			t.Fatalf("plan %d think %v", i, pl.Think)
		}
		if pl.Leave == LeaveLogout {
			logout++
		}
		if pl.Flap {
			flap++
			if pl.FlapAt < 0 || pl.FlapAt >= pl.Hold || pl.FlapDown != 500*time.Millisecond {
				t.Fatalf("plan %d flap at %v down %v, hold %v", i, pl.FlapAt, pl.FlapDown, pl.Hold)
			}
		} else if pl.FlapAt != 0 || pl.FlapDown != 0 {
			t.Fatalf("plan %d has flap times without a flap", i)
		}
		if pl.Switch {
			sw++
			if pl.SwitchTo == pl.User || pl.SwitchTo == "" || pl.SwitchAt >= pl.Hold {
				t.Fatalf("plan %d switches from %q to %q at %v", i, pl.User, pl.SwitchTo, pl.SwitchAt)
			}
		}
		if pl.Storm > 0 {
			storm++
			if pl.Storm < 2 || pl.Storm > 4 {
				t.Fatalf("plan %d storm of %d", i, pl.Storm)
			}
		}
		if pl.LoginWhileLogining {
			wl++
		}
		if pl.RetryAnyError {
			retry++
		}
	}
	near := func(name string, got int, want float64) {
		t.Helper()
		// Four standard deviations of a binomial count.
		sd := math.Sqrt(n * want * (1 - want))
		if d := math.Abs(float64(got) - n*want); d > 4*sd+1 {
			t.Errorf("%s: %d of %d, want about %.0f", name, got, n, n*want)
		}
	}
	near("logout", logout, 0.7)
	near("flap", flap, 0.4)
	near("switch", sw, 0.2)
	near("storm", storm, 0.1)
	near("login while logining", wl, 0.05)
	near("retry any error", retry, 0.02)
	near("Android", plats[policy.Android], 0.6)
	near("Web", plats[policy.Web], 0.2)
	near("Mac", plats[policy.Mac], 0.2)
	if len(plats) != 3 {
		t.Errorf("platforms %v, want only Android, Web and Mac", plats)
	}
}

func TestPlannerRejectsBadPlatforms(t *testing.T) {
	cases := map[string]map[string]float64{
		"unknown name":    {"Android": 1, "BlackBerry": 1},
		"negative weight": {"Android": 1, "Web": -1},
	}
	for name, plats := range cases {
		t.Run(name, func(t *testing.T) {
			sc := planScenario()
			sc.Platforms = plats
			p, err := NewPlanner(1, sc, NewPopulation(sc.Population))
			if err == nil {
				t.Fatal("NewPlanner accepted", plats)
			}
			if got := p.Plan(0).Platform; got != policy.Android {
				t.Errorf("platform %v, want Android, the only valid entry", got)
			}
		})
	}
}

func TestPopulation(t *testing.T) {
	p := NewPopulation(scenario.Population{Users: 3, Start: 10})
	if got := p.UserID(2); got != "user_000012" {
		t.Errorf("UserID(2) = %q", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		seen[p.Pick(r)] = true
	}
	if !reflect.DeepEqual(seen, map[string]bool{"user_000010": true, "user_000011": true, "user_000012": true}) {
		t.Errorf("picked %v", seen)
	}
	// One user: no switch target exists, so no switch is planned.
	sc := planScenario()
	sc.Population.Users = 1
	sc.Behaviour.SwitchAccount = 1
	for i := 0; i < 20; i++ {
		if pl := PlanFor(1, i, sc, NewPopulation(sc.Population)); pl.Switch {
			t.Fatalf("plan %d switches from the only user to %q", i, pl.SwitchTo)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	sc := planScenario()
	p, _ := NewPlanner(1, sc, NewPopulation(sc.Population))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Plan(i)
	}
}

// TestSessionPlanPerDevice: under per_device (the default) a later session of
// a device keeps the device's instance, platform and account and draws the
// rest itself; under per_session it is the session's own plan.
func TestSessionPlanPerDevice(t *testing.T) {
	for _, mode := range []string{"", scenario.InstancePerDevice, scenario.InstancePerSession} {
		t.Run("instance="+mode, func(t *testing.T) {
			sc := planScenario()
			sc.Behaviour.Instance = mode
			p, err := NewPlanner(42, sc, NewPopulation(sc.Population))
			if err != nil {
				t.Fatal(err)
			}
			moved := 0
			for device := 0; device < 50; device++ {
				if got := p.SessionPlan(device, device); !reflect.DeepEqual(got, p.Plan(device)) {
					t.Fatalf("first session of device %d: %+v, want its own plan", device, got)
				}
				dev := p.Plan(device)
				for k := 1; k <= 4; k++ {
					index := device + 1000*k
					own, got := p.Plan(index), p.SessionPlan(index, device)
					if mode == scenario.InstancePerSession {
						if !reflect.DeepEqual(got, own) {
							t.Fatalf("per_session plan of %d: %+v, want %+v", index, got, own)
						}
						continue
					}
					if got.Instance != dev.Instance || got.Platform != dev.Platform || got.User != dev.User {
						t.Fatalf("session %d on device %d: %s %s %s, want the device's %s %s %s",
							index, device, got.Instance, got.Platform, got.User, dev.Instance, dev.Platform, dev.User)
					}
					if own.User != dev.User || own.Platform != dev.Platform {
						moved++
					}
					if got.Index != index || got.Hold != own.Hold || got.Leave != own.Leave || got.Think != own.Think ||
						got.Flap != own.Flap || got.Storm != own.Storm {
						t.Fatalf("session %d: %+v does not keep its own draws %+v", index, got, own)
					}
					if got.Switch && got.SwitchTo == got.User {
						t.Fatalf("session %d switches to its own account", index)
					}
				}
			}
			if mode != scenario.InstancePerSession && moved == 0 {
				t.Error("no session drew another user or platform than its device: the test proves nothing")
			}
		})
	}
}
