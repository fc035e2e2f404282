package agent

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
)

// Leave says how a device ends its session.
type Leave uint8

const (
	LeaveLogout Leave = iota + 1 // a clean logout, then the connection closes
	LeaveKill                    // the app is killed: the connection drops, no logout
)

func (l Leave) String() string {
	switch l {
	case LeaveLogout:
		return "logout"
	case LeaveKill:
		return "kill"
	}
	return ""
}

// Plan is the script of one device session, drawn up front so that the same
// (seed, index) always gives the same plan. Offsets count from the first
// successful login of the session.
type Plan struct {
	Index int
	// Seed is the run's seed: with Index it seeds the device's own draws
	// (its reconnect waits).
	Seed     int64
	Instance string // the device's instance ID
	Platform policy.Platform
	User     string
	// Hold is how long the device stays online before it leaves.
	Hold  time.Duration
	Leave Leave
	// Think is the pause before a log-in again after a kick, and before a
	// restarted closed-model session.
	Think time.Duration
	// Flap: the network drops at FlapAt for FlapDown; the device then
	// reconnects and resumes.
	Flap     bool
	FlapAt   time.Duration
	FlapDown time.Duration
	// Switch: at SwitchAt the device switches to SwitchTo.
	Switch   bool
	SwitchAt time.Duration
	SwitchTo string
	// Misbehaviour (scenario.Misbehave). Storm > 1 is a login storm of Storm
	// logins at once over Storm connections.
	Storm              int
	LoginWhileLogining bool
	RetryAnyError      bool
}

// Misbehaves reports whether the plan breaks a client rule.
func (p *Plan) Misbehaves() bool { return p.Storm > 1 || p.LoginWhileLogining || p.RetryAnyError }

// UserPicker draws the user a device logs in as. It must draw only from r, so
// that the plan stays a function of (seed, index), and be safe for
// concurrent use.
type UserPicker interface {
	Pick(r *rand.Rand) string
}

// Population picks uniformly among the users of a scenario population.
type Population struct {
	pattern  string
	start, n int
}

// DefaultIDPattern names users when a population gives no pattern.
const DefaultIDPattern = "user_%06d"

// NewPopulation returns the picker of p (at least one user).
func NewPopulation(p scenario.Population) *Population {
	pop := &Population{pattern: p.IDPattern, start: p.Start, n: max(p.Users, 1)}
	if pop.pattern == "" {
		pop.pattern = DefaultIDPattern
	}
	return pop
}

// UserID returns the ID of the i-th user (0-based).
func (p *Population) UserID(i int) string { return fmt.Sprintf(p.pattern, p.start+i) }

// Pick implements UserPicker.
func (p *Population) Pick(r *rand.Rand) string { return p.UserID(r.IntN(p.n)) }

// Planner draws plans for one scenario and seed.
type Planner struct {
	seed  int64
	b     scenario.Behaviour
	users UserPicker
	mix   policy.Mix
}

// NewPlanner prepares plans for sc. Platform names that are not platforms,
// and weights that are not positive, are reported and left out (Android
// alone when nothing is left; policy.NewMix).
func NewPlanner(seed int64, sc *scenario.Scenario, users UserPicker) (*Planner, error) {
	mix, err := policy.NewMix(sc.Platforms)
	p := &Planner{seed: seed, b: sc.Behaviour, users: users, mix: mix}
	if err != nil {
		return p, fmt.Errorf("agent: platforms: %w", err)
	}
	return p, nil
}

// PlanFor draws the plan of device index under sc and seed (see NewPlanner
// for platform names it leaves out).
func PlanFor(seed int64, index int, sc *scenario.Scenario, users UserPicker) Plan {
	p, _ := NewPlanner(seed, sc, users)
	return p.Plan(index)
}

// SessionPlan draws the plan of session index, which runs on the device
// whose first session is device (pacer.Arrival.Device). Under
// behaviour.instance per_device (the default) the session keeps that
// device's instance ID, platform and account, those of Plan(device): a
// closed-model slot is one device whose app restarts between sessions,
// and logs in again as the same instance. Everything else (hold, leave,
// think, flap, switch, misbehaviour) is the session's own; a switch to the
// device's own account is dropped. Under per_session it is Plan(index).
func (p *Planner) SessionPlan(index, device int) Plan {
	pl := p.Plan(index)
	if device == index || p.b.Instance == scenario.InstancePerSession {
		return pl
	}
	dev := p.Plan(device)
	pl.Instance, pl.Platform, pl.User = dev.Instance, dev.Platform, dev.User
	if pl.Switch && pl.SwitchTo == pl.User {
		pl.Switch, pl.SwitchAt, pl.SwitchTo = false, 0, ""
	}
	return pl
}

// Plan draws the plan of device index. The draws come from a generator
// seeded with (seed, index) alone, in a fixed order, so a plan never depends
// on other devices or on timing.
func (p *Planner) Plan(index int) Plan {
	r := rand.New(rand.NewPCG(uint64(p.seed), uint64(index)))
	b := &p.b
	pl := Plan{Index: index, Seed: p.seed, Instance: "dev" + strconv.Itoa(index)}

	pl.Platform = p.mix.Pick(r.Float64())
	pl.User = p.users.Pick(r)
	pl.Hold = max(b.Hold.Sample(r), 0)
	pl.Leave = LeaveKill
	if r.Float64() < b.LogoutRatio {
		pl.Leave = LeaveLogout
	}
	pl.Think = max(b.Think.Sample(r), 0)

	pl.Flap = r.Float64() < b.Flap
	flapAt := r.Float64()
	pl.FlapDown = max(b.FlapDown.Sample(r), 0)
	pl.Switch = r.Float64() < b.SwitchAccount
	switchAt := r.Float64()
	if pl.Flap {
		pl.FlapAt = time.Duration(flapAt * float64(pl.Hold))
	} else {
		pl.FlapDown = 0
	}
	if pl.Switch {
		pl.SwitchAt = time.Duration(switchAt * float64(pl.Hold))
	}

	m := &b.Misbehave
	storm, stormSize := r.Float64() < m.LoginStorm, 2+r.IntN(3)
	if storm {
		pl.Storm = stormSize
	}
	pl.LoginWhileLogining = r.Float64() < m.LoginWhileLogin
	pl.RetryAnyError = r.Float64() < m.RetryAnyError

	// The switch target comes last: a picker may draw any number of values.
	if pl.Switch {
		pl.Switch = false
		for try := 0; try < 8; try++ {
			if u := p.users.Pick(r); u != pl.User {
				pl.Switch, pl.SwitchTo = true, u
				break
			}
		}
		if !pl.Switch {
			pl.SwitchAt = 0
		}
	}
	return pl
}
