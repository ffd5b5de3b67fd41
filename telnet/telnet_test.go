package telnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

func TestDialGettersAndClose(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hello")
		c.ExpectEOF()
	})
	tn, err := telnet.Dial(srv.Host(), srv.Port(), wait)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Host() != "127.0.0.1" || tn.Port() != srv.Port() {
		t.Errorf("Host, Port = %q, %d; want 127.0.0.1, %d", tn.Host(), tn.Port(), srv.Port())
	}
	conn := tn.Conn()
	if conn == nil || conn.RemoteAddr().String() != srv.Addr() {
		t.Fatalf("Conn() = %v, want a connection to %s", conn, srv.Addr())
	}
	fd, err := tn.Fileno()
	if err != nil {
		t.Fatal(err)
	}
	var want uintptr
	raw, _ := conn.(syscall.Conn).SyscallConn()
	_ = raw.Control(func(f uintptr) { want = f })
	if fd != want {
		t.Errorf("Fileno() = %d, want the socket's descriptor %d", fd, want)
	}
	if got, err := tn.ReadUntil([]byte("hello"), wait); string(got) != "hello" || err != nil {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}

	if err := tn.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tn.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c := tn.Conn(); c != nil {
		t.Errorf("Conn() after Close = %v, want nil", c)
	}
	if _, err := tn.Fileno(); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("Fileno() after Close: %v, want ErrNotConnected", err)
	}
}

func TestOpen(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) { c.ExpectEOF() })
	tn := telnet.New()
	defer tn.Close()
	if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
		t.Fatal(err)
	}
	if err := tn.Open(srv.Host(), srv.Port(), wait); !errors.Is(err, telnet.ErrAlreadyOpen) {
		t.Errorf("second Open: %v, want ErrAlreadyOpen", err)
	}
}

// telnetlib's close() and open() again: a closed Telnet reconnects, and
// nothing of the old connection (unread data, a command cut off at its
// end) leaks into the new one.
func TestOpenAfterClose(t *testing.T) {
	var conns sync.WaitGroup
	conns.Add(2)
	first := make(chan bool, 1)
	first <- true
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		defer conns.Done()
		select {
		case <-first:
			c.Send(append([]byte("one two"), telnet.IAC, telnet.SB, telnet.TTYPE))
		default:
			c.SendString("three")
		}
		c.ExpectEOF()
	})
	tn := telnet.New()
	if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
		t.Fatal(err)
	}
	readUntil(t, tn, "one")
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if got, err := tn.ReadUntil([]byte("three"), wait); string(got) != "three" || err != nil {
		t.Errorf("after reopening read %q, %v; want three", got, err)
	}
	tn.Close()
	conns.Wait()
}

// A reopened Telnet starts in NVT mode: the peer's BINARY mode belonged to
// the last connection, and the NUL of the new host's CR NUL is dropped
// (RFC 854's bare carriage return). It had outlived the connection.
func TestReopenStartsInNVTMode(t *testing.T) {
	first := make(chan bool, 1)
	first <- true
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		select {
		case <-first:
			c.Negotiate(telnet.WILL, telnet.BINARY)
			c.ExpectNegotiation(telnet.DO, telnet.BINARY)
			c.SendString("1\r\x00.")
		default:
			c.SendString("2\r\x00.")
		}
		c.ExpectEOF()
	})
	tn := telnet.New()
	for _, want := range []string{"1\r\x00.", "2\r."} {
		// A new Negotiator for each connection, as Open's doc says.
		tn.SetOptionNegotiationCallback(telnet.NewNegotiator(terminalPolicy).Callback)
		if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
			t.Fatal(err)
		}
		if got, err := tn.ReadUntil([]byte("."), wait); string(got) != want || err != nil {
			t.Errorf("ReadUntil = %q, %v; want %q", got, err, want)
		}
		tn.Close()
	}
	srv.Close() // waits for the host's checks
}

