package server

import (
	"fmt"
	"math"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// Push reasons of kicked_offline.
const (
	KickMultiDevice = "multi_device" // displaced by a newer login under the policy
	KickAdmin       = "admin_kick"   // REST kick: login state revoked
)

// StateChange is what the Status Change webhook reports: a login (with the
// devices it displaced), a logout, or a disconnect (a session removed after
// its resume window).
type StateChange struct {
	Action string // "Login", "Logout" or "Disconnect"
	Reason string // "Register" (Login), "Unregister" or "Kicked" (Logout), "TimeOut" (Disconnect)
	// Cause says how the transport of a disconnected session ended:
	// "LinkClose" (closed by the client or the network) or "TimeOut" (idle).
	Cause    string
	UserID   string
	Platform policy.Platform
	Instance string
	Seq      uint64
	ClientIP string
	At       time.Time
	Kicked   []SessionInfo // Login: the sessions it displaced
}

// OnStateChange registers fn to be called after every state change, outside
// any lock of the server, on the goroutine that made the change. fn must not
// block; register before serving.
func (s *Server) OnStateChange(fn func(StateChange)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	old := s.hooks.Load()
	var hs []func(StateChange)
	if old != nil {
		hs = append(hs, *old...)
	}
	hs = append(hs, fn)
	s.hooks.Store(&hs)
}

func (s *Server) notify(ch StateChange) {
	if hs := s.hooks.Load(); hs != nil {
		for _, fn := range *hs {
			fn(ch)
		}
	}
}

// slowLogin is the slow-login fault: it waits Faults.SlowLoginDelay for
// the logins slowPick chooses.
func (s *Server) slowLogin() {
	if !slowPick(s.slowLogins.Add(1)-1, s.cfg.Faults.SlowLoginShare) {
		return
	}
	s.ctr.faults.fire(FaultSlowLogin)
	t := s.clk.NewTimer(s.cfg.Faults.SlowLoginDelay)
	<-t.C()
}

// slowPick reports whether login n (from 0) is delayed under share (0 or
// 1: every one): the ones where floor((n+1)·share) steps up, so any run of
// logins has the share delayed, evenly spread.
func slowPick(n uint64, share float64) bool {
	if share <= 0 || share >= 1 {
		return true
	}
	return math.Floor(float64(n+1)*share) > math.Floor(float64(n)*share)
}

func (s *Server) loginFail(f *protocol.Frame, code int, msg string) protocol.Frame {
	s.ctr.loginFail.add(code)
	return protocol.Frame{Op: protocol.OpLoginResult, ID: f.ID, Code: code, Message: msg, ServerTimeMs: s.clk.Now().UnixMilli()}
}

// Login logs the connection in as f.UserID with ticket f.UserSig. Platform
// and instance come from the frame or else from hello. On success the
// policy's victims are kicked: each gets kicked_offline and is closed.
func (c *Conn) Login(f *protocol.Frame) protocol.Frame {
	s := c.s
	if !c.op.TryLock() {
		return s.loginFail(f, codes.InProgress, "a login, logout or resume is already in progress on this connection")
	}
	defer c.op.Unlock()
	c.Touch()
	if s.cfg.Faults.SlowLogin {
		s.slowLogin()
	}
	s.workers.serve()
	if !c.helloDone.Load() {
		return s.loginFail(f, codes.NotInitialised, "hello first")
	}
	if c.closed.Load() {
		return s.loginFail(f, codes.NotLoggedIn, "connection is closed")
	}
	platName, inst := f.Platform, f.Instance
	if platName == "" {
		platName = c.platform
	}
	if inst == "" {
		inst = c.instance
	}
	plat, err := wirePlatform(platName)
	if err != nil {
		return s.loginFail(f, codes.InvalidParam, "login: "+err.Error())
	}
	if msg := checkUserID(f.UserID); msg != "" {
		return s.loginFail(f, codes.InvalidUserID, msg)
	}
	if c.sdkappid != s.cfg.SDKAppID {
		return s.loginFail(f, codes.AppNotFound, fmt.Sprintf("SDKAppID %d is not served here", c.sdkappid))
	}
	now := s.clk.Now()
	if code, msg := s.admitLogin(f.UserID, now); code != 0 {
		return s.loginFail(f, code, msg)
	}
	rec := s.reg.get(f.UserID, true)

	// One app instance holds one account: a login as someone else, or as
	// another instance (platform and instance id), first logs the current
	// session out.
	if cur := c.sess; cur != nil && (cur.rec != rec || cur.platform != plat || cur.instance != inst) {
		s.logoutSession(c, cur, true)
		c.sess = nil
	}

	if s.cfg.FailureLimit > 0 {
		rec.mu.Lock()
		st := rec.fails[c.ip]
		blocked := st != nil && now.Before(st.blockedUntil)
		rec.mu.Unlock()
		if blocked {
			return s.loginFail(f, codes.SigRateLimited, "too many ticket failures from this address: retry after a minute")
		}
	}

	facts, code, msg := s.verify(f.UserSig, f.UserID, now)
	if code != 0 {
		if countsAsFailure(code) && s.cfg.FailureLimit > 0 {
			s.noteFailure(rec, c.ip, now)
		}
		return s.loginFail(f, code, msg)
	}
	sigExp := time.Unix(facts.issued+facts.expire, 0)

	rec.mu.Lock()
	if rec.invalidBefore != 0 && facts.issued <= rec.invalidBefore {
		rec.mu.Unlock()
		return s.loginFail(f, codes.SigInvalidated, "ticket was issued before the user's login state was revoked: make a new one")
	}
	if c.closed.Load() {
		rec.mu.Unlock()
		return s.loginFail(f, codes.NotLoggedIn, "connection is closed")
	}
	if len(rec.gone) > 0 || len(rec.fails) > 0 || len(rec.ghosts) > 0 {
		rec.prune(now, s.cfg.FailureWindow)
	}

	// Repeat login: this instance already has a live session (on this
	// connection, or on an older one, or detached). It keeps its sequence
	// number and displaces nothing, unless the policy replaces same-instance
	// logins.
	if !s.cfg.Policy.ReplaceSameInstance {
		for _, x := range rec.sessions {
			if x.instance != inst || x.platform != plat {
				continue
			}
			if x.conn != nil && x.conn != c {
				old := x.conn
				old.hangup("the instance logged in on a newer connection", ReasonReplaced)
			}
			if x.state == sessDetached {
				x.endTask.cancel()
				x.endTask = nil
			}
			x.conn = c
			s.setState(x, sessOnline)
			s.armSig(x, sigExp, now)
			c.sess = x
			s.countLogin(rec, now, true)
			res := protocol.Frame{Op: protocol.OpLoginResult, ID: f.ID, ServerTimeMs: now.UnixMilli(), Seq: x.seq,
				ResumeToken: x.token, RepeatLogin: true, SigExpireAtMs: sigExp.UnixMilli()}
			rec.mu.Unlock()
			return res
		}
	}

	x := &session{rec: rec, platform: plat, instance: inst, seq: rec.seq + 1, token: newToken(rec.id),
		ip: c.ip, loginAt: now, conn: c}
	victims, refused := s.displace(rec, x)
	if refused {
		rec.mu.Unlock()
		return s.loginFail(f, codes.LoginRefused, "login refused: it conflicts with the user's sessions online (log out elsewhere first)")
	}
	if len(victims) > 0 {
		s.slots.hand()
	} else if !s.slots.take() {
		rec.mu.Unlock()
		return s.loginFail(f, codes.ServerFull, fmt.Sprintf("login refused: the server holds its most sessions (%d); retry later", s.cfg.Service.MaxSessions))
	}
	rec.seq++
	var kicked []SessionInfo
	for _, v := range victims {
		kicked = append(kicked, v.info())
		s.kick(v, x, KickMultiDevice, now)
	}
	rec.sessions = append(rec.sessions, x)
	s.setState(x, sessOnline)
	s.armSig(x, sigExp, now)
	c.sess = x
	s.countLogin(rec, now, false)
	res := protocol.Frame{Op: protocol.OpLoginResult, ID: f.ID, ServerTimeMs: now.UnixMilli(), Seq: x.seq,
		ResumeToken: x.token, SigExpireAtMs: sigExp.UnixMilli()}
	rec.mu.Unlock()
	s.notify(StateChange{Action: "Login", Reason: "Register", UserID: rec.id, Platform: plat, Instance: inst,
		Seq: x.seq, ClientIP: c.ip, At: now, Kicked: kicked})
	return res
}

func (s *Server) noteFailure(rec *userRecord, ip string, now time.Time) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.fails == nil {
		rec.fails = map[string]*failState{}
	}
	st := rec.fails[ip]
	if st == nil || now.Sub(st.start) > s.cfg.FailureWindow {
		st = &failState{start: now}
		rec.fails[ip] = st
	}
	st.count++
	if st.count > s.cfg.FailureLimit {
		st.blockedUntil = now.Add(s.cfg.FailureBlock)
		st.start, st.count = now, 0
	}
}

