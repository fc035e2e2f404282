// Package ws is the driver for imload's own wire protocol: JSON frames over
// WebSocket at /v1/ws with subprotocol "imload.v1", as docs/PROTOCOL.md
// specifies. It speaks to the embedded reference server and to any third-party
// server that implements that document.
//
// One Conn owns one WebSocket and one reader goroutine, which routes results to
// the waiting call by request id and turns server pushes into driver.Push
// values. When dialing a loopback target, the driver can spread connections
// over many 127.0.0.X source addresses so that one process can hold more
// connections to one server port than one source address has ephemeral ports.
//
// The package adds no policy logic. It imports driver, driver/internal/wsdial,
// protocol, codes, policy, clock and internal/freshstack, and must not import
// agent, server, check or report.
package ws
