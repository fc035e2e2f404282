package xmpp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseEjabberd parses messages that ejabberd 23.01 sent over
// WebSocket (testdata/ejabberd) and reads what the driver uses from each.
func TestParseEjabberd(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, n *node)
	}{
		{"open.xml", func(t *testing.T, n *node) {
			if !n.is(nsFraming, "open") || n.attr("version") != "1.0" || n.attr("from") != "localhost" {
				t.Errorf("got %v version=%q from=%q", n.name, n.attr("version"), n.attr("from"))
			}
		}},
		{"features-preauth.xml", func(t *testing.T, n *node) {
			f := parseFeatures(n)
			if !n.is(nsStream, "features") || !f.offers("SCRAM-SHA-1") || !f.offers("plain") || f.bind || !f.register {
				t.Errorf("got %v %+v", n.name, f)
			}
		}},
		{"features-bound.xml", func(t *testing.T, n *node) {
			f := parseFeatures(n)
			if !f.bind || f.session || len(f.mechanisms) != 0 {
				t.Errorf("got %+v; want bind, and session optional", f)
			}
		}},
		{"sasl-failure.xml", func(t *testing.T, n *node) {
			cond, text, err := saslOutcome(n)
			if err != nil || cond != "not-authorized" || text != "Invalid username or password" {
				t.Errorf("got %q %q %v", cond, text, err)
			}
		}},
		{"sasl-success.xml", func(t *testing.T, n *node) {
			cond, _, err := saslOutcome(n)
			if err != nil || cond != "" {
				t.Errorf("got %q %v", cond, err)
			}
		}},
		{"register-result.xml", func(t *testing.T, n *node) {
			if !iqAnswer("r1")(n) || n.attr("type") != "result" {
				t.Errorf("not the result of r1: %v", n.attrs)
			}
		}},
		{"register-conflict.xml", func(t *testing.T, n *node) {
			e := n.child("", "error")
			if !iqAnswer("r2")(n) || e == nil || e.condition(nsStanzas) != "conflict" || e.errMessage(nsStanzas) != "conflict: User already exists" {
				t.Errorf("got %+v", e)
			}
		}},
		{"bind-result.xml", func(t *testing.T, n *node) {
			j := n.child(nsBind, "bind").child("", "jid")
			if !iqAnswer("b1")(n) || j == nil || j.text != "capuser@localhost/res" {
				t.Errorf("got %+v", j)
			}
		}},
		{"ping-result.xml", func(t *testing.T, n *node) {
			if !iqAnswer("p1")(n) {
				t.Errorf("not the result of p1: %v", n.attrs)
			}
		}},
		{"stream-error-conflict.xml", func(t *testing.T, n *node) {
			if !n.is(nsStream, "error") || n.condition(nsStreams) != "conflict" || n.errText(nsStreams) != "Replaced by new connection" {
				t.Errorf("got %v %q %q", n.name, n.condition(nsStreams), n.errText(nsStreams))
			}
		}},
		{"close.xml", func(t *testing.T, n *node) {
			if !n.is(nsFraming, "close") {
				t.Errorf("got %v", n.name)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "ejabberd", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			n, err := parse(b)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, n)
		})
	}
}

// TestParseRejects lists messages that are not one XMPP element.
func TestParseRejects(t *testing.T) {
	deep := strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1)
	wide := "<a>" + strings.Repeat("<b/>", maxNodes) + "</a>"
	cases := map[string]string{
		"empty":             "",
		"white space only":  " \n ",
		"two elements":      "<a/><b/>",
		"text outside":      "<a/>junk",
		"unclosed":          "<a><b></a>",
		"DTD":               `<!DOCTYPE a [<!ENTITY x "y">]><a/>`,
		"unknown entity":    "<a>&x;</a>",
		"too deep":          deep,
		"too many elements": wide,
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			if n, err := parse([]byte(msg)); err == nil {
				t.Errorf("parse(%q) = %v, want an error", msg, n.name)
			}
		})
	}
}

// TestOutgoingMessages parses every message the client sends, so that each
// is one well-formed element with the names and values the server reads.
func TestOutgoingMessages(t *testing.T) {
	cases := []struct {
		name  string
		msg   []byte
		space string
		local string
		check func(*node) bool
	}{
		{"open", openMsg(`ex<am>"ple`), nsFraming, "open", func(n *node) bool {
			return n.attr("to") == `ex<am>"ple` && n.attr("version") == "1.0"
		}},
		{"close", closeMsg(), nsFraming, "close", nil},
		{"auth", authMsg("PLAIN", "AGEAYg=="), nsSASL, "auth", func(n *node) bool {
			return n.attr("mechanism") == "PLAIN" && n.text == "AGEAYg=="
		}},
		{"response", responseMsg("eA=="), nsSASL, "response", func(n *node) bool { return n.text == "eA==" }},
		{"register", registerMsg("r1", "a&b", "p<w>"), nsClient, "iq", func(n *node) bool {
			q := n.child(nsRegister, "query")
			return n.attr("type") == "set" && q != nil && q.child("", "username").text == "a&b" && q.child("", "password").text == "p<w>"
		}},
		{"bind", bindMsg("b1", "Web-dev&1"), nsClient, "iq", func(n *node) bool {
			return n.child(nsBind, "bind").child("", "resource").text == "Web-dev&1"
		}},
		{"bind without resource", bindMsg("b1", ""), nsClient, "iq", func(n *node) bool {
			return n.child(nsBind, "bind") != nil && n.child(nsBind, "bind").child("", "resource") == nil
		}},
		{"session", sessionMsg("s1"), nsClient, "iq", func(n *node) bool { return n.child(nsSession, "session") != nil }},
		{"ping", pingMsg("p1", "localhost"), nsClient, "iq", func(n *node) bool {
			return n.attr("type") == "get" && n.attr("to") == "localhost" && n.child(nsPing, "ping") != nil
		}},
		{"pong", pongMsg("x'1", "localhost"), nsClient, "iq", func(n *node) bool {
			return n.attr("type") == "result" && n.attr("id") == "x'1"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parse(tc.msg)
			if err != nil {
				t.Fatalf("%s: %v", tc.msg, err)
			}
			if !n.is(tc.space, tc.local) {
				t.Fatalf("%s: element %v, want {%s}%s", tc.msg, n.name, tc.space, tc.local)
			}
			if tc.check != nil && !tc.check(n) {
				t.Errorf("%s: content not as sent", tc.msg)
			}
		})
	}
}

