package inproc_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/imload/imload/driver"
	"github.com/imload/imload/driver/inproc"
	"github.com/imload/imload/driver/ws"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
	"github.com/imload/imload/usersig"
)

const eqApp = 1400000003

var eqKey = []byte("equivalence-key")

// script drives one driver through a fixed story and writes down what the
// devices were told: every result, then every push of every device.
func script(t *testing.T, d driver.Driver) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var log []string
	note := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	sig := func(user string, key []byte) string {
		s, err := usersig.Gen(eqApp, key, user, time.Hour, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	conns := map[string]driver.Conn{}
	connect := func(name string, plat policy.Platform, inst string) driver.Conn {
		c, err := d.Connect(ctx, driver.Device{SDKAppID: eqApp, Platform: plat, Instance: inst})
		if err != nil {
			t.Fatalf("%s connect %s: %v", d.Name(), name, err)
		}
		conns[name] = c
		return c
	}
	login := func(name, user, ticket string) driver.LoginResult {
		r, err := conns[name].Login(ctx, driver.LoginRequest{UserID: user, UserSig: ticket})
		if err != nil {
			t.Fatalf("%s login %s: %v", d.Name(), name, err)
		}
		note("login %s %s: code %d seq %d repeat %v token %v", name, user, r.Code, r.Seq, r.RepeatLogin, r.ResumeToken != "")
		return r
	}
	logout := func(name string) {
		code, err := conns[name].Logout(ctx)
		if err != nil {
			t.Fatalf("%s logout %s: %v", d.Name(), name, err)
		}
		note("logout %s: code %d", name, code)
	}

	connect("A", policy.Android, "a")
	connect("B", policy.IPhone, "b")
	connect("C", policy.Web, "c")
	login("A", "alice", sig("alice", eqKey))
	login("B", "alice", sig("alice", eqKey))
	login("C", "alice", sig("alice", []byte("forged")))
	login("C", "alice", sig("alice", eqKey))
	login("C", "alice", sig("alice", eqKey)) // repeat
	logout("C")
	logout("C")
	login("C", "", "")
	login("C", "bob", sig("bob", eqKey))
	r := login("C", "carol", sig("carol", eqKey)) // account switch
	if err := conns["C"].Close(); err != nil {
		t.Fatal(err)
	}
	connect("D", policy.Web, "c")
	res, err := conns["D"].Resume(ctx, r.ResumeToken)
	if err != nil {
		t.Fatal(err)
	}
	note("resume D: code %d seq %d", res.Code, res.Seq)
	connect("E", policy.Web, "e")
	res, err = conns["E"].Resume(ctx, r.ResumeToken+"x")
	if err != nil {
		t.Fatal(err)
	}
	note("resume E bad token: code %d", res.Code)
	for _, name := range []string{"D", "E"} {
		if err := conns[name].Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		for p := range conns[name].Pushes() {
			switch p.Kind {
			case driver.PushKicked:
				note("%s push kicked: by %s/%s seq %d, victim seq %d, %s", name, p.ByPlatform, p.ByInstance, p.BySeq, p.Seq, p.Reason)
			case driver.PushClosed:
				note("%s push closed", name)
			default:
				note("%s push %d", name, p.Kind)
			}
		}
	}
	return log
}

// TestInprocMatchesWebSocket runs the same story through the WebSocket
// driver against the gateway and through inproc, and wants the devices to
// have been told the same things.
func TestInprocMatchesWebSocket(t *testing.T) {
	newServer := func() *server.Server {
		s, err := server.New(server.Config{SDKAppID: eqApp, Key: eqKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		return s
	}
	sw := newServer()
	addr, err := sw.Start("")
	if err != nil {
		t.Fatal(err)
	}
	wd, err := ws.New(ws.Config{URL: "ws://" + addr.String() + server.WSPath})
	if err != nil {
		t.Fatal(err)
	}
	defer wd.Close()
	overWire := script(t, wd)
	inProc := script(t, inproc.New(newServer()))
	if !reflect.DeepEqual(overWire, inProc) {
		t.Fatalf("the drivers disagree\nws:\n%s\ninproc:\n%s", join(overWire), join(inProc))
	}
	if len(overWire) < 19 {
		t.Fatalf("short transcript:\n%s", join(overWire))
	}
	t.Logf("transcript:\n%s", join(inProc))
}

func join(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}
