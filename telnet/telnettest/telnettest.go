// Package telnettest provides a scripted telnet host on loopback for tests,
// in the manner of net/http/httptest.
//
// NewServer listens on 127.0.0.1 and runs a handler for every connection
// it accepts. The handler plays the host's part of the story through a
// Conn: it sends bytes, commands and subnegotiations, and waits for what
// the client sends, as raw bytes (Expect) or decoded (ExpectNegotiation,
// ExpectSubnegotiation, ExpectData, ReadEvent). The connection closes,
// gracefully, when the handler returns.
//
//	func TestLogin(t *testing.T) {
//		srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
//			c.Negotiate(telnet.DO, telnet.ECHO)
//			c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
//			c.SendString("login: ")
//			c.ExpectData("admin\r\n")
//			c.SendString("Welcome\r\n")
//		})
//		tn := srv.Dial()
//		tn.ReadUntil([]byte("login: "), 5*time.Second)
//		tn.Write([]byte("admin\r\n"))
//		got, err := tn.ReadAll() // "Welcome\r\n", nil
//		...
//	}
//
// # Waiting and failing
//
// A Conn never sleeps: every method that waits for the client returns as
// soon as what it waits for has arrived, and gives up after the Conn's
// timeout (DefaultTimeout unless SetTimeout says otherwise). An
// expectation that is not met (other bytes arrived, the client closed the
// connection, or the timeout passed) is reported with tb.Errorf, naming
// what was expected and what arrived; then the connection is closed and
// the calling goroutine ends with runtime.Goexit, as t.FailNow would end
// it. The client under test therefore sees the end of the stream rather
// than a hang. Call Conn methods from the handler (or from goroutines it
// starts), not from the test's own goroutine.
//
// Server.Close, at the end of the test, waits for the handlers. A handler
// that waits for something other than its Conn (a channel the test closes,
// say) must be released even when the test fails early.
//
// # Raw and decoded reading
//
// The read methods share one stream and one position in it: Expect and
// ExpectString compare raw bytes, the others decode whole units (a run of
// data, a command, a negotiation, a whole subnegotiation) with a
// telnet.Decoder. A decoded read never consumes half a command, so a test
// may switch between the two at any point. Only one goroutine may read a
// Conn at a time; the Send methods may be called from any goroutine.
package telnettest

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
)

// DefaultTimeout bounds every wait of a Conn and the connection attempt of
// Server.Dial.
const DefaultTimeout = 5 * time.Second

// A Server is a telnet host listening on a loopback port.
type Server struct {
	tb         testing.TB
	ln         net.Listener
	handler    func(c *Conn)
	handlers   sync.WaitGroup
	acceptDone chan struct{}
	closeOnce  sync.Once
}

// NewServer starts a host on 127.0.0.1 with a port chosen by the system.
// It runs handler on a goroutine of its own for each connection and closes
// the connection (with Conn.Close) when handler returns. The server is
// closed when the test ends (see Close).
func NewServer(tb testing.TB, handler func(c *Conn)) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("telnettest: listen: %v", err)
	}
	s := &Server{tb: tb, ln: ln, handler: handler, acceptDone: make(chan struct{})}
	go s.serve()
	tb.Cleanup(s.Close)
	return s
}

func (s *Server) serve() {
	defer close(s.acceptDone)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return // the listener is closed
		}
		s.handlers.Add(1)
		go func() {
			defer s.handlers.Done()
			c := newConn(s.tb, nc)
			defer c.Close()
			s.handler(c)
		}()
	}
}

// Addr returns the address the server listens on, as "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the address's host, "127.0.0.1".
func (s *Server) Host() string {
	return s.ln.Addr().(*net.TCPAddr).IP.String()
}

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Dial connects a telnet.Telnet to the server, failing the test if it
// cannot, and closes it when the test ends (before the server closes).
func (s *Server) Dial() *telnet.Telnet {
	s.tb.Helper()
	tn, err := telnet.Dial(s.Host(), s.Port(), DefaultTimeout)
	if err != nil {
		s.tb.Fatalf("telnettest: dial %s: %v", s.Addr(), err)
	}
	s.tb.Cleanup(func() { _ = tn.Close() })
	return tn
}

// Close stops accepting connections and waits for every handler to
// return. It is called when the test ends; calling it again does nothing.
// Handlers still waiting for a client that is gone see the end of the
// stream; those waiting for one that is still connected wait until their
// timeout.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.ln.Close()
		<-s.acceptDone
		s.handlers.Wait()
	})
}

// An Event is a unit of what the client sent, decoded: a run of data, a
// command, a negotiation or a whole subnegotiation.
type Event struct {
	// Data is cooked data (IAC IAC undoubled, the NUL of CR NUL removed
	// unless the Conn is in binary mode); nil when the event is a command.
	Data []byte
	// Cmd is the command when Data is nil: DO, DONT, WILL or WONT with
	// Opt, SB for a whole subnegotiation with Opt and Payload, or a
	// command without option (NOP, BRK, IP, GA, ...).
	Cmd byte
	// Opt is the option of a negotiation or a subnegotiation.
	Opt byte
	// Payload is a subnegotiation's payload after its option byte.
	Payload []byte
}

// IsData reports whether the event is data rather than a command.
func (e Event) IsData() bool { return e.Data != nil }

// String describes the event for failure messages: `data "ls\r\n"`,
// "WONT ECHO", `SB NAWS "\x00P\x00\x18"`, "BRK".
func (e Event) String() string {
	switch {
	case e.IsData():
		return "data " + quote(e.Data)
	case e.Cmd == telnet.SB:
		return "SB " + telnet.OptionName(e.Opt) + " " + quote(e.Payload)
	}
	return telnet.NegotiationName(e.Cmd, e.Opt)
}

func quote(b []byte) string {
	const max = 200
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "... (" + strconv.Itoa(len(b)) + " bytes)"
	}
	return strconv.Quote(string(b))
}

// errTimeout is what a wait returns when the Conn's timeout passes.
var errTimeout = errors.New("timed out")

func (c *Conn) failf(format string, args ...any) {
	c.tb.Helper()
	c.tb.Errorf("telnettest: "+format, args...)
	_ = c.nc.Close()
	runtime.Goexit()
}

// describe names why a wait ended, for failure messages.
func (c *Conn) describe(err error) string {
	switch {
	case errors.Is(err, errTimeout):
		return fmt.Sprintf("timed out after %v", c.timeout)
	case c.readErr != nil:
		return fmt.Sprintf("connection failed: %v", c.readErr)
	}
	return "the client closed the connection"
}