// displace picks the sessions that the login x pushes out, or says that the
// login is refused (the policy's on_conflict refuse_new, or the fault
// refuse-new-login, when it would push anyone out), applying the faults that
// change the choice. rec.mu is held.
func (s *Server) displace(rec *userRecord, x *session) (victims []*session, refused bool) {
	if len(rec.sessions) == 0 {
		return nil, false
	}
	online := make([]policy.Instance, len(rec.sessions))
	for i, y := range rec.sessions {
		online[i] = y.instanceOf()
	}
	out, refused := s.cfg.Policy.Admit(online, x.instanceOf())
	if s.cfg.Faults.LimitNotEnforced {
		if refused || len(out) > 0 {
			s.ctr.faults.fire(FaultLimitNotEnforced)
		}
		return nil, false
	}
	if !refused && len(out) > 0 && s.cfg.Faults.RefuseNewLogin {
		s.ctr.faults.fire(FaultRefuseNewLogin)
		return nil, true
	}
	if refused {
		return nil, true
	}
	if len(out) == 0 {
		return nil, false
	}
	bySeq := func(seq uint64) *session {
		for _, y := range rec.sessions {
			if y.seq == seq {
				return y
			}
		}
		return nil
	}
	victims = make([]*session, 0, len(out))
	if !s.cfg.Faults.WrongVictim {
		for _, in := range out {
			if y := bySeq(in.Seq); y != nil {
				victims = append(victims, y)
			}
		}
		return victims, false
	}
	// Fault: for each victim take the newest instance of its platform that
	// is not already chosen. It fires when that is not the policy's victim.
	s.ctr.faults.displacements.Add(1)
	chosen := map[*session]bool{}
	for _, in := range out {
		var pick *session
		for _, y := range rec.sessions {
			if y.platform == in.Platform && !chosen[y] && (pick == nil || y.seq > pick.seq) {
				pick = y
			}
		}
		if pick != nil {
			chosen[pick] = true
			victims = append(victims, pick)
			if pick.seq != in.Seq {
				s.ctr.faults.fire(FaultWrongVictim)
			}
		}
	}
	return victims, false
}

