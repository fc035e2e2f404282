// Package shard splits a run over several processes: shard i of N owns the
// users whose index is i mod N, 1/N of the open-model arrival rate and of
// the closed-model devices, and numbers its devices so that no two shards
// draw the same plan. Per-user checks stay within one process, so the
// shards' results merge exactly (results.Merge).
package shard

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/scenario"
)

// Shard is one process's part of a run split over Count processes. Shard i
// of N owns the users whose index (0-based, within the population) is
// ≡ i mod N, so every user belongs to exactly one shard and every per-user
// check stays within one process; it starts 1/N of the open-model arrivals
// and of the closed-model devices, and numbers its devices i, i+N, i+2N, …
// so that no two shards draw the same device plan. The zero value is the
// whole run.
type Shard struct {
	Index, Count int
}

// Parse reads "i/N" with 0 ≤ i < N.
func Parse(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/N, e.g. 0/4 (shards are numbered from 0)", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/N with whole numbers, e.g. 0/4", s)
	}
	if n < 1 {
		return Shard{}, fmt.Errorf("shard %q: the number of shards must be at least 1", s)
	}
	sh := Shard{Index: i, Count: n}
	return sh, sh.Validate()
}

// Validate checks 0 ≤ Index < Count (the zero Shard is valid: the whole run).
func (s Shard) Validate() error {
	if s == (Shard{}) {
		return nil
	}
	if s.Count < 1 {
		return fmt.Errorf("shard %d/%d: the number of shards must be at least 1", s.Index, s.Count)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: the index must be from 0 to %d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// Whole reports whether s is the whole run (no sharding, or 0/1).
func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) norm() Shard {
	if s.Count < 1 {
		return Shard{Index: 0, Count: 1}
	}
	return s
}

// String returns "i/N", or "" for the whole run.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns reports whether user index u belongs to the shard.
func (s Shard) Owns(u int) bool {
	s = s.norm()
	return u%s.Count == s.Index
}

// Users returns how many of total users the shard owns.
func (s Shard) Users(total int) int {
	s = s.norm()
	if total <= s.Index {
		return 0
	}
	return (total-s.Index-1)/s.Count + 1
}

// User returns the population index of the shard's k-th user.
func (s Shard) User(k int) int {
	s = s.norm()
	return s.Index + k*s.Count
}

// Device maps a device index of the shard's own schedule to the run-wide
// index its plan is drawn from: disjoint across shards.
func (s Shard) Device(local int) int {
	s = s.norm()
	return local*s.Count + s.Index
}

// Share returns the shard's part of n: n/N, the remainder going one each to
// the lowest shards, so the parts of all shards add up to n.
func (s Shard) Share(n int) int {
	s = s.norm()
	q, r := n/s.Count, n%s.Count
	if s.Index < r {
		q++
	}
	return q
}

// Phases returns the shard's phases: open-model rates divided by N,
// closed-model devices shared as Share does. It fails for a closed phase
// that ramps to fewer devices than there are shards when this shard's part
// of the ramp's end would be 0, which a phase cannot say (to_devices 0 means
// constant).
func (s Shard) Phases(phases []scenario.Phase) ([]scenario.Phase, error) {
	out := make([]scenario.Phase, len(phases))
	copy(out, phases)
	if s.Whole() {
		return out, nil
	}
	n := float64(s.Count)
	for i := range out {
		ph := &out[i]
		switch ph.Model {
		case scenario.Open:
			ph.Rate /= n
			ph.ToRate /= n
		case scenario.Closed:
			from, to := s.Share(ph.Devices), s.Share(ph.ToDevices)
			if ph.ToDevices != 0 && to == 0 && from != 0 {
				return nil, fmt.Errorf("phases[%d]: to_devices %d split over %d shards leaves shard %s a ramp to 0 devices, which a phase cannot express; use at least %d to_devices or fewer shards",
					i, ph.ToDevices, s.Count, s, s.Count)
			}
			ph.Devices, ph.ToDevices = from, to
		}
	}
	return out, nil
}

// Users is the shard's part of a population: an agent.UserPicker that
// draws uniformly among the users the shard owns.
type Users struct {
	pop   *agent.Population
	shard Shard
	n     int
}

// NewUsers returns the picker of shard s over a population of total
// users; it fails when the shard owns none.
func NewUsers(pop *agent.Population, total int, s Shard) (*Users, error) {
	s = s.norm()
	n := s.Users(total)
	if n == 0 {
		return nil, fmt.Errorf("shard %d/%d owns no user of a population of %d: use at most %d shards", s.Index, s.Count, total, total)
	}
	return &Users{pop: pop, shard: s, n: n}, nil
}

// Pick implements agent.UserPicker.
func (u *Users) Pick(r *rand.Rand) string {
	return u.pop.UserID(u.shard.User(r.IntN(u.n)))
}

// Len returns how many users the shard owns.
func (u *Users) Len() int { return u.n }

// UserID returns the ID of the shard's k-th user (0 ≤ k < Len).
func (u *Users) UserID(k int) string { return u.pop.UserID(u.shard.User(k)) }

// Apply returns the shard's scenario: a copy with the shard's phases (sc
// itself for the whole run).
func (s Shard) Apply(sc *scenario.Scenario) (*scenario.Scenario, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Whole() {
		return sc, nil
	}
	phases, err := s.Phases(sc.Phases)
	if err != nil {
		return nil, err
	}
	c := *sc
	c.Phases = phases
	return &c, nil
}

// Picker returns the users the shard's devices draw from: pop itself for
// the whole run.
func (s Shard) Picker(pop *agent.Population, total int) (agent.UserPicker, error) {
	if s.Whole() {
		return pop, nil
	}
	return NewUsers(pop, total, s)
}
