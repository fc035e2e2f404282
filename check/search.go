package check

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/imload/imload/policy"
)

// searchModel is the sequential specification the order search checks a
// user's history against. The state is the list of registered sessions in
// login order plus the set of ambiguous kicks already explained. Operations:
// a login, a removal by the device's own action (logout, failed resume, ...),
// and for each ambiguous kick (one that either of two logins of the same
// device may have sent, or, with anonymous kicks, any earlier login) a
// check, at the kick's arrival, that some login before it explained it. A
// login steps only if the policy's victims are the devices seen kicked by
// it, ambiguous kicks it may have sent, and victims that could not be told.
//
// An ambiguous kick may have ended any of several sessions of its device
// (the racing logins of a storm, each on its own connection); which victim
// claims which kick is a choice, so the model is nondeterministic: a login
// may lead to several states (searchStates), each one way to assign the
// kicks, and the search goes on with all of them.
//
// The model is built from copies: porcupine may still run a step after its
// time budget has ended, while the analyzer moves on.
type searchModel struct {
	pol *policy.Policy
	// Per session (by index, as in userHistory.sessions):
	ids              []string          // its device's ID
	plats            []policy.Platform // its platform
	devs             []uint16          // its device
	stoppedListening []int64           // session.stoppedListening
	kickDue          []int64           // its login's kicks were due by then (userHistory.kickDue)
	seenKicked       [][]uint16        // per login: devices seen kicked by it
	mayEnd           []uint64          // per session: the ambiguous kicks that may have ended it
	maySend          []uint64          // per login: the ambiguous kicks it may have sent
	// dominatedBy, per ambiguous kick j: the kicks that dominate it (see
	// dominance); nil: none do.
	dominatedBy []uint64
}

type searchOpKind uint8

const (
	opLogin searchOpKind = iota
	opRemove
	opTold
)

type searchOp struct {
	kind searchOpKind
	i    int32 // session (login, remove) or ambiguous kick (told)
}

type searchState struct {
	online []int32
	told   uint64
}

// searchStates is a set of two or more distinct states the history may be
// in (a single one is a searchState).
type searchStates []searchState

// step is porcupine's step function: op from state (a searchState or
// searchStates), to the states it may lead to.
func (m *searchModel) step(ctx context.Context, state, input, _ interface{}) (bool, interface{}) {
	op := input.(searchOp)
	if st, ok := state.(searchState); ok {
		if op.kind != opLogin {
			return m.stepSure(st, op)
		}
		online, told, open, ok := m.login(st, op.i)
		switch {
		case !ok:
			return false, nil
		case len(open) == 0:
			return true, searchState{online, told}
		}
		return pack(m.claim(ctx, op.i, open, told, online, nil))
	}
	var out []searchState
	for _, st := range state.(searchStates) {
		if ctx.Err() != nil {
			return false, nil
		}
		if op.kind != opLogin {
			if ok, next := m.stepSure(st, op); ok {
				out = appendState(out, next.(searchState))
			}
			continue
		}
		if online, told, open, ok := m.login(st, op.i); ok {
			out = m.claim(ctx, op.i, open, told, online, out)
		}
	}
	return pack(out)
}

func pack(out []searchState) (bool, interface{}) {
	switch len(out) {
	case 0:
		return false, nil
	case 1:
		return true, out[0]
	}
	return true, searchStates(out)
}

func appendState(out []searchState, st searchState) []searchState {
	for _, o := range out {
		if stateEq(o, st) {
			return out
		}
	}
	return append(out, st)
}

// stepSure steps the operations with one outcome: a told check, a removal.
func (m *searchModel) stepSure(st searchState, op searchOp) (bool, interface{}) {
	if op.kind == opTold {
		return st.told&(1<<op.i) != 0, st
	}
	for i, x := range st.online {
		if x == op.i {
			next := make([]int32, 0, len(st.online)-1)
			next = append(next, st.online[:i]...)
			return true, searchState{append(next, st.online[i+1:]...), st.told}
		}
	}
	return true, st
}

