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
// login order ([]int32 of session indices); an operation is a login (input
// >= 0: its session index) or a removal by the device's own action (input
// < 0: -1-session). A login steps only if the policy's victims are exactly
// the devices seen kicked by it, plus victims that could not be told.
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
}

func (m *searchModel) step(state, input, _ interface{}) (bool, interface{}) {
	st := state.([]int32)
	in := input.(int32)
	if in < 0 {
		s := -1 - in
		for i, x := range st {
			if x == s {
				next := make([]int32, 0, len(st)-1)
				next = append(next, st[:i]...)
				return true, append(next, st[i+1:]...)
			}
		}
		return true, st
	}
	L := in
	insts := make([]policy.Instance, len(st))
	for i, s := range st {
		insts[i] = policy.Instance{ID: m.ids[s], Platform: m.plats[s], Seq: uint64(i + 1)}
	}
	victims := m.pol.Displace(insts, policy.Instance{ID: m.ids[L], Platform: m.plats[L], Seq: uint64(len(st) + 1)})
	obs := m.obs[L]
	var hit uint64
	gone := make([]bool, len(st))
	for _, v := range victims {
		i := int(v.Seq) - 1
		if i < 0 || i >= len(st) {
			return false, nil
		}
		gone[i] = true
		s := st[i]
		if j := indexDev(obs, m.devs[s]); j >= 0 {
			hit |= 1 << j
			continue
		}
		if m.deaf[s] <= m.due[L] {
			continue
		}
		return false, nil
	}
	if hit != 1<<len(obs)-1 {
		return false, nil
	}
	next := make([]int32, 0, len(st)+1)
	for i, s := range st {
		if !gone[i] && m.devs[s] != m.devs[L] {
			next = append(next, s)
		}
	}
	return true, append(next, L)
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
	x, y := a.([]int32), b.([]int32)
	if len(x) != len(y) {
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
	h := uint64(14695981039346656037)
	for _, v := range a.([]int32) {
		h ^= uint64(uint32(v))
		h *= 1099511628211
	}
	return h
}

// maxObserved bounds the devices one login may be seen kicking in the
// search (a bit mask); beyond it the user is undecided.
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
	}
	ops := make([]porcupine.Operation, 0, 2*n)
	for i := range a.sess {
		s := &a.sess[i]
		m.ids[i] = a.devName(s.dev)
		m.plats[i] = a.u.platform(s.plat)
		m.devs[i] = s.dev
		m.deaf[i] = s.deaf
		m.due[i] = a.due(s)
		for _, k := range a.kicksOf(int32(i)) {
			if d := a.kicks[k].dev; indexDev(m.obs[i], d) < 0 {
				m.obs[i] = append(m.obs[i], d)
			}
		}
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
		ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: int32(i), Call: call, Output: nil, Return: ret})
		if s.rmLo != never {
			rc := max(s.rmLo, sat(ret, 1))
			rr := max(s.rmHi, rc)
			ops = append(ops, porcupine.Operation{ClientId: int(s.dev), Input: -1 - int32(i), Call: rc, Output: nil, Return: rr})
		}
	}
	model := porcupine.Model{
		Init:  func() interface{} { return []int32(nil) },
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
		for _, oi := range longest {
			in := ops[oi].Input.(int32)
			if in >= 0 {
				fmt.Fprintf(&b, " login %s,", a.devName(a.sess[in].dev))
			} else {
				fmt.Fprintf(&b, " %s gone,", a.devName(a.sess[-1-in].dev))
			}
		}
		s := strings.TrimSuffix(b.String(), ",")
		b.Reset()
		b.WriteString(s)
	}
	return b.String()
}
