package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the elements the driver speaks and reads.
const (
	nsFraming  = "urn:ietf:params:xml:ns:xmpp-framing" // RFC 7395 <open/>, <close/>
	nsStream   = "http://etherx.jabber.org/streams"    // <stream:features/>, <stream:error/>
	nsStreams  = "urn:ietf:params:xml:ns:xmpp-streams" // stream error conditions
	nsSASL     = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind     = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession  = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas" // stanza error conditions
	nsClient   = "jabber:client"
	nsRegister = "jabber:iq:register"
	nsRegFeat  = "http://jabber.org/features/iq-register"
	nsPing     = "urn:xmpp:ping"
)

// Limits of one received message (RFC 7395: one stanza or framing element
// per WebSocket message).
const (
	maxDepth = 16
	maxNodes = 256
)

// node is one parsed element: its name, attributes, text and children. A
// received message is parsed into a node tree; nothing else is kept.
type node struct {
	name  xml.Name
	attrs []xml.Attr
	text  string
	kids  []*node
}

// attr returns the value of the attribute with the local name (any
// namespace), or "".
func (n *node) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child with the namespace and local name (space ""
// matches any namespace), or nil.
func (n *node) child(space, local string) *node {
	for _, k := range n.kids {
		if k.name.Local == local && (space == "" || k.name.Space == space) {
			return k
		}
	}
	return nil
}

// is reports whether the element has the namespace and local name.
func (n *node) is(space, local string) bool {
	return n.name.Local == local && n.name.Space == space
}

// condition is the local name of the first child in namespace ns (a stream,
// SASL or stanza error condition), or "".
func (n *node) condition(ns string) string {
	for _, k := range n.kids {
		if k.name.Space == ns && k.name.Local != "text" {
			return k.name.Local
		}
	}
	return ""
}

// errText is the <text/> child in namespace ns, or "".
func (n *node) errText(ns string) string {
	if t := n.child(ns, "text"); t != nil {
		return t.text
	}
	return ""
}

// errMessage is "condition" or "condition: text".
func (n *node) errMessage(ns string) string {
	c, t := n.condition(ns), n.errText(ns)
	if c == "" {
		c = "undefined-condition"
	}
	if t == "" {
		return c
	}
	return c + ": " + t
}

var errEmpty = errors.New("empty message")

// parse reads one message: a single element, which may be preceded by white
// space (and the XML declaration) and followed by white space only. Elements
// without a namespace are in jabber:client, the default of a client stream.
// It reads raw tokens and resolves namespaces itself, which costs far fewer
// allocations than encoding/xml's namespace translation.
func parse(b []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		root  *node
		stack []rawOpen
		binds []nsBinding // in scope, innermost last
		count int
		text  strings.Builder
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xmpp: parse message: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("xmpp: parse message: more than one top-level element")
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("xmpp: parse message: nested deeper than %d", maxDepth)
			}
			if count++; count > maxNodes {
				return nil, fmt.Errorf("xmpp: parse message: more than %d elements", maxNodes)
			}
			mark := len(binds)
			n := &node{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					binds = append(binds, nsBinding{"", a.Value})
				case a.Name.Space == "xmlns":
					binds = append(binds, nsBinding{a.Name.Local, a.Value})
				default:
					n.attrs = append(n.attrs, a)
				}
			}
			n.name = xml.Name{Space: lookupNS(binds, t.Name.Space), Local: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1].n
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, rawOpen{n: n, raw: t.Name, mark: mark})
			text.Reset()
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("xmpp: parse message: end element without a start")
			}
			top := stack[len(stack)-1]
			if t.Name != top.raw {
				return nil, fmt.Errorf("xmpp: parse message: element <%s> closed by </%s>", top.raw.Local, t.Name.Local)
			}
			if len(top.n.kids) == 0 {
				top.n.text = text.String()
			}
			text.Reset()
			binds = binds[:top.mark]
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, errors.New("xmpp: parse message: text outside the element")
				}
				continue
			}
			text.Write(t)
		case xml.Directive:
			return nil, errors.New("xmpp: parse message: DTDs are not allowed in XMPP")
		}
	}
	if root == nil {
		return nil, errEmpty
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("xmpp: parse message: <%s> is not closed", stack[len(stack)-1].raw.Local)
	}
	return root, nil
}

// rawOpen is an open element while parsing: its node, its name as written
// (prefix and local part) and where its namespace bindings start.
type rawOpen struct {
	n    *node
	raw  xml.Name
	mark int
}

// nsBinding binds a prefix ("" for the default namespace) to a namespace.
type nsBinding struct{ prefix, uri string }

// lookupNS resolves a prefix against the bindings in scope. No default
// namespace means jabber:client; an undeclared prefix stays as written, as
// encoding/xml leaves it.
func lookupNS(binds []nsBinding, prefix string) string {
	for i := len(binds) - 1; i >= 0; i-- {
		if binds[i].prefix == prefix {
			return binds[i].uri
		}
	}
	if prefix == "" {
		return nsClient
	}
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	return prefix
}

// escape returns s with XML's special characters escaped, for text and
// attribute values.
func escape(s string) string {
	if !strings.ContainsAny(s, `<>&'"`+"\r\n\t") {
		return s
	}
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