func TestSplitUser(t *testing.T) {
	cases := []struct {
		in, local, domain string
		ok                bool
	}{
		{"user_000001", "user_000001", "localhost", true},
		{"alice@example.org", "alice", "example.org", true},
		{"", "", "", false},
		{"a b", "", "", false},
		{"a/b", "", "", false},
		{"a:b", "", "", false},
		{"é", "", "", false},
		{"alice@", "", "", false},
		{"@example.org", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			l, d, err := splitUser(tc.in, "localhost")
			if (err == nil) != tc.ok || l != tc.local || d != tc.domain {
				t.Errorf("splitUser(%q) = %q, %q, %v", tc.in, l, d, err)
			}
		})
	}
}

func TestTargetURL(t *testing.T) {
	cases := []struct {
		url, domain, wantURL, wantDomain string
		ok                               bool
	}{
		{"ws://127.0.0.1:5280/ws", "", "ws://127.0.0.1:5280/ws", "localhost", true},
		{"ws://xmpp.example.org:5280/ws", "", "ws://xmpp.example.org:5280/ws", "xmpp.example.org", true},
		{"ws://127.0.0.1:5280/ws?domain=example.org", "", "ws://127.0.0.1:5280/ws", "example.org", true},
		{"ws://127.0.0.1:5280/ws?domain=example.org", "other.org", "ws://127.0.0.1:5280/ws", "other.org", true},
		{"wss://[::1]:5443/ws", "", "wss://[::1]:5443/ws", "localhost", true},
		{"http://127.0.0.1:5280/ws", "", "", "", false},
		{"ws:///ws", "", "", "", false},
		{"", "", "", "", false},
		{"ws://127.0.0.1:5280/ws", "bad domain", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.url+"|"+tc.domain, func(t *testing.T) {
			u, d, err := target(tc.url, tc.domain)
			if (err == nil) != tc.ok || u != tc.wantURL || d != tc.wantDomain {
				t.Errorf("target(%q, %q) = %q, %q, %v", tc.url, tc.domain, u, d, err)
			}
		})
	}
}

// FuzzParse feeds arbitrary messages to the parser and to what reads its
// result: neither may panic, and limits hold.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "ejabberd"))
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("testdata", "ejabberd", e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<a><b><c/></b></a>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parse(b)
		if err != nil {
			return
		}
		count := 0
		var walk func(*node, int)
		walk = func(n *node, depth int) {
			count++
			if depth > maxDepth {
				t.Fatalf("depth %d beyond the limit", depth)
			}
			for _, k := range n.kids {
				walk(k, depth+1)
			}
		}
		walk(n, 1)
		if count > maxNodes {
			t.Fatalf("%d elements beyond the limit", count)
		}
		_ = parseFeatures(n)
		_, _, _ = saslOutcome(n)
		_ = n.errMessage(nsStreams)
	})
}

// TestParseNamespaces resolves default and prefixed namespaces by scope.
func TestParseNamespaces(t *testing.T) {
	n, err := parse([]byte(`<iq id="1"><query xmlns="x:q"><item/><p:sub xmlns:p="x:p"><p:leaf/><plain/></p:sub></query><other/><s:u xmlns:s="x:s" xml:lang="en"/></iq>`))
	if err != nil {
		t.Fatal(err)
	}
	q := n.child("x:q", "query")
	if !n.is(nsClient, "iq") || q == nil || q.child("x:q", "item") == nil {
		t.Fatalf("default namespaces: %+v", n)
	}
	sub := q.child("x:p", "sub")
	if sub == nil || sub.child("x:p", "leaf") == nil || sub.child("x:q", "plain") == nil {
		t.Fatalf("prefixed namespace inside a default one: %+v", sub)
	}
	if n.child(nsClient, "other") == nil {
		t.Error("the default namespace of <query/> leaked to its sibling")
	}
	u := n.child("x:s", "u")
	if u == nil || u.attr("lang") != "en" {
		t.Errorf("prefixed sibling or xml:lang lost: %+v", u)
	}
	for _, bad := range []string{"<a></b>", "<p:a xmlns:p='x'></q:a>", "<a><b></b>"} {
		if _, err := parse([]byte(bad)); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}
