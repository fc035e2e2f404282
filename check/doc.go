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
// saw. Verdict classes: wrong victim, missing kick, spurious kick, over
// limit, late kick, ghost session, lost session, webhook mismatch, no order
// (search mode), and undecided (search budget spent; not a violation).
//
// # Rules the oracle applies
//
//   - A device's session is online, as the devices see it, from its login ok
//     until it sends logout, is kicked, kills the app, switches account,
//     gets user_sig_expired, fails to resume, or starts a new login; the
//     time between a disconnect and a successful resume is not online.
//   - For the policy model (what the target must hold registered) a dropped
//     transport and a killed app stay online until the device logs out, is
//     displaced, is replaced by its own next login, or the run ends: the
//     target cannot tell a flap from a kill before its resume window or
//     heartbeat timeout ends. A failed resume removes the session at some
//     time between the disconnect and the failure; a logout between its send
//     and its answer (never certainly, when the logout failed); an account
//     switch between the switch and the switch plus Grace.
//   - When such a removal may have happened before or after a login, the
//     oracle takes the explanation that agrees with what devices saw: the
//     session was still registered if and only if that login kicked it.
//   - Missing kick: the model displaces a session that never got a kick
//     naming the displacing login. It is excused when the session's device
//     had stopped listening for good (logout, app kill, account switch,
//     disconnect without successful resume, ticket expiry) by the displacing
//     login's ok time plus LateAfter, or when the run ended before that: the
//     notice could not reach it. A kick from a later login does not count.
//   - Wrong victim: a login kicked a device the model spares while a device
//     the model displaces got nothing; each such pair is one verdict, the
//     rest are missing or spurious kicks.
//   - Late kick: notice time minus the displacing login's ok time (or the
//     device-reported latency when the login's ok is unknown), recorded in
//     an HDR histogram for devices that were connected when the login
//     succeeded; above LateAfter it is a violation.
//   - A kick naming no displacer at all (no by_seq, instance or platform) is
//     an administrative kick (REST kick): it ends the session, is counted,
//     and is not judged.
//   - A login that timed out on the device may still have succeeded at the
//     target. When a kick names it (by sequence, or by instance in search
//     mode) or it is the victim of a kick, it is taken as a login the device
//     never saw succeed.
//   - account switch: the SwitchUser event must carry the user being left.
//   - Ghost session: the target's end-of-run status lists an instance the
//     devices hold offline; lost session: devices hold an instance online
//     that the target does not list. Instances whose state the devices cannot
//     know (killed app, dropped transport at the end, failed logout, ticket
//     expired, login timed out) are not judged.
//   - Webhook mismatch: a Login callback's kicked platforms must contain the
//     platforms of the kicks devices saw for that login and nothing beyond
//     those plus the victims that could not be told; callbacks are matched
//     to logins by time. Checked only when callbacks were added.
//
// Check must not import server, agent, driver or report: it judges any
// target from the events devices emit (package event) and the policy model
// (package policy) alone.
package check
