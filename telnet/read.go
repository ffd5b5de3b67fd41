package telnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// waitMode says how long fill may wait for the connection.
type waitMode uint8

const (
	poll  waitMode = iota // only what can be had without waiting
	block                 // until data, EOF or the deadline
)

// deadlineFor turns a method's timeout into a deadline: zero time means
// none. A negative timeout means "do not wait", as telnetlib's timeout=0.
func deadlineFor(timeout time.Duration) (time.Time, waitMode) {
	switch {
	case timeout > 0:
		return time.Now().Add(timeout), block
	case timeout < 0:
		return time.Time{}, poll
	}
	return time.Time{}, block
}

// unread returns the cooked data not yet returned to the caller.
func (t *Telnet) unread() []byte { return t.cooked[t.coff:] }

// take returns a copy of the first n unread cooked bytes and consumes them.
func (t *Telnet) take(n int) []byte {
	// append, unlike make and copy, does not zero what it overwrites.
	out := append([]byte{}, t.cooked[t.coff:t.coff+n]...)
	t.consume(n)
	return out
}

func (t *Telnet) consume(n int) {
	t.coff += n
	if t.coff == len(t.cooked) {
		t.cooked, t.coff = t.cooked[:0], 0
	}
}

// fill receives one chunk from the connection and decodes it into the
// cooked buffer, running the callback for each command. It reports whether
// it got a chunk; false means the wait ended first (or EOF was already
// seen).
func (t *Telnet) fill(mode waitMode, deadline time.Time) bool {
	c, ok := t.receive(mode, deadline)
	if !ok {
		return false
	}
	if t.coff > 0 && t.coff >= len(t.cooked)/2 {
		// Move the unread tail down rather than let the buffer creep.
		n := copy(t.cooked, t.cooked[t.coff:])
		t.cooked, t.coff = t.cooked[:n], 0
	}
	t.cooked = t.decode(t.cooked, c)
	return true
}

// receive waits for the connection's next chunk: the one WaitRead put
// aside, if any, else one from the source. At EOF or on error it records
// the end of the stream and returns the chunk with what data came with it.
func (t *Telnet) receive(mode waitMode, deadline time.Time) (chunk, bool) {
	if t.hasPending {
		c := t.pending
		t.pending, t.hasPending = chunk{}, false
		return t.noteEnd(c), true
	}
	if t.eof || t.src == nil {
		return chunk{}, false
	}
	if t.closing() {
		return t.closedChunk(), true
	}
	if expired(deadline) {
		mode, deadline = poll, time.Time{}
	}
	c, ok := t.src.next(mode, deadline)
	if !ok {
		return chunk{}, false
	}
	return t.noteEnd(c), true
}

// WaitRead waits until a read has something to work on: cooked data is
// buffered, bytes have arrived from the connection, or the stream has
// ended. It consumes nothing and runs no callback: the Read or TryRead
// that follows decodes what arrived, and reports the end of the stream.
// Bytes that decode to commands alone leave TryRead with nothing (and
// Read waiting for more). It returns at once on a Telnet that is not
// connected.
//
// Like Read, it is a read method: call it from the reading goroutine only.
// A relay calls it before taking a buffer for TryRead, so that a
// connection with nothing to say holds no buffer.
func (t *Telnet) WaitRead() {
	if len(t.unread()) > 0 || t.hasPending || t.eof || t.src == nil || t.closing() {
		return
	}
	if d, ok := t.src.(intoSource); ok {
		d.wait()
		return
	}
	if c, ok := t.src.next(block, time.Time{}); ok {
		t.pending, t.hasPending = c, true
	}
}

// closing reports whether Close has been called (and has begun): from
// then on the reads take nothing more from the connection. What a pump
// had read ahead is dropped as the kernel's buffer is, so that once
// ReadVeryLazy has reported the end, no read returns data.
func (t *Telnet) closing() bool { return t.closed.Load() }

// closedChunk ends the stream as a read of the closed connection would.
func (t *Telnet) closedChunk() chunk { return t.noteEnd(chunk{err: net.ErrClosed}) }

// noteEnd records the end of the stream when a chunk carries an error.
func (t *Telnet) noteEnd(c chunk) chunk {
	if c.err != nil {
		t.eof = true
		t.endLocal = !errors.Is(c.err, io.EOF) && t.closed.Load()
		switch {
		case errors.Is(c.err, io.EOF), t.closed.Load():
			t.readErr = t.closedErr()
		default:
			t.readErr = fmt.Errorf("telnet: read: %w", c.err)
		}
	}
	return c
}

