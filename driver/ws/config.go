package ws

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/imload/imload/clock"
)

// DefaultPath is the HTTP path of the protocol endpoint (docs/PROTOCOL.md).
const DefaultPath = "/v1/ws"

// Config says how to reach one target.
type Config struct {
	// URL of the target, e.g. ws://127.0.0.1:7001/v1/ws. Scheme ws or wss;
	// an empty path means DefaultPath.
	URL string
	// DialTimeout bounds the TCP connect (default 5 s).
	DialTimeout time.Duration
	// HandshakeTimeout bounds the whole of Connect: TCP connect, WebSocket
	// upgrade, hello and hello_ok (default 10 s). A shorter ctx deadline wins.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one frame write when the call's ctx has no earlier
	// deadline (default 10 s).
	WriteTimeout time.Duration
	// LocalAddrs are source addresses that successive dials cycle through,
	// so that one process can open more connections to one server port than
	// one source address has ephemeral ports. They are used only when the
	// target is a loopback address (an IP literal or "localhost"); every
	// entry must itself be a loopback address. Empty: the kernel chooses.
	// See LoopbackRange.
	LocalAddrs []netip.Addr
	// PushBuffer is the capacity of each Conn's Pushes channel (default 4: a kick, a ticket expiry and the close fit).
	PushBuffer int
	// Clock stamps received pushes (default clock.Real{}).
	Clock clock.Clock
}

func (c Config) withDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PushBuffer <= 0 {
		c.PushBuffer = 4
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// targetURL checks Config.URL and fills in the default path.
func targetURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("ws: Config.URL is empty; want ws://host:port%s", DefaultPath)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ws: Config.URL %q: %w", raw, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("ws: Config.URL %q: scheme must be ws or wss", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ws: Config.URL %q: needs host:port", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultPath
	}
	return u, nil
}

// LoopbackRange lists the addresses from first to last inclusive, both
// loopback addresses of the same family, e.g. 127.0.0.1 to 127.0.0.254.
func LoopbackRange(first, last netip.Addr) ([]netip.Addr, error) {
	if !first.IsLoopback() || !last.IsLoopback() {
		return nil, fmt.Errorf("ws: source range %s-%s: both ends must be loopback addresses (127.0.0.0/8 or ::1)", first, last)
	}
	if first.Is4() != last.Is4() || last.Less(first) {
		return nil, fmt.Errorf("ws: source range %s-%s: ends must be of one family and in order", first, last)
	}
	var out []netip.Addr
	for a := first; ; a = a.Next() {
		out = append(out, a)
		if a == last {
			return out, nil
		}
		if len(out) >= 1<<16 {
			return nil, fmt.Errorf("ws: source range %s-%s: more than %d addresses", first, last, 1<<16)
		}
	}
}

// ParseLoopbackRange parses "127.0.0.1-127.0.0.254" (or a single address)
// into a LocalAddrs list.
func ParseLoopbackRange(s string) ([]netip.Addr, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	first, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil {
		return nil, fmt.Errorf("ws: source range %q: want FIRST-LAST such as 127.0.0.1-127.0.0.254: %w", s, err)
	}
	last := first
	if found {
		if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil {
			return nil, fmt.Errorf("ws: source range %q: want FIRST-LAST such as 127.0.0.1-127.0.0.254: %w", s, err)
		}
	}
	return LoopbackRange(first, last)
}
