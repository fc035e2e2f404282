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
// All time comes from the injected clock.Clock (Config.Clock), except socket
// write deadlines, which the operating system measures in wall time.
//
// server must not import agent, check, report, run or any driver.
package server