// login steps login L from st: the sessions then online and the kicks
// told, and the victims that have a choice of kicks to claim (see claim);
// ok is false when L cannot step.
func (m *searchModel) login(st searchState, L int32) (next []int32, told uint64, open []int32, ok bool) {
	online := st.online
	insts := make([]policy.Instance, len(online))
	for i, s := range online {
		insts[i] = policy.Instance{ID: m.ids[s], Platform: m.plats[s], Seq: uint64(i + 1)}
	}
	victims, refused := m.pol.Admit(insts, policy.Instance{ID: m.ids[L], Platform: m.plats[L], Seq: uint64(len(online) + 1)})
	if refused {
		return nil, 0, nil, false // the target admitted a login the policy refuses here
	}
	obs := m.seenKicked[L]
	var hit uint64
	told = st.told
	gone := make([]bool, len(online))
	for _, v := range victims {
		i := int(v.Seq) - 1
		if i < 0 || i >= len(online) {
			return nil, 0, nil, false
		}
		gone[i] = true
		s := online[i]
		if j := indexDev(obs, m.devs[s]); j >= 0 {
			hit |= 1 << j
			continue
		}
		untellable := m.stoppedListening[s] <= m.kickDue[L]
		switch c := m.claimable(L, s, told); {
		case c == 0 && !untellable:
			return nil, 0, nil, false
		case c == 0:
		case c&(c-1) == 0 && !untellable && open == nil:
			told |= c // the one kick that explains it
		default:
			open = append(open, s)
		}
	}
	if hit != 1<<len(obs)-1 {
		return nil, 0, nil, false
	}
	next = make([]int32, 0, len(online)+1)
	for i, s := range online {
		if !gone[i] && m.devs[s] != m.devs[L] {
			next = append(next, s)
		}
	}
	return append(next, L), told, open, true
}

// claim appends to out the states in which each victim in open claims one
// kick not yet told that L may have sent and that may have ended it, or,
// when it could not be told, none.
func (m *searchModel) claim(ctx context.Context, L int32, open []int32, told uint64, online []int32, out []searchState) []searchState {
	if len(open) == 0 {
		return appendState(out, searchState{online, told})
	}
	if ctx.Err() != nil {
		return out
	}
	s := open[0]
	for c := m.claimable(L, s, told); c != 0; c &= c - 1 {
		out = m.claim(ctx, L, open[1:], told|c&-c, online, out)
	}
	if m.stoppedListening[s] <= m.kickDue[L] {
		out = m.claim(ctx, L, open[1:], told, online, out)
	}
	return out
}

// claimable returns the kicks victim s of login L may claim: not yet
// told, sent by L perhaps, ending s perhaps, and dominated by none of the
// others (claiming one that is dominated is never needed).
func (m *searchModel) claimable(L, s int32, told uint64) uint64 {
	c := m.maySend[L] & m.mayEnd[s] &^ told
	if m.dominatedBy == nil || c&(c-1) == 0 {
		return c
	}
	out := c
	for x := c; x != 0; x &= x - 1 {
		if j := bits.TrailingZeros64(x); m.dominatedBy[j]&c != 0 {
			out &^= 1 << j
		}
	}
	return out
}

// dominance sets m.dominatedBy for ambiguous kicks arriving at at: kick i
// dominates kick j when it arrived no later, every session it may have
// ended j may have ended too, and every login that may have sent it may
// have sent j (equal kicks: the first dominates). When a victim may claim
// either, claiming i is as good: in any explanation that claims j now and
// i later, the later claim may take j instead (its login and session fit
// j, and it came before i arrived, so before j did). A strict order, so of
// the kicks a victim may claim one not dominated by another remains.
func (m *searchModel) dominance(at []int64) {
	nk := len(at)
	if nk < 2 {
		return
	}
	m.dominatedBy = make([]uint64, nk)
	// subset reports whether every set of sets (per session) holding i
	// holds j.
	subset := func(sets []uint64, i, j int) bool {
		for _, x := range sets {
			if x>>i&1 == 1 && x>>j&1 == 0 {
				return false
			}
		}
		return true
	}
	for j := range nk {
		for i := range nk {
			if i == j || at[i] > at[j] || !subset(m.mayEnd, i, j) || !subset(m.maySend, i, j) {
				continue
			}
			if at[i] == at[j] && subset(m.mayEnd, j, i) && subset(m.maySend, j, i) && i > j {
				continue // equal: the first dominates
			}
			m.dominatedBy[j] |= 1 << i
		}
	}
}