// kick ends session v, displaced by x (nil for an admin kick), and tells
// its connection. rec.mu is held.
func (s *Server) kick(v, by *session, reason string, now time.Time) {
	rec := v.rec
	conn := v.conn
	s.end(v)
	if reason == KickAdmin {
		s.ctr.adminKicks.Add(1)
	} else {
		s.ctr.kicks.Add(1)
	}
	if s.cfg.ResumeWindow > 0 {
		if rec.gone == nil {
			rec.gone = map[string]time.Time{}
		}
		rec.gone[v.token] = now.Add(s.cfg.ResumeWindow)
	}
	if conn == nil {
		if reason == KickMultiDevice {
			s.ctr.faults.kicksDetached.Add(1)
		}
		return // transport down: its resume will answer 6208
	}
	push := &protocol.Frame{Op: protocol.OpKickedOffline, Seq: v.seq, Reason: reason, ServerTimeMs: now.UnixMilli()}
	if by != nil {
		push.ByPlatform, push.ByInstance, push.BySeq = string(by.platform), by.instance, by.seq
	}
	if reason == KickMultiDevice {
		switch {
		case s.cfg.Faults.KickNotDelivered:
			s.ctr.faults.fire(FaultKickNotDelivered)
			return
		case s.cfg.Faults.LateKick:
			s.ctr.faults.fire(FaultLateKick)
			s.sched.at(rec.hash, now.Add(s.cfg.Faults.LateKickDelay), func() {
				conn.push(push) // server_time_ms stays when the session ended
				conn.hangup("kicked offline", ReasonKicked)
			})
			return
		}
	}
	conn.push(push)
	conn.hangup("kicked offline", ReasonKicked)
}

// end removes a session from the registry. rec.mu is held.
func (s *Server) end(x *session) {
	if x.state == sessEnded {
		return
	}
	x.sigTask.cancel()
	x.endTask.cancel()
	x.sigTask, x.endTask = nil, nil
	x.rec.remove(x)
	if s.cfg.Faults.StaleOnlineStatus {
		s.ctr.faults.ghosts.Add(1)
		x.rec.ghosts = append(x.rec.ghosts, ghost{info: x.info(), until: s.clk.Now().Add(s.cfg.Faults.StaleFor)})
	}
	x.conn = nil
	s.setState(x, sessEnded)
}

