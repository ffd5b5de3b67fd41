package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// emfileOnce fails its first Accept as a process out of descriptors does.
type emfileOnce struct {
	net.Listener
	failed atomic.Bool
}

func (l *emfileOnce) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// stillShort makes the listener's next n attempts to take its reserve
// back fail, as they do while the process is out of descriptors.
func stillShort(ln *fdListener, n int32) {
	var left atomic.Int32
	left.Store(n)
	ln.openSpare = func() (*os.File, error) {
		if left.Add(-1) >= 0 {
			return nil, syscall.EMFILE
		}
		return os.Open(os.DevNull)
	}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// dial connects to addr; the connection is closed when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// acceptOne accepts one connection from ln on a goroutine of its own.
func acceptOne(ln net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	return accepted
}

// When accept fails for want of descriptors, the waiting client gets a
// 503 instead of hanging, the log says why, and accepting goes on.
func TestOutOfDescriptorsIsRefusedWith503(t *testing.T) {
	inner := listenLoopback(t)
	var logs bytes.Buffer
	ln := newFDListener(&emfileOnce{Listener: inner}, zerolog.New(&logs), true)
	defer ln.Close()
	stillShort(ln, 1)
	accepted := acceptOne(ln)
	c := dial(t, ln.Addr().String())
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the refusal: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "out of file descriptors") {
		t.Errorf("log: %q", logs.String())
	}
	// The next client is served.
	dial(t, ln.Addr().String())
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the next connection was not accepted")
	}
}

// emfileThenWait fails its first Accept as a process out of descriptors
// does and says when the next one, which waits for a client, begins.
type emfileThenWait struct {
	emfileOnce
	waiting chan struct{}
	once    sync.Once
}

func (l *emfileThenWait) Accept() (net.Conn, error) {
	if l.failed.Load() {
		l.once.Do(func() { close(l.waiting) })
	}
	return l.emfileOnce.Accept()
}

// Linux fails an accept for want of a descriptor even when no client is
// waiting, so the Accept made with the reserve waits for one. Close must
// end it, or an HTTP server's Shutdown would wait for a client to come.
func TestCloseEndsAnAcceptWaitingWithTheReserve(t *testing.T) {
	inner := listenLoopback(t)
	fake := &emfileThenWait{emfileOnce: emfileOnce{Listener: inner}, waiting: make(chan struct{})}
	ln := newFDListener(fake, zerolog.Nop(), true)
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if c != nil {
			c.Close()
		}
		accepted <- err
	}()
	<-fake.waiting
	closed := make(chan error, 1)
	go func() { closed <- ln.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the Accept made with the reserve")
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// A client accepted with the reserve once descriptors are free again is
// served, not refused.
func TestClientAfterTheShortageIsServed(t *testing.T) {
	inner := listenLoopback(t)
	ln := newFDListener(&emfileOnce{Listener: inner}, zerolog.Nop(), true)
	defer ln.Close()
	accepted := acceptOne(ln)
	c := dial(t, ln.Addr().String())
	select {
	case sc := <-accepted:
		if sc.RemoteAddr().String() != c.LocalAddr().String() {
			t.Errorf("accepted %v, want the client %v", sc.RemoteAddr(), c.LocalAddr())
		}
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the client was not accepted")
	}
}
