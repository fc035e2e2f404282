// Package server is imload's reference login server: a session registry that
// enforces a multi-device login policy (policy.Displace), verifies UserSig
// tickets, pushes kicked-offline and ticket-expired notices, keeps dropped
// sessions resumable for a while, and counts logins, DAU and MAU. Faults can
// be injected to prove that the kickout oracle catches a wrong server.
//
// One implementation of the semantics serves every transport: a transport
// attaches a Peer with Server.Attach and calls the methods of the returned
// *Conn. The WebSocket gateway (Handler, path /v1/ws, docs/PROTOCOL.md) is one
// such transport; driver/inproc is another, without sockets.
//
// Beside the sessions, on the same listener: the REST admin API in the shape
// of the real one (rest.go, accounts.go: kick, query_online_status, account
// import/check/delete, getappinfo), the State.StateChange webhook sender
// (webhook.go), and Prometheus metrics read from Stats when scraped
// (metrics.go).
//
// All time comes from the injected clock.Clock (Config.Clock): ticket
// expiry, resume windows, idle and handshake timeouts, statistics days.
// Only socket deadlines (writes, the HTTP upgrade) are in wall time, which
// is what the operating system measures them in.
//
// server must not import agent, check, report, run or any driver.
package server
