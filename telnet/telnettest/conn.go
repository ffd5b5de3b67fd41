package telnettest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"telgate/telnet"
)

// A Conn is the host's side of one connection.
type Conn struct {
	tb      testing.TB
	nc      net.Conn
	timeout time.Duration

	// The read side, used by one goroutine at a time.
	buf     []byte // received and not yet consumed
	rbuf    []byte
	eof     bool
	readErr error // a read error other than EOF
	dec     telnet.Decoder
}

func newConn(tb testing.TB, nc net.Conn) *Conn {
	c := &Conn{tb: tb, nc: nc, timeout: DefaultTimeout}
	c.dec.MaxSubnegotiation = 1 << 30
	return c
}

// SetTimeout sets how long each of the Conn's waits may last.
func (c *Conn) SetTimeout(d time.Duration) { c.timeout = d }

// SetBinary tells the decoding read methods whether the client sends in
// BINARY mode: in binary mode the NUL of CR NUL is data.
func (c *Conn) SetBinary(on bool) { c.dec.Binary = on }

// NetConn returns the underlying connection, for what the Conn does not
// offer: write deadlines, urgent data, socket options.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection gracefully: it shuts down the sending side,
// discards what the client still sends until it closes too (or until the
// timeout), and closes. Closing with unread data at once would make the
// system reset the connection, and the client could lose what the host
// sent last. For an abrupt close, close NetConn.
func (c *Conn) Close() {
	if tc, ok := c.nc.(*net.TCPConn); ok && tc.CloseWrite() == nil {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
		_, _ = io.Copy(io.Discard, c.nc)
	}
	_ = c.nc.Close()
}

// CloseWrite shuts down the sending side: the client reads the end of the
// stream while the Conn can still read what it sends.
func (c *Conn) CloseWrite() {
	c.tb.Helper()
	if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
		c.failf("CloseWrite: %v", err)
	}
}

// Send writes b as it is: IAC bytes are not doubled.
func (c *Conn) Send(b []byte) {
	c.tb.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.nc.Write(b); err != nil {
		c.failf("Send %s: %v", quote(b), err)
	}
}

// SendString writes s as it is: IAC bytes are not doubled.
func (c *Conn) SendString(s string) {
	c.tb.Helper()
	c.Send([]byte(s))
}

// SendCommand sends IAC cmd.
func (c *Conn) SendCommand(cmd byte) {
	c.tb.Helper()
	c.Send([]byte{telnet.IAC, cmd})
}

// Negotiate sends IAC cmd opt, cmd being DO, DONT, WILL or WONT.
func (c *Conn) Negotiate(cmd, opt byte) {
	c.tb.Helper()
	c.Send([]byte{telnet.IAC, cmd, opt})
}

// SendSubnegotiation sends IAC SB opt payload IAC SE with every IAC in
// payload doubled.
func (c *Conn) SendSubnegotiation(opt byte, payload []byte) {
	c.tb.Helper()
	c.Send(telnet.AppendSubnegotiation(nil, opt, payload))
}

// Expect waits until the client has sent exactly the bytes want, raw
// (IAC doubled, CR NUL as sent), and consumes them. It fails as soon as a
// byte differs, when the client closes first, or at the timeout.
func (c *Conn) Expect(want []byte) {
	c.tb.Helper()
	deadline := time.Now().Add(c.timeout)
	for {
		n := min(len(c.buf), len(want))
		if i := firstDiff(c.buf[:n], want[:n]); i >= 0 {
			c.failf("Expect: bytes differ at offset %d\nwant %s\n got %s",
				i, quote(want), quote(c.buf[:min(len(c.buf), len(want)+16)]))
		}
		if len(c.buf) >= len(want) {
			c.consumeRaw(len(want))
			return
		}
		if err := c.fill(deadline); err != nil {
			c.failf("Expect %s: %s; received %s", quote(want), c.describe(err), quote(c.buf))
		}
	}
}

// ExpectString is Expect for a string.
func (c *Conn) ExpectString(want string) {
	c.tb.Helper()
	c.Expect([]byte(want))
}

