package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Drivers.
const (
	DriverWS     = "ws"
	DriverInproc = "inproc"
	DriverXMPP   = "xmpp" // XMPP over WebSocket (driver/xmpp), at target.url
)

// URLUse says how a driver stands to target.url.
type URLUse uint8

const (
	// URLOptional: a server at target.url, or the embedded server without one.
	URLOptional URLUse = iota
	// URLRequired: only a server at target.url.
	URLRequired
	// URLForbidden: only the embedded server.
	URLForbidden
)

// DriverSpec is what a scenario knows of a driver: the name target.driver
// gives, how it stands to target.url, and what the schema says of it. The
// drivers themselves are registered in package target (which package
// scenario must not import); a test there proves that both lists hold the
// same names.
type DriverSpec struct {
	Name string
	URL  URLUse
	// Doc is the schema's words for the driver.
	Doc string
	// Misuse says what is wrong when URL's rule is broken.
	Misuse string
	// Schemes are the URL schemes target.url may have (nil: ws and wss).
	Schemes []string
	// InProcess: the driver calls the embedded server in this process, so
	// a call costs no round trip (a month simulation then needs few
	// workers).
	InProcess bool
}

// drivers lists every value target.driver may take, the default first.
var drivers = []DriverSpec{
	{Name: DriverWS, URL: URLOptional, Doc: "ws (WebSocket)"},
	{Name: DriverInproc, URL: URLForbidden, InProcess: true,
		Doc:    "inproc (calls the embedded server directly, no sockets; only without url)",
		Misuse: "inproc drives the embedded server only, not target.url"},
	{Name: DriverXMPP, URL: URLRequired,
		Doc:    "xmpp (XMPP over WebSocket at url; the key is the secret user passwords derive from)",
		Misuse: "xmpp needs target.url, the ws:// URL of the XMPP server's WebSocket listener (e.g. ws://127.0.0.1:15280/ws)"},
}

// Drivers returns the drivers a scenario may name, the default first.
func Drivers() []DriverSpec { return slices.Clone(drivers) }

// DriverNames returns the names of Drivers.
func DriverNames() []string {
	out := make([]string, len(drivers))
	for i, d := range drivers {
		out[i] = d.Name
	}
	return out
}

// LookupDriver returns the driver of that name ("" : the default).
func LookupDriver(name string) (DriverSpec, bool) {
	if name == "" {
		name = DefaultDriver
	}
	i := slices.IndexFunc(drivers, func(d DriverSpec) bool { return d.Name == name })
	if i < 0 {
		return DriverSpec{}, false
	}
	return drivers[i], true
}

// CheckDriver says what is wrong with target.driver name given whether
// target.url is set (nil: nothing; "" names the default driver).
func CheckDriver(name string, hasURL bool) error {
	spec, ok := LookupDriver(name)
	switch {
	case !ok:
		return fmt.Errorf("unknown driver %q (allowed: %s)", name, strings.Join(DriverNames(), ", "))
	case spec.URL == URLForbidden && hasURL:
		var with []string
		for _, o := range drivers {
			if o.URL != URLForbidden {
				with = append(with, o.Name)
			}
		}
		return fmt.Errorf("%s (allowed with a url: %s)", spec.Misuse, strings.Join(with, ", "))
	case spec.URL == URLRequired && !hasURL:
		return errors.New(spec.Misuse)
	}
	return nil
}

// driverDoc is the schema's description of target.driver.
func driverDoc() string {
	docs := make([]string, len(drivers))
	for i, d := range drivers {
		docs[i] = d.Doc
	}
	last := len(docs) - 1
	list := strings.Join(docs[:last], ", ") + " or " + docs[last]
	return "How devices reach the target: " + list + ". Default " + DefaultDriver + ", and " + DriverInproc + " in a scenario with a mau section."
}
