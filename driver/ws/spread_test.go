package ws

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/policy"
)

func TestSourceSpread(t *testing.T) {
	srv := newFakeServer(t)
	addrs, err := ParseLoopbackRange("127.0.0.2-127.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, srv.URL(), func(c *Config) { c.LocalAddrs = addrs })
	const n = 8
	for i := range n {
		c := dial(t, d, policy.Web, "w")
		if i == 0 {
			if host, _, _ := net.SplitHostPort(c.LocalAddr()); host != "127.0.0.2" {
				t.Errorf("first conn from %s, want 127.0.0.2", host)
			}
		}
	}
	count := map[string]int{}
	for _, r := range srv.Remotes() {
		host, _, err := net.SplitHostPort(r)
		if err != nil {
			t.Fatalf("server saw RemoteAddr %q: %v", r, err)
		}
		count[host]++
	}
	want := map[string]int{"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 2, "127.0.0.5": 2}
	if len(count) != len(want) {
		t.Fatalf("server saw sources %v, want %v", count, want)
	}
	for h, k := range want {
		if count[h] != k {
			t.Fatalf("server saw sources %v, want %v", count, want)
		}
	}
}

func TestSourceSpreadLocalhost(t *testing.T) {
	srv := newFakeServer(t)
	url := strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1)
	d := newTestDriver(t, url, func(c *Config) { c.LocalAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.9")} })
	dial(t, d, policy.Web, "w")
	if got := srv.Remotes(); len(got) != 1 || !strings.HasPrefix(got[0], "127.0.0.9:") {
		t.Fatalf("server saw %v, want one connection from 127.0.0.9", got)
	}
}

func TestLoopbackTarget(t *testing.T) {
	tests := []struct {
		addr    string
		prefer4 bool
		want    string // "" when spreading does not apply
	}{
		{"127.0.0.1:7001", true, "127.0.0.1:7001"},
		{"127.1.2.3:80", true, "127.1.2.3:80"},
		{"localhost:7001", true, "127.0.0.1:7001"},
		{"localhost:7001", false, "[::1]:7001"},
		{"[::1]:7001", true, "[::1]:7001"},
		{"[::ffff:127.0.0.1]:7001", true, "127.0.0.1:7001"},
		{"10.0.0.1:7001", true, ""},
		{"example.com:443", true, ""},
		{"0.0.0.0:7001", true, ""},
		{"no-port", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, ok := loopbackTarget(tt.addr, tt.prefer4)
			if tt.want == "" {
				if ok {
					t.Fatalf("loopbackTarget(%q) = %v, want no spreading", tt.addr, got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Fatalf("loopbackTarget(%q) = %v, %v; want %s", tt.addr, got, ok, tt.want)
			}
		})
	}
}

func TestPickSourceFamily(t *testing.T) {
	d, err := New(Config{URL: "ws://127.0.0.1:1", LocalAddrs: []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback(), netip.MustParseAddr("127.0.0.2")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		got = append(got, d.pickSource(true).String())
	}
	if want := []string{"127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"}; !slices.Equal(got, want) {
		t.Fatalf("IPv4 sources %v, want %v", got, want)
	}
	if a := d.pickSource(false); a != netip.IPv6Loopback() {
		t.Fatalf("IPv6 source %v, want ::1", a)
	}
	d4, _ := New(Config{URL: "ws://127.0.0.1:1", LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	if a := d4.pickSource(false); a.IsValid() {
		t.Fatalf("IPv6 target with only IPv4 sources got %v, want none", a)
	}
}

func TestParseLoopbackRange(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		first   string
		last    string
		wantErr string
	}{
		{in: "127.0.0.1-127.0.0.254", n: 254, first: "127.0.0.1", last: "127.0.0.254"},
		{in: " 127.0.0.1 - 127.0.1.1 ", n: 257, first: "127.0.0.1", last: "127.0.1.1"},
		{in: "127.0.0.7", n: 1, first: "127.0.0.7", last: "127.0.0.7"},
		{in: "::1", n: 1, first: "::1", last: "::1"},
		{in: "10.0.0.1-10.0.0.9", wantErr: "must be loopback"},
		{in: "127.0.0.9-127.0.0.1", wantErr: "in order"},
		{in: "127.0.0.1-::1", wantErr: "one family"},
		{in: "127.0.0.x", wantErr: "FIRST-LAST"},
		{in: "127.0.0.1-", wantErr: "FIRST-LAST"},
		{in: "127.0.0.0-127.1.0.0", wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLoopbackRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n || got[0].String() != tt.first || got[len(got)-1].String() != tt.last {
				t.Fatalf("got %d addrs %v..%v, want %d %s..%s", len(got), got[0], got[len(got)-1], tt.n, tt.first, tt.last)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"empty URL", Config{}, "Config.URL is empty"},
		{"http scheme", Config{URL: "http://127.0.0.1:1/v1/ws"}, "scheme must be ws or wss"},
		{"no host", Config{URL: "ws:///v1/ws"}, "needs host:port"},
		{"non-loopback source", Config{URL: "ws://127.0.0.1:1", LocalAddrs: []netip.Addr{netip.MustParseAddr("10.1.1.1")}}, "LocalAddrs[0]"},
		{"zero source", Config{URL: "ws://127.0.0.1:1", LocalAddrs: []netip.Addr{{}}}, "LocalAddrs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
	d, err := New(Config{URL: "ws://127.0.0.1:7001"})
	if err != nil || d.url != "ws://127.0.0.1:7001"+DefaultPath {
		t.Fatalf("default path: url %q, err %v", d.url, err)
	}
}
