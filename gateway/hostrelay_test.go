package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"

	"telgate/telnet/telnettest"
)

func TestNextClass(t *testing.T) {
	last := len(frameSizes) - 1
	for _, tc := range []struct {
		class, n, want int
	}{
		{0, 1, 0},                          // an echo: stay small
		{0, frameSizes[0] / 2, 1},          // half full: more is waiting
		{1, frameSizes[1], 2},              // full
		{last, frameSizes[last], last},     // already at the top
		{2, frameSizes[2]/8 - 1, 1},        // mostly empty: step down
		{2, frameSizes[2] / 8, 2},          // an eighth: stay
		{0, 0, 0},                          // commands only
		{last, 100, last - 1},              // a burst ended
		{1, frameSizes[1]/2 - 1, 1},        // in between
		{last, frameSizes[last] / 2, last}, // top and half full
	} {
		if got := nextClass(tc.class, tc.n); got != tc.want {
			t.Errorf("nextClass(%d, %d) = %d, want %d", tc.class, tc.n, got, tc.want)
		}
	}
}

// Big frame buffers are rationed across the gateway: once the budget is
// in use, sessions get the largest small size instead, and a buffer given
// back is available again.
func TestFrameBudget(t *testing.T) {
	var f frameBuffers
	top := len(frameSizes) - 1
	type held struct {
		bp    *[]byte
		class int
	}
	var big []held
	for i := 0; i < bigFrameBudget/frameSizes[top]; i++ {
		bp, class := f.get(top)
		if class != top || len(*bp) != frameSizes[top] {
			t.Fatalf("buffer %d within the budget: class %d, %d bytes", i, class, len(*bp))
		}
		big = append(big, held{bp, class})
	}
	bp, class := f.get(top)
	if class != bigFrame-1 || len(*bp) != frameSizes[bigFrame-1] {
		t.Fatalf("over the budget: class %d, %d bytes; want class %d", class, len(*bp), bigFrame-1)
	}
	f.put(bp, class)
	f.put(big[0].bp, big[0].class)
	if bp, class := f.get(top); class != top {
		t.Fatalf("after a big buffer came back: class %d, want %d", class, top)
	} else {
		f.put(bp, class)
	}
	for _, h := range big[1:] {
		f.put(h.bp, h.class)
	}
	if n := f.big.Load(); n != 0 {
		t.Fatalf("%d bytes of big buffers still counted after all came back", n)
	}
}

// Bulk output leaves in frames far larger than a read of the host, with
// every byte in order; an echo after it leaves at once, in a frame of its
// own; and the big buffers of the bulk frames are back afterwards.
func TestBulkFramesGrowThenEchoLeavesAlone(t *testing.T) {
	raw, cooked := relayStream(8<<20, true)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		c.Send(raw)
		c.ExpectData("k")
		c.Send([]byte("k"))
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "bulk", Address: host.Addr()}}})
	b := tg.open("target=bulk")
	b.ExpectStatus("connected")
	b.Input("go")
	var got []byte
	largest := 0
	for len(got) < len(cooked) {
		f := b.Next()
		if f.Err != nil || f.Type != websocket.BinaryMessage {
			t.Fatalf("after %d of %d bytes: message type %d, %v", len(got), len(cooked), f.Type, f.Err)
		}
		largest = max(largest, len(f.Data))
		got = append(got, f.Data...)
	}
	if !bytes.Equal(got, cooked) {
		i := 0
		for i < len(got) && i < len(cooked) && got[i] == cooked[i] {
			i++
		}
		t.Fatalf("output differs from byte %d of %d (got %d bytes)", i, len(cooked), len(got))
	}
	if largest <= frameSizes[bigFrame-1] {
		t.Errorf("largest frame %d bytes: bulk output never used a big buffer", largest)
	}
	b.Input("k")
	if f := b.Next(); f.Type != websocket.BinaryMessage || string(f.Data) != "k" {
		t.Fatalf("echo: message type %d %q, %v; want the one byte alone", f.Type, f.Data, f.Err)
	}
	waitFor(t, "big frame buffers to come back", func() bool { return tg.gw.frames.big.Load() == 0 })
}

// A host that sends a lot and closes at once is relayed to the end, to a
// browser that is slow to read it and types meanwhile: the session waits
// for its frames to be written before it ends, rather than cutting them
// short; input the closed host cannot take does not end it early; and an
// idle timeout shorter than the browser's pauses does not either, since
// a frame being written is traffic.
func TestHostCloseAfterBulkDeliversEverything(t *testing.T) {
	raw, cooked := relayStream(8<<20, true)
	sent := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		sendThenClose(c, raw)
		close(sent)
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "bulk", Address: host.Addr()}},
		Limits: Limits{IdleTimeout: 300 * time.Millisecond}})
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=bulk"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFor(t, "the host's output to back up", func() bool { return tg.gw.frames.big.Load() > 0 })
	var got []byte
	reason := ""
	typed := false
	slowReads := 0
	for {
		select {
		case <-sent:
			if !typed {
				// Keystrokes for a host that is gone: the first
				// meets a reset, the next a broken pipe.
				for i := 0; i < 3; i++ {
					if err := ws.WriteMessage(websocket.BinaryMessage, []byte("x")); err != nil {
						t.Fatalf("keystroke %d: %v", i, err)
					}
				}
				typed = true
			}
		default:
		}
		// Once the host has gone, the browser pauses for longer than
		// the idle timeout, and for longer in all than the close
		// grace, before it takes the rest of what the gateway still
		// holds. Until then it reads fast enough for the host to have
		// sent everything within waitLimit.
		if typed && slowReads < 6 {
			slowReads++
			time.Sleep(500 * time.Millisecond)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
		_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
		typ, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("after %d of %d bytes: %v", len(got), len(cooked), err)
			}
			break
		}
		if typ == websocket.BinaryMessage {
			got = append(got, data...)
			continue
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		if m["type"] == "closed" {
			reason, _ = m["reason"].(string)
		}
	}
	if !bytes.Equal(got, cooked) {
		t.Fatalf("got %d bytes of %d", len(got), len(cooked))
	}
	if !typed {
		t.Error("the host had not finished sending when the browser had everything")
	}
	if reason != ReasonHostClosed && reason != ReasonHostReset {
		t.Errorf("closed with %q, want %q or %q", reason, ReasonHostClosed, ReasonHostReset)
	}
	waitFor(t, "the session's end in the log", func() bool { return len(tg.log.entries("session end")) == 1 })
	if got := tg.log.entries("session end")[0]["bytes_out"]; got != float64(len(cooked)) {
		t.Errorf("session end logged bytes_out %v, want %d", got, len(cooked))
	}
}

