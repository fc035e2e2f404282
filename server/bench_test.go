package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
	"github.com/imload/imload/usersig"
)

// The gateway benchmarks compare logins through the WebSocket gateway with
// round trips through a bare gorilla/websocket server. Both sides run
// 4 connections per core, each driven by its own client goroutine doing one
// request/answer round trip at a time, with the same bytes on the wire: the
// same login frame up and an answer of the login_result's size down, decoded
// by protocol.Decode as driver/ws does. BenchmarkGatewayVsBare runs both in
// one process, alternating in short slices, so that neighbours' load falls on
// both alike:
//
//	go test -run '^$' -bench GatewayVsBare -benchtime 3s -count 5 ./server
//
// cpu-µs figures are the CPU time of the whole process (clients and server)
// per operation: on a shared machine the rate swings with the neighbours'
// load, the CPU cost does not, and on an idle CPU-bound machine its ratio is
// the rate ratio.
const benchConnsPerCPU = 4

// benchSlice is how many operations one side runs before the other takes
// its turn in BenchmarkGatewayVsBare (about 50 ms).
const benchSlice = 2000

// benchClient is one client connection with its two login frames:
// alternating them makes every login an account switch (an implicit logout,
// then a new login with a new seq), so each round trip is a full login
// through verification, policy and statistics.
type benchClient struct {
	ws     *websocket.Conn
	frames [2][]byte
	next   int
}

