package gateway

import (
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// keepalive decides when a browser's connection has been silent too long.
//
// The gateway pings every connection every PingInterval. A connection
// that has answered a ping is taken for gone when it then answers
// nothing, and sends nothing, for two intervals (and the time a ping may
// take to leave): that is a browser that closed its lid, or one whose
// reverse proxy holds the connection open after the browser went away.
// A connection that has never answered a ping is not held to that: a
// client that reads only when it expects output (a script on the
// WebSocket API, a load generator holding idle sessions) is not gone,
// and browsers answer at once. For it, and for every connection besides,
// the TCP connection's own liveness counts: where the system supports it
// (Linux), the kernel ends a connection whose peer leaves sent data
// unacknowledged for the same span (TCP_USER_TIMEOUT), so a vanished
// peer on a direct connection is noticed as soon as a ping goes
// unanswered by its kernel.
//
// A keepalive belongs to the connection's reading goroutine: extend and
// the pong handler it installs run there only.
type keepalive struct {
	ws       *websocket.Conn
	wait     time.Duration // 0: no pings, no limit
	linger   *atomic.Int64
	answered bool // a pong has come
}

// newKeepalive arms the keepalive of a browser connection pinged every
// pingInterval (none when not positive), whose pings take at most
// writeTimeout to leave. linger is the end of a close under way (unix
// nanoseconds, 0 for none), which bounds every read deadline.
func newKeepalive(ws *websocket.Conn, pingInterval, writeTimeout time.Duration, linger *atomic.Int64) *keepalive {
	k := &keepalive{ws: ws, linger: linger}
	if pingInterval > 0 {
		k.wait = 2*pingInterval + writeTimeout
		setUserTimeout(ws.NetConn(), k.wait)
		ws.SetPongHandler(func(string) error {
			k.answered = true
			return k.extend()
		})
	}
	return k
}

// extend moves the read deadline to wait from now once the connection
// has answered a ping, but never past the end of a close under way,
// whose deadline may be set meanwhile and is then kept.
func (k *keepalive) extend() error {
	if k.wait <= 0 {
		return nil
	}
	l := k.linger.Load()
	var d time.Time
	switch {
	case k.answered:
		d = time.Now().Add(k.wait)
		if l != 0 && l < d.UnixNano() {
			d = time.Unix(0, l)
		}
	case l != 0:
		d = time.Unix(0, l)
	default:
		return nil // no deadline yet
	}
	err := k.ws.SetReadDeadline(d)
	if l2 := k.linger.Load(); l2 != l {
		err = k.ws.SetReadDeadline(time.Unix(0, l2))
	}
	return err
}
