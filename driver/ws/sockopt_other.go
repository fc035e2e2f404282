//go:build !linux

package ws

import "syscall"

// bindNoPort does nothing outside Linux.
func bindNoPort(network, address string, rc syscall.RawConn) error { return nil }