// ReadEvent waits for the next unit the client sends and returns it
// decoded. Consecutive data, already received, comes as one event. At the
// end of the stream it returns io.EOF (or the read error, or
// io.ErrUnexpectedEOF when the stream ends inside a command). It fails the
// test at the timeout.
func (c *Conn) ReadEvent() (Event, error) {
	c.tb.Helper()
	ev, err := c.readEvent(0, time.Now().Add(c.timeout))
	if errors.Is(err, errTimeout) {
		c.failf("ReadEvent: %s", c.describe(err))
	}
	return ev, err
}

// ExpectData waits for cooked data equal to want, consuming exactly that
// much. It fails if a command comes first, if the data differs, if the
// client closes, or at the timeout.
func (c *Conn) ExpectData(want string) {
	c.tb.Helper()
	deadline := time.Now().Add(c.timeout)
	var got []byte
	for len(got) < len(want) {
		ev, err := c.readEvent(len(want)-len(got), deadline)
		if err != nil {
			c.failf("ExpectData %s: %s; received data %s", quote([]byte(want)), c.describe(err), quote(got))
		}
		if !ev.IsData() {
			c.failf("ExpectData %s: got %v after data %s", quote([]byte(want)), ev, quote(got))
		}
		got = append(got, ev.Data...)
		if i := firstDiff(got, []byte(want[:len(got)])); i >= 0 {
			c.failf("ExpectData: data differs at offset %d\nwant %s\n got %s", i, quote([]byte(want)), quote(got))
		}
	}
}

// ExpectNegotiation waits for the next event and fails unless it is
// IAC cmd opt.
func (c *Conn) ExpectNegotiation(cmd, opt byte) {
	c.tb.Helper()
	want := telnet.NegotiationName(cmd, opt)
	if ev := c.next(want); ev.IsData() || ev.Cmd != cmd || ev.Opt != opt {
		c.failf("want %s, got %v", want, ev)
	}
}

// ExpectCommand waits for the next event and fails unless it is IAC cmd,
// a command without option such as BRK, IP or AYT.
func (c *Conn) ExpectCommand(cmd byte) {
	c.tb.Helper()
	want := telnet.CommandName(cmd)
	if ev := c.next(want); ev.IsData() || ev.Cmd != cmd {
		c.failf("want %s, got %v", want, ev)
	}
}

// ExpectSubnegotiation waits for the next event, fails unless it is a
// subnegotiation of opt, and returns its payload (after the option byte,
// IAC IAC undoubled).
func (c *Conn) ExpectSubnegotiation(opt byte) []byte {
	c.tb.Helper()
	want := "SB " + telnet.OptionName(opt)
	ev := c.next(want)
	if ev.IsData() || ev.Cmd != telnet.SB || ev.Opt != opt {
		c.failf("want %s, got %v", want, ev)
	}
	return ev.Payload
}

// ExpectEOF waits for the client to close the connection and fails if
// anything else arrives first.
func (c *Conn) ExpectEOF() {
	c.tb.Helper()
	ev, err := c.readEvent(0, time.Now().Add(c.timeout))
	switch {
	case err == nil:
		c.failf("want the end of the stream, got %v", ev)
	case errors.Is(err, errTimeout):
		c.failf("want the end of the stream: %s", c.describe(err))
	}
}

// next waits for the next event; the end of the stream fails the test.
func (c *Conn) next(what string) Event {
	c.tb.Helper()
	ev, err := c.readEvent(0, time.Now().Add(c.timeout))
	if err != nil {
		c.failf("waiting for %s: %s", what, c.describe(err))
	}
	return ev
}

