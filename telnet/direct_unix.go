//go:build unix

package telnet

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// newSource picks the source for conn. Only the exact TCP and Unix
// connection types are read directly: a type that wraps one (to count or
// record bytes, say) has its own Read, and the pump calls it.
func newSource(conn net.Conn) source {
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return startPump(conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return startPump(conn)
	}
	return newDirect(conn, rc)
}

// direct reads the connection on the goroutine that is reading, through
// its syscall.RawConn: no goroutine of its own, no hand-over between
// goroutines for each chunk, no buffer while it waits. Waiting goes
// through the runtime's network poller as net.Conn.Read does: a read is
// tried first, and only when it finds nothing (EAGAIN) does the
// goroutine park until the poller reports the socket readable.
//
// A direct source can also read straight into the caller's buffer
// (nextInto), which Read and TryRead then decode in place, and wait for
// data without reading any (wait): together they let a relay read each
// byte once, into the buffer it sends from.
type direct struct {
	conn net.Conn
	rc   syscall.RawConn

	// What one call of next or nextInto hands its read function, which
	// is made once (readFn) so that a read allocates nothing.
	readFn  func(fd uintptr) bool
	peekFn  func(fd uintptr) bool
	mode    waitMode
	into    []byte // read into this rather than a pooled buffer
	c       chunk
	got     bool
	peeked  [1]byte
	peekErr error // what peek found, for the next read to return
}

func newDirect(conn net.Conn, rc syscall.RawConn) *direct {
	d := &direct{conn: conn, rc: rc}
	d.readFn = d.read
	d.peekFn = d.peek
	return d
}

// read is called by RawConn.Read: it tries a read, and in block mode
// returns false on EAGAIN, which makes RawConn.Read park the goroutine
// until the poller reports the socket readable and then call it again.
func (d *direct) read(fd uintptr) bool {
	buf, bp := d.into, (*[]byte)(nil)
	if buf == nil {
		bp = chunkPool.Get().(*[]byte)
		buf = *bp
	}
	n, err := 0, d.peekErr
	if err != nil {
		d.peekErr = nil
	} else {
		n, err = syscall.Read(int(fd), buf)
		for err == syscall.EINTR {
			n, err = syscall.Read(int(fd), buf)
		}
	}
	if n <= 0 && bp != nil {
		chunkPool.Put(bp)
	}
	switch {
	case err == syscall.EAGAIN:
		return d.mode == poll
	case n > 0:
		d.c = chunk{buf: buf[:n], pooled: bp}
	case err == nil:
		d.c = chunk{err: io.EOF}
	default:
		d.c = chunk{err: d.readError(err)}
	}
	d.got = true
	return true
}

// readError is the error net.Conn.Read would return for errno err, so
// that callers can test it with errors.Is (syscall.ECONNRESET, ...).
func (d *direct) readError(err error) error {
	return &net.OpError{Op: "read", Net: d.conn.LocalAddr().Network(),
		Source: d.conn.LocalAddr(), Addr: d.conn.RemoteAddr(), Err: os.NewSyscallError("read", err)}
}

// peek is wait's function for RawConn.Read: it reports the socket ready
// when a one-byte MSG_PEEK finds data, the end of the stream or an error,
// and leaves all of it to the read that follows. The kernel reports a
// socket error once, so an error the peek found is kept for that read.
func (d *direct) peek(fd uintptr) bool {
	// The socket is non-blocking, as every socket of package net is.
	_, _, err := syscall.Recvfrom(int(fd), d.peeked[:], syscall.MSG_PEEK)
	for err == syscall.EINTR {
		_, _, err = syscall.Recvfrom(int(fd), d.peeked[:], syscall.MSG_PEEK)
	}
	if err == syscall.EAGAIN {
		return false
	}
	d.peekErr = err
	return true
}

func (d *direct) next(mode waitMode, deadline time.Time) (chunk, bool) {
	d.mode, d.c, d.got = mode, chunk{}, false
	timed := mode == block && !deadline.IsZero()
	if timed {
		_ = d.conn.SetReadDeadline(deadline)
	}
	err := d.rc.Read(d.readFn)
	if timed {
		_ = d.conn.SetReadDeadline(time.Time{})
	}
	return d.result(err)
}

// nextInto is next without a deadline, reading into p: the chunk it
// returns is a prefix of p.
func (d *direct) nextInto(p []byte, mode waitMode) (chunk, bool) {
	d.mode, d.c, d.got, d.into = mode, chunk{}, false, p
	err := d.rc.Read(d.readFn)
	d.into = nil
	return d.result(err)
}

// result turns what a read function left behind, and RawConn.Read's
// error, into next's results.
func (d *direct) result(err error) (chunk, bool) {
	c, got := d.c, d.got
	d.c = chunk{}
	switch {
	case got:
		return c, true
	case err == nil: // poll mode: nothing there
		return chunk{}, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return chunk{}, false
	}
	// Closed under us.
	return chunk{err: err}, true
}

// wait blocks until the socket has data, has reached its end or has
// failed, or the connection is closed; it reads nothing.
func (d *direct) wait() { _ = d.rc.Read(d.peekFn) }

// held returns, as a chunk, the error a peek found and no read has
// reported yet, for a pump that takes over the connection.
func (d *direct) held() (chunk, bool) {
	if d.peekErr == nil {
		return chunk{}, false
	}
	c := chunk{err: d.readError(d.peekErr)}
	d.peekErr = nil
	return c, true
}

func (d *direct) recycle(c chunk) {
	if c.pooled != nil && !c.spare {
		chunkPool.Put(c.pooled)
	}
}

// ready is how many chunks the bytes already received make, so that
// ReadVeryEager takes all of them, as telnetlib's read_very_eager does,
// and no more. Where the kernel does not say how many bytes it holds, it
// is what a pump could have read ahead.
func (d *direct) ready() int {
	n, ok := -1, false
	_ = d.rc.Control(func(fd uintptr) { n, ok = receivedBytes(fd) })
	if !ok {
		return pumpBuffers
	}
	return (n + chunkSize - 1) / chunkSize
}

func (d *direct) stop() {}

// setOOBInline keeps TCP urgent data in the normal stream. BSD-derived
// telnet daemons, inetutils-telnetd among them, send the DM of IAC DM as
// urgent data after an interrupt; without SO_OOBINLINE Linux removes that
// byte from the stream and leaves a dangling IAC that eats the next byte.
func setOOBInline(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
	})
}
