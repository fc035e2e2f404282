package xmpp

import "strings"

// Messages the client sends. Each is one WebSocket text message (RFC 7395
// section 3.3: one element per message, no stream header).

// openMsg opens (or, after authentication, restarts) the stream to domain.
func openMsg(domain string) []byte {
	return []byte(`<open xmlns="` + nsFraming + `" to="` + escape(domain) + `" version="1.0"/>`)
}

// closeMsg closes the stream (RFC 7395 section 3.6).
func closeMsg() []byte { return []byte(`<close xmlns="` + nsFraming + `"/>`) }

func authMsg(mechanism, initial string) []byte {
	return []byte(`<auth xmlns="` + nsSASL + `" mechanism="` + escape(mechanism) + `">` + initial + `</auth>`)
}

func responseMsg(data string) []byte {
	return []byte(`<response xmlns="` + nsSASL + `">` + data + `</response>`)
}

func registerMsg(id, user, password string) []byte {
	return []byte(`<iq xmlns="` + nsClient + `" type="set" id="` + id + `"><query xmlns="` + nsRegister +
		`"><username>` + escape(user) + `</username><password>` + escape(password) + `</password></query></iq>`)
}

func bindMsg(id, resource string) []byte {
	var b strings.Builder
	b.WriteString(`<iq xmlns="` + nsClient + `" type="set" id="` + id + `"><bind xmlns="` + nsBind + `">`)
	if resource != "" {
		b.WriteString(`<resource>` + escape(resource) + `</resource>`)
	}
	b.WriteString(`</bind></iq>`)
	return []byte(b.String())
}

func sessionMsg(id string) []byte {
	return []byte(`<iq xmlns="` + nsClient + `" type="set" id="` + id + `"><session xmlns="` + nsSession + `"/></iq>`)
}

func pingMsg(id, to string) []byte {
	return []byte(`<iq xmlns="` + nsClient + `" type="get" id="` + id + `" to="` + escape(to) + `"><ping xmlns="` + nsPing + `"/></iq>`)
}

// pongMsg answers a server's XEP-0199 ping.
func pongMsg(id, to string) []byte {
	var b strings.Builder
	b.WriteString(`<iq xmlns="` + nsClient + `" type="result" id="` + escape(id) + `"`)
	if to != "" {
		b.WriteString(` to="` + escape(to) + `"`)
	}
	b.WriteString(`/>`)
	return []byte(b.String())
}

// features is what a <stream:features/> offers.
type features struct {
	mechanisms []string
	bind       bool
	// session: the server offers session establishment (RFC 3921) and does
	// not mark it optional.
	session  bool
	register bool
}

func parseFeatures(n *node) features {
	var f features
	if m := n.child(nsSASL, "mechanisms"); m != nil {
		for _, k := range m.kids {
			if k.name.Local == "mechanism" {
				f.mechanisms = append(f.mechanisms, strings.TrimSpace(k.text))
			}
		}
	}
	f.bind = n.child(nsBind, "bind") != nil
	if s := n.child(nsSession, "session"); s != nil {
		f.session = s.child("", "optional") == nil
	}
	f.register = n.child(nsRegFeat, "register") != nil
	return f
}

// offers reports whether mechanism is among the offered ones.
func (f features) offers(mechanism string) bool {
	for _, m := range f.mechanisms {
		if strings.EqualFold(m, mechanism) {
			return true
		}
	}
	return false
}