// unacknowledged is how many bytes written to c its peer has not yet
// acknowledged (SIOCOUTQ), or -1 when that cannot be told.
func unacknowledged(c *net.TCPConn) int { return socketQueue(c, syscall.TIOCOUTQ) }

// unread is how many bytes c has received and not yet been read
// (SIOCINQ), or -1 when that cannot be told.
func unread(c *net.TCPConn) int { return socketQueue(c, syscall.TIOCINQ) }

func socketQueue(c *net.TCPConn, req uintptr) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	_ = rc.Control(func(fd uintptr) {
		var v int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&v))); errno == 0 {
			n = int(v)
		}
	})
	return n
}

// A browser that types while it reads the end of a session's output gets
// all of it, and the reason, however its keystrokes and its close reply
// cross the gateway's close: a socket closed with input unread would
// reset the connection and throw away the output not yet delivered.
func TestBrowserTypingAsTheSessionEndsLosesNothing(t *testing.T) {
	raw, cooked := relayStream(4<<20, false)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) { sendThenClose(c, raw) })
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "bulk", Address: host.Addr()}}})
	for round := 0; round < 5; round++ {
		ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=bulk"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
		var got int
		reason := ""
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("round %d: after %d of %d bytes: %v", round, got, len(cooked), err)
				}
				break
			}
			if typ == websocket.BinaryMessage {
				if !bytes.Equal(data, cooked[got:got+len(data)]) {
					t.Fatalf("round %d: bytes %d.. differ", round, got)
				}
				got += len(data)
				_ = ws.WriteMessage(websocket.BinaryMessage, []byte("x"))
				continue
			}
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			if m["type"] == "closed" {
				reason, _ = m["reason"].(string)
			}
		}
		ws.Close()
		if got != len(cooked) || reason == "" {
			t.Fatalf("round %d: %d of %d bytes, reason %q", round, got, len(cooked), reason)
		}
	}
}

// sendThenClose is a host that sends raw and closes, only once the
// gateway's kernel has acknowledged every byte: a host that closes with
// input unread sends a reset, and a reset throws away what it had not
// yet sent.
func sendThenClose(c *telnettest.Conn, raw []byte) {
	c.Send(raw)
	nc := c.NetConn().(*net.TCPConn)
	for deadline := time.Now().Add(waitLimit); unacknowledged(nc) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	_ = nc.Close()
}

// A browser that sends a message over the size limit while output is
// still queued for it gets that output and a close, not a reset: the
// rest of its oversized message, which the gateway never reads, would
// otherwise make the final close a reset that throws away the output
// and the close frame still on their way.
func TestOversizedMessageEndsWithACloseNotAReset(t *testing.T) {
	raw, cooked := relayStream(4<<20, false)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		// The session ends while the host may still be sending (the
		// kernel's buffers need not hold 4 MiB): its connection is then
		// reset, which is no failure here.
		_, _ = c.NetConn().Write(raw)
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "bulk", Address: host.Addr()}},
		Limits: Limits{MaxMessageSize: 4096}})
	var client *net.TCPConn
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		// A small receive buffer, so that most of the output waits in
		// the gateway's socket.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10)
			})
		}}
		c, err := d.Dial(network, addr)
		if err == nil {
			client = c.(*net.TCPConn)
		}
		return c, err
	}}
	ws, _, err := dialer.Dial(tg.url("target=bulk"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	waitFor(t, "output waiting in the browser's socket", func() bool { return unread(client) >= 16<<10 })

	sent := make(chan error, 1)
	go func() { sent <- ws.WriteMessage(websocket.BinaryMessage, make([]byte, 1<<20)) }()

	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	var got int
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("after %d bytes of output: %v, want a close", got, err)
			}
			break
		}
		if typ == websocket.BinaryMessage {
			if !bytes.Equal(data, cooked[got:got+len(data)]) {
				t.Fatalf("output bytes %d.. differ", got)
			}
			got += len(data)
		}
	}
	// The client stops sending once it has answered the gateway's close;
	// a reset means the gateway closed with the message unread.
	if err := <-sent; err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		t.Errorf("sending the oversized message: %v (the gateway should read and drop it)", err)
	}
	ws.Close() // the gateway stops discarding at the end of the stream
	waitFor(t, "the session's end in the log", func() bool { return len(tg.log.entries("session end")) == 1 })
	if r := tg.log.entries("session end")[0]["reason"]; r != ReasonMessageTooBig {
		t.Errorf("session ended with %q, want %q", r, ReasonMessageTooBig)
	}
}
