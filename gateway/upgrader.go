package gateway

import (
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// writeBufferPool is shared by every session's WebSocket: a session holds
// a write buffer only while it writes a message.
var writeBufferPool = &sync.Pool{}

// writeBufferSize is the size of those buffers. gorilla copies the first
// writeBufferSize bytes of a message into one, behind the frame header,
// and hands the rest to the kernel as it is (writev), so a small buffer
// means little copying for a large frame, and a keystroke's echo or a
// status message still goes out in one write.
const writeBufferSize = 1 << 10

// NewUpgrader returns the WebSocket upgrader for connections that Serve
// will run, with the buffers the session is built around. checkOrigin is
// the upgrader's CheckOrigin (nil: gorilla's same-origin check).
func NewUpgrader(checkOrigin func(*http.Request) bool) *websocket.Upgrader {
	return &websocket.Upgrader{
		// 0: read through the HTTP server's own buffered reader, which
		// the upgrade takes over, rather than allocate another.
		ReadBufferSize:  0,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: writeBufferPool,
		CheckOrigin:     checkOrigin,
	}
}
