package ws

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h): with it, a
// socket bound to a source address before connect gets its port at connect
// time, so ports are shared across destinations instead of reserved per
// source address at bind time.
const ipBindAddressNoPort = 24

// bindNoPort is the net.Dialer.Control used when a source address is bound.
// Failure to set the option is not an error: the dial still works, with the
// kernel's older port choice.
func bindNoPort(network, address string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
}
