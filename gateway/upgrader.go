package gateway

import (
	"net/http"

	"github.com/gorilla/websocket"
)

// writeBufferSize is the size of those buffers. gorilla copies the first
// writeBufferSize bytes of a message into one, behind the frame header,
// and hands the rest to the kernel as it is (writev), so a small buffer
// means little copying for a large frame, and a keystroke's echo or a
// status message still goes out in one write.
const writeBufferSize = 1 << 10

// NewUpgrader returns the WebSocket upgrader for connections that Serve
// will run, with the buffers the session is built around: its write
// buffers are the Gateway's, shared by every session's WebSocket, since a
// session holds one only while it writes a message. checkOrigin is the
// upgrader's CheckOrigin (nil: gorilla's same-origin check).
func (g *Gateway) NewUpgrader(checkOrigin func(*http.Request) bool) *websocket.Upgrader {
	return &websocket.Upgrader{
		// 0: read through the HTTP server's own buffered reader, which
		// the upgrade takes over, rather than allocate another.
		ReadBufferSize:  0,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: &g.wsWriteBufs,
		CheckOrigin:     checkOrigin,
	}
}
