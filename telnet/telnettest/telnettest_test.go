package telnettest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
)

const iac = telnet.IAC

// dialRaw connects a plain socket to srv, closed when the test ends.
func dialRaw(t *testing.T, srv *Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// sendBytewise writes b one byte per write, so that every unit arrives in
// pieces.
func sendBytewise(t *testing.T, nc net.Conn, b []byte) {
	for i := range b {
		if _, err := nc.Write(b[i : i+1]); err != nil {
			t.Error(err)
			return
		}
	}
}

// The package documentation's story.
func TestLoginStory(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {
		c.Negotiate(telnet.DO, telnet.ECHO)
		c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
		c.SendString("login: ")
		c.ExpectData("admin\r\n")
		c.SendString("Welcome\r\n")
	})
	tn := srv.Dial()
	if _, err := tn.ReadUntil([]byte("login: "), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	tn.Write([]byte("admin\r\n"))
	if got, err := tn.ReadAll(); string(got) != "Welcome\r\n" || err != nil {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}

func TestServerAddress(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {})
	if srv.Host() != "127.0.0.1" || srv.Port() == 0 || srv.Addr() != fmt.Sprintf("127.0.0.1:%d", srv.Port()) {
		t.Errorf("Host, Port, Addr = %q, %d, %q", srv.Host(), srv.Port(), srv.Addr())
	}
}

// The decoded reads take whole units, however the client's bytes arrive,
// and the raw reads continue exactly where they stopped.
func TestDecodedAndRawReads(t *testing.T) {
	stream := bytes.Join([][]byte{
		[]byte("ab\r\x00c"),
		{iac, telnet.WONT, telnet.ECHO},
		{iac, telnet.SB, telnet.NAWS, 0, iac, iac, 0, 24, iac, telnet.SE},
		{iac, telnet.BRK},
		[]byte("x"), {iac, iac}, []byte("y\r"),
		[]byte("\x00raw\r\x00"),
		[]byte("\x00z"),
		{iac, telnet.SB, telnet.TTYPE, telnet.SubIS}, []byte("VT100"), {iac, telnet.SE},
		[]byte("end"),
	}, nil)
	done := make(chan struct{})
	srv := NewServer(t, func(c *Conn) {
		defer close(done)
		c.ExpectData("ab\rc")
		c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
		if got := c.ExpectSubnegotiation(telnet.NAWS); !bytes.Equal(got, []byte{0, 255, 0, 24}) {
			t.Errorf("NAWS payload %v", got)
		}
		c.ExpectCommand(telnet.BRK)
		c.ExpectData("x\xffy\r")
		c.ExpectString("\x00raw\r\x00") // raw: the NUL after CR is there
		c.ExpectData("\x00z")           // and a raw read forgets the CR
		ev, err := c.ReadEvent()
		if err != nil || ev.Cmd != telnet.SB || ev.Opt != telnet.TTYPE || string(ev.Payload) != "\x00VT100" {
			t.Errorf("ReadEvent = %v, %v", ev, err)
		}
		c.ExpectData("end")
		c.ExpectEOF()
		if _, err := c.ReadEvent(); err != io.EOF {
			t.Errorf("ReadEvent at the end: %v", err)
		}
	})
	nc := dialRaw(t, srv)
	sendBytewise(t, nc, stream)
	nc.Close()
	<-done
}

// ExpectData takes exactly the data it wants and leaves the rest.
func TestExpectDataSplitsRuns(t *testing.T) {
	done := make(chan struct{})
	srv := NewServer(t, func(c *Conn) {
		defer close(done)
		c.ExpectData("hello ")
		c.ExpectData("wor")
		c.ExpectString("ld\xff\xff")
		c.ExpectData("!")
	})
	nc := dialRaw(t, srv)
	nc.Write([]byte("hello world\xff\xff!"))
	<-done
}

func TestSendSide(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {
		c.SendString("a")
		c.Send([]byte{iac, iac})
		c.SendCommand(telnet.GA)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND, iac})
		c.CloseWrite()
		c.ExpectString("bye")
	})
	nc := dialRaw(t, srv)
	got, err := io.ReadAll(nc)
	want := []byte{'a', iac, iac, iac, telnet.GA, iac, telnet.WILL, telnet.ECHO,
		iac, telnet.SB, telnet.TTYPE, telnet.SubSEND, iac, iac, iac, telnet.SE}
	if !bytes.Equal(got, want) || err != nil {
		t.Errorf("client read % x, %v; want % x", got, err, want)
	}
	nc.Write([]byte("bye"))
}