// closedErr is what reads report at the end of a stream that was closed
// cleanly: io.EOF, or ErrOutputBacklog when the package closed the
// connection because the peer stopped reading.
func (t *Telnet) closedErr() error {
	if err := t.out.failure(); errors.Is(err, ErrOutputBacklog) {
		return err
	}
	return io.EOF
}

// decode runs a chunk through the decoder, appending cooked data to dst,
// and gives the chunk's buffer back to the source, also when the callback
// panics: a pump has only pumpBuffers buffers, and a read that recovers
// from the panic must not leave it one short. Nothing is lost then: the
// data decoded before the command is kept as cooked data, and the rest of
// the chunk is decoded by the next read (telnetlib keeps the rest too,
// but loses the data).
func (t *Telnet) decode(dst []byte, c chunk) []byte {
	if t.debugging() {
		t.Msg("recv %s", pyBytes(c.buf))
	}
	t.dec.at = -1
	defer t.decoded(c, len(dst))
	if t.raw.Load() {
		if len(dst) == 0 && cap(dst) >= len(c.buf) && len(c.buf) > 0 && &dst[:1][0] == &c.buf[0] {
			return dst[:len(c.buf)] // read in place: nothing to move
		}
		return append(dst, c.buf...)
	}
	t.dec.Binary = t.binaryRecv.Load()
	dst = t.dec.decodeChunk(dst, c.buf, t.handleDecoded)
	t.dec.at, t.dec.out = -1, nil // decoded whole; the caller's buffer is not held
	return dst
}

// decoded ends decode, deferred once per chunk rather than once per
// command, which bulk output brings every few hundred bytes: it clears
// what callback set (also when the callback panicked), forgets a partial
// command at the end of the stream and recycles the chunk. After a panic
// of the callback (the decoder stopped at a command) it first keeps what
// the chunk held: the data decoded into dst from its length base on, and
// the raw rest of the chunk, as the chunk the next read decodes first.
func (t *Telnet) decoded(c chunk, base int) {
	if t.inCallback.Load() {
		t.inCallback.Store(false)
	}
	if at := t.dec.at; at >= 0 {
		t.cooked = append(t.cooked, t.dec.out[base:]...)
		if at < len(c.buf) || c.err != nil {
			t.pending = chunk{buf: bytes.Clone(c.buf[at:]), err: c.err, spare: true}
			t.hasPending = true
			c.err = nil // the rest ends the stream, once decoded
		}
		t.dec.at, t.dec.out = -1, nil
	}
	if c.err != nil {
		t.dec.Reset()
	}
	t.src.recycle(c)
}

// handleDecoded is handle for the decoder, which then goes on in the mode
// the command may have set.
func (t *Telnet) handleDecoded(ev Event) {
	t.handle(ev)
	t.dec.Binary = t.binaryRecv.Load()
}

// handle acts on one command: through the callback when one is set, by
// telnetlib's refuse-everything default otherwise.
func (t *Telnet) handle(ev Event) {
	switch ev.Cmd {
	case DO, DONT, WILL, WONT:
		t.Msg("IAC %s %d", CommandName(ev.Cmd), ev.Opt)
		if t.cb != nil {
			t.callback(ev.Cmd, ev.Opt)
			return
		}
		switch ev.Cmd {
		case DO:
			_ = t.reply(IAC, WONT, ev.Opt)
		case WILL:
			_ = t.reply(IAC, DONT, ev.Opt)
		}
		// An option we never enable is already off: answering DONT or
		// WONT would acknowledge a mode we are in (RFC 854) and can
		// loop against a peer that does the same.
		return
	case SB:
		t.dropSBData()
	case SE:
		if ev.Overflow {
			t.Msg("subnegotiation longer than %d bytes discarded", t.maxSB())
			return
		}
		t.sbdata = append(t.sbdata, t.dec.Subnegotiation()...)
	}
	if t.cb != nil {
		t.callback(ev.Cmd, NOOPT)
	} else {
		t.Msg("IAC %d not recognized", ev.Cmd)
	}
}

// callback runs the option callback. Writes made meanwhile through the
// Telnet it receives are queued (see queues) so that the reader never
// waits for the peer. The flag that says so is set at the chunk's first
// callback and cleared when the chunk is decoded (decoded): an atomic
// store is a locked instruction on amd64, and without two of them per
// command, at a few commands per KiB of bulk output, a relay used 4-7%
// less CPU (BENCHMARKS.md).
func (t *Telnet) callback(cmd, opt byte) {
	if !t.inCallback.Load() {
		t.inCallback.Store(true)
	}
	t.cb(t.cbTelnet, cmd, opt)
}

