package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/results"
)

// The HTML report shows the cancelled operations apart and the messages of
// each error code, in the target's words.
func TestHTMLShowsReasonsAndCancelled(t *testing.T) {
	r := metrics.NewRecorder(metrics.WithStart(synthStart), metrics.WithClock(clock.NewFake(synthStart.Add(2*time.Second))))
	for i, e := range []event.Event{
		{Kind: event.Connect, Outcome: event.Failed, Reason: "ws: connect to ws://127.0.0.1:1/v1/ws: upgrade refused with HTTP 404: websocket: bad handshake"},
		{Kind: event.Connect, Outcome: event.Failed, Reason: "ws: connect to ws://127.0.0.1:1/v1/ws: upgrade refused with HTTP 404: websocket: bad handshake"},
		{Kind: event.Login, Outcome: event.Failed, Code: 1008, Reason: "bind refused: conflict"},
		{Kind: event.Logout, Outcome: event.Cancelled, Reason: "canceled: the run ended"},
		{Kind: event.Logout, Outcome: event.OK},
	} {
		e.UserID, e.Device, e.Platform, e.At = "u", string(rune('a'+i)), policy.Android, synthStart.Add(time.Second)
		r.Observe(&e)
	}
	f := &results.File{Schema: results.Schema, Scenario: "s", Started: synthStart, Ended: synthStart.Add(2 * time.Second),
		Environment: results.Environment{Target: results.Target{Kind: "xmpp"}}, Metrics: r.Snapshot()}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		"<th>cancelled</th>",
		"upgrade refused with HTTP 404: websocket: bad handshake",
		"bind refused: conflict",
		"resource bind refused: conflict", // 1008 in XMPP's words
		"in no error rate): logout 1.",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