// setState moves a session between states, keeping the gauges. rec.mu is
// held.
func (s *Server) setState(x *session, st sessState) {
	old := x.state
	if old == st {
		return
	}
	if old == sessOnline {
		s.ctr.connected.Add(-1)
	}
	if st == sessOnline {
		s.ctr.connected.Add(1)
	}
	if old == 0 {
		n := s.ctr.sessions.Add(1)
		s.ledger.row(s.clk.Now(), n).noteOnline(n)
	}
	if st == sessEnded {
		s.ctr.sessions.Add(-1)
		s.slots.give()
	}
	x.state = st
}

// countLogin counts a successful login for the day, DAU and MAU. rec.mu is
// held.
func (s *Server) countLogin(rec *userRecord, now time.Time, repeat bool) {
	s.ctr.loginOK.Add(1)
	if repeat {
		s.ctr.repeat.Add(1)
	}
	row := s.ledger.row(now, s.ctr.sessions.Load())
	row.logins.Add(1)
	if !rec.counted || rec.lastDay != row.day {
		row.users.Add(1)
	}
	if !rec.counted || rec.lastMonth != row.monthIndex {
		row.month.mau.Add(1)
	}
	rec.counted, rec.lastDay, rec.lastMonth = true, row.day, row.monthIndex
}

// armSig schedules the user_sig_expired notice of x's ticket. rec.mu is held.
func (s *Server) armSig(x *session, sigExp, now time.Time) {
	x.sigTask.cancel()
	x.sigTask = nil
	x.sigExp = sigExp
	x.sigDue = false
	due := sigExp.Add(time.Second) // the first instant usersig.Verify answers 70001
	if s.cfg.Faults.AcceptExpired && !now.Before(due) {
		s.ctr.faults.fire(FaultAcceptExpired)
		return // fault: an expired ticket was taken as valid; no notice
	}
	x.sigTask = s.sched.at(x.rec.hash, due, func() { s.sigExpired(x) })
}

func (s *Server) sigExpired(x *session) {
	rec := x.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()
	x.sigTask = nil
	switch x.state {
	case sessOnline:
		s.ctr.sigExpired.Add(1)
		x.conn.push(&protocol.Frame{Op: protocol.OpUserSigExpired, Seq: x.seq, SigExpireAtMs: x.sigExp.UnixMilli(),
			ServerTimeMs: s.clk.Now().UnixMilli()})
	case sessDetached:
		x.sigDue = true // told on resume
	}
}

// logoutSession ends the connection's session by a logout (explicit or by an
// account switch).
func (s *Server) logoutSession(c *Conn, x *session, implicit bool) bool {
	rec := x.rec
	rec.mu.Lock()
	if x.state == sessEnded {
		rec.mu.Unlock()
		return false
	}
	s.end(x)
	rec.mu.Unlock()
	s.ctr.logouts.Add(1)
	if implicit {
		s.ctr.switches.Add(1)
	}
	s.notify(StateChange{Action: "Logout", Reason: "Unregister", UserID: rec.id, Platform: x.platform,
		Instance: x.instance, Seq: x.seq, ClientIP: c.ip, At: s.clk.Now()})
	return true
}

// Logout ends the connection's session. The answer is 6014 when there is
// none (never logged in, logged out, or kicked).
func (c *Conn) Logout(f *protocol.Frame) protocol.Frame {
	s := c.s
	res := protocol.Frame{Op: protocol.OpLogoutResult, ID: f.ID}
	if !c.op.TryLock() {
		res.Code, res.Message = codes.InProgress, "a login, logout or resume is already in progress on this connection"
		return res
	}
	defer c.op.Unlock()
	c.Touch()
	res.ServerTimeMs = s.clk.Now().UnixMilli()
	x := c.sess
	c.sess = nil
	if x == nil || !s.logoutSession(c, x, false) {
		res.Code, res.Message = codes.NotLoggedIn, "not logged in"
	}
	return res
}

func (s *Server) resumeFail(f *protocol.Frame, code int, msg string) protocol.Frame {
	s.ctr.resumeFail.add(code)
	return protocol.Frame{Op: protocol.OpResumeResult, ID: f.ID, Code: code, Message: msg, ServerTimeMs: s.clk.Now().UnixMilli()}
}

