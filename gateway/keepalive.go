package gateway

import (
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// keepalive decides when a browser's connection has been silent too long.
//
// The gateway pings every connection every PingInterval. The page's own
// connections are held to answering: one that answers nothing, and sends
// nothing, for two intervals (and the time a ping may take to leave) is
// taken for gone. That is a browser that closed its lid, or one whose
// reverse proxy holds the connection open after the browser went away.
// The page shows itself by sending its own keepalive ping (every 15
// seconds), and a resumed connection is always the page's. Any other
// client is not held to it: one that reads only when it expects output
// (a script on the WebSocket API, a load generator holding idle
// sessions) answers pings only when it reads, and is not gone meanwhile.
// For it, and for every connection besides, the TCP connection's own
// liveness counts: where the system supports it (Linux), the kernel ends
// a connection whose peer leaves sent data unacknowledged for the same
// span (TCP_USER_TIMEOUT), so a vanished peer on a direct connection is
// noticed within that span of the next ping.
//
// A keepalive belongs to the connection's reading goroutine: its methods
// and the pong handler it installs run there only.
type keepalive struct {
	ws     *websocket.Conn
	wait   time.Duration // 0: no pings, no limit
	linger *atomic.Int64
	strict bool // held to answering: the page's connection
}

// newKeepalive arms the keepalive of a browser connection pinged every
// pingInterval (none when not positive), whose pings take at most
// writeTimeout to leave; strict says it is known to be the page's.
// linger is the end of a close under way (unix nanoseconds, 0 for none),
// which bounds every read deadline.
func newKeepalive(ws *websocket.Conn, pingInterval, writeTimeout time.Duration, linger *atomic.Int64, strict bool) *keepalive {
	k := &keepalive{ws: ws, linger: linger, strict: strict}
	if pingInterval > 0 {
		k.wait = 2*pingInterval + writeTimeout
		setUserTimeout(ws.NetConn(), k.wait)
		ws.SetPongHandler(func(string) error { return k.extend() })
	}
	return k
}

// heardPing notes the page's keepalive ping, which makes the connection
// strict.
func (k *keepalive) heardPing() { k.strict = true }

// extend moves the read deadline to wait from now on a strict
// connection, but never past the end of a close under way, whose
// deadline may be set meanwhile and is then kept.
func (k *keepalive) extend() error {
	if k.wait <= 0 {
		return nil
	}
	l := k.linger.Load()
	var d time.Time
	switch {
	case k.strict:
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