func benchLoginFrames(b *testing.B, conn int) [2][]byte {
	var out [2][]byte
	for i := range out {
		user := fmt.Sprintf("bench_%04d_%d", conn, i)
		sig, err := usersig.Gen(testApp, testKey, user, 24*time.Hour, time.Now(), nil)
		if err != nil {
			b.Fatal(err)
		}
		out[i], err = protocol.Encode(protocol.Frame{Op: protocol.OpLogin, ID: 1, UserID: user, UserSig: sig,
			Platform: string(policy.Android), Instance: "bench"})
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func benchDial(b *testing.B, url string, conn int) *benchClient {
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	return &benchClient{ws: ws, frames: benchLoginFrames(b, conn)}
}

// roundTrip writes req and reads and decodes one answer.
func (c *benchClient) roundTrip(req []byte) (protocol.Frame, []byte, error) {
	if err := c.ws.WriteMessage(websocket.TextMessage, req); err != nil {
		return protocol.Frame{}, nil, err
	}
	_, msg, err := c.ws.ReadMessage()
	if err != nil {
		return protocol.Frame{}, nil, err
	}
	f, err := protocol.Decode(msg)
	return f, msg, err
}

// login does one login round trip and checks its answer.
func (c *benchClient) login() error {
	f, _, err := c.roundTrip(c.frames[c.next&1])
	c.next++
	if err != nil {
		return err
	}
	if f.Op != protocol.OpLoginResult || f.Code != 0 {
		return fmt.Errorf("login answered %+v", f)
	}
	return nil
}

// benchSide is one side of the comparison: its connections and what it
// has measured.
type benchSide struct {
	clients []*benchClient
	ops     int
	wall    time.Duration
	cpu     time.Duration
	allocs  uint64
	bytes   uint64
}

func (s *benchSide) close() {
	for _, c := range s.clients {
		_ = c.ws.Close()
	}
}

// run does n round trips spread over the side's connections, adding the
// wall time, process CPU time and allocations they took.
func (s *benchSide) run(n int) error {
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start, cpu0 := time.Now(), processCPU()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	errs := make([]error, len(s.clients))
	for i, c := range s.clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := c.login(); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	s.wall += time.Since(start)
	s.cpu += processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	s.allocs += ms1.Mallocs - ms0.Mallocs
	s.bytes += ms1.TotalAlloc - ms0.TotalAlloc
	s.ops += n
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *benchSide) rate() float64 { return float64(s.ops) / s.wall.Seconds() }

func (s *benchSide) cpuPerOp() float64 { return float64(s.cpu.Microseconds()) / float64(s.ops) }

func benchConns() int { return benchConnsPerCPU * runtime.GOMAXPROCS(0) }

// benchGateway starts a server with the wall clock and opens benchConns
// connections to it, each past hello. It returns the side and the raw
// answer to one login, for the bare server to send.
func benchGateway(b *testing.B) (*Server, *benchSide, []byte) {
	s, err := New(Config{SDKAppID: testApp, Key: testKey, Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	addr, err := s.Start("")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	url := "ws://" + addr.String() + WSPath
	hello, err := protocol.Encode(protocol.Frame{Op: protocol.OpHello, V: protocol.Version, SDKAppID: testApp,
		Platform: string(policy.Android), Instance: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	side := &benchSide{}
	b.Cleanup(side.close)
	for i := range benchConns() {
		c := benchDial(b, url, i)
		side.clients = append(side.clients, c)
		if f, _, err := c.roundTrip(hello); err != nil || f.Op != protocol.OpHelloOK {
			b.Fatalf("hello: %+v %v", f, err)
		}
	}
	// One login as a sample of the answer; it also creates the first
	// user's record, as every later login finds it.
	c := side.clients[0]
	f, answer, err := c.roundTrip(c.frames[0])
	if err != nil || f.Op != protocol.OpLoginResult || f.Code != 0 {
		b.Fatalf("login: %+v %v", f, err)
	}
	c.next = 1
	return s, side, answer
}

// benchBare starts a bare gorilla/websocket server that answers every
// message with answer, and opens benchConns connections to it.
func benchBare(b *testing.B, answer []byte) *benchSide {
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			if err := ws.WriteMessage(websocket.TextMessage, answer); err != nil {
				return
			}
		}
	}))
	side := &benchSide{}
	b.Cleanup(srv.Close) // after side.close: Close waits for the handlers
	b.Cleanup(side.close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for i := range benchConns() {
		side.clients = append(side.clients, benchDial(b, url, i))
	}
	return side
}

// BenchmarkGatewayVsBare does b.N logins through the gateway and b.N round
// trips through the bare server, alternating slices of benchSlice, and
// reports both rates, their ratio, and CPU time and allocations per
// operation of each. ns/op covers one login and one bare round trip.
func BenchmarkGatewayVsBare(b *testing.B) {
	s, gw, answer := benchGateway(b)
	bare := benchBare(b, answer)
	logins0 := s.Stats().LoginsOK
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(benchSlice, b.N-done)
		if err := gw.run(n); err != nil {
			b.Fatalf("gateway: %v", err)
		}
		if err := bare.run(n); err != nil {
			b.Fatalf("bare: %v", err)
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(gw.rate(), "logins/s")
	b.ReportMetric(bare.rate(), "bare-rt/s")
	b.ReportMetric(100*gw.rate()/bare.rate(), "rate-%")
	b.ReportMetric(gw.cpuPerOp(), "login-cpu-µs")
	b.ReportMetric(bare.cpuPerOp(), "bare-cpu-µs")
	b.ReportMetric(100*bare.cpuPerOp()/gw.cpuPerOp(), "cpu-%")
	b.ReportMetric(float64(gw.allocs)/float64(gw.ops), "login-allocs")
	b.ReportMetric(float64(bare.allocs)/float64(bare.ops), "bare-allocs")
	b.ReportMetric(float64(gw.bytes)/float64(gw.ops), "login-B")
	b.ReportMetric(float64(bare.bytes)/float64(bare.ops), "bare-B")
	if got := s.Stats().LoginsOK - logins0; got != uint64(b.N) {
		b.Fatalf("server counted %d logins, want %d", got, b.N)
	}
}

// BenchmarkGatewayLogin is the gateway side alone, for profiling.
func BenchmarkGatewayLogin(b *testing.B) {
	s, gw, _ := benchGateway(b)
	logins0 := s.Stats().LoginsOK
	b.ReportAllocs()
	b.ResetTimer()
	if err := gw.run(b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(gw.rate(), "logins/s")
	b.ReportMetric(gw.cpuPerOp(), "cpu-µs/op")
	if got := s.Stats().LoginsOK - logins0; got != uint64(b.N) {
		b.Fatalf("server counted %d logins, want %d", got, b.N)
	}
}

// BenchmarkBareEcho is the bare side alone, for profiling.
func BenchmarkBareEcho(b *testing.B) {
	_, gw, answer := benchGateway(b)
	gw.close()
	bare := benchBare(b, answer)
	b.ReportAllocs()
	b.ResetTimer()
	if err := bare.run(b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(bare.rate(), "roundtrips/s")
	b.ReportMetric(bare.cpuPerOp(), "cpu-µs/op")
}
