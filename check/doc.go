// Package check is the kickout oracle: it keeps, per user, what the
// simulated devices saw (History, an event.Sink) and proves after the run
// that every kickout the target performed is the one the multi-device login
// policy demands, or shows, with a readable timeline, the one that was wrong.
//
// For each user the oracle takes the target's order of successful logins
// and replays it through policy.Policy.Displace. When the target numbers
// logins per user (event.Event.Seq > 0 on every successful login) the order
// is given ("sequence" mode); otherwise the oracle searches for an order
// consistent with real time with github.com/anishathalye/porcupine ("search"
// mode) and reports a violation only when no order explains what the devices
// saw. Logins the target refused with a conflict or limit code are judged
// apart (wrong refusal). Verdict classes: wrong victim, missing kick,
// spurious kick, over limit, late kick, ghost session, lost session, webhook
// mismatch, wrong refusal, no order (search mode), and undecided (not a
// violation).
//
// A violation comes with a proof: a fact of the history that no admissible
// order of the logins, and no assignment of callbacks to logins, explains.
// Whatever the oracle cannot decide within its budget (the order search's
// SearchBudget, the callback matching's bound on a cluster) is undecided,
// with the reason in the example, counted and shown, and never a
// violation.
//
// # Rules the oracle applies
//
//   - A device's session is online, as the devices see it, from its login ok
//     until it sends logout, is kicked, kills the app, switches account,
//     gets user_sig_expired, fails to resume, or starts a new login; the
//     time between a disconnect and a successful resume is not online. A
//     login answered with a sequence the device already holds or held (a
//     repeat login, or racing logins of one instance over several
//     connections, answered in any order) is that session again; so is a
//     login with a new ticket after user_sig_expired that the target
//     answers with the session's sequence (the session went on).
//   - For the policy model (what the target must hold registered) a dropped
//     transport and a killed app stay online until the device logs out, is
//     displaced, is replaced by its own next login, or the run ends: the
//     target cannot tell a flap from a kill before its resume window or
//     heartbeat timeout ends. A failed resume removes the session at some
//     time between the disconnect and the failure; a logout between its send
//     and its answer (never certainly, when the logout failed); an account
//     switch between the switch and the switch plus Grace.
//   - When such a removal may have happened before or after a login, the
//     oracle takes an explanation that agrees with what devices saw: in
//     sequence mode the first assignment (most sessions still registered
//     first, removals that began earliest taken as done first) under which
//     the policy's victims are the devices kicked plus devices that could
//     not be told (and not kicked later by another login: they were still
//     registered then); in search mode the removal is an operation the
//     order search places anywhere in its window.
//   - Missing kick: the model displaces a session that never got a kick
//     naming the displacing login. It is excused when the session's device
//     had stopped listening for good (logout, app kill, account switch,
//     disconnect without successful resume, ticket expiry) by the displacing
//     login's ok time plus LateAfter, or when the run ended before that: the
//     notice could not reach it. A kick from a later login does not count.
//   - Wrong victim: a login kicked a device the model spares while a device
//     the model displaces got nothing; each such pair is one verdict, the
//     rest are missing or spurious kicks.
//   - Kick latency: from the displacement at the target to the kicked
//     device's notice, for devices connected at the displacement. The
//     displacement time is the target's: the kick's server time as the
//     device reported it (event Latency), else the displacing login's server
//     time (event.ServerTime of its Login ok). Without either the kick is
//     counted unmeasured; a notice stamped before its displacement time is
//     counted early; neither is recorded, and nothing is clamped. A notice
//     that reaches its device before the displacing login's answer reaches
//     its own is a normal race and measured like any other.
//   - Late kick: a violation when every measure the kick has exceeds
//     LateAfter: the kick latency, and the time from the displacing login's
//     answer to the notice (so a skewed target clock alone makes no kick
//     late).
//   - A kick naming no displacer at all (no by_seq, instance or platform),
//     such as an administrative (REST) kick or a resume answered 6208
//     (kicked while offline), ends the session, is counted, and is not
//     judged; except with Options.AnonymousKicks (targets such as XMPP
//     servers, whose kicks never name the displacer), where search mode
//     takes it as sent by some earlier login of the user, which the search
//     picks, and flags NoOrder when no login explains it. Such kicks are
//     not judged late.
//   - A login that timed out on the device, or failed without an answer from
//     the target (transport lost, run ended), may still have succeeded at the
//     target. When a kick names it (by sequence, or by instance in search
//     mode) or it is the victim of a kick, it is taken as a login the device
//     never saw succeed.
//   - Search mode attributes a kick to the displacing device's latest login
//     sent before the notice arrived (by ByInstance; by ByPlatform when the
//     target names no instance). When that device had logged in again
//     shortly before, its previous login (ok no longer than LateAfter before
//     the notice) may have sent it instead, and the search decides which.
//   - Search mode lets a kick end any session of the kicked device that may
//     be online when the notice arrives: its latest login sent before the
//     notice or, when that login raced others of the device (one sent
//     before another was answered: over several connections, as in a login
//     storm), any of those racing logins sent before the notice. For kicks
//     the search explains (naming no displacer, or one of two logins) the
//     search decides which session each ended, one kick per session; in
//     the devices' own view a kick ends the earliest answered racing
//     session not yet kicked, so the one the device goes on with is kicked
//     last. A racing session's connection keeps listening after its device
//     moved on, until the device drops it (an app kill after its answer) or
//     it stops on its own: a displacement of it needs a kick. Sequence mode
//     takes the victim the kick names by sequence, else the device's latest
//     login.
//   - An account switch is the implicit logout of the user left (a Logout
//     event in that user's history); a SwitchUser event closes the session
//     its device holds in the user the event names, if any.
//   - Wrong refusal: the target refused a login with a conflict or limit
//     code (Options.RefusalCodes; by default 1008, imload's
//     CodeLoginRefused) although the policy admits it. Under on_conflict
//     kick_old every such refusal is wrong: the newest login wins. Under
//     refuse_new a refusal is right when the login would displace a session
//     registered when the target processed it (between its send and its
//     answer); it is wrong only when even the largest set of instances that
//     may have been registered then admits the login: one per device whose
//     latest login sent before the answer (successful, timed out or
//     unanswered) is not certainly gone before the send (its logout or
//     failed resume answered, its switch past Grace, its kick told, or its
//     device's next login processed). A killed app or a lost transport may
//     still be registered. Refusal is monotone in that set, so this is a
//     proof; racing removals leave the refusal unjudged. Logins failed with
//     any other code (a bad ticket, a rate limit) are not judged.
//   - Under refuse_new no login displaces anyone: a kick naming a displacer
//     is spurious, a login admitted although the limit was full shows as the
//     devices' over-limit holding (past Grace) or, in search mode, as no
//     order (the order search lets a session whose device stopped listening
//     end at the target any time after, making room).
//   - Ghost session: the target's online status (SetServerOnline, taken at
//     Options.StatusAt, else at the end of the run; SetServerOnlineAt, read
//     between two times, judged at both and kept when both agree) lists an
//     instance the devices hold offline; lost session: devices hold an
//     instance online that the target does not list. Instances whose state
//     the devices cannot know then (login, logout or kick in flight, dropped
//     transport, killed app, expired ticket, login timed out; a session
//     whose device's next login is in flight, as in a login storm, which
//     the target may not have processed yet) are not judged, nor is any
//     device lost while a login of its user is in flight (its kick may be
//     on the way) or while the kick of a session the policy displaced by
//     then is on its way (told after the read, maybe as the device dropped
//     its connection at the run's cut), so statuses taken after the devices
//     were stopped judge ghosts only.
//   - Webhook mismatch: a Login callback that carries its login's sequence
//     (imload's ImloadSeq extension, see docs/PROTOCOL.md) is that login's.
//     Every session devices saw it kick (a kick naming it by by_seq) must be
//     listed; every entry listed must be a session it kicked, or one that
//     may have been registered when it was processed, was kicked by no other
//     login, and could not be told (its device had stopped listening by the
//     login's ok plus LateAfter, the run ended first, or the target ended it
//     with a kick naming no displacer). Entries are compared by sequence
//     when the callback and the kicks give them all, else by platform as
//     below. A second callback for one login is a mismatch. Callbacks
//     without a sequence are matched to the logins no callback named by
//     feasibility: a callback may explain a login when its kicked platforms
//     contain those of the kicks devices saw from it and nothing beyond
//     those plus sessions that may have been registered then and got no
//     kick from it, and its time lies within the login's window (sent .. ok)
//     widened by Grace (the target's clock may differ); a login is a
//     mismatch only when no assignment of callbacks to logins gives every
//     login one. A callback that no assignment places (or whose sequence no
//     device was answered with), and a kicked entry naming such a sequence,
//     each need a login that timed out on its device, or failed without an
//     answer, sent before it: a mismatch when too few are left. A repeat
//     login has no callback of its own. Checked, for every user, once any
//     callback was added. A cluster of overlapping login windows with more
//     than 4096 logins and callbacks without sequences is not matched: the
//     user is undecided.
//
// # Judging while the run goes on
//
// History.Settle, called periodically during a run, judges every user
// whose history has settled (quiet for SettleOptions.Quiet, every session
// ended in a way the target certainly processed, nothing still due or in
// flight, nothing the policy model still holds, no verdict) and drops that
// history, so that the oracle's memory follows the users active; Check
// merges what Settle judged into its report, which is the one Check alone
// gives for the whole history. A later event that names what was dropped
// is counted in Checks.SettleCrossings.
//
// Check must not import server, agent, driver or report: it judges any
// target from the events devices emit (package event) and the policy model
// (package policy) alone.
package check
