package check

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// The simulator drives devices against a correct login server in simulated
// time and feeds what the devices see into a History. Faults make the server
// wrong in one way each, so tests can prove the oracle catches them.

type simFault int

const (
	faultNone        simFault = iota
	faultWrongVictim          // kick a registered instance the policy spares instead of the victim
	faultDropKick             // displace without telling the victim
	faultExtraKick            // also kick an instance the policy spares
	faultLateKick             // deliver kicks 3 s late
	faultNoEnforce            // never displace anyone
	faultGhost                // end status lists an instance that logged out
	faultLost                 // end status omits an online instance
	faultWebhook              // Login callbacks list one platform too many
)

var faultNames = map[simFault]string{faultNone: "none", faultWrongVictim: "wrong-victim",
	faultDropKick: "drop-kick", faultExtraKick: "extra-kick", faultLateKick: "late-kick",
	faultNoEnforce: "no-enforce", faultGhost: "ghost", faultLost: "lost", faultWebhook: "webhook"}

func (f simFault) String() string { return faultNames[f] }

type simConfig struct {
	pol       *policy.Policy
	users     int
	devices   int // per user
	acts      int // device decisions per user
	platforms []policy.Platform
	seed      uint64
	noSeq     bool // the target gives no sequence numbers
	fault     simFault
	webhooks  bool
	status    bool
	churn     bool // logout, app kill, flap and account switch besides logins
	fixedMix  bool // device d runs platforms[d%len(platforms)]
	// The options below are off in every test but the golden suite
	// (golden_test.go); off, they draw nothing from the random source.
	timeouts  bool // 8% of login answers are lost: the device reports a timeout
	hookSeq   bool // callbacks carry sequences (ImloadSeq), unless noSeq
	anonKicks bool // kicks name no displacer (judge with Options.AnonymousKicks)
	// refusals: the server admits by pol.Admit (refuse_new refuses a login
	// that would displace) and refuses 5% of logins anyway, with 1008. A
	// refused login uses up a sequence number: a gap no device sees.
	refusals bool
}

var simBase = time.Unix(1_700_000_000, 0)

const simMS = int64(time.Millisecond)

type simEvKind uint8

const (
	evAct simEvKind = iota
	evSrvLogin
	evSrvLogout
	evSrvDrop
	evSrvSwitch
	evSrvResume
	evDevLoginOK
	evDevLogoutOK
	evDevResume
	evDevKick
)

type simEv struct {
	t     int64
	n     int // tie-break: insertion order
	kind  simEvKind
	dev   int
	seq   uint64
	bySeq uint64
	byDev int
	ok    bool
	gen   uint64 // connection generation of the device
	srv   int64  // evDevLoginOK: when the server accepted the login
	// refused: evDevLoginOK: the server refused the login (code 1008).
	refused bool
}

