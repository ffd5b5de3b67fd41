package telnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// wrappedConn hides the TCP connection's type, so that the Telnet reads it
// through its pump goroutine instead of directly: the path every
// net.Conn other than *net.TCPConn and *net.UnixConn takes.
type wrappedConn struct{ net.Conn }

// dialBoth runs f against the host twice: over a TCP connection, which
// is read directly, and over the same kind of connection wrapped, which
// is read by the pump.
func dialBoth(t *testing.T, host func(c *telnettest.Conn), f func(t *testing.T, tn *telnet.Telnet)) {
	for _, mode := range []string{"direct", "pump"} {
		t.Run(mode, func(t *testing.T) {
			srv := telnettest.NewServer(t, host)
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if mode == "pump" {
				conn = wrappedConn{conn}
			}
			tn := telnet.NewConn(conn)
			t.Cleanup(func() { _ = tn.Close() })
			f(t, tn)
		})
	}
}

// WaitRead waits for the host without consuming anything; TryRead then
// has the data without waiting, callbacks run in TryRead, and at the end
// of the stream WaitRead returns and the read reports io.EOF.
func TestWaitRead(t *testing.T) {
	dialBoth(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		time.Sleep(50 * time.Millisecond)
		c.Send(seq(telnet.IAC, telnet.NOP, "hello"))
		c.ExpectData("more")
		c.Send(seq(telnet.IAC, telnet.NOP))
		c.ExpectData("end")
	}, func(t *testing.T, tn *telnet.Telnet) {
		var cmds []byte
		tn.SetOptionNegotiationCallback(func(_ *telnet.Telnet, cmd, _ byte) { cmds = append(cmds, cmd) })
		if _, err := tn.Write([]byte("go")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		within(t, wait, "WaitRead", func() { tn.Close() }, tn.WaitRead)
		if waited := time.Since(start); waited < 40*time.Millisecond {
			t.Errorf("WaitRead returned after %v, before the host sent", waited)
		}
		if len(cmds) != 0 {
			t.Errorf("WaitRead ran the callback: %v", cmds)
		}
		buf := make([]byte, 64)
		var got []byte
		for !bytes.Equal(got, []byte("hello")) {
			n, err := tn.TryRead(buf)
			if err != nil || (n == 0 && len(got) == 0 && len(cmds) == 0) {
				t.Fatalf("TryRead after WaitRead = %d, %v; got %q", n, err, got)
			}
			got = append(got, buf[:n]...)
			if n == 0 {
				tn.WaitRead()
			}
		}
		if !bytes.Equal(cmds, []byte{telnet.NOP}) {
			t.Errorf("callback got %v, want NOP", cmds)
		}
		// A command alone: TryRead finds nothing, and says so without
		// waiting.
		if _, err := tn.Write([]byte("more")); err != nil {
			t.Fatal(err)
		}
		for len(cmds) < 2 {
			tn.WaitRead()
			if n, err := tn.TryRead(buf); n != 0 || err != nil {
				t.Fatalf("TryRead of a command = %d, %v", n, err)
			}
		}
		if _, err := tn.Write([]byte("end")); err != nil {
			t.Fatal(err)
		}
		within(t, wait, "WaitRead at EOF", func() { tn.Close() }, tn.WaitRead)
		for {
			n, err := tn.TryRead(buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || n != 0 {
				t.Fatalf("TryRead at EOF = %d, %v", n, err)
			}
			tn.WaitRead()
		}
		tn.WaitRead() // returns at once after the end
	})
}

// Close from another goroutine ends a WaitRead, and the read after it
// reports io.EOF.
func TestCloseEndsWaitRead(t *testing.T) {
	dialBoth(t, func(c *telnettest.Conn) { c.ExpectEOF() }, func(t *testing.T, tn *telnet.Telnet) {
		done := make(chan struct{})
		go func() { tn.WaitRead(); close(done) }()
		time.Sleep(20 * time.Millisecond)
		tn.Close()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatal("WaitRead still blocked after Close")
		}
		if _, err := tn.Read(make([]byte, 8)); !errors.Is(err, io.EOF) {
			t.Errorf("Read after Close = %v, want io.EOF", err)
		}
	})
}

// A reset that WaitRead wakes up for is the error the next read reports,
// not a clean end of the stream: the kernel reports a socket error only
// once, to whichever call asks first.
func TestWaitReadKeepsReset(t *testing.T) {
	// A small buffer is filled from a chunk, a large one straight from
	// the socket: both must see the reset.
	for _, size := range []int{64, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dialBoth(t, func(c *telnettest.Conn) {
				c.ExpectData("reset")
				_ = c.NetConn().(*net.TCPConn).SetLinger(0)
				_ = c.NetConn().Close()
			}, func(t *testing.T, tn *telnet.Telnet) {
				if _, err := tn.Write([]byte("reset")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, size)
				for {
					within(t, wait, "WaitRead", func() { tn.Close() }, tn.WaitRead)
					n, err := tn.TryRead(buf)
					if err == nil && n == 0 {
						continue
					}
					if !errors.Is(err, syscall.ECONNRESET) {
						t.Fatalf("TryRead after a reset = %d, %v; want ECONNRESET", n, err)
					}
					return
				}
			})
		})
	}
}

// The read methods behave the same whichever way the connection is read:
// a stream with commands in it, ReadUntil with a timeout that passes, a
// reset.
func TestReadsOverBothSources(t *testing.T) {
	dialBoth(t, func(c *telnettest.Conn) {
		c.Send(seq("abc", telnet.IAC, telnet.IAC, "def", telnet.IAC, telnet.NOP, "\r\n"))
		c.ExpectData("next")
		c.SendString("tail")
		c.ExpectData("bye")
		_ = c.NetConn().(*net.TCPConn).SetLinger(0)
	}, func(t *testing.T, tn *telnet.Telnet) {
		if got, err := tn.ReadUntil([]byte("\r\n"), wait); string(got) != "abc\xffdef\r\n" || err != nil {
			t.Fatalf("ReadUntil = %q, %v", got, err)
		}
		start := time.Now()
		if got, err := tn.ReadUntil([]byte("never"), 50*time.Millisecond); len(got) != 0 || err != nil {
			t.Fatalf("ReadUntil with a timeout = %q, %v", got, err)
		}
		if waited := time.Since(start); waited < 40*time.Millisecond || waited > wait {
			t.Errorf("ReadUntil with a 50ms timeout took %v", waited)
		}
		if got, err := tn.ReadVeryEager(); len(got) != 0 || err != nil {
			t.Fatalf("ReadVeryEager = %q, %v", got, err)
		}
		if _, err := tn.Write([]byte("next")); err != nil {
			t.Fatal(err)
		}
		if got, err := tn.ReadUntil([]byte("tail"), wait); string(got) != "tail" || err != nil {
			t.Fatalf("ReadUntil = %q, %v", got, err)
		}
		if _, err := tn.Write([]byte("bye")); err != nil {
			t.Fatal(err)
		}
		_, err := tn.ReadAll()
		if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("ReadAll at the reset: %v", err)
		}
	})
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}
