// Package xmpp is the driver for XMPP servers over WebSocket (RFC 7395), so
// that imload drives and checks a real third-party login service such as
// ejabberd with the same scenarios, metrics and oracle as its own server.
//
// A device maps onto XMPP as follows:
//
//   - Connect opens a WebSocket with subprotocol "xmpp", sends <open/> and
//     reads the stream features.
//   - Login authenticates with SASL (SCRAM-SHA-1 preferred, then
//     SCRAM-SHA-256, then PLAIN: the first the server offers), with
//     LoginRequest.UserSig as the password (PasswordTickets derives one per
//     user), restarts the stream, binds the device's resource (by default
//     "<platform>-<instance>") and establishes the session when the server
//     requires it. The user's JID is UserID@domain (a UserID holding @ names
//     its own domain). With Config.Register, a not-authorized user is
//     created by in-band registration (XEP-0077) and authenticated again.
//   - Logout sends <close/> and waits until the server has closed the
//     WebSocket; the next Login on the same Conn opens a new one (an
//     account switch is a logout plus a login).
//   - Ping is an XEP-0199 ping to the server. Resume answers 1006: there is
//     no stream management (XEP-0198), so a dropped device logs in again.
//   - Close drops the TCP connection without <close/> (app kill, network
//     loss).
//   - A <stream:error/> with conflict (a login with the same resource, or
//     one beyond the server's session limit, replaced this session),
//     policy-violation (an administrative kick) or not-authorized becomes a
//     PushKicked whose Reason is the condition, followed by PushClosed. XMPP
//     names neither the displacing session nor a login sequence (Seq 0), so
//     the oracle searches for the order of logins and attributes such kicks
//     itself.
//
// Refusals are login codes (LoginResult.Code), as SPEC.md section 5 names
// them:
//
//	SASL not-authorized (wrong password, unknown user), other conditions  70009
//	SASL account-disabled                                                 70051
//	SASL credentials-expired                                              70001
//	SASL temporary-auth-failure                                           70050
//	SASL malformed-request, incorrect-encoding, invalid-authzid           70003
//	empty password                                                        70002
//	UserID not valid as an XMPP localpart                                 7003
//	resource binding refused with conflict or resource-constraint         1008
//	resource binding (other conditions) or session refused                6017
//
// A failed registration (the user exists with another password, or the
// server refuses) is 70009 with the reason in the message. Transport
// failures, timeouts and streams the server ends during a login are errors.
//
// The package adds no policy logic. It imports driver, codes (the error
// codes it answers with), clock and internal/freshstack, and must not
// import agent, server, check or report.
package xmpp
