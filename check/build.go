package check

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// endKind says how a session ended as its device saw it.
type endKind uint8

const (
	endOpen       endKind = iota // not ended (yet)
	endLogout                    // the device sent logout
	endKicked                    // a kick told the device
	endAppKill                   // the app was killed
	endSwitch                    // the device switched account
	endSigExpired                // the device got user_sig_expired
	endResumeFail                // a resume after a disconnect failed
	endRelogin                   // the device started a new login
	endRunEnd                    // the run ended with it online
)

// session is one successful (or inferred) login of a device and what became
// of it. Times are unix ns; never stands for "not (yet)".
type session struct {
	rec  int32  // the login's record in userSnap.recs
	dev  uint16 // device (index into userSnap.devs)
	plat uint8  // platform (index+1 into userSnap.plats)
	seq  uint64 // the target's sequence of the login, 0: none
	sent int64  // login sent
	okAt int64  // login ok reached the device; 0 for an inferred login
	// latestProcessed is the latest time the target can have processed the
	// login: its ok, or the first kick that names it if earlier (never for
	// an inferred login that no kick names).
	latestProcessed int64
	// The device's view: online over [okAt, onlineUntil) minus the
	// disconnects gaps[firstGap:endGap], ended as endedBy says.
	onlineUntil      int64
	endedBy          endKind
	firstGap, endGap int32
	// The session's removal at the target by its device's own action
	// (logout, failed resume, account switch, expired ticket) or by a kick
	// naming no displacer, at some time in [removalFrom, removalTo];
	// removalFrom == never: no such removal.
	removalFrom, removalTo int64
	// stoppedListening: from this time on the device never again listened
	// on this session (never: it did, or a kick told it).
	stoppedListening int64
	kicked           bool // a kick ended it
	// toldAt: when the first kick naming it reached its device (0: none),
	// which may be after the device's view of it ended otherwise (a kick
	// read from the connection as the device dropped it at the run's end).
	toldAt int64
	// kickedBy is the displacing login (session index + 1) named by the
	// kick this session got; 0: none, or unnamed.
	kickedBy int32
	// inferred: a login that timed out (or failed without an answer) on
	// its device, taken as accepted because a kick names it or hit it.
	inferred bool
	// disconnectedAtEnd: the run ended while the device was disconnected.
	disconnectedAtEnd bool
	// endedByTarget: a kick naming no displacer ended it (an administrative
	// kick, or one while the device was away): the target removed it at
	// some time the device cannot tell, maybe as a login's victim.
	endedByTarget bool
	// displaced: the replay's model displaced it, by a login sent at
	// displacedAt: from then on the target may have dropped the session
	// before its device heard of it.
	displaced   bool
	displacedAt int64
	// racing: the device's next login was sent before this one was
	// answered, so it went over another connection (one call at a time per
	// connection): this session's connection went on listening after the
	// device moved on. connStopped is when that connection stopped
	// listening by itself (never: not known), kept for search mode, which
	// sets stoppedListening from it.
	racing      bool
	connStopped int64
	// reloginOk: ended by its device's next login (endRelogin), when that
	// login's answer reached the device. Until then the target may not
	// have processed it and may still hold this session.
	reloginOk int64
}

// settledAt is when login s is known processed at the target: its ok, else
// (an inferred login) the latest time it can have been processed.
func (s *session) settledAt() int64 {
	if s.okAt > 0 {
		return s.okAt
	}
	return s.latestProcessed
}

// gap is a disconnect of a session's device: not listening over [from, to)
// (to == never: it never resumed).
type gap struct{ from, to int64 }

// kick is one kicked_offline notice a device received.
type kick struct {
	rec     int32  // its record in userSnap.recs
	dev     uint16 // the kicked device
	plat    uint8  // the kicked device's platform
	arrived int64  // the notice reached the device
	// displacedAt: the displacement time at the target, from the
	// device-reported latency; 0: unknown.
	displacedAt int64
	victim      int32 // the session it ended, -1: unknown
	displacer   int32 // the displacing login (session), -1: none found
	// altDisplacer: in search mode, an earlier login of the same displacing
	// device that may have sent this kick instead of displacer (the device
	// logged in again before the notice arrived); -1: none. The search
	// decides.
	altDisplacer int32
	// administrative: names no displacer and is taken as the target's own
	// (a REST kick, a resume answered 6208): counted, not judged.
	administrative bool
	// anonymous: names no displacer, and Options.AnonymousKicks says a login
	// sent it (search mode only).
	anonymous bool
	// matched: the replay matched it to a victim of its displacer (or
	// counted it as a verdict).
	matched bool
	// kickCands[candFrom:candTo]: in search mode, the sessions of the kicked
	// device that may have been online when the kick arrived, any of which
	// it may have ended (the search decides); empty: victim only.
	candFrom, candTo int32
}

