package check

import (
	"fmt"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/imload/imload/policy"
)

// searchModel is the sequential specification the order search checks a
// user's history against. The state is the list of registered sessions in
// login order plus the set of ambiguous kicks already explained. Operations:
// a login, a removal by the device's own action (logout, failed resume, ...),
// and for each ambiguous kick (one that either of two logins of the same
// device may have sent) a check, at the kick's arrival, that some login
// before it explained it. A login steps only if the policy's victims are the
// devices seen kicked by it, ambiguous kicks it may have sent, and victims
// that could not be told.
//
// The model is built from copies: porcupine may still run a step after its
// time budget has ended, while the analyzer moves on.
type searchModel struct {
	pol   *policy.Policy
	ids   []string
	plats []policy.Platform
	devs  []uint16
	deaf  []int64
	due   []int64
	obs   [][]uint16 // per login: devices seen kicked by it
	amb   []int32    // per ambiguous kick: the kicked session
	ambOf [][]int    // per login: the ambiguous kicks it may have sent
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

func (m *searchModel) step(state, input, _ interface{}) (bool, interface{}) {
	st := state.(searchState)
	op := input.(searchOp)
	switch op.kind {
	case opTold:
		return st.told&(1<<op.i) != 0, st
	case opRemove:
		for i, x := range st.online {
			if x == op.i {
				next := make([]int32, 0, len(st.online)-1)
				next = append(next, st.online[:i]...)
				return true, searchState{append(next, st.online[i+1:]...), st.told}
			}
		}
		return true, st
	}
	L := op.i
	online := st.online
	insts := make([]policy.Instance, len(online))
	for i, s := range online {
		insts[i] = policy.Instance{ID: m.ids[s], Platform: m.plats[s], Seq: uint64(i + 1)}
	}
	victims, refused := m.pol.Admit(insts, policy.Instance{ID: m.ids[L], Platform: m.plats[L], Seq: uint64(len(online) + 1)})
	if refused {
		return false, nil // the target admitted a login the policy refuses here
	}
	obs := m.obs[L]
	var hit uint64
	told := st.told
	gone := make([]bool, len(online))
victims:
	for _, v := range victims {
		i := int(v.Seq) - 1
		if i < 0 || i >= len(online) {
			return false, nil
		}
		gone[i] = true
		s := online[i]
		if j := indexDev(obs, m.devs[s]); j >= 0 {
			hit |= 1 << j
			continue
		}
		for _, j := range m.ambOf[L] {
			if m.amb[j] == s && told&(1<<j) == 0 {
				told |= 1 << j
				continue victims
			}
		}
		if m.deaf[s] <= m.due[L] {
			continue
		}
		return false, nil
	}
	if hit != 1<<len(obs)-1 {
		return false, nil
	}
	next := make([]int32, 0, len(online)+1)
	for i, s := range online {
		if !gone[i] && m.devs[s] != m.devs[L] {
			next = append(next, s)
		}
	}
	return true, searchState{append(next, L), told}
}

func indexDev(ds []uint16, d uint16) int {
	for i, x := range ds {
		if x == d {
			return i
		}
	}
	return -1
}

func stateEqual(a, b interface{}) bool {
	sa, sb := a.(searchState), b.(searchState)
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

func stateHash(a interface{}) uint64 {
	st := a.(searchState)
	h := uint64(14695981039346656037) ^ st.told
	for _, v := range st.online {
		h ^= uint64(uint32(v))
		h *= 1099511628211
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
	n := len(a.sess)
	if n == 0 {
		return
	}
	m := &searchModel{
		pol:   a.pol,
		ids:   make([]string, n),
		plats: make([]policy.Platform, n),
		devs:  make([]uint16, n),
		deaf:  make([]int64, n),
		due:   make([]int64, n),
		obs:   make([][]uint16, n),
		ambOf: make([][]int, n),
	}
	ops := make([]porcupine.Operation, 0, 2*n)
	for ki := range a.kicks {
		k := &a.kicks[ki]
		switch {
		case k.anon && k.victim >= 0:
			// Any login of the user that started before the notice may
			// have sent it; the search decides which.
			if len(m.amb) >= maxObserved {
				a.flag(Undecided, k.at, func() string {
					return fmt.Sprintf("more than %d kicks naming no displacer; the order search does not take them", maxObserved)
				}, k.rec)
				return
			}
			j := len(m.amb)
			m.amb = append(m.amb, k.victim)
			for L := range a.sess {
				if int32(L) != k.victim && a.sess[L].start < k.at {
					m.ambOf[L] = append(m.ambOf[L], j)
				}
			}
			ops = append(ops, porcupine.Operation{ClientId: int(k.dev), Input: searchOp{opTold, int32(j)}, Call: k.at, Return: k.at})
		case k.by < 0:
		case k.alt >= 0 && k.victim >= 0 && len(m.amb) < maxObserved:
			j := len(m.amb)
			m.amb = append(m.amb, k.victim)
			m.ambOf[k.by] = append(m.ambOf[k.by], j)
			m.ambOf[k.alt] = append(m.ambOf[k.alt], j)
			ops = append(ops, porcupine.Operation{ClientId: int(k.dev), Input: searchOp{opTold, int32(j)}, Call: k.at, Return: k.at})
		default:
			if indexDev(m.obs[k.by], k.dev) < 0 {
				m.obs[k.by] = append(m.obs[k.by], k.dev)
			}
		}
	}
	for i := range a.sess {
		s := &a.sess[i]
		m.ids[i] = a.devName(s.dev)
		m.plats[i] = a.u.platform(s.plat)
		m.devs[i] = s.dev
		m.deaf[i] = s.deaf
		m.due[i] = a.due(s)
		if len(m.obs[i]) > maxObserved {
			a.flag(Undecided, s.hi, func() string {
				return fmt.Sprintf("%s was seen kicking more than %d devices; the order search does not take it", a.loginName(int32(i)), maxObserved)
			}, s.rec)
			return
		}
		call, ret := s.start, s.hi
		if ret == never {
			ret = math.MaxInt64
		}
		ret = max(ret, call)
		ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opLogin, int32(i)}, Call: call, Return: ret})
		switch {
		case s.rmLo != never:
			rc := max(s.rmLo, sat(ret, 1))
			rr := max(s.rmHi, rc)
			ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opRemove, int32(i)}, Call: rc, Return: rr})
		case a.pol.OnConflict == policy.RefuseNew && s.deaf != never && !s.kicked:
			// Under refuse_new a session whose device stopped listening
			// may have ended at the target (resume window, idle
			// timeout) at any time after, making room for a login.
			rc := max(s.deaf, sat(ret, 1))
			ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: searchOp{opRemove, int32(i)}, Call: rc, Return: math.MaxInt64})
		}
	}
	model := porcupine.Model{
		Init:  func() interface{} { return searchState{} },
		Step:  m.step,
		Equal: stateEqual,
		Hash:  stateHash,
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

func (a *analyzer) firstKickAt() int64 {
	for i := range a.kicks {
		if !a.kicks[i].admin {
			return a.kicks[i].at
		}
	}
	return a.end
}

// noOrderText explains a history no order explains: the longest prefix of
// operations the policy does explain.
func (a *analyzer) noOrderText(model porcupine.Model, ops []porcupine.Operation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "no order of the %d logins consistent with real time explains the kicks under %s", len(a.sess), a.policyName())
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
				fmt.Fprintf(&b, "%slogin %s", sep, a.devName(a.sess[op.i].dev))
			case opRemove:
				fmt.Fprintf(&b, "%s%s gone", sep, a.devName(a.sess[op.i].dev))
			default:
				continue
			}
			sep = ", "
		}
	}
	return b.String()
}
