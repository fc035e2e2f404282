package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/codes"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/protocol"
)

// WSPath is where the WebSocket gateway listens.
const WSPath = "/v1/ws"

// Server is the reference login server. Create it with New; serve it with
// Start (own listener) or Handler (any http.Server), or attach in-process
// transports with Attach; stop it with Shutdown.
type Server struct {
	cfg     Config
	clk     clock.Clock
	reg     *registry
	tickets *ticketCache
	sched   *scheduler
	ctr     counters
	ledger  *ledger
	conns   connSet

	accounts *accounts      // REST accounts; a first login creates one
	webhook  *webhookSender // nil without Config.WebhookURL
	rest     restCounters

	hookMu sync.Mutex
	hooks  atomic.Pointer[[]func(StateChange)]

	slowLogins atomic.Uint64 // logins seen by the slow-login fault
	workers    *workers      // the service model's login workers (nil: off)
	slots      *slots        // the service model's bound on sessions (nil: none)

	prot      *protections // storm.go
	downUntil atomic.Int64 // a restart's down time ends (unix ns; 0: none)

	// mux serves WSPath; the REST API mounts /v4/ on it.
	mux      *http.ServeMux
	upgrader websocket.Upgrader

	mu        sync.Mutex // guards the fields below
	shutting  bool
	httpSrv   *http.Server
	serveDone chan struct{}

	wg       sync.WaitGroup // gateway goroutines: readers, login workers, push flushers
	shutOnce sync.Once
	shutDone chan struct{}
}

// New makes a server; its timers start at once.
func New(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	now := c.Clock.Now()
	if c.Epoch.IsZero() {
		c.Epoch = lastMidnight(now)
	}
	s := &Server{
		cfg:      c,
		clk:      c.Clock,
		reg:      newRegistry(),
		tickets:  newTicketCache(c.TicketCache),
		sched:    newScheduler(c.Clock),
		ledger:   newLedger(newCalendar(c.Epoch, c.Day)),
		mux:      http.NewServeMux(),
		shutDone: make(chan struct{}),
		prot:     newProtections(c.Protect),
		workers:  newWorkers(c.Clock, c.Service),
		slots:    newSlots(c.Service.MaxSessions),
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: c.HandshakeTimeout,
		ReadBufferSize:   1024,
		WriteBufferPool:  &sync.Pool{},
		Subprotocols:     []string{protocol.Subprotocol},
		// Any origin: the server binds loopback unless told otherwise and
		// its clients are programs, not pages.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.accounts = newAccounts(s.ledger.cal)
	s.OnStateChange(s.accounts.noteLogin)
	if c.WebhookURL != "" {
		w, err := newWebhookSender(c.WebhookURL, c.SDKAppID, c.Webhook)
		if err != nil {
			return nil, err
		}
		s.webhook = w
		s.OnStateChange(w.enqueue)
	}
	s.mux.HandleFunc(WSPath, s.serveWS)
	s.mux.Handle(MetricsPath, s.metricsHandler())
	s.mux.HandleFunc(RESTPrefix, s.serveREST)
	s.sched.start()
	return s, nil
}

// Config returns the configuration in effect, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Clock is the server's time source.
func (s *Server) Clock() clock.Clock { return s.clk }

// Policy is the multi-device policy the server enforces.
func (s *Server) Policy() *policy.Policy { return s.cfg.Policy }

// Handler serves the WebSocket gateway at WSPath, the metrics at
// MetricsPath and the REST admin API under RESTPrefix.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (default "127.0.0.1:0": loopback, any port) and
// serves in the background until Shutdown.
func (s *Server) Start(addr string) (net.Addr, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return nil, errors.New("server: Start after Shutdown")
	}
	if s.httpSrv != nil {
		return nil, errors.New("server: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{Handler: s.mux, ReadHeaderTimeout: s.cfg.HandshakeTimeout}
	s.serveDone = make(chan struct{})
	srv, done := s.httpSrv, s.serveDone
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	return ln.Addr(), nil
}

// enter registers a gateway goroutine; false once Shutdown has begun.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return false
	}
	s.wg.Add(1)
	return true
}

// Shutdown stops accepting connections, sends every connection an error
// frame 1007 and closes it, and waits for every goroutine of the server. If
// ctx ends first, connections are closed without waiting for their writes,
// and Shutdown still waits for the goroutines, then returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	first := false
	s.shutOnce.Do(func() {
		first = true
		err = s.shutdown(ctx)
		close(s.shutDone)
	})
	if !first {
		select {
		case <-s.shutDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

type forceCloser interface{ forceClose() }

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting = true
	srv, serveDone := s.httpSrv, s.serveDone
	s.mu.Unlock()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: http shutdown: %w", err))
		}
	}
	conns := s.conns.close()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("server: connections did not close in time: %w", ctx.Err()))
		for _, c := range conns {
			if fc, ok := c.peer.(forceCloser); ok {
				fc.forceClose()
			}
		}
		<-done
	}
	s.sched.close()
	if s.webhook != nil {
		if err := s.webhook.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if serveDone != nil {
		<-serveDone
	}
	return errors.Join(errs...)
}

// shutdown tells the client that the server is going away, closes the
// transport and detaches the session.
func (c *Conn) shutdown() {
	c.closed.Store(true)
	if c.hung.CompareAndSwap(false, true) {
		c.peer.Push(&protocol.Frame{Op: protocol.OpError, Code: codes.ServerClosed, Message: "server shutting down"})
		c.s.ctr.frameErr.add(codes.ServerClosed)
		c.peer.Hangup("server shutting down")
	}
	c.Detach(ReasonShutdown)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	days, months := s.ledger.snapshot()
	return Stats{
		LoginsOK:     s.ctr.loginOK.Load(),
		RepeatLogins: s.ctr.repeat.Load(),
		LoginsFailed: s.ctr.loginFail.snapshot(),
		Logouts:      s.ctr.logouts.Load(),
		Switches:     s.ctr.switches.Load(),
		Kicks:        s.ctr.kicks.Load(),
		AdminKicks:   s.ctr.adminKicks.Load(),
		Resumes:      s.ctr.resumes.Load(),
		ResumeFailed: s.ctr.resumeFail.snapshot(),
		SigExpired:   s.ctr.sigExpired.Load(),
		TimedOut:     s.ctr.timedOut.Load(),
		FrameErrors:  s.ctr.frameErr.snapshot(),
		Online:       int(s.ctr.sessions.Load()),
		Connected:    int(s.ctr.connected.Load()),
		Conns:        int(s.ctr.conns.Load()),
		Days:         days,
		Months:       months,
		Protect:      s.ProtectStats(),
		Faults:       s.FaultStats(),
	}
}

// OnlineStatus lists the logged-in instances of a user, oldest login first.
func (s *Server) OnlineStatus(userID string) []SessionInfo {
	rec := s.reg.get(userID, false)
	if rec == nil {
		return nil
	}
	now := s.clk.Now()
	rec.mu.Lock()
	out := make([]SessionInfo, 0, len(rec.sessions)+len(rec.ghosts))
	for _, x := range rec.sessions {
		out = append(out, x.info())
	}
	for _, g := range rec.ghosts {
		if now.Before(g.until) {
			out = append(out, g.info)
			s.ctr.faults.fire(FaultStaleOnlineStatus)
		}
	}
	rec.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Calendar reports the day index and date (Beijing time) of t under the
// server's calendar, so a harness can cross-check Stats.Days.
func (s *Server) Calendar(t time.Time) (day int, date string) {
	d := s.ledger.cal.dayOf(t)
	return d, s.ledger.cal.date(d).Format("2006-01-02")
}