// pending is a login that timed out on its device, or failed with no answer
// from the target (transport lost, run ended): the target may have
// accepted it.
type pending struct {
	rec        int32  // its record in userSnap.recs
	dev        uint16 // its device
	sent       int64  // login sent
	gaveUpAt   int64  // the device stopped waiting for the answer
	inferredAs int32  // the inferred session made of it, -1: none
}

// refusal is a login the target refused with a conflict or limit code
// (Options.RefusalCodes): processed at some time in [sent, refusedAt].
type refusal struct {
	rec             int32  // its record in userSnap.recs
	dev             uint16 // its device
	plat            uint8  // its platform
	code            int32  // the refusal code
	sent, refusedAt int64  // login sent, refusal reached the device
}

// deviceSpan is where one device's sessions and pending logins lie in
// userHistory.sessions and .pendingLogins (inferred sessions, which follow
// the observed ones, excepted).
type deviceSpan struct{ sessFrom, sessTo, pendFrom, pendTo int32 }

// userHistory is one user's history as the oracle reads it, built once per
// user by build and attachKicks and then read by every later step. Its
// buffers are reused from user to user.
type userHistory struct {
	rules
	u       *userSnap
	firstAt int64 // first event time of the user, for timelines
	// sequenceMode: the user is judged by replay, with the target's
	// sequence numbers matching kicks to logins; else by the order search.
	sequenceMode bool
	orderBySeq   bool // the model orders logins by sequence, else by ok time

	// recOrder is scratch: record indices by device and time (build), then
	// where each login's kicks go in kicksByLogin (orderLogins).
	recOrder []int32
	sessions []session // the observed sessions, then the inferred ones
	gaps     []gap     // disconnects, per session in order (session.firstGap)
	kicks    []kick    // kicks received, by arrival
	// pendingLogins: logins that timed out or failed without an answer,
	// per device in order (deviceSpan).
	pendingLogins []pending
	refused       []refusal    // logins refused with a conflict or limit code
	devSpans      []deviceSpan // per device
	nObserved     int          // sessions made from the devices' events; inferred ones follow
	seqOrder      []int32      // observed sessions by sequence (sequence mode only)
	// kicksByLogin holds kick indices grouped by displacing login: those
	// of login s are kicksByLogin[kicksByLoginAt[s]:kicksByLoginAt[s+1]].
	kicksByLogin   []int32
	kicksByLoginAt []int32
	modelOrder     []int32  // the sessions' logins in model order
	modelSeqs      []uint64 // per session: its sequence in the model
	kickCands      []int32  // the sessions kicks may have ended (kick.candFrom)
}

// reset makes h the empty history of user u, keeping its buffers.
func (h *userHistory) reset(u *userSnap) {
	h.u = u
	h.sessions = h.sessions[:0]
	h.gaps = h.gaps[:0]
	h.kicks = h.kicks[:0]
	h.pendingLogins = h.pendingLogins[:0]
	h.refused = h.refused[:0]
	h.firstAt = never
	for i := range u.recs {
		r := &u.recs[i]
		if r.start != 0 && r.start < h.firstAt && r.kind != event.Kicked {
			h.firstAt = r.start
		}
		if r.at != 0 && r.at < h.firstAt {
			h.firstAt = r.at
		}
	}
	if u.res.segments > 0 {
		h.firstAt = min(h.firstAt, u.res.firstAt)
	}
	if h.firstAt == never {
		h.firstAt = 0
	}
}

