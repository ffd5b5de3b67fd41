package telnet_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

const closedLine = "*** Connection closed by remote host ***\n"

// Interact passes every byte value both ways (B28): 0xFF is escaped to
// the host and undoubled from it, non-ASCII passes untouched; when the
// host closes it prints telnetlib's line and returns nil.
func TestInteractByteTransparent(t *testing.T) {
	typed := []byte("é\xff\x00ü\r\n")
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq("héllo ", telnet.IAC, telnet.IAC, " \x80\x00", telnet.IAC, telnet.NOP, "\r\n"))
		c.Expect([]byte("é\xff\xff\x00ü\r\n"))
		c.SendString("bye\n")
	})
	in, w := pipe(t)
	w.Write(typed)
	var out bytes.Buffer
	within(t, wait, "Interact", func() { tn.Close() }, func() {
		if err := tn.Interact(in, &out); err != nil {
			t.Errorf("Interact: %v", err)
		}
	})
	want := "héllo \xff \x80\x00\r\nbye\n" + closedLine
	if out.String() != want {
		t.Errorf("Interact wrote %q, want %q", out.String(), want)
	}

	// Interact no longer reads in, and left it as it found it.
	w.Write([]byte("later"))
	buf := make([]byte, 16)
	within(t, wait, "reading in", func() { w.Close() }, func() {
		if n, err := in.Read(buf); string(buf[:n]) != "later" || err != nil {
			t.Errorf("reading in after Interact = %q, %v", buf[:n], err)
		}
	})
}

// Interact returns nil when its input ends; what was typed reached the
// host. MtInteract is the same.
func TestInteractInputEOF(t *testing.T) {
	for _, name := range []string{"Interact", "MtInteract"} {
		t.Run(name, func(t *testing.T) {
			got := make(chan struct{})
			tn := serve(t, func(c *telnettest.Conn) {
				c.ExpectString("ls\r\n\xff\xff")
				close(got)
				c.ExpectEOF()
			})
			run := tn.Interact
			if name == "MtInteract" {
				run = tn.MtInteract
			}
			var out bytes.Buffer
			within(t, wait, name, func() { tn.Close() }, func() {
				if err := run(strings.NewReader("ls\r\n\xff"), &out); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			})
			select {
			case <-got:
			case <-time.After(wait):
				t.Fatal("the host did not get the input")
			}
			if strings.Contains(out.String(), closedLine) {
				t.Errorf("%s printed %q though the host did not close", name, out.String())
			}
		})
	}
}

// Data decoded before Interact starts is written first.
func TestInteractWritesPending(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("one two")
	})
	if _, err := tn.ReadUntil([]byte("one"), wait); err != nil {
		t.Fatal(err)
	}
	in, _ := pipe(t)
	var out bytes.Buffer
	within(t, wait, "Interact", func() { tn.Close() }, func() {
		if err := tn.Interact(in, &out); err != nil {
			t.Errorf("Interact: %v", err)
		}
	})
	if out.String() != " two"+closedLine {
		t.Errorf("Interact wrote %q", out.String())
	}
}

// Closed on this side while it runs, Interact returns nil without
// telnetlib's line: the host did not close the connection.
func TestInteractLocalClose(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("hi\n")
		c.ExpectEOF()
	})
	in, _ := pipe(t)
	out := &notifyWriter{want: "hi\n", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- tn.Interact(in, out) }()
	select {
	case <-out.seen:
	case <-time.After(wait):
		t.Fatal("the host's output never reached out")
	}
	tn.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Interact after Close = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Interact did not return after Close")
	}
	if got := out.buf.String(); got != "hi\n" {
		t.Errorf("Interact wrote %q, want only the host's output", got)
	}
}

// After Close, Interact takes nothing more from the connection, as every
// read: not even what a pump (here, over net.Pipe) had read ahead.
func TestInteractAfterCloseTakesNothingMore(t *testing.T) {
	c, host := net.Pipe()
	defer host.Close()
	tn := telnet.NewConn(c)
	for _, part := range []string{"hello", "world"} {
		if _, err := host.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	tn.Close()
	in, _ := pipe(t)
	var out bytes.Buffer
	within(t, wait, "Interact after Close", nil, func() {
		if err := tn.Interact(in, &out); err != nil {
			t.Errorf("Interact: %v", err)
		}
	})
	if out.Len() != 0 {
		t.Errorf("Interact after Close wrote %q; want nothing", out.String())
	}
}

// A host that stops reading and then closes its sending side, while
// Interact's input goroutine waits to write what was typed to it: Interact
// returns with telnetlib's line, as when the host closes, and does not
// wait for that write, which only the host or Close can end.
func TestInteractReturnsWhileItsInputWaitsForTheHost(t *testing.T) {
	closeWrite := make(chan struct{})
	end := make(chan struct{})
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		_ = c.NetConn().(*net.TCPConn).SetReadBuffer(4096)
		<-closeWrite
		c.CloseWrite()
		<-end
		_ = c.NetConn().Close() // abruptly: the write waiting for it fails
	})
	defer close(end)
	tn := dialSmallBuffers(t, srv.Addr())
	in, w := pipe(t)
	go w.Write(bytes.Repeat([]byte("y"), 1<<20)) // ends when the pipe is closed
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- tn.Interact(in, &out) }()
	waitBlocked(t, "telnet.(*output).write")
	close(closeWrite)
	select {
	case err := <-done:
		if err != nil || out.String() != closedLine {
			t.Errorf("Interact = %v, having written %q; want nil and %q", err, out.String(), closedLine)
		}
	case <-time.After(wait):
		tn.Close()
		<-done
		t.Fatal("Interact did not return after the host closed its side")
	}
}

// pipe returns the two ends of an OS pipe, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// notifyWriter collects what is written and closes seen once it holds
// want.
type notifyWriter struct {
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

// An error writing out ends Interact with that error.
func TestInteractOutputError(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("data")
		c.ExpectEOF()
	})
	in, _ := pipe(t)
	within(t, wait, "Interact", func() { tn.Close() }, func() {
		if err := tn.Interact(in, failWriter{}); !errors.Is(err, errOut) {
			t.Errorf("Interact = %v, want the output's error", err)
		}
	})
	tn.Close()
}

var errOut = errors.New("output broken")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errOut }