// The host's last words reach the client even when the client sent
// things the handler never read.
func TestCloseIsGraceful(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {
		c.ExpectString("x")
		c.SendString("last words")
	})
	for range 20 {
		nc := dialRaw(t, srv)
		nc.Write(append([]byte("x"), bytes.Repeat([]byte("unread"), 10000)...))
		got, err := io.ReadAll(nc)
		if string(got) != "last words" || err != nil {
			t.Fatalf("client read %q, %v", got, err)
		}
		nc.Close()
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// An expectation not met fails the test with what was expected and what
// came, ends the handler there, and closes the connection.
func TestFailures(t *testing.T) {
	cases := []struct {
		name   string
		client []byte
		host   func(c *Conn)
		want   string
	}{
		{"Expect", []byte("xyq"), func(c *Conn) { c.ExpectString("xyz") },
			"Expect: bytes differ at offset 2\nwant \"xyz\"\n got \"xyq\""},
		{"ExpectData", []byte("xyq"), func(c *Conn) { c.ExpectData("xyz") },
			"ExpectData: data differs at offset 2"},
		{"ExpectData command", []byte{'x', iac, telnet.NOP}, func(c *Conn) { c.ExpectData("xyz") },
			`ExpectData "xyz": got NOP after data "x"`},
		{"ExpectNegotiation", []byte{iac, telnet.WILL, telnet.ECHO}, func(c *Conn) { c.ExpectNegotiation(telnet.WONT, telnet.ECHO) },
			"want WONT ECHO, got WILL ECHO"},
		{"ExpectSubnegotiation", []byte("hi"), func(c *Conn) { c.ExpectSubnegotiation(telnet.NAWS) },
			`want SB NAWS, got data "hi"`},
		{"ExpectCommand", []byte{iac, telnet.SB, telnet.NAWS, 0, 80, 0, 24, iac, telnet.SE}, func(c *Conn) { c.ExpectCommand(telnet.BRK) },
			`want BRK, got SB NAWS "\x00P\x00\x18"`},
		{"ExpectEOF", []byte("more"), func(c *Conn) { c.ExpectEOF() },
			`want the end of the stream, got data "more"`},
		{"closed", nil, func(c *Conn) { c.ExpectString("abc") },
			`Expect "abc": the client closed the connection; received ""`},
		{"timeout", []byte("ab"), func(c *Conn) { c.SetTimeout(50 * time.Millisecond); c.ExpectString("abc") },
			`Expect "abc": timed out after 50ms; received "ab"`},
		{"truncated", []byte{iac, telnet.DO}, func(c *Conn) { c.ExpectNegotiation(telnet.DO, 1) },
			"waiting for DO ECHO: the client closed the connection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			after := false
			done := make(chan struct{})
			srv := NewServer(rec, func(c *Conn) {
				defer close(done)
				tc.host(c)
				after = true
			})
			nc := dialRaw(t, srv)
			nc.Write(tc.client)
			if tc.name != "timeout" {
				nc.(*net.TCPConn).CloseWrite()
			}
			got, _ := io.ReadAll(nc) // the failure closes the connection
			<-done
			if len(got) != 0 {
				t.Errorf("client read %q", got)
			}
			if after {
				t.Error("the handler went on after the failure")
			}
			if f := rec.failures(); !strings.Contains(f, tc.want) {
				t.Errorf("failure:\n%s\nwant it to contain:\n%s", f, tc.want)
			}
		})
	}
}

func TestEventString(t *testing.T) {
	cases := map[string]Event{
		`data "a\xff"`:         {Data: []byte("a\xff")},
		"WONT ECHO":            {Cmd: telnet.WONT, Opt: telnet.ECHO},
		"DO 200":               {Cmd: telnet.DO, Opt: 200},
		"NOP":                  {Cmd: telnet.NOP},
		`SB TTYPE "\x00XTERM"`: {Cmd: telnet.SB, Opt: telnet.TTYPE, Payload: []byte("\x00XTERM")},
	}
	for want, ev := range cases {
		if got := ev.String(); got != want {
			t.Errorf("String() = %s, want %s", got, want)
		}
	}
}

func TestCommandLen(t *testing.T) {
	cases := []struct {
		b    []byte
		want int
	}{
		{[]byte{iac}, 0},
		{[]byte{iac, telnet.NOP, 'x'}, 2},
		{[]byte{iac, telnet.DO}, 0},
		{[]byte{iac, telnet.DO, 1, 'x'}, 3},
		{[]byte{iac, telnet.SB, 24, 1, iac}, 0},
		{[]byte{iac, telnet.SB, 24, iac, iac, iac, telnet.SE, 'x'}, 7},
		{[]byte{iac, telnet.SB, 24, 'a', iac, telnet.NOP}, 4}, // broken: ends before IAC NOP
		{[]byte{iac, telnet.SB, telnet.SE, iac, telnet.SE}, 5},
	}
	for _, c := range cases {
		if got := commandLen(c.b); got != c.want {
			t.Errorf("commandLen(% x) = %d, want %d", c.b, got, c.want)
		}
	}
}