type simQueue []simEv

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if q[i].t != q[j].t {
		return q[i].t < q[j].t
	}
	return q[i].n < q[j].n
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEv)) }
func (q *simQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

type devState uint8

const (
	dsOffline devState = iota
	dsLogging
	dsOnline
	dsLoggingOut
	dsDisconnected
	dsResuming
	dsKilled
)

type simDev struct {
	id       string
	plat     policy.Platform
	state    devState
	seq      uint64
	sentAt   int64
	lastRecv int64
	cleanOff bool   // offline after logout, kick or switch
	conn     uint64 // connection generation: a new one per login and resume
}

type srvEntry struct {
	dev       int
	seq       uint64
	gen       uint64 // the connection the session is bound to
	connected bool
}

type simUser struct {
	cfg    *simConfig
	h      *History
	rng    *rand.Rand
	id     string
	devs   []simDev
	q      simQueue
	n      int
	acts   int
	seq    uint64
	online []srvEntry
	stats  *simStats
}

type simStats struct{ logins, kicks, events int }

// simulate builds a History from cfg.
func simulate(cfg simConfig) (*History, simStats) {
	h := NewHistory()
	var st simStats
	for u := 0; u < cfg.users; u++ {
		simulateUser(&cfg, h, u, &st)
	}
	return h, st
}

func simulateUser(cfg *simConfig, h *History, u int, st *simStats) {
	su := &simUser{cfg: cfg, h: h, rng: rand.New(rand.NewPCG(cfg.seed, uint64(u))),
		id: fmt.Sprintf("u%04d", u), acts: cfg.acts, stats: st}
	for d := 0; d < cfg.devices; d++ {
		p := cfg.platforms[su.rng.IntN(len(cfg.platforms))]
		if cfg.fixedMix {
			p = cfg.platforms[d%len(cfg.platforms)]
		}
		su.devs = append(su.devs, simDev{id: fmt.Sprintf("d%d-%s", d, p), plat: p})
	}
	for d := range su.devs {
		su.push(simEv{t: su.between(0, 400), kind: evAct, dev: d})
	}
	for su.q.Len() > 0 {
		ev := heap.Pop(&su.q).(simEv)
		su.handle(ev)
	}
	if cfg.status {
		su.status()
	}
}

func (su *simUser) between(lo, hi int64) int64 { return (lo + su.rng.Int64N(hi-lo+1)) * simMS }
func (su *simUser) net() int64                 { return su.between(1, 8) }

func (su *simUser) push(ev simEv) {
	su.n++
	ev.n = su.n
	heap.Push(&su.q, ev)
}

// deliver schedules a message to device d, first in first out.
func (su *simUser) deliver(ev simEv) {
	d := &su.devs[ev.dev]
	if ev.t <= d.lastRecv {
		ev.t = d.lastRecv + 1
	}
	d.lastRecv = ev.t
	su.push(ev)
}

func (su *simUser) emit(e event.Event) {
	e.UserID = su.id
	if su.cfg.noSeq {
		e.Seq, e.BySeq = 0, 0
	}
	su.stats.events++
	su.h.Observe(&e)
}

func at(t int64) time.Time { return simBase.Add(time.Duration(t)) }

func (su *simUser) ev(kind event.Kind, d int, t int64) event.Event {
	return event.Event{Kind: kind, Device: su.devs[d].id, Platform: su.devs[d].plat, At: at(t)}
}

func (su *simUser) think(d int, t int64, lo, hi int64) {
	if su.acts <= 0 {
		return
	}
	su.acts--
	su.push(simEv{t: t + su.between(lo, hi), kind: evAct, dev: d})
}

func (su *simUser) handle(ev simEv) {
	t := ev.t
	d := &su.devs[ev.dev]
	switch ev.kind {
	case evAct:
		su.act(ev.dev, t)
	case evSrvLogin:
		su.srvLogin(ev.dev, ev.gen, t)
	case evSrvLogout:
		su.removeEntry(ev.dev)
		su.deliver(simEv{t: t + su.net(), kind: evDevLogoutOK, dev: ev.dev})
	case evSrvDrop:
		// A close of a connection the session is no longer bound to (it
		// resumed on a new one) changes nothing.
		if i := su.entry(ev.dev); i >= 0 && su.online[i].seq == ev.seq && su.online[i].gen == ev.gen {
			su.online[i].connected = false
		}
	case evSrvSwitch:
		if i := su.entry(ev.dev); i >= 0 && su.online[i].seq == ev.seq {
			su.online = append(su.online[:i], su.online[i+1:]...)
		}
	case evSrvResume:
		ok := false
		if i := su.entry(ev.dev); i >= 0 && su.online[i].seq == ev.seq {
			su.online[i].connected, su.online[i].gen, ok = true, ev.gen, true
		}
		su.deliver(simEv{t: t + su.net(), kind: evDevResume, dev: ev.dev, ok: ok})
	case evDevLoginOK:
		e := su.ev(event.Login, ev.dev, t)
		if ev.refused {
			e.Start, e.Outcome, e.Code = at(d.sentAt), event.Failed, 1008
			su.emit(e)
			d.state = dsOffline
			su.think(ev.dev, t, 50, 2000)
			return
		}
		if su.cfg.timeouts && su.rng.IntN(100) < 8 {
			// The answer is lost: the server holds the session, the
			// device gives up on it.
			e.Start, e.Outcome = at(d.sentAt), event.TimedOut
			su.emit(e)
			d.state = dsOffline
			su.think(ev.dev, t, 50, 2000)
			return
		}
		e.Start, e.Outcome, e.Seq = at(d.sentAt), event.OK, ev.seq
		if !su.cfg.noSeq { // a target without sequence numbers gives no server time either
			e.ServerTime = at(ev.srv)
		}
		su.emit(e)
		su.stats.logins++
		d.state, d.seq = dsOnline, ev.seq
		su.think(ev.dev, t, 200, 3000)
	case evDevLogoutOK:
		e := su.ev(event.Logout, ev.dev, t)
		e.Start, e.Outcome = at(d.sentAt), event.OK
		su.emit(e)
		if d.state == dsLoggingOut {
			d.state, d.cleanOff = dsOffline, true
		}
		su.think(ev.dev, t, 50, 2000)
	case evDevResume:
		e := su.ev(event.Resume, ev.dev, t)
		e.Start, e.Outcome = at(d.sentAt), event.OK
		if ev.ok {
			d.state = dsOnline
		} else {
			e.Outcome, e.Code = event.Failed, 6014
			d.state = dsOffline
		}
		su.emit(e)
		su.think(ev.dev, t, 50, 2000)
	case evDevKick:
		if (d.state != dsOnline && d.state != dsLoggingOut) || d.seq != ev.seq {
			return // the connection that would carry it is gone
		}
		by := &su.devs[ev.byDev]
		e := su.ev(event.Kicked, ev.dev, t)
		e.Seq, e.BySeq, e.ByInstance, e.ByPlatform = ev.seq, ev.bySeq, by.id, by.plat
		if su.cfg.anonKicks {
			e.BySeq, e.ByInstance, e.ByPlatform = 0, "", ""
		}
		su.emit(e)
		su.stats.kicks++
		if d.state == dsOnline {
			d.state, d.cleanOff = dsOffline, true
			su.think(ev.dev, t, 50, 2000)
		}
	}
}

func (su *simUser) act(di int, t int64) {
	d := &su.devs[di]
	switch d.state {
	case dsOffline, dsKilled:
		d.state, d.sentAt, d.cleanOff = dsLogging, t, false
		d.conn++
		su.push(simEv{t: t + su.net(), kind: evSrvLogin, dev: di, gen: d.conn})
	case dsOnline:
		r := su.rng.IntN(100)
		if !su.cfg.churn {
			r = 0
		}
		switch {
		case r < 45:
			su.think(di, t, 200, 3000)
		case r < 70:
			d.state, d.sentAt = dsLoggingOut, t
			su.push(simEv{t: t + su.net(), kind: evSrvLogout, dev: di})
		case r < 80:
			su.emit(su.ev(event.AppKill, di, t))
			d.state = dsKilled
			su.push(simEv{t: t + su.net(), kind: evSrvDrop, dev: di, seq: d.seq, gen: d.conn})
			su.think(di, t, 100, 3000)
		case r < 92:
			su.emit(su.ev(event.Disconnect, di, t))
			d.state = dsDisconnected
			su.push(simEv{t: t + su.net(), kind: evSrvDrop, dev: di, seq: d.seq, gen: d.conn})
			su.think(di, t, 100, 1500)
		default:
			e := su.ev(event.SwitchUser, di, t)
			e.Note = "to another account"
			su.emit(e)
			d.state, d.cleanOff = dsOffline, true
			su.push(simEv{t: t + su.net(), kind: evSrvSwitch, dev: di, seq: d.seq})
			su.think(di, t, 100, 3000)
		}
	case dsDisconnected:
		d.state, d.sentAt = dsResuming, t
		d.conn++
		su.push(simEv{t: t + su.net(), kind: evSrvResume, dev: di, seq: d.seq, gen: d.conn})
	default:
		// busy: the reply will schedule the next decision
	}
}

func (su *simUser) entry(dev int) int {
	for i, e := range su.online {
		if e.dev == dev {
			return i
		}
	}
	return -1
}

func (su *simUser) removeEntry(dev int) {
	if i := su.entry(dev); i >= 0 {
		su.online = append(su.online[:i], su.online[i+1:]...)
	}
}

func (su *simUser) inst(e srvEntry) policy.Instance {
	return policy.Instance{ID: su.devs[e.dev].id, Platform: su.devs[e.dev].plat, Seq: e.seq}
}

func (su *simUser) srvLogin(di int, gen uint64, t int64) {
	su.seq++
	seq := su.seq
	insts := make([]policy.Instance, len(su.online))
	for i, e := range su.online {
		insts[i] = su.inst(e)
	}
	login := policy.Instance{ID: su.devs[di].id, Platform: su.devs[di].plat, Seq: seq}
	var victims []policy.Instance
	if su.cfg.refusals {
		var refused bool
		victims, refused = su.cfg.pol.Admit(insts, login)
		if refused || su.rng.IntN(100) < 5 {
			su.deliver(simEv{t: t + su.net(), kind: evDevLoginOK, dev: di, refused: true})
			return
		}
	} else {
		victims = su.cfg.pol.Displace(insts, login)
	}
	isVictim := func(e srvEntry) bool {
		for _, v := range victims {
			if v.ID == su.devs[e.dev].id && v.Seq == e.seq {
				return true
			}
		}
		return false
	}
	// A registered, connected instance the policy spares, for the faults.
	spared := -1
	for i, e := range su.online {
		if e.dev != di && e.connected && !isVictim(e) {
			spared = i
			break
		}
	}
	switch su.cfg.fault {
	case faultNoEnforce:
		victims = nil
	case faultWrongVictim:
		if len(victims) > 0 && spared >= 0 {
			victims[0] = su.inst(su.online[spared])
		}
	case faultExtraKick:
		if spared >= 0 {
			victims = append(victims, su.inst(su.online[spared]))
		}
	}
	var kickedPlats []policy.Platform
	var kickedSeqs []uint64
	keep := su.online[:0]
	for _, e := range su.online {
		if !isVictim(e) {
			if e.dev != di {
				keep = append(keep, e)
			}
			continue
		}
		kickedPlats = append(kickedPlats, su.devs[e.dev].plat)
		kickedSeqs = append(kickedSeqs, e.seq)
		if !e.connected || su.cfg.fault == faultDropKick {
			continue
		}
		lat := su.between(1, 15)
		if su.cfg.fault == faultLateKick {
			lat += 3000 * simMS
		}
		su.deliver(simEv{t: t + lat, kind: evDevKick, dev: e.dev, seq: e.seq, bySeq: seq, byDev: di})
	}
	su.online = append(keep, srvEntry{dev: di, seq: seq, gen: gen, connected: true})
	if su.cfg.webhooks {
		if su.cfg.fault == faultWebhook {
			kickedPlats = append(kickedPlats, su.devs[di].plat)
			kickedSeqs = append(kickedSeqs, seq)
		}
		if su.cfg.hookSeq && !su.cfg.noSeq {
			c := Callback{UserID: su.id, Action: ActionLogin, Seq: seq, At: at(t)}
			for i, p := range kickedPlats {
				c.Kicked = append(c.Kicked, KickedEntry{Platform: p, Seq: kickedSeqs[i]})
			}
			su.h.AddCallback(c)
		} else {
			su.h.AddWebhook(su.id, ActionLogin, kickedPlats, at(t))
		}
	}
	su.deliver(simEv{t: t + su.net(), kind: evDevLoginOK, dev: di, seq: seq, srv: t})
}

func (su *simUser) status() {
	var insts []policy.Instance
	for _, e := range su.online {
		insts = append(insts, su.inst(e))
	}
	switch su.cfg.fault {
	case faultGhost:
		for i := range su.devs {
			if d := &su.devs[i]; d.state == dsOffline && d.cleanOff && su.entry(i) < 0 {
				insts = append(insts, policy.Instance{ID: d.id, Platform: d.plat})
				break
			}
		}
	case faultLost:
		for i, e := range su.online {
			if d := &su.devs[e.dev]; d.state == dsOnline && e.connected {
				insts = append(insts[:i:i], insts[i+1:]...)
				break
			}
		}
	}
	su.h.SetServerOnline(su.id, insts)
}
