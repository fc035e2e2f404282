package capacity

import (
	"context"
	"math"
)

// Simulated is a deterministic target for tests of the search (no sockets,
// no clock): logins cost Cost seconds on Workers workers, so the ceiling is
// Workers/Cost per second; sessions beyond MaxSessions are refused; and
// imload gives out above GeneratorLimit (0: never). Its SLO is p99 <
// P99Limit seconds and errors < ErrorLimit.
type Simulated struct {
	Workers        int
	Cost           float64 // seconds
	MaxSessions    int
	GeneratorLimit float64
	P99Limit       float64 // seconds
	ErrorLimit     float64
	Window         float64 // seconds of a measured step
	Calls          []float64
}

// Ceiling is the simulated target's logins per second.
func (s *Simulated) Ceiling() float64 { return float64(s.Workers) / s.Cost }

// Measure answers a step as the simulated target would: below the ceiling
// the wait grows as the load nears it (an M/D/1-like queue), above it the
// queue grows all through the window.
func (s *Simulated) Measure(vary string) Measure {
	return func(_ context.Context, _, _ int, load float64) (Step, error) {
		s.Calls = append(s.Calls, load)
		var st Step
		st.Duration = s.Window
		if s.GeneratorLimit > 0 && load > s.GeneratorLimit {
			st.GeneratorBound, st.Reasons = true, []string{"send lag p99 120ms > 50ms"}
			st.SendLagP99Ns = 120e6
		}
		rate := load
		if vary == VaryDevices {
			rate = load / s.Window // the devices log in once in the window
			st.Online = int64(load)
			if s.MaxSessions > 0 && load > float64(s.MaxSessions) {
				st.Online = int64(s.MaxSessions)
				// Refused devices retry once a second through the window.
				refused := (load - float64(s.MaxSessions)) * s.Window
				st.ErrorRate = refused / (load + refused)
			}
		}
		c := s.Ceiling()
		var p99 float64
		if rho := rate / c; rho < 1 {
			p99 = s.Cost * (1 + rho/(2*(1-rho))*3)
		} else {
			// The backlog at the window's end over the service rate.
			p99 = s.Cost + (rate-c)*s.Window/c
		}
		st.Logins = int64(rate * s.Window)
		st.Throughput = math.Min(rate, c)
		st.LoginP99Ns, st.LoginP50Ns, st.LoginMean = int64(p99*1e9), int64(s.Cost*1e9), int64(p99*1e9*0.7)
		st.InFlight = st.Throughput * p99 * 0.7
		st.Predicted = st.InFlight
		st.Pass = p99 < s.P99Limit && st.ErrorRate < s.ErrorLimit
		if p99 >= s.P99Limit {
			st.Failed = append(st.Failed, "login.p99 < 100ms")
		}
		if st.ErrorRate >= s.ErrorLimit {
			st.Failed = append(st.Failed, "errors.rate < 1%")
		}
		return st, nil
	}
}