func indexDev(ds []uint16, d uint16) int {
	for i, x := range ds {
		if x == d {
			return i
		}
	}
	return -1
}

func stateEq(sa, sb searchState) bool {
	x, y := sa.online, sb.online
	if sa.told != sb.told || len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func stateEqual(a, b interface{}) bool {
	switch sa := a.(type) {
	case searchState:
		sb, ok := b.(searchState)
		return ok && stateEq(sa, sb)
	case searchStates:
		sb, ok := b.(searchStates)
		if !ok || len(sa) != len(sb) {
			return false
		}
		for _, x := range sa {
			found := false
			for _, y := range sb {
				if stateEq(x, y) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return false
}

func stateHash1(st searchState) uint64 {
	h := uint64(14695981039346656037) ^ st.told
	for _, v := range st.online {
		h ^= uint64(uint32(v))
		h *= 1099511628211
	}
	return h
}

func stateHash(a interface{}) uint64 {
	if st, ok := a.(searchState); ok {
		return stateHash1(st)
	}
	var h uint64 // a set: independent of the order
	for _, st := range a.(searchStates) {
		h ^= stateHash1(st)
	}
	return h
}

// maxObserved bounds the devices one login may be seen kicking, and the
// ambiguous kicks of a user, in the search (bit masks); beyond the first the
// user is undecided, beyond the second kicks are taken as sent by the
// device's latest login.
const maxObserved = 63

// search looks for an order of the user's logins consistent with real time
// that explains every kick; it flags NoOrder only when none exists, and
// counts the user Undecided when the budget runs out.
func (a *analyzer) search() {
	n := len(a.sessions)
	if n == 0 {
		return
	}
	m := &searchModel{
		pol:              a.pol,
		ids:              make([]string, n),
		plats:            make([]policy.Platform, n),
		devs:             make([]uint16, n),
		stoppedListening: make([]int64, n),
		kickDue:          make([]int64, n),
		seenKicked:       make([][]uint16, n),
		mayEnd:           make([]uint64, n),
		maySend:          make([]uint64, n),
	}
	nAmbiguous := 0
	var ambiguousAt []int64 // arrival per ambiguous kick
	ops := make([]porcupine.Operation, 0, 2*n)
	for ki := range a.kicks {
		k := &a.kicks[ki]
		switch {
		case k.anonymous && k.victim >= 0:
			// Any login of the user that started before the notice may
			// have sent it; the search decides which, and which session
			// of the device it ended.
			if nAmbiguous >= maxObserved {
				a.flag(Undecided, k.arrived, func() string {
					return fmt.Sprintf("more than %d kicks naming no displacer; the order search does not take them", maxObserved)
				}, k.rec)
				return
			}
			j := nAmbiguous
			nAmbiguous++
			ambiguousAt = append(ambiguousAt, k.arrived)
			a.markCands(m, k, j)
			for L := range a.sessions {
				if a.sessions[L].sent < k.arrived {
					m.maySend[L] |= 1 << j
				}
			}
			ops = append(ops, porcupine.Operation{ClientId: int(k.dev), Input: searchOp{opTold, int32(j)}, Call: k.arrived, Return: k.arrived})
		case k.displacer < 0:
		case k.altDisplacer >= 0 && k.victim >= 0 && nAmbiguous < maxObserved:
			j := nAmbiguous
			nAmbiguous++
			ambiguousAt = append(ambiguousAt, k.arrived)
			a.markCands(m, k, j)
			m.maySend[k.displacer] |= 1 << j
			m.maySend[k.altDisplacer] |= 1 << j
			ops = append(ops, porcupine.Operation{ClientId: int(k.dev), Input: searchOp{opTold, int32(j)}, Call: k.arrived, Return: k.arrived})
		default:
			if indexDev(m.seenKicked[k.displacer], k.dev) < 0 {
				m.seenKicked[k.displacer] = append(m.seenKicked[k.displacer], k.dev)
			}
		}
	}
	m.dominance(ambiguousAt)
	for i := range a.sessions {
		s := &a.sessions[i]
		m.ids[i] = a.devName(s.dev)
		m.plats[i] = a.u.platform(s.plat)
		m.devs[i] = s.dev
		m.stoppedListening[i] = s.stoppedListening
		m.kickDue[i] = a.kickDue(s)
		if len(m.seenKicked[i]) > maxObserved {
			a.flag(Undecided, s.latestProcessed, func() string {
				return fmt.Sprintf("%s was seen kicking more than %d devices; the order search does not take it", a.loginName(int32(i)), maxObserved)
			}, s.rec)
			return
		}
		call, ret := s.sent, s.latestProcessed
		if ret == never {
			ret = math.MaxInt64
		}
		ret = max(ret, call)
		ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opLogin, int32(i)}, Call: call, Return: ret})
		switch {
		case s.removalFrom != never:
			rc := max(s.removalFrom, addSat(ret, 1))
			rr := max(s.removalTo, rc)
			ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opRemove, int32(i)}, Call: rc, Return: rr})
		case a.pol.OnConflict == policy.RefuseNew && s.stoppedListening != never && !s.kicked:
			// Under refuse_new a session whose device stopped listening
			// may have ended at the target (resume window, idle
			// timeout) at any time after, making room for a login.
			rc := max(s.stoppedListening, addSat(ret, 1))
			ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opRemove, int32(i)}, Call: rc, Return: math.MaxInt64})
		}
	}
	model := porcupine.Model{
		Init:        func() interface{} { return searchState{} },
		StepContext: m.step,
		Equal:       stateEqual,
		Hash:        stateHash,
		DescribeOperation: func(in, _ interface{}) string {
			return fmt.Sprint(in)
		},
	}
	switch porcupine.CheckOperationsTimeout(model, ops, a.opt.SearchBudget) {
	case porcupine.Ok:
	case porcupine.Unknown:
		a.flag(Undecided, a.end, func() string {
			return fmt.Sprintf("the order search ran out of its %s budget over %d logins", a.opt.SearchBudget, n)
		})
	case porcupine.Illegal:
		var marks []int32
		for i := range a.kicks {
			marks = append(marks, a.kicks[i].rec)
		}
		a.flag(NoOrder, a.firstKickAt(), func() string {
			return a.noOrderText(model, ops)
		}, marks...)
	}
}

