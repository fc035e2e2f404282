package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

// Both benchmarks run 4 client goroutines per core (b.SetParallelism), each
// with its own WebSocket connection on loopback, doing one request/answer
// round trip per operation. Run them together to compare:
//
//	go test -run '^$' -bench . -benchtime 3s ./server
//
// Besides the rate they report cpu-µs/op: the CPU time of the whole process
// (clients and server) per operation. On a machine shared with other work
// the rate swings with the neighbours' load; the CPU cost per operation
// does not, and its ratio is the rate ratio on an idle CPU-bound machine.
const benchParallelism = 4

// benchLoginFrames returns two encoded login frames of two users for one
// connection: alternating them makes every login an account switch (an
// implicit logout, then a new login with a new seq), so each round trip is
// a full login through verification, policy and statistics.
func benchLoginFrames(b *testing.B, conn int64) [2][]byte {
	var out [2][]byte
	for i := range out {
		user := fmt.Sprintf("bench_%04d_%d", conn, i)
		sig, err := usersig.Gen(testApp, testKey, user, 24*time.Hour, time.Now(), nil)
		if err != nil {
			b.Fatal(err)
		}
		out[i], err = json.Marshal(protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: user, UserSig: sig, Platform: string(policy.Android), Instance: "bench"})
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func benchDial(b *testing.B, url string) *websocket.Conn {
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	return ws
}

// roundTrip writes req and reads and decodes one answer.
func roundTrip(ws *websocket.Conn, req []byte, f *protocol.Frame) error {
	if err := ws.WriteMessage(websocket.TextMessage, req); err != nil {
		return err
	}
	_, b, err := ws.ReadMessage()
	if err != nil {
		return err
	}
	*f = protocol.Frame{}
	return json.Unmarshal(b, f)
}

// BenchmarkGatewayLogin measures logins per second through the WebSocket
// gateway: hello once per connection, then login round trips, each an
// account switch between the connection's two users (see benchLoginFrames).
func BenchmarkGatewayLogin(b *testing.B) {
	s, err := New(Config{SDKAppID: testApp, Key: testKey, Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	addr, err := s.Start("")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	url := "ws://" + addr.String() + WSPath
	var conns atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		n := conns.Add(1)
		ws := benchDial(b, url)
		defer ws.Close()
		hello, _ := json.Marshal(protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp, Platform: string(policy.Android), Instance: "bench"})
		var f protocol.Frame
		if err := roundTrip(ws, hello, &f); err != nil || f.Op != protocol.OpHelloOK {
			b.Errorf("hello: %+v %v", f, err)
			return
		}
		frames := benchLoginFrames(b, n)
		for i := 0; pb.Next(); i++ {
			if err := roundTrip(ws, frames[i&1], &f); err != nil || f.Op != protocol.OpLoginResult || f.Code != 0 {
				b.Errorf("login: %+v %v", f, err)
				return
			}
		}
	})
	reportRate(b, start, cpu0, "logins/s")
	if st := s.Stats(); st.LoginsOK != uint64(b.N) {
		b.Fatalf("server counted %d logins, want %d", st.LoginsOK, b.N)
	}
}

// BenchmarkBareEcho is the baseline: a bare gorilla/websocket server that
// echoes each message, driven with a login frame of the same size as in
// BenchmarkGatewayLogin and decoded the same way by the client.
func BenchmarkBareEcho(b *testing.B) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			mt, m, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(mt, m); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var conns atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		n := conns.Add(1)
		ws := benchDial(b, url)
		defer ws.Close()
		frames := benchLoginFrames(b, n)
		var f protocol.Frame
		for i := 0; pb.Next(); i++ {
			if err := roundTrip(ws, frames[i&1], &f); err != nil || f.Op != protocol.OpLogin {
				b.Errorf("echo: %+v %v", f, err)
				return
			}
		}
	})
	reportRate(b, start, cpu0, "roundtrips/s")
}

func reportRate(b *testing.B, start time.Time, cpu0 time.Duration, unit string) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
