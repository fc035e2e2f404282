package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// servePprof serves net/http/pprof on $IMLOAD_PPROF (a loopback host:port)
// while imload runs, for heap and goroutine profiles in the middle of a run
// (BENCHMARKS.md); it does nothing when the variable is unset. The returned
// func stops the server.
func servePprof() (func(), error) {
	addr := os.Getenv("IMLOAD_PPROF")
	if addr == "" {
		return func() {}, nil
	}
	if err := loopbackAddr(addr); err != nil {
		return nil, fmt.Errorf("IMLOAD_PPROF=%s: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("IMLOAD_PPROF: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "imload: pprof on http://%s/debug/pprof/\n", ln.Addr())
	return func() { _ = srv.Close() }, nil
}

// loopbackAddr refuses a host:port whose host is not a loopback IP address
// or "localhost": the profiles show the process's memory and command line.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("not a loopback address (use 127.0.0.1:PORT or [::1]:PORT)")
}