// build is the first pass over the user's records: sessions per device from
// the device's own events, in time order; kicks, logins without an answer
// and refusals are collected for attachKicks.
func (h *userHistory) build() {
	recs := h.u.recs
	h.recOrder = h.recOrder[:0]
	for i := range recs {
		h.recOrder = append(h.recOrder, int32(i))
	}
	slices.SortFunc(h.recOrder, func(x, y int32) int {
		rx, ry := &recs[x], &recs[y]
		if c := cmp.Compare(rx.dev, ry.dev); c != 0 {
			return c
		}
		if c := cmp.Compare(rx.at, ry.at); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	if cap(h.devSpans) < len(h.u.devs) {
		h.devSpans = make([]deviceSpan, len(h.u.devs))
	}
	h.devSpans = h.devSpans[:len(h.u.devs)]
	clear(h.devSpans)
	// current is the session the device of the records being read holds
	// (logged in and not ended), -1: none.
	current := int32(-1)
	currentDev := -1
	for _, ri := range h.recOrder {
		r := &recs[ri]
		if int(r.dev) != currentDev {
			if current >= 0 {
				h.endAtRunEnd(current)
			}
			current = -1
			currentDev = int(r.dev)
			n := int32(len(h.sessions))
			p := int32(len(h.pendingLogins))
			h.devSpans[r.dev] = deviceSpan{n, n, p, p}
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
				if last := int32(len(h.sessions)) - 1; current < 0 && r.seq != 0 && last >= h.devSpans[r.dev].sessFrom &&
					h.sessions[last].seq == r.seq && h.sessions[last].endedBy == endSigExpired && h.sessions[last].endGap == int32(len(h.gaps)) {
					// A new ticket after user_sig_expired, on the same
					// session (a repeat login): it goes on; the device
					// was not online between.
					s := &h.sessions[last]
					h.gaps = append(h.gaps, gap{s.onlineUntil, max(r.at, s.onlineUntil)})
					s.endGap = int32(len(h.gaps))
					s.onlineUntil, s.endedBy, s.stoppedListening = never, endOpen, never
					s.removalFrom, s.removalTo = never, never
					current = last
					continue
				}
				if m := h.devSession(r.dev, r.seq); r.seq != 0 && m >= 0 {
					// The login that made the session may be answered
					// after a repeat: it was sent first.
					if st := h.sentAt(r); st < h.sessions[m].sent {
						h.sessions[m].sent = st
					}
					continue
				}
				switch {
				case current >= 0 && r.flags&flagRepeat != 0 && r.seq == 0:
					continue
				case current >= 0 && r.seq != 0 && h.sessions[current].seq > r.seq:
					// An older session of the instance answered after a
					// newer one (another connection of a storm): the
					// target ended it before the newer one began; the
					// device moved on.
					ns := h.newSession(ri, r)
					h.endSession(ns, r.at, endRelogin)
					h.sessions[ns].reloginOk = r.at
				default:
					if current >= 0 {
						c := &h.sessions[current]
						if t := h.sentAt(r); t < c.okAt {
							// Sent before current was answered: over another
							// connection, which goes on listening.
							c.racing, c.connStopped = true, c.stoppedListening
							if h.inOpenGap(current) {
								c.connStopped = min(c.connStopped, h.gaps[c.endGap-1].from)
							}
						}
						h.endSession(current, h.sentAt(r), endRelogin)
						c.reloginOk = r.at
					}
					current = h.newSession(ri, r)
				}
			case event.TimedOut, event.Cancelled:
				// No answer before the operation's timeout, or before the
				// run's end cut it off: the login may have succeeded at
				// the target.
				h.addPending(ri, r)
			case event.Failed:
				// No answer from the target (the transport failed, or the
				// run ended while it waited): like a timeout, the login
				// may have succeeded there.
				if r.code == 0 {
					h.addPending(ri, r)
				} else if slices.Contains(h.opt.RefusalCodes, int(r.code)) {
					h.refused = append(h.refused, refusal{rec: ri, dev: r.dev, plat: r.plat, code: r.code, sent: h.sentAt(r), refusedAt: r.at})
				}
			}
		case event.Logout:
			if current >= 0 {
				s := &h.sessions[current]
				t := h.sentAt(r)
				h.endSession(current, t, endLogout)
				s.removalFrom, s.removalTo = t, never
				if r.out == event.OK {
					s.removalTo = max(r.at, t)
				}
				current = -1
			} else if last := int32(len(h.sessions)) - 1; last >= h.devSpans[r.dev].sessFrom && h.sessions[last].endedBy == endAppKill && h.sessions[last].removalFrom == never {
				// A logout after an app kill: the kill was a storm's
				// extra connection dropped, while the device went on
				// with the session; the logout removes it.
				s := &h.sessions[last]
				s.removalFrom, s.removalTo = max(h.sentAt(r), s.onlineUntil), never
				if r.out == event.OK {
					s.removalTo = max(r.at, s.removalFrom)
				}
			}
		case event.AppKill, event.OnlineAtEnd:
			// Online at a cut end: like an app kill to the target (the
			// transport dropped without a logout), and from then on the
			// device listens no more, so a kick it would have got after
			// is no missing one.
			if current >= 0 {
				h.endSession(current, r.at, endAppKill)
				current = -1
			}
		case event.Disconnect:
			if current >= 0 && !h.inOpenGap(current) {
				s := &h.sessions[current]
				// A disconnect with a Start (a connection found dead by a
				// heartbeat without an answer) was deaf from its Start: a
				// partition carries nothing and says nothing.
				h.gaps = append(h.gaps, gap{max(h.sentAt(r), s.okAt), never})
				s.endGap = int32(len(h.gaps))
			}
		case event.Resume:
			if last := int32(len(h.sessions)) - 1; current < 0 && r.out == event.OK && r.seq != 0 &&
				last >= h.devSpans[r.dev].sessFrom && h.sessions[last].seq == r.seq && h.sessions[last].endedBy == endAppKill &&
				h.sessions[last].endGap == int32(len(h.gaps)) {
				// The device resumed the session it had dropped as an
				// app kill: in a login storm another connection of the
				// instance held the session when it was dropped, and the
				// main connection takes it back. It was not listening
				// from the drop (or the disconnect before it) to now.
				s := &h.sessions[last]
				if !h.inOpenGap(last) {
					h.gaps = append(h.gaps, gap{s.onlineUntil, never})
					s.endGap = int32(len(h.gaps))
				}
				s.onlineUntil, s.endedBy, s.stoppedListening = never, endOpen, never
				current = last
			}
			if current >= 0 && h.inOpenGap(current) {
				s := &h.sessions[current]
				g := &h.gaps[s.endGap-1]
				if r.out == event.OK {
					g.to = r.at
					continue
				}
				from := g.from
				h.endSession(current, from, endResumeFail)
				s.removalFrom, s.removalTo = from, max(r.at, from)
				if r.out != event.Failed {
					s.removalTo = never // no answer: the target may still hold it
				}
				current = -1
			}
		case event.SwitchUser:
			if current >= 0 {
				s := &h.sessions[current]
				h.endSession(current, r.at, endSwitch)
				s.removalFrom, s.removalTo = r.at, addSat(r.at, int64(h.opt.Grace))
				current = -1
			}
		case event.SigExpired:
			if current >= 0 {
				s := &h.sessions[current]
				h.endSession(current, r.at, endSigExpired)
				s.removalFrom, s.removalTo = r.at, never
				current = -1
			}
		case event.Kicked:
			k := kick{rec: ri, dev: r.dev, plat: r.plat, arrived: r.at, displacedAt: r.start, victim: -1, displacer: -1, altDisplacer: -1}
			k.administrative = r.bySeq == 0 && r.byDev == 0 && r.byPlat == 0
			k.anonymous = k.administrative && h.opt.AnonymousKicks
			h.kicks = append(h.kicks, k)
		}
		span := &h.devSpans[r.dev]
		span.sessTo = int32(len(h.sessions))
		span.pendTo = int32(len(h.pendingLogins))
	}
	if current >= 0 {
		h.endAtRunEnd(current)
	}
	h.nObserved = len(h.sessions)
	// The user's mode: sequence numbers on every observed session (or
	// Options.Mode) make it sequence mode.
	allSeq := true
	for i := range h.sessions {
		if h.sessions[i].seq == 0 {
			allSeq = false
			break
		}
	}
	switch h.opt.Mode {
	case Sequence:
		h.sequenceMode, h.orderBySeq = true, allSeq
	case Search:
		h.sequenceMode, h.orderBySeq = false, false
	default:
		h.sequenceMode, h.orderBySeq = allSeq, allSeq
	}
	h.seqOrder = h.seqOrder[:0]
	if h.sequenceMode {
		for i := range h.sessions {
			if h.sessions[i].seq > 0 {
				h.seqOrder = append(h.seqOrder, int32(i))
			}
		}
		slices.SortFunc(h.seqOrder, func(x, y int32) int {
			if c := cmp.Compare(h.sessions[x].seq, h.sessions[y].seq); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
	}
}

// addSat is t+d, or never when that would pass it.
func addSat(t, d int64) int64 {
	if t > never-d {
		return never
	}
	return t + d
}

// sentAt is when the operation of record r was sent: its start, unless
// missing or after its end.
func (h *userHistory) sentAt(r *record) int64 {
	if r.start != 0 && r.start <= r.at {
		return r.start
	}
	return r.at
}

// newSession adds the session of login ok record ri (r), online from its
// ok, and returns it.
func (h *userHistory) newSession(ri int32, r *record) int32 {
	g := int32(len(h.gaps))
	h.sessions = append(h.sessions, session{
		rec: ri, dev: r.dev, plat: r.plat, seq: r.seq,
		sent: h.sentAt(r), okAt: r.at, latestProcessed: r.at,
		onlineUntil: never, firstGap: g, endGap: g,
		removalFrom: never, removalTo: never, stoppedListening: never, connStopped: never,
	})
	return int32(len(h.sessions) - 1)
}

// devSession returns the session with sequence seq of device dev, whose
// sessions build is making, or -1.
func (h *userHistory) devSession(dev uint16, seq uint64) int32 {
	for s := h.devSpans[dev].sessFrom; s < int32(len(h.sessions)); s++ {
		if h.sessions[s].seq == seq {
			return s
		}
	}
	return -1
}

// inOpenGap reports whether session s's device is disconnected and has not
// (yet) resumed.
func (h *userHistory) inOpenGap(s int32) bool {
	ss := &h.sessions[s]
	return ss.endGap > ss.firstGap && h.gaps[ss.endGap-1].to == never
}

// endSession ends the device view of session s at t (or at the start of an
// open gap), as how says, and makes its device stop listening then.
func (h *userHistory) endSession(s int32, t int64, how endKind) {
	ss := &h.sessions[s]
	if h.inOpenGap(s) {
		g := h.gaps[ss.endGap-1].from
		t = min(t, g)
	}
	ss.onlineUntil, ss.endedBy = t, how
	ss.stoppedListening = min(ss.stoppedListening, t)
}

// endAtRunEnd ends session s, still open when its device's records end, at
// the end of the run.
func (h *userHistory) endAtRunEnd(s int32) {
	ss := &h.sessions[s]
	if h.inOpenGap(s) {
		ss.disconnectedAtEnd = true
		ss.stoppedListening = min(ss.stoppedListening, h.gaps[ss.endGap-1].from)
	}
	ss.onlineUntil, ss.endedBy = max(h.end, ss.okAt), endRunEnd
}

// attachKicks is the second pass: each kick gets its victim session and its
// displacing login; timed-out logins that kicks name become inferred logins.
func (h *userHistory) attachKicks() {
	slices.SortFunc(h.kicks, func(x, y kick) int {
		if c := cmp.Compare(x.arrived, y.arrived); c != 0 {
			return c
		}
		return cmp.Compare(x.rec, y.rec)
	})
	recs := h.u.recs
	h.kickCands = h.kickCands[:0]
	if !h.sequenceMode {
		h.racingStopped()
	}
	for i := range h.kicks {
		k := &h.kicks[i]
		r := &recs[k.rec]
		k.victim = h.victimOf(r)
		if k.anonymous {
			if h.sequenceMode {
				k.anonymous = false // sequence mode replays given orders; unnamed stays administrative
			} else {
				k.administrative = false
			}
		}
		if !k.administrative && !k.anonymous {
			k.displacer = h.displacerOf(r)
			if !h.sequenceMode && k.displacer >= 0 && r.byDev > 0 {
				k.altDisplacer = h.earlierSender(k.displacer, k.arrived)
			}
		}
		if !h.sequenceMode && !k.administrative {
			h.setKickCands(k)
		}
	}
	for i := range h.kicks {
		k := &h.kicks[i]
		if k.displacer >= 0 && k.altDisplacer < 0 {
			s := &h.sessions[k.displacer]
			s.latestProcessed = max(min(s.latestProcessed, k.arrived), s.sent)
		}
		// Of the racing sessions the kick may have ended, the device's
		// own view takes the earliest answered not yet kicked: the
		// session the device goes on with (answered last) is kicked last.
		for _, s := range h.kickCands[k.candFrom:k.candTo] {
			if !h.sessions[s].kicked && !h.sessions[s].inferred {
				k.victim = s
				break
			}
		}
		if k.victim < 0 {
			continue
		}
		s := &h.sessions[k.victim]
		s.kicked = true
		if s.toldAt == 0 || k.arrived < s.toldAt {
			s.toldAt = k.arrived
		}
		if k.displacer >= 0 && s.kickedBy == 0 {
			s.kickedBy = k.displacer + 1
		}
		if s.inferred {
			s.latestProcessed = max(min(s.latestProcessed, k.arrived), s.sent)
			continue
		}
		if k.arrived < s.onlineUntil || s.endedBy == endRunEnd {
			// Told by a kick: it listened until then, and what it did
			// after (a new login) does not excuse a notice missing from
			// another login.
			s.onlineUntil, s.endedBy = k.arrived, endKicked
			s.disconnectedAtEnd = false
			s.stoppedListening = never
		}
		if k.administrative && s.removalFrom == never {
			s.removalFrom, s.removalTo = min(s.latestProcessed, k.arrived), k.arrived
		}
		if k.administrative {
			s.endedByTarget = true
		}
	}
}

// racingStopped (search mode) sets when racing sessions stopped listening:
// a racing session's connection listened after its device moved on, until
// the device dropped it, which it reports as an app kill when the
// connection was still online then (an extra connection of a storm, dropped
// once every login answered; the device cannot say which), or until the
// session stopped listening on its own.
func (h *userHistory) racingStopped() {
	for i := range h.sessions {
		s := &h.sessions[i]
		if !s.racing {
			continue
		}
		d := s.connStopped
		for ri := range h.u.recs {
			if r := &h.u.recs[ri]; r.kind == event.AppKill && r.dev == s.dev && r.at >= s.okAt && r.at < d {
				d = r.at
			}
		}
		s.stoppedListening = d
	}
}

// setKickCands (search mode) sets the sessions kick k may have ended: when
// the device's latest login sent before the notice raced others of the
// device (a login storm over several connections, one session each), any
// session of those racing logins sent before the notice, and the victim
// found (which may be a login that timed out); otherwise none (the victim
// only).
func (h *userHistory) setKickCands(k *kick) {
	k.candFrom, k.candTo = int32(len(h.kickCands)), int32(len(h.kickCands))
	if int(k.dev) >= len(h.devSpans) {
		return
	}
	span := h.devSpans[k.dev]
	base, bestSent := int32(-1), int64(math.MinInt64)
	for s := span.sessFrom; s < span.sessTo; s++ {
		if st := h.sessions[s].sent; st < k.arrived && st >= bestSent {
			base, bestSent = s, st
		}
	}
	if base < 0 {
		return
	}
	lo, hi := base, base+1
	for lo > span.sessFrom && h.sessions[lo-1].racing {
		lo--
	}
	for hi < span.sessTo && h.sessions[hi-1].racing {
		hi++
	}
	if hi-lo < 2 {
		return
	}
	own := false
	for s := lo; s < hi; s++ {
		if h.sessions[s].sent < k.arrived {
			h.kickCands = append(h.kickCands, s)
			own = own || s == k.victim
		}
	}
	if !own && k.victim >= 0 {
		h.kickCands = append(h.kickCands, k.victim)
	}
	k.candTo = int32(len(h.kickCands))
}

// sessionBySeq returns the session with sequence seq (device dev, or any
// device when dev < 0), or -1.
func (h *userHistory) sessionBySeq(seq uint64, dev int) int32 {
	i := sort.Search(len(h.seqOrder), func(i int) bool { return h.sessions[h.seqOrder[i]].seq >= seq })
	for ; i < len(h.seqOrder) && h.sessions[h.seqOrder[i]].seq == seq; i++ {
		if s := h.seqOrder[i]; dev < 0 || int(h.sessions[s].dev) == dev {
			return s
		}
	}
	for s := h.nObserved; s < len(h.sessions); s++ { // inferred, not indexed
		if ss := &h.sessions[s]; ss.inferred && ss.seq == seq && (dev < 0 || int(ss.dev) == dev) {
			return int32(s)
		}
	}
	return -1
}

// latestLogin returns the session, or (when orPending) the login that got
// no answer, of dev sent last before t; such a login becomes an inferred
// session with sequence seq.
func (h *userHistory) latestLogin(dev uint16, t int64, orPending bool, seq uint64) int32 {
	if int(dev) >= len(h.devSpans) {
		return -1
	}
	span := h.devSpans[dev]
	best, bestSent := int32(-1), int64(math.MinInt64)
	for s := span.sessFrom; s < span.sessTo; s++ {
		if st := h.sessions[s].sent; st < t && st >= bestSent {
			best, bestSent = s, st
		}
	}
	for s := h.nObserved; s < len(h.sessions); s++ {
		if ss := &h.sessions[s]; ss.dev == dev && ss.sent < t && ss.sent >= bestSent {
			best, bestSent = int32(s), ss.sent
		}
	}
	if !orPending {
		return best
	}
	bestPending := int32(-1)
	for p := span.pendFrom; p < span.pendTo; p++ {
		if pp := &h.pendingLogins[p]; pp.inferredAs < 0 && pp.sent < t && pp.sent > bestSent {
			bestPending, bestSent = p, pp.sent
		}
	}
	if bestPending < 0 && seq != 0 && best >= 0 && h.sessions[best].seq != 0 && h.sessions[best].seq != seq {
		// The latest login already carries another sequence (one of a
		// storm's racing logins, answered or inferred): an earlier login
		// without an answer may have been processed later, as seq.
		for p := span.pendFrom; p < span.pendTo; p++ {
			if pp := &h.pendingLogins[p]; pp.inferredAs < 0 && pp.sent < t && (bestPending < 0 || pp.sent > h.pendingLogins[bestPending].sent) {
				bestPending = p
			}
		}
	}
	if bestPending >= 0 {
		return h.inferLogin(bestPending, seq)
	}
	return best
}

// addPending adds login record ri (r), which got no answer on its device,
// to the pending logins.
func (h *userHistory) addPending(ri int32, r *record) {
	h.pendingLogins = append(h.pendingLogins, pending{rec: ri, dev: r.dev, sent: h.sentAt(r), gaveUpAt: r.at, inferredAs: -1})
}

// inferLogin makes pending login p an inferred session with sequence seq
// (0: none) and returns it.
func (h *userHistory) inferLogin(p int32, seq uint64) int32 {
	pp := &h.pendingLogins[p]
	r := &h.u.recs[pp.rec]
	h.sessions = append(h.sessions, session{
		rec: pp.rec, dev: pp.dev, plat: r.plat, seq: seq,
		sent: pp.sent, okAt: 0, latestProcessed: never,
		onlineUntil: pp.sent, endedBy: endRelogin,
		firstGap: int32(len(h.gaps)), endGap: int32(len(h.gaps)),
		removalFrom: never, removalTo: never, stoppedListening: pp.gaveUpAt, inferred: true,
	})
	pp.inferredAs = int32(len(h.sessions) - 1)
	return pp.inferredAs
}

// victimOf returns the session kick record r ended: by its sequence in
// sequence mode, else the device's latest login before the notice (which
// may be one that got no answer, then inferred); -1: none.
func (h *userHistory) victimOf(r *record) int32 {
	if h.sequenceMode && r.seq > 0 {
		if s := h.sessionBySeq(r.seq, int(r.dev)); s >= 0 {
			return s
		}
		if s := h.latestLogin(r.dev, r.at, true, r.seq); s >= 0 && h.sessions[s].inferred {
			return s
		}
	}
	return h.latestLogin(r.dev, r.at, !h.sequenceMode || r.seq == 0, 0)
}

// displacerOf returns the login that kick record r names as its displacer:
// by sequence in sequence mode, else the named instance's latest login
// before the notice (maybe inferred), else the named platform's; -1: none
// found.
func (h *userHistory) displacerOf(r *record) int32 {
	if h.sequenceMode && r.bySeq > 0 {
		if s := h.sessionBySeq(r.bySeq, -1); s >= 0 {
			return s
		}
		if r.byDev > 0 {
			if s := h.latestLogin(r.byDev-1, r.at, true, r.bySeq); s >= 0 && h.sessions[s].inferred && h.sessions[s].seq == r.bySeq {
				return s
			}
		}
		return -1
	}
	if r.byDev > 0 {
		return h.latestLogin(r.byDev-1, r.at, true, 0)
	}
	if r.byPlat > 0 {
		best, bestSent := int32(-1), int64(math.MinInt64)
		for s := range h.sessions {
			ss := &h.sessions[s]
			if ss.plat != r.byPlat || ss.sent >= r.at || ss.sent < bestSent {
				continue
			}
			if ss.dev == r.dev && !h.pol.ReplaceSameInstance {
				continue
			}
			best, bestSent = int32(s), ss.sent
		}
		return best
	}
	return -1
}

// earlierSender returns the login of the same device before login s that may
// have sent a kick arriving at t without being late, or -1.
func (h *userHistory) earlierSender(s int32, t int64) int32 {
	ss := &h.sessions[s]
	span := h.devSpans[ss.dev]
	best := int32(-1)
	for o := span.sessFrom; o < span.sessTo; o++ {
		if o != s && h.sessions[o].sent < ss.sent && (best < 0 || h.sessions[o].sent > h.sessions[best].sent) {
			best = o
		}
	}
	if best >= 0 && h.sessions[best].okAt >= t-int64(h.opt.LateAfter) {
		return best
	}
	return -1
}

// orderLogins puts the logins in model order and groups kicks by their
// displacing login.
func (h *userHistory) orderLogins() {
	h.modelOrder = h.modelOrder[:0]
	for i := range h.sessions {
		h.modelOrder = append(h.modelOrder, int32(i))
	}
	slices.SortFunc(h.modelOrder, func(x, y int32) int {
		sx, sy := &h.sessions[x], &h.sessions[y]
		if h.orderBySeq {
			if c := cmp.Compare(sx.seq, sy.seq); c != 0 {
				return c
			}
		} else if c := cmp.Compare(sx.settledAt(), sy.settledAt()); c != 0 {
			return c
		}
		if c := cmp.Compare(sx.sent, sy.sent); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	n := len(h.sessions)
	h.modelSeqs = slices.Grow(h.modelSeqs[:0], n)[:n]
	for pos, s := range h.modelOrder {
		h.modelSeqs[s] = uint64(pos + 1)
		if h.orderBySeq {
			h.modelSeqs[s] = h.sessions[s].seq
		}
	}
	if cap(h.kicksByLoginAt) < n+1 {
		h.kicksByLoginAt = make([]int32, n+1)
	}
	h.kicksByLoginAt = h.kicksByLoginAt[:n+1]
	clear(h.kicksByLoginAt)
	for i := range h.kicks {
		if b := h.kicks[i].displacer; b >= 0 {
			h.kicksByLoginAt[b+1]++
		}
	}
	for i := 1; i <= n; i++ {
		h.kicksByLoginAt[i] += h.kicksByLoginAt[i-1]
	}
	h.kicksByLogin = slices.Grow(h.kicksByLogin[:0], int(h.kicksByLoginAt[n]))[:h.kicksByLoginAt[n]]
	fill := h.recOrder[:0]
	fill = append(fill, h.kicksByLoginAt[:n]...)
	for i := range h.kicks {
		if b := h.kicks[i].displacer; b >= 0 {
			h.kicksByLogin[fill[b]] = int32(i)
			fill[b]++
		}
	}
	h.recOrder = fill
}

// kicksOf returns the kicks attributed to login s.
func (h *userHistory) kicksOf(s int32) []int32 {
	return h.kicksByLogin[h.kicksByLoginAt[s]:h.kicksByLoginAt[s+1]]
}

// modelSeq is the sequence a session has in the model: the target's, or
// its position in the order of logins.
func (h *userHistory) modelSeq(s int32) uint64 { return h.modelSeqs[s] }

// kickDue is the time by which login s's kicks must have arrived for a
// missing one not to be excused; never when the run ended first. While
// imload's own process was starved (Options.HarnessLag) a notice may wait
// that much longer to be read, so the lag is added.
func (h *userHistory) kickDue(s *session) int64 {
	ref := s.okAt
	if ref == 0 {
		ref = s.latestProcessed
	}
	d := addSat(ref, int64(h.opt.LateAfter))
	if h.opt.HarnessLag != nil {
		d = addSat(d, int64(h.opt.HarnessLag(time.Unix(0, ref), time.Unix(0, min(d, h.end)))))
	}
	if d > h.end {
		return never
	}
	return d
}

// listening reports whether session s's device was connected at t.
func (h *userHistory) listening(s int32, t int64) bool {
	ss := &h.sessions[s]
	if ss.inferred || ss.stoppedListening <= t {
		return false
	}
	for _, g := range h.gaps[ss.firstGap:ss.endGap] {
		if g.from <= t && t < g.to {
			return false
		}
	}
	return true
}

// kickedDev reports whether one of the kicks loginKicks went to device dev.
func (h *userHistory) kickedDev(loginKicks []int32, dev uint16) bool {
	for _, k := range loginKicks {
		if h.kicks[k].dev == dev {
			return true
		}
	}
	return false
}

// instance is session s as the policy sees it, with sequence seq.
func (h *userHistory) instance(s int32, seq uint64) policy.Instance {
	ss := &h.sessions[s]
	return policy.Instance{ID: h.u.devs[ss.dev], Platform: h.u.platform(ss.plat), Seq: seq}
}
