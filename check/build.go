package check

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

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

// userHistory is one user's history as the oracle reads it, built once
// per user by build and attachKicks, then read by every later step.
type userHistory struct {
	rules
	u       *userSnap
	base    int64 // first event time of the user, for timelines
	seqMode bool  // use sequence numbers for matching
	useSeq  bool  // order logins by sequence number

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
	cands   []int32
}

func (h *userHistory) reset(u *userSnap) {
	h.u = u
	h.sess = h.sess[:0]
	h.gaps = h.gaps[:0]
	h.kicks = h.kicks[:0]
	h.pend = h.pend[:0]
	h.refused = h.refused[:0]
	h.base = never
	for i := range u.recs {
		r := &u.recs[i]
		if r.start != 0 && r.start < h.base && r.kind != event.Kicked {
			h.base = r.start
		}
		if r.at != 0 && r.at < h.base {
			h.base = r.at
		}
	}
	if h.base == never {
		h.base = 0
	}
}

// build is pass 1: sessions per device from the device's own events, in
// time order; kicks and timed-out logins are collected for pass 2.
func (h *userHistory) build() {
	recs := h.u.recs
	h.order = h.order[:0]
	for i := range recs {
		h.order = append(h.order, int32(i))
	}
	slices.SortFunc(h.order, func(x, y int32) int {
		rx, ry := &recs[x], &recs[y]
		if c := cmp.Compare(rx.dev, ry.dev); c != 0 {
			return c
		}
		if c := cmp.Compare(rx.at, ry.at); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	if cap(h.devs) < len(h.u.devs) {
		h.devs = make([]devRange, len(h.u.devs))
	}
	h.devs = h.devs[:len(h.u.devs)]
	clear(h.devs)
	cur := int32(-1)
	curDev := -1
	for _, ri := range h.order {
		r := &recs[ri]
		if int(r.dev) != curDev {
			if cur >= 0 {
				h.closeAtEnd(cur)
			}
			cur = -1
			curDev = int(r.dev)
			n := int32(len(h.sess))
			p := int32(len(h.pend))
			h.devs[r.dev] = devRange{n, n, p, p}
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
				if l := int32(len(h.sess)) - 1; cur < 0 && r.seq != 0 && l >= h.devs[r.dev].s0 &&
					h.sess[l].seq == r.seq && h.sess[l].endHow == endSigExpired && h.sess[l].gap1 == int32(len(h.gaps)) {
					// A new ticket after user_sig_expired, on the same
					// session (a repeat login): it goes on; the device
					// was not online between.
					s := &h.sess[l]
					h.gaps = append(h.gaps, gap{s.end, max(r.at, s.end)})
					s.gap1 = int32(len(h.gaps))
					s.end, s.endHow, s.deaf = never, endOpen, never
					s.rmLo, s.rmHi = never, never
					cur = l
					continue
				}
				if m := h.devSession(r.dev, r.seq); r.seq != 0 && m >= 0 {
					// The login that made the session may be answered
					// after a repeat: it was sent first.
					if st := h.startOf(r); st < h.sess[m].start {
						h.sess[m].start = st
					}
					continue
				}
				switch {
				case cur >= 0 && r.flags&flagRepeat != 0 && r.seq == 0:
					continue
				case cur >= 0 && r.seq != 0 && h.sess[cur].seq > r.seq:
					// An older session of the instance answered after a
					// newer one (another connection of a storm): the
					// target ended it before the newer one began; the
					// device moved on.
					h.close(h.newSession(ri, r), r.at, endRelogin)
				default:
					if cur >= 0 {
						c := &h.sess[cur]
						if t := h.startOf(r); t < c.ok {
							// Sent before cur was answered: over another
							// connection, which goes on listening.
							c.racing, c.deaf0 = true, c.deaf
							if h.inGapOpen(cur) {
								c.deaf0 = min(c.deaf0, h.gaps[c.gap1-1].from)
							}
						}
						h.close(cur, h.startOf(r), endRelogin)
					}
					cur = h.newSession(ri, r)
				}
			case event.TimedOut:
				h.pend = append(h.pend, pending{rec: ri, dev: r.dev, start: h.startOf(r), at: r.at, sess: -1})
			case event.Failed:
				// No answer from the target (the transport failed, or the
				// run ended while it waited): like a timeout, the login
				// may have succeeded there.
				if r.code == 0 {
					h.pend = append(h.pend, pending{rec: ri, dev: r.dev, start: h.startOf(r), at: r.at, sess: -1})
				} else if slices.Contains(h.opt.RefusalCodes, int(r.code)) {
					h.refused = append(h.refused, refusal{rec: ri, dev: r.dev, plat: r.plat, code: r.code, start: h.startOf(r), at: r.at})
				}
			}
		case event.Logout:
			if cur >= 0 {
				s := &h.sess[cur]
				t := h.startOf(r)
				h.close(cur, t, endLogout)
				s.rmLo, s.rmHi = t, never
				if r.out == event.OK {
					s.rmHi = max(r.at, t)
				}
				cur = -1
			} else if l := int32(len(h.sess)) - 1; l >= h.devs[r.dev].s0 && h.sess[l].endHow == endAppKill && h.sess[l].rmLo == never {
				// A logout after an app kill: the kill was a storm's
				// extra connection dropped, while the device went on
				// with the session; the logout removes it.
				s := &h.sess[l]
				s.rmLo, s.rmHi = max(h.startOf(r), s.end), never
				if r.out == event.OK {
					s.rmHi = max(r.at, s.rmLo)
				}
			}
		case event.AppKill:
			if cur >= 0 {
				h.close(cur, r.at, endAppKill)
				cur = -1
			}
		case event.Disconnect:
			if cur >= 0 && !h.inGapOpen(cur) {
				s := &h.sess[cur]
				h.gaps = append(h.gaps, gap{r.at, never})
				s.gap1 = int32(len(h.gaps))
			}
		case event.Resume:
			if l := int32(len(h.sess)) - 1; cur < 0 && r.out == event.OK && r.seq != 0 &&
				l >= h.devs[r.dev].s0 && h.sess[l].seq == r.seq && h.sess[l].endHow == endAppKill &&
				h.sess[l].gap1 == int32(len(h.gaps)) {
				// The device resumed the session it had dropped as an
				// app kill: in a login storm another connection of the
				// instance held the session when it was dropped, and the
				// main connection takes it back. It was not listening
				// from the drop (or the disconnect before it) to now.
				s := &h.sess[l]
				if !h.inGapOpen(l) {
					h.gaps = append(h.gaps, gap{s.end, never})
					s.gap1 = int32(len(h.gaps))
				}
				s.end, s.endHow, s.deaf = never, endOpen, never
				cur = l
			}
			if cur >= 0 && h.inGapOpen(cur) {
				s := &h.sess[cur]
				g := &h.gaps[s.gap1-1]
				if r.out == event.OK {
					g.to = r.at
					continue
				}
				from := g.from
				h.close(cur, from, endResumeFail)
				s.rmLo, s.rmHi = from, max(r.at, from)
				if r.out != event.Failed {
					s.rmHi = never // no answer: the target may still hold it
				}
				cur = -1
			}
		case event.SwitchUser:
			if cur >= 0 {
				s := &h.sess[cur]
				h.close(cur, r.at, endSwitch)
				s.rmLo, s.rmHi = r.at, sat(r.at, int64(h.opt.Grace))
				cur = -1
			}
		case event.SigExpired:
			if cur >= 0 {
				s := &h.sess[cur]
				h.close(cur, r.at, endSigExpired)
				s.rmLo, s.rmHi = r.at, never
				cur = -1
			}
		case event.Kicked:
			k := kick{rec: ri, dev: r.dev, plat: r.plat, at: r.at, disp: r.start, victim: -1, by: -1, alt: -1}
			k.admin = r.bySeq == 0 && r.byDev == 0 && r.byPlat == 0
			k.anon = k.admin && h.opt.AnonymousKicks
			h.kicks = append(h.kicks, k)
		}
		dr := &h.devs[r.dev]
		dr.s1 = int32(len(h.sess))
		dr.p1 = int32(len(h.pend))
	}
	if cur >= 0 {
		h.closeAtEnd(cur)
	}
	h.nbuilt = len(h.sess)
	// Mode of this user.
	allSeq := true
	for i := range h.sess {
		if h.sess[i].seq == 0 {
			allSeq = false
			break
		}
	}
	switch h.opt.Mode {
	case Sequence:
		h.seqMode, h.useSeq = true, allSeq
	case Search:
		h.seqMode, h.useSeq = false, false
	default:
		h.seqMode, h.useSeq = allSeq, allSeq
	}
	h.seqIdx = h.seqIdx[:0]
	if h.seqMode {
		for i := range h.sess {
			if h.sess[i].seq > 0 {
				h.seqIdx = append(h.seqIdx, int32(i))
			}
		}
		slices.SortFunc(h.seqIdx, func(x, y int32) int {
			if c := cmp.Compare(h.sess[x].seq, h.sess[y].seq); c != 0 {
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

func (h *userHistory) startOf(r *record) int64 {
	if r.start != 0 && r.start <= r.at {
		return r.start
	}
	return r.at
}

func (h *userHistory) newSession(ri int32, r *record) int32 {
	g := int32(len(h.gaps))
	h.sess = append(h.sess, session{
		rec: ri, dev: r.dev, plat: r.plat, seq: r.seq,
		start: h.startOf(r), ok: r.at, hi: r.at,
		end: never, gap0: g, gap1: g,
		rmLo: never, rmHi: never, deaf: never, deaf0: never,
	})
	return int32(len(h.sess) - 1)
}

// devSession returns the session with sequence seq of device dev, whose
// sessions build is making, or -1.
func (h *userHistory) devSession(dev uint16, seq uint64) int32 {
	for s := h.devs[dev].s0; s < int32(len(h.sess)); s++ {
		if h.sess[s].seq == seq {
			return s
		}
	}
	return -1
}

func (h *userHistory) inGapOpen(s int32) bool {
	ss := &h.sess[s]
	return ss.gap1 > ss.gap0 && h.gaps[ss.gap1-1].to == never
}

// close ends the device view of session s at t (or at the start of an open
// gap) and makes it deaf from then.
func (h *userHistory) close(s int32, t int64, how endKind) {
	ss := &h.sess[s]
	if h.inGapOpen(s) {
		g := h.gaps[ss.gap1-1].from
		t = min(t, g)
	}
	ss.end, ss.endHow = t, how
	ss.deaf = min(ss.deaf, t)
}

func (h *userHistory) closeAtEnd(s int32) {
	ss := &h.sess[s]
	if h.inGapOpen(s) {
		ss.discAtEnd = true
		ss.deaf = min(ss.deaf, h.gaps[ss.gap1-1].from)
	}
	ss.end, ss.endHow = max(h.end, ss.ok), endRunEnd
}

// attachKicks is pass 2: each kick gets its victim session and its
// displacing login; timed-out logins that kicks name become inferred logins.
func (h *userHistory) attachKicks() {
	slices.SortFunc(h.kicks, func(x, y kick) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.rec, y.rec)
	})
	recs := h.u.recs
	h.cands = h.cands[:0]
	if !h.seqMode {
		h.racingDeaf()
	}
	for i := range h.kicks {
		k := &h.kicks[i]
		r := &recs[k.rec]
		k.victim = h.findVictim(r)
		if k.anon {
			if h.seqMode {
				k.anon = false // sequence mode replays given orders; unnamed stays administrative
			} else {
				k.admin = false
			}
		}
		if !k.admin && !k.anon {
			k.by = h.findDisplacer(r)
			if !h.seqMode && k.by >= 0 && r.byDev > 0 {
				k.alt = h.earlier(k.by, k.at)
			}
		}
		if !h.seqMode && !k.admin {
			h.kickCands(k)
		}
	}
	for i := range h.kicks {
		k := &h.kicks[i]
		if k.by >= 0 && k.alt < 0 {
			s := &h.sess[k.by]
			s.hi = max(min(s.hi, k.at), s.start)
		}
		// Of the racing sessions the kick may have ended, the device's
		// own view takes the earliest answered not yet kicked: the
		// session the device goes on with (answered last) is kicked last.
		for _, s := range h.cands[k.c0:k.c1] {
			if !h.sess[s].kicked && !h.sess[s].inferred {
				k.victim = s
				break
			}
		}
		if k.victim < 0 {
			continue
		}
		s := &h.sess[k.victim]
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
func (h *userHistory) racingDeaf() {
	for i := range h.sess {
		s := &h.sess[i]
		if !s.racing {
			continue
		}
		d := s.deaf0
		for ri := range h.u.recs {
			if r := &h.u.recs[ri]; r.kind == event.AppKill && r.dev == s.dev && r.at >= s.ok && r.at < d {
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
func (h *userHistory) kickCands(k *kick) {
	k.c0, k.c1 = int32(len(h.cands)), int32(len(h.cands))
	if int(k.dev) >= len(h.devs) {
		return
	}
	dr := h.devs[k.dev]
	base, bestStart := int32(-1), int64(math.MinInt64)
	for s := dr.s0; s < dr.s1; s++ {
		if st := h.sess[s].start; st < k.at && st >= bestStart {
			base, bestStart = s, st
		}
	}
	if base < 0 {
		return
	}
	lo, hi := base, base+1
	for lo > dr.s0 && h.sess[lo-1].racing {
		lo--
	}
	for hi < dr.s1 && h.sess[hi-1].racing {
		hi++
	}
	if hi-lo < 2 {
		return
	}
	own := false
	for s := lo; s < hi; s++ {
		if h.sess[s].start < k.at {
			h.cands = append(h.cands, s)
			own = own || s == k.victim
		}
	}
	if !own && k.victim >= 0 {
		h.cands = append(h.cands, k.victim)
	}
	k.c1 = int32(len(h.cands))
}

// sessionBySeq returns the session with sequence seq (device dev, or any
// device when dev < 0), or -1.
func (h *userHistory) sessionBySeq(seq uint64, dev int) int32 {
	i := sort.Search(len(h.seqIdx), func(i int) bool { return h.sess[h.seqIdx[i]].seq >= seq })
	for ; i < len(h.seqIdx) && h.sess[h.seqIdx[i]].seq == seq; i++ {
		if s := h.seqIdx[i]; dev < 0 || int(h.sess[s].dev) == dev {
			return s
		}
	}
	for s := h.nbuilt; s < len(h.sess); s++ { // inferred, not indexed
		if ss := &h.sess[s]; ss.inferred && ss.seq == seq && (dev < 0 || int(ss.dev) == dev) {
			return int32(s)
		}
	}
	return -1
}

// latest returns the session or (when pend) timed-out login of dev started
// last before t; a timed-out login becomes an inferred session with
// sequence seq.
func (h *userHistory) latest(dev uint16, t int64, pend bool, seq uint64) int32 {
	if int(dev) >= len(h.devs) {
		return -1
	}
	dr := h.devs[dev]
	best, bestStart := int32(-1), int64(math.MinInt64)
	for s := dr.s0; s < dr.s1; s++ {
		if st := h.sess[s].start; st < t && st >= bestStart {
			best, bestStart = s, st
		}
	}
	for s := h.nbuilt; s < len(h.sess); s++ {
		if ss := &h.sess[s]; ss.dev == dev && ss.start < t && ss.start >= bestStart {
			best, bestStart = int32(s), ss.start
		}
	}
	if !pend {
		return best
	}
	bp := int32(-1)
	for p := dr.p0; p < dr.p1; p++ {
		if pp := &h.pend[p]; pp.sess < 0 && pp.start < t && pp.start > bestStart {
			bp, bestStart = p, pp.start
		}
	}
	if bp >= 0 {
		return h.infer(bp, seq)
	}
	return best
}

func (h *userHistory) infer(p int32, seq uint64) int32 {
	pp := &h.pend[p]
	r := &h.u.recs[pp.rec]
	h.sess = append(h.sess, session{
		rec: pp.rec, dev: pp.dev, plat: r.plat, seq: seq,
		start: pp.start, ok: 0, hi: never,
		end: pp.start, endHow: endRelogin,
		gap0: int32(len(h.gaps)), gap1: int32(len(h.gaps)),
		rmLo: never, rmHi: never, deaf: pp.at, inferred: true,
	})
	pp.sess = int32(len(h.sess) - 1)
	return pp.sess
}

func (h *userHistory) findVictim(r *record) int32 {
	if h.seqMode && r.seq > 0 {
		if s := h.sessionBySeq(r.seq, int(r.dev)); s >= 0 {
			return s
		}
		if s := h.latest(r.dev, r.at, true, r.seq); s >= 0 && h.sess[s].inferred {
			return s
		}
	}
	return h.latest(r.dev, r.at, !h.seqMode || r.seq == 0, 0)
}

func (h *userHistory) findDisplacer(r *record) int32 {
	if h.seqMode && r.bySeq > 0 {
		if s := h.sessionBySeq(r.bySeq, -1); s >= 0 {
			return s
		}
		if r.byDev > 0 {
			if s := h.latest(r.byDev-1, r.at, true, r.bySeq); s >= 0 && h.sess[s].inferred && h.sess[s].seq == r.bySeq {
				return s
			}
		}
		return -1
	}
	if r.byDev > 0 {
		return h.latest(r.byDev-1, r.at, true, 0)
	}
	if r.byPlat > 0 {
		best, bestStart := int32(-1), int64(math.MinInt64)
		for s := range h.sess {
			ss := &h.sess[s]
			if ss.plat != r.byPlat || ss.start >= r.at || ss.start < bestStart {
				continue
			}
			if ss.dev == r.dev && !h.pol.ReplaceSameInstance {
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
func (h *userHistory) earlier(s int32, t int64) int32 {
	ss := &h.sess[s]
	dr := h.devs[ss.dev]
	best := int32(-1)
	for o := dr.s0; o < dr.s1; o++ {
		if o != s && h.sess[o].start < ss.start && (best < 0 || h.sess[o].start > h.sess[best].start) {
			best = o
		}
	}
	if best >= 0 && h.sess[best].ok >= t-int64(h.opt.LateAfter) {
		return best
	}
	return -1
}

// orderLogins puts the logins in model order and groups kicks by their
// displacing login.
func (h *userHistory) orderLogins() {
	h.logins = h.logins[:0]
	for i := range h.sess {
		h.logins = append(h.logins, int32(i))
	}
	ref := func(s *session) int64 {
		if s.ok > 0 {
			return s.ok
		}
		return s.hi
	}
	slices.SortFunc(h.logins, func(x, y int32) int {
		sx, sy := &h.sess[x], &h.sess[y]
		if h.useSeq {
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
	n := len(h.sess)
	h.mseq = slices.Grow(h.mseq[:0], n)[:n]
	for pos, s := range h.logins {
		h.mseq[s] = uint64(pos + 1)
		if h.useSeq {
			h.mseq[s] = h.sess[s].seq
		}
	}
	if cap(h.kickOff) < n+1 {
		h.kickOff = make([]int32, n+1)
	}
	h.kickOff = h.kickOff[:n+1]
	clear(h.kickOff)
	for i := range h.kicks {
		if b := h.kicks[i].by; b >= 0 {
			h.kickOff[b+1]++
		}
	}
	for i := 1; i <= n; i++ {
		h.kickOff[i] += h.kickOff[i-1]
	}
	h.kickBy = slices.Grow(h.kickBy[:0], int(h.kickOff[n]))[:h.kickOff[n]]
	fill := h.order[:0]
	fill = append(fill, h.kickOff[:n]...)
	for i := range h.kicks {
		if b := h.kicks[i].by; b >= 0 {
			h.kickBy[fill[b]] = int32(i)
			fill[b]++
		}
	}
	h.order = fill
}

// kicksOf returns the kicks attributed to login s.
func (h *userHistory) kicksOf(s int32) []int32 { return h.kickBy[h.kickOff[s]:h.kickOff[s+1]] }

// modelSeq is the sequence a session has in the model: the target's, or
// its position in the order of logins.
func (h *userHistory) modelSeq(s int32) uint64 { return h.mseq[s] }

// due is the time by which login s's kicks must have arrived for a missing
// one not to be excused; never when the run ended first.
func (h *userHistory) due(s *session) int64 {
	ref := s.ok
	if ref == 0 {
		ref = s.hi
	}
	d := sat(ref, int64(h.opt.LateAfter))
	if d > h.end {
		return never
	}
	return d
}

// hearing reports whether session s's device was connected at t.
func (h *userHistory) hearing(s int32, t int64) bool {
	ss := &h.sess[s]
	if ss.inferred || ss.deaf <= t {
		return false
	}
	for _, g := range h.gaps[ss.gap0:ss.gap1] {
		if g.from <= t && t < g.to {
			return false
		}
	}
	return true
}

// kickedDev reports whether one of the kicks lk went to device dev.
func (h *userHistory) kickedDev(lk []int32, dev uint16) bool {
	for _, k := range lk {
		if h.kicks[k].dev == dev {
			return true
		}
	}
	return false
}

func (h *userHistory) instance(s int32, seq uint64) policy.Instance {
	ss := &h.sess[s]
	return policy.Instance{ID: h.u.devs[ss.dev], Platform: h.u.platform(ss.plat), Seq: seq}
}
