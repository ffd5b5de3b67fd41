//go:build !linux

package gateway

import (
	"net"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not available:
// the system's retransmission limits end a connection to a vanished peer.
func setUserTimeout(net.Conn, time.Duration) {}