// markCands marks ambiguous kick j as one that may have ended each session
// kick k may have ended.
func (a *analyzer) markCands(m *searchModel, k *kick, j int) {
	if k.candTo == k.candFrom {
		m.mayEnd[k.victim] |= 1 << j
		return
	}
	for _, s := range a.kickCands[k.candFrom:k.candTo] {
		m.mayEnd[s] |= 1 << j
	}
}

// firstKickAt is when the first kick that is not administrative arrived,
// else the end of the run.
func (a *analyzer) firstKickAt() int64 {
	for i := range a.kicks {
		if !a.kicks[i].administrative {
			return a.kicks[i].arrived
		}
	}
	return a.end
}

// noOrderText explains a history no order explains: the longest prefix of
// operations the policy does explain.
func (a *analyzer) noOrderText(model porcupine.Model, ops []porcupine.Operation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "no order of the %d logins consistent with real time explains the kicks under %s", len(a.sessions), a.policyName())
	_, info := porcupine.CheckOperationsVerbose(model, ops, a.opt.SearchBudget)
	var longest []int
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	if len(longest) > 0 {
		b.WriteString("; longest explained prefix:")
		sep := " "
		for _, oi := range longest {
			op := ops[oi].Input.(searchOp)
			switch op.kind {
			case opLogin:
				fmt.Fprintf(&b, "%slogin %s", sep, a.devName(a.sessions[op.i].dev))
			case opRemove:
				fmt.Fprintf(&b, "%s%s gone", sep, a.devName(a.sessions[op.i].dev))
			default:
				continue
			}
			sep = ", "
		}
	}
	return b.String()
}
