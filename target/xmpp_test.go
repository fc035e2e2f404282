package target

import (
	"testing"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/xmpp"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/scenario"
)

// TestXMPPConfigResource: the xmpp driver binds the resource the scenario's
// target.xmpp_resource names, and the driver's default without one.
func TestXMPPConfigResource(t *testing.T) {
	dev := driver.Device{Platform: policy.Android, Instance: "dev3"}
	for _, tc := range []struct{ line, want string }{
		{`  xmpp_resource: "imload.{platform}.{instance}"`, "imload.Android.dev3"},
		{`  xmpp_resource: "{instance}"`, "dev3"},
		{"", xmpp.DefaultResource(dev)},
	} {
		text := "target:\n  driver: xmpp\n  url: ws://127.0.0.1:15280/ws\n  key_env: K\n  policy: ejabberd\n  instances: 3\n" + tc.line +
			"\npopulation: {users: 2}\nphases: [{model: open, duration: 1s, rate: 1}]\n"
		sc, err := scenario.Parse([]byte(text), "xmpp.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if got := xmppConfig(&Spec{Target: &sc.Target, Clock: clock.Real{}}).Resource(dev); got != tc.want {
			t.Errorf("%q: resource %q, want %q", tc.line, got, tc.want)
		}
	}
}