// Replies to negotiation are queued while reading; Close right after the
// read still sends them, as telnetlib, which sends them during the read,
// would have.
func TestCloseSendsQueuedReplies(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send(append(seq(telnet.IAC, telnet.DO, telnet.ECHO), "hello"...))
		c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
		c.ExpectEOF()
	})
	for range 20 {
		tn := srv.Dial()
		readUntil(t, tn, "hello")
		if err := tn.Close(); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close() // waits for the host's checks
}

func TestDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if tn, err := telnet.Dial("127.0.0.1", port, wait); err == nil {
		tn.Close()
		t.Error("Dial to a closed port succeeded")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := telnet.DialContext(ctx, "127.0.0.1", port); !errors.Is(err, context.Canceled) {
		t.Errorf("DialContext with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestUnconnected(t *testing.T) {
	tn := telnet.New()
	if _, err := tn.Write([]byte("x")); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("Write: %v", err)
	}
	if err := tn.WriteRaw([]byte("x")); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("WriteRaw: %v", err)
	}
	if err := tn.SendCommand(telnet.BRK); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("SendCommand: %v", err)
	}
	if err := tn.SendNegotiation(telnet.DO, telnet.ECHO); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("SendNegotiation: %v", err)
	}
	if err := tn.SendSubnegotiation(telnet.TTYPE, nil); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("SendSubnegotiation: %v", err)
	}
	if _, err := tn.Fileno(); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("Fileno: %v", err)
	}
	if err := tn.Interact(nil, io.Discard); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("Interact: %v", err)
	}
	if tn.Conn() != nil {
		t.Error("Conn() != nil")
	}
	if err := tn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.ExpectEOF() })
	tn.Close()
	if n, err := tn.Write([]byte("late")); n != 0 || !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("Write after Close = %d, %v; want 0, ErrNotConnected", n, err)
	}
	if err := tn.SendCommand(telnet.NOP); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("SendCommand after Close: %v, want ErrNotConnected", err)
	}
	if err := tn.SendSubnegotiation(telnet.NAWS, []byte{0, 80, 0, 24}); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("SendSubnegotiation after Close: %v, want ErrNotConnected", err)
	}
	n := telnet.NewNegotiator(telnet.Policy{})
	if err := n.EnableLocal(tn, telnet.NAWS); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("EnableLocal after Close: %v, want ErrNotConnected", err)
	}
}

// NewConn speaks over any net.Conn; net.Pipe has no descriptor.
func TestNewConnOverPipe(t *testing.T) {
	client, server := net.Pipe()
	tn := telnet.NewConn(client)
	defer tn.Close()
	go func() {
		server.Write(seq("abc", telnet.IAC, telnet.IAC, "def"))
		server.Close()
	}()
	got, err := tn.ReadAll()
	if string(got) != "abc\xffdef" || err != nil {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
	if _, err := tn.Fileno(); err == nil {
		t.Error("Fileno over net.Pipe succeeded")
	}
}

// Close, from another goroutine, ends every kind of blocked read.
func TestCloseUnblocksReads(t *testing.T) {
	reads := []struct {
		name, fn string
		read     func(tn *telnet.Telnet) error
	}{
		{"ReadSome", "ReadSome", func(tn *telnet.Telnet) error {
			got, err := tn.ReadSome()
			if len(got) != 0 {
				return errors.New("data")
			}
			return err
		}},
		{"ReadUntil", "ReadUntil", func(tn *telnet.Telnet) error {
			got, err := tn.ReadUntil([]byte("never"), 0)
			if string(got) != "partial" {
				return errors.New("lost the partial data: " + string(got))
			}
			if err != nil {
				return err
			}
			_, err = tn.ReadUntil([]byte("never"), 0)
			return err
		}},
		{"Expect", "Expect", func(tn *telnet.Telnet) error {
			i, m, text, err := tn.Expect([]*regexp.Regexp{regexp.MustCompile("never")}, 0)
			if i != -1 || m != nil || string(text) != "partial" || err != nil {
				return errors.New("Expect returned " + string(text))
			}
			_, _, _, err = tn.Expect([]*regexp.Regexp{regexp.MustCompile("never")}, 0)
			return err
		}},
		{"Read", "readInto", func(tn *telnet.Telnet) error {
			_, err := tn.Read(make([]byte, 10))
			return err
		}},
		{"ReadAll", "ReadAll", func(tn *telnet.Telnet) error {
			got, err := tn.ReadAll()
			if string(got) != "partial" || err != nil {
				return errors.New("ReadAll returned " + string(got))
			}
			return io.EOF
		}},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			tn := serve(t, func(c *telnettest.Conn) {
				c.SendString("ready\npartial")
				c.ExpectEOF()
			})
			if got, err := tn.ReadUntil([]byte("ready\n"), wait); err != nil {
				t.Fatalf("ReadUntil = %q, %v", got, err)
			}
			if r.name == "ReadSome" || r.name == "Read" {
				if got, err := tn.ReadUntil([]byte("partial"), wait); err != nil {
					t.Fatalf("ReadUntil = %q, %v", got, err)
				}
			}
			result := make(chan error, 1)
			go func() { result <- r.read(tn) }()
			waitBlocked(t, "telnet.(*Telnet)."+r.fn)
			tn.Close()
			select {
			case err := <-result:
				if !errors.Is(err, io.EOF) {
					t.Errorf("%s after Close: %v, want io.EOF", r.name, err)
				}
			case <-time.After(wait):
				t.Fatalf("%s still blocked %v after Close", r.name, wait)
			}
		})
	}
}