// readEvent decodes the next unit, waiting for it until deadline. A data
// event holds at most maxData cooked bytes when maxData > 0, and exactly
// the raw bytes that make them are consumed.
func (c *Conn) readEvent(maxData int, deadline time.Time) (Event, error) {
	for {
		switch {
		case len(c.buf) == 0:
		case c.buf[0] != telnet.IAC || len(c.buf) > 1 && c.buf[1] == telnet.IAC:
			if data := c.data(maxData); len(data) > 0 {
				return Event{Data: data}, nil
			}
			continue
		default:
			if n := commandLen(c.buf); n > 0 {
				ev := c.command(c.buf[:n])
				c.buf = c.buf[n:]
				return ev, nil
			}
		}
		if err := c.fill(deadline); err != nil {
			if errors.Is(err, io.EOF) && len(c.buf) > 0 {
				err = io.ErrUnexpectedEOF
			} else if errors.Is(err, io.EOF) && c.readErr != nil {
				err = c.readErr
			}
			return Event{}, err
		}
	}
}

// data decodes the data (runs without IAC, and IAC IAC) at the start of
// the buffer, up to maxData cooked bytes when maxData > 0.
func (c *Conn) data(maxData int) []byte {
	out := []byte{}
	for len(c.buf) > 0 && (maxData <= 0 || len(out) < maxData) {
		k := bytes.IndexByte(c.buf, telnet.IAC)
		switch {
		case k == 0:
			if len(c.buf) < 2 || c.buf[1] != telnet.IAC {
				return out // a command, or an IAC whose next byte is to come
			}
			k = 2 // IAC IAC: one 255
		case k < 0:
			k = len(c.buf)
		}
		if maxData > 0 && c.buf[0] != telnet.IAC {
			// Cooked data is never longer than the raw bytes.
			k = min(k, maxData-len(out))
		}
		out, _, _, _ = c.dec.Decode(out, c.buf[:k])
		c.buf = c.buf[k:]
	}
	return out
}

// command decodes one whole command unit.
func (c *Conn) command(unit []byte) Event {
	_, n, ev, _ := c.dec.Decode(nil, unit)
	if ev.Cmd != telnet.SB {
		return Event{Cmd: ev.Cmd, Opt: ev.Opt}
	}
	_, _, end, ended := c.dec.Decode(nil, unit[n:])
	payload := append([]byte(nil), c.dec.Subnegotiation()...)
	e := Event{Cmd: telnet.SB, Payload: []byte{}}
	if len(payload) > 0 {
		e.Opt, e.Payload = payload[0], payload[1:]
	}
	if !ended || end.Cmd != telnet.SE {
		c.tb.Errorf("telnettest: %v not ended by IAC SE", e)
	}
	return e
}

// commandLen returns the length of the command unit at the start of b
// (b[0] is IAC), or 0 when it has not all arrived. A subnegotiation is one
// unit through its IAC SE; one broken by another command ends before it.
func commandLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case telnet.DO, telnet.DONT, telnet.WILL, telnet.WONT:
		if len(b) < 3 {
			return 0
		}
		return 3
	case telnet.SB:
		for i := 2; i+1 < len(b); i++ {
			if b[i] != telnet.IAC {
				continue
			}
			switch b[i+1] {
			case telnet.IAC:
				i++
			case telnet.SE:
				return i + 2
			default:
				return i
			}
		}
		return 0
	}
	return 2
}

// fill reads what the client sent next, waiting until deadline. It
// returns errTimeout at the deadline and io.EOF at the end of the stream.
func (c *Conn) fill(deadline time.Time) error {
	if c.eof {
		return io.EOF
	}
	if c.rbuf == nil {
		c.rbuf = make([]byte, 32<<10)
	}
	_ = c.nc.SetReadDeadline(deadline)
	n, err := c.nc.Read(c.rbuf)
	c.buf = append(c.buf, c.rbuf[:n]...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if n > 0 {
			return nil
		}
		return errTimeout
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.readErr = err
	}
	c.eof = true
	if n > 0 {
		return nil
	}
	return io.EOF
}

// consumeRaw consumes n raw bytes. The decoder starts afresh after them,
// so that a CR read before does not make a NUL after them vanish.
func (c *Conn) consumeRaw(n int) {
	c.buf = c.buf[n:]
	if n > 0 {
		c.dec.Reset()
	}
}

// firstDiff returns the offset of the first byte where a and b (of equal
// length) differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