func (t *Telnet) maxSB() int {
	if t.dec.MaxSubnegotiation > 0 {
		return t.dec.MaxSubnegotiation
	}
	return DefaultMaxSubnegotiation
}

// SetMaxSubnegotiation caps the payload of one subnegotiation (default
// DefaultMaxSubnegotiation). A longer one is discarded up to its IAC SE and
// not reported to the callback. Call it before reading.
func (t *Telnet) SetMaxSubnegotiation(n int) { t.dec.MaxSubnegotiation = n }

// endErr is what a read at the end of the stream returns: io.EOF after a
// clean close, the read error otherwise, and ErrNotConnected on a Telnet
// that was never opened.
func (t *Telnet) endErr() error {
	switch {
	case t.readErr != nil:
		return t.readErr
	case t.src == nil:
		return ErrNotConnected
	}
	return io.EOF
}

// Read reads cooked data into p, implementing io.Reader: it blocks until at
// least one byte is available and returns what is, up to len(p). At the
// end of the stream it returns io.EOF (or the read error). It is the
// fastest way to read: when nothing is buffered it decodes straight into p.
//
// On a Telnet that was never opened, Read and every other read method
// return ErrNotConnected, as Write does. After Close they take nothing
// more from the connection: they return the data already decoded, and
// what WaitRead set aside, then report the end of the stream.
func (t *Telnet) Read(p []byte) (int, error) {
	return t.readInto(p, block)
}

// TryRead is Read that never waits for the network: it returns what cooked
// data is already available, or 0 and a nil error when there is none. At
// the end of the stream it returns io.EOF (or the read error). A relay
// calls it after a Read to gather what else has arrived into one write.
func (t *Telnet) TryRead(p []byte) (int, error) {
	return t.readInto(p, poll)
}

func (t *Telnet) readInto(p []byte, mode waitMode) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(t.unread()) == 0 {
		if (t.eof || t.src == nil) && !t.hasPending {
			return 0, t.endErr()
		}
		if t.closing() && !t.hasPending {
			t.closedChunk()
			return 0, t.endErr()
		}
		var c chunk
		var ok bool
		if d, direct := t.src.(intoSource); direct && len(p) >= minDirectRead && !t.hasPending {
			// Read into p and decode there: each byte is copied once.
			c, ok = d.nextInto(p, mode)
			if ok {
				c = t.noteEnd(c)
			}
		} else {
			c, ok = t.receive(mode, time.Time{})
		}
		if !ok {
			if mode == poll && !t.eof {
				return 0, nil
			}
			return 0, t.endErr()
		}
		if len(c.buf) <= len(p) {
			// Cooked data is never longer than the raw chunk, and
			// decoding never writes ahead of what it has read, so
			// the chunk may be p itself.
			if n := len(t.decode(p[:0], c)); n > 0 {
				return n, nil
			}
			continue
		}
		t.cooked = t.decode(t.cooked, c)
	}
	n := copy(p, t.unread())
	t.consume(n)
	return n, nil
}

// ReadUntil reads until match is found, the timeout passes or the
// connection closes, and returns the data through the end of the match.
// Without a match it returns what was read, possibly nothing, with a nil
// error, as telnetlib does; only when the connection closed and nothing was
// read does it return io.EOF. A timeout of 0 means no timeout; a negative
// one means "do not wait" (telnetlib's timeout=0): only what has already
// been received, as ReadVeryEager takes it, is searched. The timeout
// bounds the whole call, not each read.
func (t *Telnet) ReadUntil(match []byte, timeout time.Duration) ([]byte, error) {
	if t.src == nil {
		return []byte{}, ErrNotConnected
	}
	n := len(match)
	if i := bytes.Index(t.unread(), match); i >= 0 {
		return t.take(i + n), nil
	}
	deadline, mode := deadlineFor(timeout)
	polls := 0 // when not waiting: the fills that take what has arrived
	if mode == poll {
		polls = t.received() // asks the kernel: only when it is needed
	}
	for !t.eof {
		start := max(0, len(t.unread())-n+1)
		if !t.fill(mode, deadline) {
			break
		}
		if i := bytes.Index(t.unread()[start:], match); i >= 0 {
			return t.take(start + i + n), nil
		}
		if polls--; polls == 0 || expired(deadline) {
			break
		}
	}
	return t.ReadVeryLazy()
}