// Resume re-attaches a session whose transport dropped, on this connection,
// without a new login: 1006 when the token is unknown or the session is
// gone, 6208 when it was kicked meanwhile.
func (c *Conn) Resume(f *protocol.Frame) protocol.Frame {
	s := c.s
	if !c.op.TryLock() {
		return s.resumeFail(f, codes.InProgress, "a login, logout or resume is already in progress on this connection")
	}
	defer c.op.Unlock()
	c.Touch()
	if c.closed.Load() {
		return s.resumeFail(f, codes.NotLoggedIn, "connection is closed")
	}
	if cur := c.sess; cur != nil {
		cur.rec.mu.Lock()
		live := cur.state != sessEnded
		cur.rec.mu.Unlock()
		if live {
			return s.resumeFail(f, codes.InvalidParam, "this connection already carries a session: log out first")
		}
		c.sess = nil
	}
	uid, ok := tokenUser(f.ResumeToken)
	if !ok {
		return s.resumeFail(f, codes.ResumeFailed, "resume token is malformed")
	}
	rec := s.reg.get(uid, false)
	if rec == nil {
		return s.resumeFail(f, codes.ResumeFailed, "resume token is unknown")
	}
	now := s.clk.Now()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	x := rec.find(f.ResumeToken)
	if x == nil {
		if until, ok := rec.gone[f.ResumeToken]; ok && now.Before(until) {
			return s.resumeFail(f, codes.KickedWhileOff, "the session was kicked off by another device while disconnected")
		}
		return s.resumeFail(f, codes.ResumeFailed, "resume token is unknown or its session has ended")
	}
	// The session belongs to one instance (platform and instance id): a
	// connection whose hello named another may not take it.
	if (c.platform != "" && c.platform != string(x.platform)) || (!c.anonInst && c.instance != x.instance) {
		return s.resumeFail(f, codes.InvalidParam, fmt.Sprintf(
			"the session belongs to instance %q on %s, and this connection's hello named instance %q on %q",
			x.instance, x.platform, c.helloInstance(), c.platform))
	}
	if x.conn != nil && x.conn != c {
		x.conn.hangup("the session resumed on a newer connection", ReasonReplaced)
	}
	x.endTask.cancel()
	x.endTask = nil
	x.conn = c
	s.setState(x, sessOnline)
	c.sess = x
	c.platform, c.instance, c.anonInst = string(x.platform), x.instance, false
	s.ctr.resumes.Add(1)
	if x.sigDue {
		x.sigDue = false
		s.ctr.sigExpired.Add(1)
		c.push(&protocol.Frame{Op: protocol.OpUserSigExpired, Seq: x.seq, SigExpireAtMs: x.sigExp.UnixMilli(), ServerTimeMs: now.UnixMilli()})
	}
	return protocol.Frame{Op: protocol.OpResumeResult, ID: f.ID, ServerTimeMs: now.UnixMilli(), Seq: x.seq,
		ResumeToken: x.token, SigExpireAtMs: x.sigExp.UnixMilli()}
}

// resumeWindowEnded removes a session that was not resumed in time.
func (s *Server) resumeWindowEnded(x *session) {
	rec := x.rec
	rec.mu.Lock()
	if x.state != sessDetached {
		rec.mu.Unlock()
		return
	}
	x.endTask = nil
	s.expire(x, s.clk.Now())
	rec.mu.Unlock()
}

// expire ends a detached session for good. rec.mu is held; the webhook is
// notified without it on the scheduler.
func (s *Server) expire(x *session, now time.Time) {
	s.end(x)
	s.ctr.timedOut.Add(1)
	ch := StateChange{Action: "Disconnect", Reason: ReasonTimeOut, Cause: x.lost, UserID: x.rec.id,
		Platform: x.platform, Instance: x.instance, Seq: x.seq, ClientIP: x.ip, At: now}
	s.sched.at(x.rec.hash, now, func() { s.notify(ch) })
}

// Kick revokes a user's login state (REST im_open_login_svc/kick): every
// session ends with kicked_offline reason "admin_kick", and every ticket
// issued at or before now fails with 70052. It returns how many sessions
// ended.
func (s *Server) Kick(userID string) int {
	now := s.clk.Now()
	rec := s.reg.get(userID, true)
	rec.mu.Lock()
	rec.invalidBefore = now.Unix()
	victims := append([]*session(nil), rec.sessions...)
	infos := make([]SessionInfo, len(victims))
	for i, v := range victims {
		infos[i] = v.info()
		s.kick(v, nil, KickAdmin, now)
	}
	rec.mu.Unlock()
	for _, in := range infos {
		s.notify(StateChange{Action: "Logout", Reason: ReasonKicked, UserID: userID, Platform: in.Platform,
			Instance: in.Instance, Seq: in.Seq, At: now})
	}
	return len(victims)
}
