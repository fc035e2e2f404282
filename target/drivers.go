package target

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/inproc"
	"github.com/imload/imload/driver/ws"
	"github.com/imload/imload/driver/xmpp"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/server"
)

// registration is one driver of the table.
type registration struct {
	open func(*Spec, server.Faults) (*Target, error)
}

// registry holds every driver a scenario may name; scenario/drivers.go
// keeps the same names (TestRegistryIsTheScenariosList).
var registry = map[string]registration{
	scenario.DriverWS:     {open: openWS},
	scenario.DriverInproc: {open: openInproc},
	scenario.DriverXMPP:   {open: openXMPP},
}

// Names returns the registered drivers' names, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// The ws, inproc and xmpp drivers report a login refused for a conflict or
// a limit with the protocol's code.
var refusalCodes = []int{codes.LoginRefused}

// loopbackSpread is the source addresses a ws driver spreads its
// connections over (used only when the URL is loopback): 127.0.0.0/8 holds
// far more ports than one address.
func loopbackSpread() ([]netip.Addr, error) {
	return ws.LoopbackRange(netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.254"))
}

// openWS drives a server at the URL over imload's WebSocket protocol, or
// the embedded server on a loopback port.
func openWS(s *Spec, faults server.Faults) (*Target, error) {
	t := &Target{Kind: "ws", URL: s.Target.URL, Traits: Traits{Sequenced: true, RefusalCodes: refusalCodes}}
	if t.URL == "" {
		srv, err := embedded(s, faults)
		if err != nil {
			return nil, err
		}
		addr, err := srv.Start("127.0.0.1:0")
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return nil, fmt.Errorf("embedded server: %w", err)
		}
		t.Kind, t.Server, t.URL = "embedded", srv, "ws://"+addr.String()+"/v1/ws"
		t.About = "embedded reference server on " + t.URL
	}
	spread, err := loopbackSpread()
	if err == nil {
		t.Driver, err = ws.New(ws.Config{URL: t.URL, DialTimeout: s.Target.Timeout.D(), Clock: s.Clock, LocalAddrs: spread})
	}
	if err != nil {
		if t.Server != nil {
			_ = t.Server.Shutdown(context.Background())
			return nil, err
		}
		return nil, fmt.Errorf("target.url: %w", err)
	}
	return t, nil
}

// openInproc calls the embedded server in this process: no sockets.
func openInproc(s *Spec, faults server.Faults) (*Target, error) {
	srv, err := embedded(s, faults)
	if err != nil {
		return nil, err
	}
	return &Target{Kind: "inproc", Server: srv, Driver: inproc.New(srv),
		Traits: Traits{Sequenced: true, RefusalCodes: refusalCodes},
		About:  "embedded reference server, in process"}, nil
}

// xmppConfig is the xmpp driver's configuration: devices bind the resource
// target.xmpp_resource makes of their platform and instance ID.
func xmppConfig(s *Spec) xmpp.Config {
	tmpl := s.Target.XMPPResource
	return xmpp.Config{URL: s.Target.URL, DialTimeout: s.Target.Timeout.D(), Register: true, Clock: s.Clock,
		Resource: func(dev driver.Device) string {
			return scenario.XMPPResource(tmpl, string(dev.Platform), dev.Instance)
		}}
}

// openXMPP drives an XMPP server over WebSocket at the URL; the devices'
// passwords derive from the key.
func openXMPP(s *Spec, _ server.Faults) (*Target, error) {
	d, err := xmpp.New(xmppConfig(s))
	if err != nil {
		return nil, fmt.Errorf("target.url: %w", err)
	}
	return &Target{Kind: "xmpp", URL: s.Target.URL, Driver: d, Tickets: xmpp.PasswordTickets{Secret: s.Key},
		// <conflict/> names no displacer: the oracle's search attributes it.
		Traits: Traits{AnonymousKicks: true, RefusalCodes: refusalCodes},
		About:  fmt.Sprintf("XMPP server at %s, domain %s", s.Target.URL, d.Domain())}, nil
}
