package check

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// never is a time after every event.
const never = int64(math.MaxInt64)

// endKind says how a session ended as its device saw it.
type endKind uint8

const (
	endOpen endKind = iota
	endLogout
	endKicked
	endAppKill
	endSwitch
	endSigExpired
	endResumeFail
	endRelogin
	endRunEnd
)

// session is one successful (or inferred) login of a device and what became
// of it. Times are unix ns.
type session struct {
	rec   int32 // login record
	dev   uint16
	plat  uint8
	seq   uint64
	start int64 // login sent
	ok    int64 // login ok at; 0 for an inferred login
	// hi is the latest time the target can have processed the login: its
	// ok, or the first kick that names it if earlier.
	hi int64
	// Device view: online over [ok, end) minus gaps[gap0:gap1].
	end        int64
	endHow     endKind
	gap0, gap1 int32
	// Removal by the device's own action, somewhere in [rmLo, rmHi];
	// rmLo == never: none.
	rmLo, rmHi int64
	// deaf: from this time on the device never again listened on this
	// session (never: it did, or was told by a kick).
	deaf   int64
	kicked bool
	// kickedBy is the displacing login (session index + 1) named by the
	// kick this session got; 0: none, or unnamed.
	kickedBy  int32
	inferred  bool
	discAtEnd bool
	// byTarget: a kick naming no displacer ended it (an administrative
	// kick, or one while the device was away): the target removed it at
	// some time the device cannot tell, maybe as a login's victim.
	byTarget bool
	// displacedAt: the replay's displacing login was sent at this time
	// (valid when displaced): from then on the target may have dropped the
	// session before its device heard of it.
	displaced   bool
	displacedAt int64
	// racing: the device's next login was sent before this one was
	// answered, so it went over another connection (one call at a time per
	// connection): this session's connection went on listening after the
	// device moved on. deaf0 is when it stopped listening by itself (never:
	// not known), kept for search mode, which sets deaf from it.
	racing bool
	deaf0  int64
}

type gap struct{ from, to int64 }

// kick is one kicked_offline a device received.
type kick struct {
	rec    int32
	dev    uint16
	plat   uint8
	at     int64
	disp   int64 // displacement time from the device-reported latency, 0: unknown
	victim int32 // session that was kicked, -1: unknown
	by     int32 // displacing login (session), -1: none found
	// alt: in search mode, an earlier login of the same displacing device
	// that may have sent this kick instead of by (the device logged in
	// again before the notice arrived); -1: none. The search decides.
	alt   int32
	admin bool
	// anon: names no displacer, and Options.AnonymousKicks says a login
	// sent it (search mode only).
	anon bool
	used bool
	// cands[c0:c1]: in search mode, the sessions of the kicked device that
	// may have been online when the kick arrived, any of which it may have
	// ended (the search decides); empty: victim only.
	c0, c1 int32
}

// pending is a login that timed out on its device, or failed with no answer
// from the target (transport lost, run ended): the target may have
// accepted it.
type pending struct {
	rec   int32
	dev   uint16
	start int64
	at    int64
	sess  int32 // inferred session, -1: none
}

// refusal is a login the target refused with a conflict or limit code
// (Options.RefusalCodes): processed at some time in [start, at].
type refusal struct {
	rec       int32
	dev       uint16
	plat      uint8
	code      int32
	start, at int64
}

type devRange struct{ s0, s1, p0, p1 int32 }

// analyzer judges one user at a time; one per worker, its buffers reused.
type analyzer struct {
	pol      *policy.Policy
	opt      Options
	end      int64
	statusAt int64 // when the target's online statuses were taken
	webhooks bool
	rep      *Report

	u       *userSnap
	base    int64 // first event time of the user, for timelines
	seqMode bool  // use sequence numbers for matching
	useSeq  bool  // order logins by sequence number
	flagged [NumClasses]bool

	order   []int32
	sess    []session
	gaps    []gap
	kicks   []kick
	pend    []pending
	refused []refusal
	devs    []devRange
	nbuilt  int      // sessions from pass 1; inferred ones follow
	seqIdx  []int32  // pass-1 sessions sorted by seq
	kickBy  []int32  // kick indices grouped by displacing login
	kickOff []int32  // kickBy offsets per session, len(sess)+1
	logins  []int32  // logins in model order
	mseq    []uint64 // per session: its sequence in the model
	online  []int32
	online2 []int32
	amb     []int32
	members []int32
	insts   []policy.Instance
	pts     []point
	cur     []int32
	cands   []int32
}