// expired reports whether a deadline (zero: none) has passed. The reads
// with a timeout check it after each chunk, so that a peer that keeps
// sending cannot keep them reading past it.
func expired(deadline time.Time) bool {
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

// ReadAll reads until the connection closes and returns all cooked data.
// It returns a nil error at a clean end of stream, and the data with the
// error when the connection failed.
func (t *Telnet) ReadAll() ([]byte, error) {
	if t.src == nil {
		return []byte{}, ErrNotConnected
	}
	for !t.eof && t.fill(block, time.Time{}) {
	}
	data := t.take(len(t.unread()))
	if t.readErr != nil && !errors.Is(t.readErr, io.EOF) {
		return data, t.readErr
	}
	return data, nil
}

// ReadSome blocks until cooked data is available and returns all of it
// (at least one byte). At the end of the stream it returns an empty slice
// and io.EOF (or the read error).
func (t *Telnet) ReadSome() ([]byte, error) {
	for len(t.unread()) == 0 && !t.eof && t.fill(block, time.Time{}) {
	}
	if len(t.unread()) == 0 {
		return []byte{}, t.endErr()
	}
	return t.take(len(t.unread())), nil
}

// ReadVeryEager returns everything that can be read without waiting for
// the network: all cooked data after decoding every chunk already
// received (on Linux, for a connection read directly, all the kernel
// holds; elsewhere up to three 32 KiB chunks, what a pump would have
// read ahead). It may return an empty slice when the connection is open
// (negotiation alone produces no data). It returns io.EOF when the
// connection closed and no cooked data is left. Against a host that sends
// without pause it still returns: it decodes what had arrived when it was
// called (and a chunk that arrives meanwhile), so memory stays bounded.
func (t *Telnet) ReadVeryEager() ([]byte, error) {
	t.fillReceived()
	return t.ReadVeryLazy()
}

// fillReceived decodes what has arrived so far, and a chunk more, without
// waiting.
func (t *Telnet) fillReceived() {
	for n := t.received(); n > 0 && !t.eof && t.fill(poll, time.Time{}); n-- {
	}
}

// received is how many fills take what has arrived so far, and one chunk
// more: the bound of the reads that do not wait.
func (t *Telnet) received() int {
	n := 1
	if t.hasPending {
		n++
	}
	if t.src != nil {
		n += t.src.ready()
	}
	return n
}

// ReadEager is ReadVeryEager, but stops decoding received chunks as soon
// as some cooked data is available.
func (t *Telnet) ReadEager() ([]byte, error) {
	for len(t.unread()) == 0 && !t.eof && t.fill(poll, time.Time{}) {
	}
	return t.ReadVeryLazy()
}

// ReadLazy decodes what has been received and not yet decoded, without
// reading the connection, and returns the cooked data, as telnetlib's
// read_lazy processes its raw queue. This package decodes every chunk as
// it takes it from the connection, except the one WaitRead sets aside:
// that one is what ReadLazy decodes. It returns io.EOF as ReadVeryLazy.
func (t *Telnet) ReadLazy() ([]byte, error) {
	if t.hasPending {
		t.fill(poll, time.Time{})
	}
	return t.ReadVeryLazy()
}

// ReadVeryLazy returns the cooked data already decoded and never reads.
// It returns io.EOF when the connection closed (at the peer or by Close)
// and nothing is left: no cooked data, and no chunk that WaitRead set
// aside (which ReadLazy or any other read decodes), as telnetlib's
// read_very_lazy raises EOFError only when its raw queue is empty too.
func (t *Telnet) ReadVeryLazy() ([]byte, error) {
	if len(t.unread()) == 0 && !t.hasPending {
		switch {
		case t.eof, t.src == nil:
			return []byte{}, t.endErr()
		case t.closing():
			return []byte{}, t.closedErr()
		}
	}
	return t.take(len(t.unread())), nil
}

// ReadSBData returns the payload of the last subnegotiation (option byte
// first, IAC IAC undoubled) and clears it. Call it from the callback when
// it receives SE. It never reads.
func (t *Telnet) ReadSBData() []byte {
	out := make([]byte, len(t.sbdata))
	copy(out, t.sbdata)
	t.dropSBData()
	return out
}

// dropSBData forgets the last subnegotiation's payload, and lets go of
// its buffer if it is large.
func (t *Telnet) dropSBData() {
	if cap(t.sbdata) > keptSB {
		t.sbdata = nil
	} else {
		t.sbdata = t.sbdata[:0]
	}
}

// EOF reports whether the end of the stream has been seen.
func (t *Telnet) EOF() bool { return t.eof }
