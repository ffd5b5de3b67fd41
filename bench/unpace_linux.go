package main

import (
	"net"
	"syscall"
)

// unpace switches a client's connection to Reno, as telgate does with
// every loopback connection (see its loopback.go), so that the reference
// relay sends the same way: without BBR's pacing.
func unpace(c net.Conn) {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptString(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CONGESTION, "reno")
	})
}