func newAnalyzer(pol *policy.Policy, opt Options, end int64, webhooks bool, rep *Report) *analyzer {
	a := &analyzer{pol: pol, opt: opt, end: end, statusAt: unixNano(opt.StatusAt), webhooks: webhooks, rep: rep}
	if a.statusAt == 0 {
		a.statusAt = end
	}
	return a
}

func (a *analyzer) reset(u *userSnap) {
	a.u = u
	a.flagged = [NumClasses]bool{}
	a.sess = a.sess[:0]
	a.gaps = a.gaps[:0]
	a.kicks = a.kicks[:0]
	a.pend = a.pend[:0]
	a.refused = a.refused[:0]
	a.base = never
	for i := range u.recs {
		r := &u.recs[i]
		if r.start != 0 && r.start < a.base && r.kind != event.Kicked {
			a.base = r.start
		}
		if r.at != 0 && r.at < a.base {
			a.base = r.at
		}
	}
	if a.base == never {
		a.base = 0
	}
}

// check judges one user.
func (a *analyzer) check(u *userSnap) {
	a.reset(u)
	a.build()
	a.attachKicks()
	c := &a.rep.Checks
	c.Users++
	if a.seqMode {
		c.SequenceUsers++
		a.rep.Mode = mergeMode(a.rep.Mode, Sequence.String())
	} else {
		c.SearchUsers++
		a.rep.Mode = mergeMode(a.rep.Mode, Search.String())
	}
	for i := range a.sess {
		if a.sess[i].inferred {
			c.InferredLogins++
		} else {
			c.Logins++
		}
	}
	for i := range a.kicks {
		if a.kicks[i].admin {
			c.UnnamedKicks++
		} else {
			c.Kicks++
		}
	}
	a.orderLogins()
	if a.seqMode {
		a.replay()
	} else {
		a.search()
	}
	a.unattributed()
	a.refusals()
	a.late()
	a.overLimit()
	if u.hasStatus {
		c.StatusUsers++
		a.status()
	}
	if a.webhooks {
		a.checkWebhooks()
	}
}

