package gateway

import (
	"math"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout has the kernel end c, a TCP connection (or a TLS one
// over TCP), when data it sent stays unacknowledged for d
// (TCP_USER_TIMEOUT). Without it a peer that vanished is retried for
// about a quarter of an hour. Failures are ignored: the connection then
// keeps the system's behaviour.
func setUserTimeout(c net.Conn, d time.Duration) {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	ms := int(min(d.Milliseconds(), math.MaxInt32))
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, ms)
	})
}
