package devbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/server"
)

// ChildEnv, set in a process's environment, makes it the bench's server:
// the program calls ServeChild first thing (imload's main, the package's
// TestMain) when ChildEnv is set.
const ChildEnv = "IMLOAD_DEVBENCH_SERVE"

// The bench's app: its SDKAppID and secret key (test values, loopback only).
const (
	SDKAppID = 1400000001
	key      = "devbench-secret-key"
)

// ServeChild runs the reference server (multi-platform, 3 native and 10 Web
// instances, no resume window) on a loopback port, prints its URL on stdout
// and serves until stdin ends (the parent closed it or died). It returns
// the exit status.
func ServeChild() int {
	pol, err := policy.Lookup(policy.MultiPlatform, 3, 10)
	if err == nil {
		var srv *server.Server
		srv, err = server.New(server.Config{SDKAppID: SDKAppID, Key: []byte(key), Policy: pol, ResumeWindow: -1})
		if err == nil {
			err = serve(srv)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devbench server:", err)
		return 1
	}
	return 0
}

func serve(srv *server.Server) error {
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("ws://%s%s\n", addr, server.WSPath)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it or exits
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// Server is the bench's server process.
type Server struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// StartServer starts exe (a program that calls ServeChild when ChildEnv is
// set) as the bench's server and waits, at most 10 s, for its URL.
func StartServer(exe string) (*Server, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devbench: start server %s: %w", exe, err)
	}
	s := &Server{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, r) // until the child exits
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "ws://") {
			s.Stop()
			return nil, fmt.Errorf("devbench: server %s printed %q, want its ws:// URL", exe, l)
		}
		s.URL = l
		return s, nil
	case <-time.After(10 * time.Second):
		s.Stop()
		return nil, errors.New("devbench: the server printed no URL within 10s")
	}
}

// Stop ends the server process and waits for it.
func (s *Server) Stop() error {
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		return <-done
	}
}
