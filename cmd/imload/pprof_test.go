package main

import (
	"net/http"
	"testing"
)

func TestPprofRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.168.1.2:6060", "example.com:6060", "127.0.0.1"} {
		t.Setenv("IMLOAD_PPROF", addr)
		if stop, err := servePprof(); err == nil {
			stop()
			t.Errorf("IMLOAD_PPROF=%s was accepted", addr)
		}
	}
}

func TestPprofServesOnLoopback(t *testing.T) {
	t.Setenv("IMLOAD_PPROF", "")
	stop, err := servePprof()
	if err != nil {
		t.Fatalf("unset: %v", err)
	}
	stop()
	t.Setenv("IMLOAD_PPROF", "127.0.0.1:0")
	stop, err = servePprof()
	if err != nil {
		t.Fatalf("127.0.0.1:0: %v", err)
	}
	stop()
	// Port 0 picks a free port, which servePprof does not return: serve
	// on a known one to read a profile back.
	t.Setenv("IMLOAD_PPROF", "127.0.0.1:16061")
	stop, err = servePprof()
	if err != nil {
		t.Skipf("127.0.0.1:16061 busy: %v", err)
	}
	defer stop()
	res, err := http.Get("http://127.0.0.1:16061/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("heap profile: %s", res.Status)
	}
}
