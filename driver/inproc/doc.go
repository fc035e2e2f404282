// Package inproc is a driver.Driver that calls the reference server's core
// directly: no sockets and no goroutine per device, so a run can hold far
// more devices than the open-files limit allows. The semantics are the
// WebSocket gateway's because both drive the same server.Conn: kicks,
// ticket expiry, resume, 6015, timeouts.
//
// inproc imports server, driver, protocol, codes and policy; it must not
// import agent, check or run.
package inproc
