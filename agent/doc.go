// Package agent simulates the client side of an IM login system: a Device is
// one SDK instance with the SDK's login status machine (LOGOUT → LOGINING →
// LOGINED), its listener events, and the client rules of SPEC.md section 4:
// log in again only on a ticket expiry (6206, 70001, user_sig_expired) or
// after a kick; never retry on any other error; an account switch is an
// implicit logout followed by the new login; after a network drop reconnect
// and resume without a new login. A Plan, drawn up front from (seed, device
// index), scripts what one device does; a Pool starts devices as the pacer
// says. Everything a device does or sees is an event.Event; the SDK's
// listener callbacks map to them: onConnecting is a Connect event's Start,
// onConnectSuccess and onConnectFailed its Outcome, onKickedOffline a Kicked
// event, onUserSigExpired a SigExpired event. A kick counts from when it
// reached the connection: one that came while the device was busy (a login
// storm waiting on its extra connections, an account switch) is recorded,
// at its arrival, before the device logs in on that connection again, drops
// it, or is cut off by the end of the run.
//
// agent reaches a target only through driver; it must not import server,
// check or report.
package agent
