package ws

import (
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/imload/imload/policy"
)

func TestBindNoPortIsSet(t *testing.T) {
	srv := newFakeServer(t)
	for _, tt := range []struct {
		name  string
		addrs []netip.Addr
		want  int
	}{
		{"spread", []netip.Addr{netip.MustParseAddr("127.0.0.3")}, 1},
		{"no spread", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, newTestDriver(t, srv.URL(), func(c *Config) { c.LocalAddrs = tt.addrs }), policy.Web, "w")
			rc, err := c.ws.UnderlyingConn().(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var v int
			var gerr error
			if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort) }); err != nil || gerr != nil {
				t.Fatalf("getsockopt: %v %v", err, gerr)
			}
			if v != tt.want {
				t.Fatalf("IP_BIND_ADDRESS_NO_PORT = %d, want %d", v, tt.want)
			}
		})
	}
}