// After Close, every goroutine the Telnet started ends: the pump, and the
// writers of queued replies, even those stuck on a peer that stopped
// reading.
func TestNoGoroutineLeak(t *testing.T) {
	release := make(chan struct{})
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.ECHO)
		c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
		c.SendString("go\n")
		c.ExpectData("hi\n")
		// Stop reading and ask for more replies than the buffers hold.
		c.Send(bytes.Repeat([]byte{telnet.IAC, telnet.DO, telnet.TM}, 60000))
		c.SendString("end\n")
		<-release
	})
	runtime.GC()
	before := runtime.NumGoroutine()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	tn := dialSmallBuffers(t, srv.Addr())
	if _, err := tn.ReadUntil([]byte("go\n"), wait); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := tn.ReadUntil([]byte("end\n"), wait); err != nil || len(got) != 4 {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}
	tn.Close()
	close(release)
	srv.Close()
	settleGoroutines(t, before-1) // the server's accept loop ended too
}

// When a peer stops reading and the package closes the connection itself
// (the replies backlog), a Close and an Open that follow wait for that
// close to finish: it must not close the new connection.
func TestReopenAfterTheBacklogCloseKeepsTheNewConnection(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hello")
		c.ExpectEOF()
	})
	big := bytes.Repeat([]byte{telnet.NOP}, 300<<10)
	for range 8 {
		local, peer := net.Pipe()
		tn := telnet.NewConn(local)
		tn.SetOptionNegotiationCallback(func(tn *telnet.Telnet, cmd, opt byte) {
			for range 3 { // queued, since the peer never reads: a backlog
				_ = tn.WriteRaw(big)
			}
		})
		go func() { _, _ = peer.Write([]byte{telnet.IAC, telnet.NOP, 'x'}) }()
		if _, err := tn.ReadUntil([]byte("x"), wait); err != nil {
			t.Fatal(err)
		}
		if _, err := tn.Write([]byte("y")); !errors.Is(err, telnet.ErrOutputBacklog) {
			t.Fatalf("Write after the backlog: %v, want ErrOutputBacklog", err)
		}
		_ = tn.Close()
		if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
			t.Fatal(err)
		}
		if got, err := tn.ReadUntil([]byte("hello"), wait); string(got) != "hello" {
			t.Fatalf("the new connection read %q, %v", got, err)
		}
		tn.Close()
		peer.Close()
	}
}
