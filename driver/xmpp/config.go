package xmpp

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
)

// Subprotocol is the WebSocket subprotocol of XMPP (RFC 7395 section 3.1).
const Subprotocol = "xmpp"

// DefaultDomain is the XMPP domain used when the URL's host is an IP address
// and neither Config.Domain nor the URL's domain parameter names one.
const DefaultDomain = "localhost"

// Config says how to reach one XMPP server over WebSocket.
type Config struct {
	// URL of the server's WebSocket endpoint, e.g. ws://127.0.0.1:5280/ws
	// (scheme ws or wss). A query parameter domain=example.org names the
	// XMPP domain and is not sent to the server.
	URL string
	// Domain is the XMPP domain users belong to (the part after @ of their
	// JIDs). Default: the URL's domain parameter, else the URL's host name,
	// else DefaultDomain when that host is an IP address. A UserID that
	// contains @ names its own domain.
	Domain string
	// Resource maps a device to its XMPP resource, which must be unique per
	// device and stable across its logins, because the server treats a
	// login with the resource of an online session as that session's
	// replacement. Default DefaultResource.
	Resource func(driver.Device) string
	// Mechanisms lists the SASL mechanisms to use, most preferred first;
	// the first one the server offers is used. Default: SCRAM-SHA-1,
	// SCRAM-SHA-256, PLAIN.
	Mechanisms []string
	// Register creates the user by in-band registration (XEP-0077) when
	// authentication fails with not-authorized and the server offers
	// registration, then authenticates once more. It lets a scenario start
	// from an empty server.
	Register bool
	// DialTimeout bounds the TCP connect (default 5 s).
	DialTimeout time.Duration
	// HandshakeTimeout bounds Connect: TCP connect, WebSocket upgrade and
	// the stream's opening with its features (default 10 s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one message write when the call's ctx has no
	// earlier deadline (default 10 s).
	WriteTimeout time.Duration
	// ReadLimit is the largest message accepted (default 256 KiB, ejabberd's
	// max_stanza_size for clients).
	ReadLimit int64
	// PushBuffer is the capacity of each Conn's Pushes channel (default 2: a
	// Conn pushes at most a kick and then its close, so the reader never
	// waits for the device).
	PushBuffer int
	// SaltCache is how many SCRAM salted passwords the driver keeps, so that
	// a user's later logins skip PBKDF2 as real clients do (default 65536;
	// negative: none).
	SaltCache int
	// Clock stamps received pushes (default clock.Real{}).
	Clock clock.Clock
}

// DefaultResource is "<platform>-<instance>", e.g. "Android-dev000042".
func DefaultResource(dev driver.Device) string {
	return string(dev.Platform) + "-" + dev.Instance
}

func (c Config) withDefaults() Config {
	if c.Resource == nil {
		c.Resource = DefaultResource
	}
	if len(c.Mechanisms) == 0 {
		c.Mechanisms = DefaultMechanisms()
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 256 << 10
	}
	if c.PushBuffer <= 0 {
		c.PushBuffer = 2
	}
	switch {
	case c.SaltCache == 0:
		c.SaltCache = 1 << 16
	case c.SaltCache < 0:
		c.SaltCache = 0
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// target checks the URL and returns the URL to dial and the XMPP domain.
func target(raw, domain string) (string, string, error) {
	if raw == "" {
		return "", "", fmt.Errorf("xmpp: Config.URL is empty; want ws://host:port/path of the server's WebSocket listener")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("xmpp: Config.URL %q: %w", raw, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", "", fmt.Errorf("xmpp: Config.URL %q: scheme must be ws or wss", raw)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("xmpp: Config.URL %q: needs host:port", raw)
	}
	q := u.Query()
	if domain == "" {
		domain = q.Get("domain")
	}
	q.Del("domain")
	u.RawQuery = q.Encode()
	if domain == "" {
		domain = u.Hostname()
		if net.ParseIP(domain) != nil {
			domain = DefaultDomain
		}
	}
	if err := checkDomain(domain); err != nil {
		return "", "", err
	}
	return u.String(), domain, nil
}

func checkDomain(d string) error {
	if d == "" || len(d) > 1023 || strings.ContainsAny(d, "@/ \t\r\n\"&'<>") {
		return fmt.Errorf("xmpp: domain %q is not a valid XMPP domainpart", d)
	}
	return nil
}

// splitUser returns the localpart and domain of a UserID: "alice" is
// alice@defaultDomain, "alice@example.org" names its domain.
func splitUser(userID, defaultDomain string) (local, domain string, err error) {
	local, domain = userID, defaultDomain
	if i := strings.LastIndexByte(userID, '@'); i >= 0 {
		local, domain = userID[:i], userID[i+1:]
		if err := checkDomain(domain); err != nil {
			return "", "", err
		}
	}
	if err := checkLocalpart(local); err != nil {
		return "", "", err
	}
	return local, domain, nil
}

// checkLocalpart refuses what RFC 7622 forbids in a localpart (and what
// SPEC.md section 1 forbids in a UserID: non-printable ASCII).
func checkLocalpart(s string) error {
	if s == "" {
		return fmt.Errorf("empty UserID")
	}
	if len(s) > 1023 {
		return fmt.Errorf("UserID of %d bytes; an XMPP localpart has at most 1023", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`"&'/:<>@`, c) >= 0 {
			return fmt.Errorf("UserID %q: byte %q at %d is not allowed in an XMPP localpart (none of space \" & ' / : < > @, printable ASCII only)", s, c, i)
		}
	}
	return nil
}
