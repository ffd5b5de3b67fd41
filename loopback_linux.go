package main

import (
	"net"
	"syscall"
)

// unpace sets the connection's congestion control to Reno, which sends
// without pacing. It is an optimisation: if it fails the connection
// keeps the system's default and works as well.
func unpace(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptString(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CONGESTION, "reno")
	})
}
