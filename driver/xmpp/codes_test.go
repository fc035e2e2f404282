package xmpp

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imload/imload/codes"
)

// Every code this driver answers with says, in the reports, what it stands
// for in XMPP (codes.TextFor), not the login service's meaning of the code
// it is mapped to: a bind refused because the resource is in use is a
// conflict, not "invalid parameter"; SASL not-authorized is a wrong password,
// not a ticket signed with another key.
func TestEveryCodeHasAnXMPPMeaning(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for _, c := range codes.All() {
		byName[c.Name] = c.Code
	}
	use := regexp.MustCompile(`\bcodes\.([A-Z][A-Za-z]+)\b`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range use.FindAllStringSubmatch(string(src), -1) {
			code, ok := byName[m[1]]
			if !ok {
				continue // a function of package codes
			}
			seen++
			if code != codes.OK && codes.TextFor("xmpp", code) == codes.Text(code) {
				t.Errorf("%s: codes.%s (%d) has no XMPP meaning: reports would say %q", f, m[1], code, codes.Text(code))
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no code the driver uses")
	}
	if got := codes.TextFor("xmpp", codes.LoginRefused); !strings.Contains(got, "conflict") {
		t.Errorf("1008 from xmpp: %q, want the resource conflict named", got)
	}
	if got := codes.TextFor("xmpp", codes.InvalidParam); strings.Contains(got, "conflict (") || got == codes.Text(codes.InvalidParam) {
		t.Errorf("6017 from xmpp: %q", got)
	}
	if codes.TextFor("ws", codes.SigBadSignature) != codes.Text(codes.SigBadSignature) {
		t.Error("the ws driver speaks the catalogue's own codes")
	}
}