// build is pass 1: sessions per device from the device's own events, in
// time order; kicks and timed-out logins are collected for pass 2.
func (a *analyzer) build() {
	recs := a.u.recs
	a.order = a.order[:0]
	for i := range recs {
		a.order = append(a.order, int32(i))
	}
	slices.SortFunc(a.order, func(x, y int32) int {
		rx, ry := &recs[x], &recs[y]
		if c := cmp.Compare(rx.dev, ry.dev); c != 0 {
			return c
		}
		if c := cmp.Compare(rx.at, ry.at); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	if cap(a.devs) < len(a.u.devs) {
		a.devs = make([]devRange, len(a.u.devs))
	}
	a.devs = a.devs[:len(a.u.devs)]
	clear(a.devs)
	cur := int32(-1)
	curDev := -1
	for _, ri := range a.order {
		r := &recs[ri]
		if int(r.dev) != curDev {
			if cur >= 0 {
				a.closeAtEnd(cur)
			}
			cur = -1
			curDev = int(r.dev)
			n := int32(len(a.sess))
			p := int32(len(a.pend))
			a.devs[r.dev] = devRange{n, n, p, p}
		}
		switch r.kind {
		case event.Login:
			switch r.out {
			case event.OK:
				// A server session the device already holds or held,
				// answered again: a repeat login, or racing logins of
				// one instance (a login storm over several
				// connections) that the target took as one new login
				// and repeats, their answers arriving in any order.
				if l := int32(len(a.sess)) - 1; cur < 0 && r.seq != 0 && l >= a.devs[r.dev].s0 &&
					a.sess[l].seq == r.seq && a.sess[l].endHow == endSigExpired && a.sess[l].gap1 == int32(len(a.gaps)) {
					// A new ticket after user_sig_expired, on the same
					// session (a repeat login): it goes on; the device
					// was not online between.
					s := &a.sess[l]
					a.gaps = append(a.gaps, gap{s.end, max(r.at, s.end)})
					s.gap1 = int32(len(a.gaps))
					s.end, s.endHow, s.deaf = never, endOpen, never
					s.rmLo, s.rmHi = never, never
					cur = l
					continue
				}
				if m := a.devSession(r.dev, r.seq); r.seq != 0 && m >= 0 {
					// The login that made the session may be answered
					// after a repeat: it was sent first.
					if st := a.startOf(r); st < a.sess[m].start {
						a.sess[m].start = st
					}
					continue
				}
				switch {
				case cur >= 0 && r.flags&flagRepeat != 0 && r.seq == 0:
					continue
				case cur >= 0 && r.seq != 0 && a.sess[cur].seq > r.seq:
					// An older session of the instance answered after a
					// newer one (another connection of a storm): the
					// target ended it before the newer one began; the
					// device moved on.
					a.close(a.newSession(ri, r), r.at, endRelogin)
				default:
					if cur >= 0 {
						c := &a.sess[cur]
						if t := a.startOf(r); t < c.ok {
							// Sent before cur was answered: over another
							// connection, which goes on listening.
							c.racing, c.deaf0 = true, c.deaf
							if a.inGapOpen(cur) {
								c.deaf0 = min(c.deaf0, a.gaps[c.gap1-1].from)
							}
						}
						a.close(cur, a.startOf(r), endRelogin)
					}
					cur = a.newSession(ri, r)
				}
			case event.TimedOut:
				a.pend = append(a.pend, pending{rec: ri, dev: r.dev, start: a.startOf(r), at: r.at, sess: -1})
			case event.Failed:
				// No answer from the target (the transport failed, or the
				// run ended while it waited): like a timeout, the login
				// may have succeeded there.
				if r.code == 0 {
					a.pend = append(a.pend, pending{rec: ri, dev: r.dev, start: a.startOf(r), at: r.at, sess: -1})
				} else if slices.Contains(a.opt.RefusalCodes, int(r.code)) {
					a.refused = append(a.refused, refusal{rec: ri, dev: r.dev, plat: r.plat, code: r.code, start: a.startOf(r), at: r.at})
				}
			}
		case event.Logout:
			if cur >= 0 {
				s := &a.sess[cur]
				t := a.startOf(r)
				a.close(cur, t, endLogout)
				s.rmLo, s.rmHi = t, never
				if r.out == event.OK {
					s.rmHi = max(r.at, t)
				}
				cur = -1
			} else if l := int32(len(a.sess)) - 1; l >= a.devs[r.dev].s0 && a.sess[l].endHow == endAppKill && a.sess[l].rmLo == never {
				// A logout after an app kill: the kill was a storm's
				// extra connection dropped, while the device went on
				// with the session; the logout removes it.
				s := &a.sess[l]
				s.rmLo, s.rmHi = max(a.startOf(r), s.end), never
				if r.out == event.OK {
					s.rmHi = max(r.at, s.rmLo)
				}
			}
		case event.AppKill:
			if cur >= 0 {
				a.close(cur, r.at, endAppKill)
				cur = -1
			}
		case event.Disconnect:
			if cur >= 0 && !a.inGapOpen(cur) {
				s := &a.sess[cur]
				a.gaps = append(a.gaps, gap{r.at, never})
				s.gap1 = int32(len(a.gaps))
			}
		case event.Resume:
			if l := int32(len(a.sess)) - 1; cur < 0 && r.out == event.OK && r.seq != 0 &&
				l >= a.devs[r.dev].s0 && a.sess[l].seq == r.seq && a.sess[l].endHow == endAppKill &&
				a.sess[l].gap1 == int32(len(a.gaps)) {
				// The device resumed the session it had dropped as an
				// app kill: in a login storm another connection of the
				// instance held the session when it was dropped, and the
				// main connection takes it back. It was not listening
				// from the drop (or the disconnect before it) to now.
				s := &a.sess[l]
				if !a.inGapOpen(l) {
					a.gaps = append(a.gaps, gap{s.end, never})
					s.gap1 = int32(len(a.gaps))
				}
				s.end, s.endHow, s.deaf = never, endOpen, never
				cur = l
			}
			if cur >= 0 && a.inGapOpen(cur) {
				s := &a.sess[cur]
				g := &a.gaps[s.gap1-1]
				if r.out == event.OK {
					g.to = r.at
					continue
				}
				from := g.from
				a.close(cur, from, endResumeFail)
				s.rmLo, s.rmHi = from, max(r.at, from)
				if r.out != event.Failed {
					s.rmHi = never // no answer: the target may still hold it
				}
				cur = -1
			}
		case event.SwitchUser:
			if cur >= 0 {
				s := &a.sess[cur]
				a.close(cur, r.at, endSwitch)
				s.rmLo, s.rmHi = r.at, sat(r.at, int64(a.opt.Grace))
				cur = -1
			}
		case event.SigExpired:
			if cur >= 0 {
				s := &a.sess[cur]
				a.close(cur, r.at, endSigExpired)
				s.rmLo, s.rmHi = r.at, never
				cur = -1
			}
		case event.Kicked:
			k := kick{rec: ri, dev: r.dev, plat: r.plat, at: r.at, disp: r.start, victim: -1, by: -1, alt: -1}
			k.admin = r.bySeq == 0 && r.byDev == 0 && r.byPlat == 0
			k.anon = k.admin && a.opt.AnonymousKicks
			a.kicks = append(a.kicks, k)
		}
		dr := &a.devs[r.dev]
		dr.s1 = int32(len(a.sess))
		dr.p1 = int32(len(a.pend))
	}
	if cur >= 0 {
		a.closeAtEnd(cur)
	}
	a.nbuilt = len(a.sess)
	// Mode of this user.
	allSeq := true
	for i := range a.sess {
		if a.sess[i].seq == 0 {
			allSeq = false
			break
		}
	}
	switch a.opt.Mode {
	case Sequence:
		a.seqMode, a.useSeq = true, allSeq
	case Search:
		a.seqMode, a.useSeq = false, false
	default:
		a.seqMode, a.useSeq = allSeq, allSeq
	}
	a.seqIdx = a.seqIdx[:0]
	if a.seqMode {
		for i := range a.sess {
			if a.sess[i].seq > 0 {
				a.seqIdx = append(a.seqIdx, int32(i))
			}
		}
		slices.SortFunc(a.seqIdx, func(x, y int32) int {
			if c := cmp.Compare(a.sess[x].seq, a.sess[y].seq); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
	}
}

func sat(t, d int64) int64 {
	if t > never-d {
		return never
	}
	return t + d
}

func (a *analyzer) startOf(r *record) int64 {
	if r.start != 0 && r.start <= r.at {
		return r.start
	}
	return r.at
}

func (a *analyzer) newSession(ri int32, r *record) int32 {
	g := int32(len(a.gaps))
	a.sess = append(a.sess, session{
		rec: ri, dev: r.dev, plat: r.plat, seq: r.seq,
		start: a.startOf(r), ok: r.at, hi: r.at,
		end: never, gap0: g, gap1: g,
		rmLo: never, rmHi: never, deaf: never, deaf0: never,
	})
	return int32(len(a.sess) - 1)
}

// devSession returns the session with sequence seq of device dev, whose
// sessions build is making, or -1.
func (a *analyzer) devSession(dev uint16, seq uint64) int32 {
	for s := a.devs[dev].s0; s < int32(len(a.sess)); s++ {
		if a.sess[s].seq == seq {
			return s
		}
	}
	return -1
}

func (a *analyzer) inGapOpen(s int32) bool {
	ss := &a.sess[s]
	return ss.gap1 > ss.gap0 && a.gaps[ss.gap1-1].to == never
}

// close ends the device view of session s at t (or at the start of an open
// gap) and makes it deaf from then.
func (a *analyzer) close(s int32, t int64, how endKind) {
	ss := &a.sess[s]
	if a.inGapOpen(s) {
		g := a.gaps[ss.gap1-1].from
		t = min(t, g)
	}
	ss.end, ss.endHow = t, how
	ss.deaf = min(ss.deaf, t)
}

func (a *analyzer) closeAtEnd(s int32) {
	ss := &a.sess[s]
	if a.inGapOpen(s) {
		ss.discAtEnd = true
		ss.deaf = min(ss.deaf, a.gaps[ss.gap1-1].from)
	}
	ss.end, ss.endHow = max(a.end, ss.ok), endRunEnd
}

// attachKicks is pass 2: each kick gets its victim session and its
// displacing login; timed-out logins that kicks name become inferred logins.
func (a *analyzer) attachKicks() {
	slices.SortFunc(a.kicks, func(x, y kick) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.rec, y.rec)
	})
	recs := a.u.recs
	a.cands = a.cands[:0]
	if !a.seqMode {
		a.racingDeaf()
	}
	for i := range a.kicks {
		k := &a.kicks[i]
		r := &recs[k.rec]
		k.victim = a.findVictim(r)
		if k.anon {
			if a.seqMode {
				k.anon = false // sequence mode replays given orders; unnamed stays administrative
			} else {
				k.admin = false
			}
		}
		if !k.admin && !k.anon {
			k.by = a.findDisplacer(r)
			if !a.seqMode && k.by >= 0 && r.byDev > 0 {
				k.alt = a.earlier(k.by, k.at)
			}
		}
		if !a.seqMode && !k.admin {
			a.kickCands(k)
		}
	}
	for i := range a.kicks {
		k := &a.kicks[i]
		if k.by >= 0 && k.alt < 0 {
			s := &a.sess[k.by]
			s.hi = max(min(s.hi, k.at), s.start)
		}
		// Of the racing sessions the kick may have ended, the device's
		// own view takes the earliest answered not yet kicked: the
		// session the device goes on with (answered last) is kicked last.
		for _, s := range a.cands[k.c0:k.c1] {
			if !a.sess[s].kicked && !a.sess[s].inferred {
				k.victim = s
				break
			}
		}
		if k.victim < 0 {
			continue
		}
		s := &a.sess[k.victim]
		s.kicked = true
		if k.by >= 0 && s.kickedBy == 0 {
			s.kickedBy = k.by + 1
		}
		if s.inferred {
			s.hi = max(min(s.hi, k.at), s.start)
			continue
		}
		if k.at < s.end || s.endHow == endRunEnd {
			// Told by a kick: it listened until then, and what it did
			// after (a new login) does not excuse a notice missing from
			// another login.
			s.end, s.endHow = k.at, endKicked
			s.discAtEnd = false
			s.deaf = never
		}
		if k.admin && s.rmLo == never {
			s.rmLo, s.rmHi = min(s.hi, k.at), k.at
		}
		if k.admin {
			s.byTarget = true
		}
	}
}

// racingDeaf (search mode): a racing session's connection listened after
// its device moved on, until the device dropped it, which it reports as an
// app kill when the connection was still online then (an extra connection
// of a storm, dropped once every login answered; the device cannot say
// which), or until the session stopped listening on its own.
func (a *analyzer) racingDeaf() {
	for i := range a.sess {
		s := &a.sess[i]
		if !s.racing {
			continue
		}
		d := s.deaf0
		for ri := range a.u.recs {
			if r := &a.u.recs[ri]; r.kind == event.AppKill && r.dev == s.dev && r.at >= s.ok && r.at < d {
				d = r.at
			}
		}
		s.deaf = d
	}
}

// kickCands (search mode) sets the sessions kick k may have ended: when the
// device's latest login sent before the notice raced others of the device
// (a login storm over several connections, one session each), any session
// of those racing logins sent before the notice, and the victim found
// (which may be a login that timed out); otherwise none (the victim only).
func (a *analyzer) kickCands(k *kick) {
	k.c0, k.c1 = int32(len(a.cands)), int32(len(a.cands))
	if int(k.dev) >= len(a.devs) {
		return
	}
	dr := a.devs[k.dev]
	base, bestStart := int32(-1), int64(math.MinInt64)
	for s := dr.s0; s < dr.s1; s++ {
		if st := a.sess[s].start; st < k.at && st >= bestStart {
			base, bestStart = s, st
		}
	}
	if base < 0 {
		return
	}
	lo, hi := base, base+1
	for lo > dr.s0 && a.sess[lo-1].racing {
		lo--
	}
	for hi < dr.s1 && a.sess[hi-1].racing {
		hi++
	}
	if hi-lo < 2 {
		return
	}
	own := false
	for s := lo; s < hi; s++ {
		if a.sess[s].start < k.at {
			a.cands = append(a.cands, s)
			own = own || s == k.victim
		}
	}
	if !own && k.victim >= 0 {
		a.cands = append(a.cands, k.victim)
	}
	k.c1 = int32(len(a.cands))
}

// sessionBySeq returns the session with sequence seq (device dev, or any
// device when dev < 0), or -1.
func (a *analyzer) sessionBySeq(seq uint64, dev int) int32 {
	i := sort.Search(len(a.seqIdx), func(i int) bool { return a.sess[a.seqIdx[i]].seq >= seq })
	for ; i < len(a.seqIdx) && a.sess[a.seqIdx[i]].seq == seq; i++ {
		if s := a.seqIdx[i]; dev < 0 || int(a.sess[s].dev) == dev {
			return s
		}
	}
	for s := a.nbuilt; s < len(a.sess); s++ { // inferred, not indexed
		if ss := &a.sess[s]; ss.inferred && ss.seq == seq && (dev < 0 || int(ss.dev) == dev) {
			return int32(s)
		}
	}
	return -1
}

// latest returns the session or (when pend) timed-out login of dev started
// last before t; a timed-out login becomes an inferred session with
// sequence seq.
func (a *analyzer) latest(dev uint16, t int64, pend bool, seq uint64) int32 {
	if int(dev) >= len(a.devs) {
		return -1
	}
	dr := a.devs[dev]
	best, bestStart := int32(-1), int64(math.MinInt64)
	for s := dr.s0; s < dr.s1; s++ {
		if st := a.sess[s].start; st < t && st >= bestStart {
			best, bestStart = s, st
		}
	}
	for s := a.nbuilt; s < len(a.sess); s++ {
		if ss := &a.sess[s]; ss.dev == dev && ss.start < t && ss.start >= bestStart {
			best, bestStart = int32(s), ss.start
		}
	}
	if !pend {
		return best
	}
	bp := int32(-1)
	for p := dr.p0; p < dr.p1; p++ {
		if pp := &a.pend[p]; pp.sess < 0 && pp.start < t && pp.start > bestStart {
			bp, bestStart = p, pp.start
		}
	}
	if bp >= 0 {
		return a.infer(bp, seq)
	}
	return best
}

func (a *analyzer) infer(p int32, seq uint64) int32 {
	pp := &a.pend[p]
	r := &a.u.recs[pp.rec]
	a.sess = append(a.sess, session{
		rec: pp.rec, dev: pp.dev, plat: r.plat, seq: seq,
		start: pp.start, ok: 0, hi: never,
		end: pp.start, endHow: endRelogin,
		gap0: int32(len(a.gaps)), gap1: int32(len(a.gaps)),
		rmLo: never, rmHi: never, deaf: pp.at, inferred: true,
	})
	pp.sess = int32(len(a.sess) - 1)
	return pp.sess
}

func (a *analyzer) findVictim(r *record) int32 {
	if a.seqMode && r.seq > 0 {
		if s := a.sessionBySeq(r.seq, int(r.dev)); s >= 0 {
			return s
		}
		if s := a.latest(r.dev, r.at, true, r.seq); s >= 0 && a.sess[s].inferred {
			return s
		}
	}
	return a.latest(r.dev, r.at, !a.seqMode || r.seq == 0, 0)
}

func (a *analyzer) findDisplacer(r *record) int32 {
	if a.seqMode && r.bySeq > 0 {
		if s := a.sessionBySeq(r.bySeq, -1); s >= 0 {
			return s
		}
		if r.byDev > 0 {
			if s := a.latest(r.byDev-1, r.at, true, r.bySeq); s >= 0 && a.sess[s].inferred && a.sess[s].seq == r.bySeq {
				return s
			}
		}
		return -1
	}
	if r.byDev > 0 {
		return a.latest(r.byDev-1, r.at, true, 0)
	}
	if r.byPlat > 0 {
		best, bestStart := int32(-1), int64(math.MinInt64)
		for s := range a.sess {
			ss := &a.sess[s]
			if ss.plat != r.byPlat || ss.start >= r.at || ss.start < bestStart {
				continue
			}
			if ss.dev == r.dev && !a.pol.ReplaceSameInstance {
				continue
			}
			best, bestStart = int32(s), ss.start
		}
		return best
	}
	return -1
}

// earlier returns the login of the same device before login s that may
// have sent a kick arriving at t without being late, or -1.
func (a *analyzer) earlier(s int32, t int64) int32 {
	ss := &a.sess[s]
	dr := a.devs[ss.dev]
	best := int32(-1)
	for o := dr.s0; o < dr.s1; o++ {
		if o != s && a.sess[o].start < ss.start && (best < 0 || a.sess[o].start > a.sess[best].start) {
			best = o
		}
	}
	if best >= 0 && a.sess[best].ok >= t-int64(a.opt.LateAfter) {
		return best
	}
	return -1
}

// orderLogins puts the logins in model order and groups kicks by their
// displacing login.
func (a *analyzer) orderLogins() {
	a.logins = a.logins[:0]
	for i := range a.sess {
		a.logins = append(a.logins, int32(i))
	}
	ref := func(s *session) int64 {
		if s.ok > 0 {
			return s.ok
		}
		return s.hi
	}
	slices.SortFunc(a.logins, func(x, y int32) int {
		sx, sy := &a.sess[x], &a.sess[y]
		if a.useSeq {
			if c := cmp.Compare(sx.seq, sy.seq); c != 0 {
				return c
			}
		} else if c := cmp.Compare(ref(sx), ref(sy)); c != 0 {
			return c
		}
		if c := cmp.Compare(sx.start, sy.start); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	n := len(a.sess)
	a.mseq = slices.Grow(a.mseq[:0], n)[:n]
	for pos, s := range a.logins {
		a.mseq[s] = uint64(pos + 1)
		if a.useSeq {
			a.mseq[s] = a.sess[s].seq
		}
	}
	if cap(a.kickOff) < n+1 {
		a.kickOff = make([]int32, n+1)
	}
	a.kickOff = a.kickOff[:n+1]
	clear(a.kickOff)
	for i := range a.kicks {
		if b := a.kicks[i].by; b >= 0 {
			a.kickOff[b+1]++
		}
	}
	for i := 1; i <= n; i++ {
		a.kickOff[i] += a.kickOff[i-1]
	}
	a.kickBy = slices.Grow(a.kickBy[:0], int(a.kickOff[n]))[:a.kickOff[n]]
	fill := a.order[:0]
	fill = append(fill, a.kickOff[:n]...)
	for i := range a.kicks {
		if b := a.kicks[i].by; b >= 0 {
			a.kickBy[fill[b]] = int32(i)
			fill[b]++
		}
	}
	a.order = fill
}

// kicksOf returns the kicks attributed to login s.
func (a *analyzer) kicksOf(s int32) []int32 { return a.kickBy[a.kickOff[s]:a.kickOff[s+1]] }

// due is the time by which login s's kicks must have arrived for a missing
// one not to be excused; never when the run ended first.
func (a *analyzer) due(s *session) int64 {
	ref := s.ok
	if ref == 0 {
		ref = s.hi
	}
	d := sat(ref, int64(a.opt.LateAfter))
	if d > a.end {
		return never
	}
	return d
}

// hearing reports whether session s's device was connected at t.
func (a *analyzer) hearing(s int32, t int64) bool {
	ss := &a.sess[s]
	if ss.inferred || ss.deaf <= t {
		return false
	}
	for _, g := range a.gaps[ss.gap0:ss.gap1] {
		if g.from <= t && t < g.to {
			return false
		}
	}
	return true
}

func (a *analyzer) instance(s int32, seq uint64) policy.Instance {
	ss := &a.sess[s]
	return policy.Instance{ID: a.u.devs[ss.dev], Platform: a.u.platform(ss.plat), Seq: seq}
}
