// Package gatewaytest plays the browser's side of telgate's WebSocket
// protocol in tests: a Browser reads every message on a goroutine of its
// own, so that a test can wait for status messages, host output and the
// close, each bounded in time, and fail with what arrived so far.
package gatewaytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultWait is how long a Browser waits for the next message unless
// its Wait says otherwise.
const DefaultWait = 5 * time.Second

// A Frame is one message from the gateway, or the error that ended the
// connection.
type Frame struct {
	Type int // websocket.BinaryMessage (host output) or TextMessage (status); -1 with Err
	Data []byte
	Err  error
}

// A Browser is the client end of one session. Its methods are called
// from the test's goroutine; they fail the test, rather than return an
// error, when the gateway does not do what they wait for.
type Browser struct {
	Conn *websocket.Conn
	// Output is the host output received so far, in order.
	Output []byte
	// Wait bounds the wait for each message; DefaultWait when zero.
	Wait time.Duration

	t      testing.TB
	frames chan Frame
}

// Dial opens a session at url (ws://.../ws?...) with the request header
// hdr, failing the test when the gateway refuses it.
func Dial(t testing.TB, url string, hdr http.Header) *Browser {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		refusal := ""
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			refusal = resp.Status + " " + string(body)
		}
		t.Fatalf("browser: dial %s: %v %s", url, err, refusal)
	}
	return Start(t, ws)
}

// Start makes a Browser of an open WebSocket, which it closes when the
// test ends.
func Start(t testing.TB, ws *websocket.Conn) *Browser {
	b := &Browser{Conn: ws, t: t, frames: make(chan Frame, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(b.frames)
		for {
			typ, data, err := ws.ReadMessage()
			select {
			case b.frames <- Frame{typ, data, err}:
			case <-done: // the test has ended and reads no more
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = ws.Close()
	})
	return b
}

// Next returns the next message, or the error that ended the connection.
func (b *Browser) Next() Frame {
	b.t.Helper()
	wait := b.Wait
	if wait == 0 {
		wait = DefaultWait
	}
	select {
	case f, ok := <-b.frames:
		if !ok {
			b.t.Fatal("browser: no more messages")
		}
		return f
	case <-time.After(wait):
		b.t.Fatalf("browser: nothing received for %v; output so far %q", wait, clip(b.Output))
	}
	return Frame{}
}

// Status waits for the next status message, collecting host output met
// on the way, and returns it decoded.
func (b *Browser) Status() map[string]any {
	b.t.Helper()
	for {
		f := b.Next()
		switch {
		case f.Err != nil:
			b.t.Fatalf("browser: connection ended before a status message: %v", f.Err)
		case f.Type == websocket.BinaryMessage:
			b.Output = append(b.Output, f.Data...)
		default:
			var m map[string]any
			if err := json.Unmarshal(f.Data, &m); err != nil {
				b.t.Fatalf("browser: bad status %q: %v", f.Data, err)
			}
			return m
		}
	}
}

// ExpectStatus is Status, failing the test unless the message is of
// type typ ("connected", "closed", "error").
func (b *Browser) ExpectStatus(typ string) map[string]any {
	b.t.Helper()
	m := b.Status()
	if m["type"] != typ {
		b.t.Fatalf("browser: got status %v, want type %q", m, typ)
	}
	return m
}

// WaitOutput reads until the host output holds want, and returns all of
// it.
func (b *Browser) WaitOutput(want []byte) []byte {
	b.t.Helper()
	for !bytes.Contains(b.Output, want) {
		f := b.Next()
		if f.Err != nil {
			b.t.Fatalf("browser: connection ended waiting for %q: %v; got %q", want, f.Err, clip(b.Output))
		}
		if f.Type == websocket.BinaryMessage {
			b.Output = append(b.Output, f.Data...)
		} else {
			b.t.Logf("browser: status %s", f.Data)
		}
	}
	return b.Output
}

// WaitClose reads until the gateway closes the WebSocket and returns the
// reason of its "closed" status message and its close frame.
func (b *Browser) WaitClose() (reason string, ce *websocket.CloseError) {
	b.t.Helper()
	for {
		f := b.Next()
		switch {
		case f.Err != nil:
			if !errors.As(f.Err, &ce) {
				b.t.Fatalf("browser: connection ended without a close frame: %v", f.Err)
			}
			return reason, ce
		case f.Type == websocket.TextMessage:
			var m map[string]any
			_ = json.Unmarshal(f.Data, &m)
			if m["type"] == "closed" {
				reason, _ = m["reason"].(string)
			}
		default:
			b.Output = append(b.Output, f.Data...)
		}
	}
}

// ExpectClosed waits for the session to close with reason want, in the
// status message and in the close frame alike.
func (b *Browser) ExpectClosed(want string) {
	b.t.Helper()
	if reason, ce := b.WaitClose(); reason != want || ce.Text != want {
		b.t.Fatalf("browser: closed with %q (close frame %d %q), want %q", reason, ce.Code, ce.Text, want)
	}
}

// Input sends p as typed input (a binary message).
func (b *Browser) Input(p string) {
	b.t.Helper()
	if err := b.Conn.WriteMessage(websocket.BinaryMessage, []byte(p)); err != nil {
		b.t.Fatalf("browser: send: %v", err)
	}
}

// Control sends a control message (a text message), such as
// {"type":"resize","cols":100,"rows":30}.
func (b *Browser) Control(msg string) {
	b.t.Helper()
	if err := b.Conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		b.t.Fatalf("browser: send: %v", err)
	}
}

// clip shortens output for a failure message.
func clip(p []byte) string {
	if len(p) > 200 {
		return string(p[:200]) + "..."
	}
	return string(p)
}
