package telnet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// output serialises everything written to the connection. Writes from a
// goroutine that may block (a caller's Write) go straight to the
// connection once earlier queued bytes are out; writes made from the
// option callback, and the Negotiator's frames, are queued and sent by a
// short-lived goroutine, so that the reading goroutine never waits for the
// peer.
type output struct {
	t        *Telnet
	mu       sync.Mutex
	idle     sync.Cond // signalled when writing becomes false
	advanced sync.Cond // signalled when done grows
	writing  bool      // someone owns the connection's write side
	queue    []byte    // bytes waiting to be written, in order
	spare    []byte    // the other half of a double buffer for queue
	queued   uint64    // bytes ever queued
	done     uint64    // bytes of those written, or dropped after an error
	err      error     // the first write error; every later write fails
}

// send writes one frame, already escaped, as a unit, once what was queued
// before it is out. With queue (a write from the callback) it only queues
// the frame.
func (o *output) send(frame []byte, queue bool) error {
	if queue {
		_, err := o.enqueue(frame)
		return err
	}
	o.mu.Lock()
	for o.writing && o.err == nil {
		o.idle.Wait()
	}
	if err := o.check(); err != nil {
		o.mu.Unlock()
		return err
	}
	o.writing = true
	queued := o.takeQueue()
	o.mu.Unlock()

	err := o.write(queued)
	if err == nil {
		err = o.write(frame)
	}
	o.release(queued)
	return err
}

// enqueue adds a frame to the queue and makes sure a goroutine sends it.
// It never waits for the peer. It returns the frame's end in the count of
// bytes queued, for waitSent. A frame is refused, and the connection
// closed, only when the queue already holds MaxOutputBacklog bytes: one
// large frame alone (a large Write from the callback) is not a backlog.
func (o *output) enqueue(frame []byte) (end uint64, err error) {
	if o.t.conn == nil {
		return 0, ErrNotConnected // never opened: nothing to drain to
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.check(); err != nil {
		return 0, err
	}
	if len(o.queue) >= MaxOutputBacklog {
		o.fail(ErrOutputBacklog)
		go o.t.closeConn(o.t.conn)
		return 0, ErrOutputBacklog
	}
	o.queue = append(o.queue, frame...)
	o.queued += uint64(len(frame))
	if !o.writing {
		o.writing = true
		go o.drain()
	}
	return o.queued, nil
}

// waitSent waits until the queue has been written up to end (what
// enqueue returned), or dropped after a write error or a close: it gives
// a goroutine that queues frames the backpressure of a direct write.
func (o *output) waitSent(end uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.done < end {
		o.advanced.Wait()
	}
}

// drain writes the queue until it is empty.
func (o *output) drain() {
	o.mu.Lock()
	queued := o.takeQueue()
	o.mu.Unlock()
	err := o.write(queued)
	_ = err // recorded by write
	o.release(queued)
}

// flush gives what is being written to conn, and the replies the
// callback queued, up to d to leave, then cuts them short by closing
// conn. It reports whether it had to.
func (o *output) flush(conn net.Conn, d time.Duration) (cut bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.writing {
		return false
	}
	// A timer, not a write deadline: it works whatever the connection.
	timer := time.AfterFunc(d, func() { _ = conn.Close() })
	for o.writing {
		o.idle.Wait()
	}
	return !timer.Stop()
}

// reset readies the output for a new connection, once the writes to the
// last one are over (it is closed, so they end at once).
func (o *output) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.writing {
		o.idle.Wait()
	}
	o.queue, o.err = o.queue[:0], nil
	o.done = o.queued
}

// takeQueue swaps the queue out; o.mu is held.
func (o *output) takeQueue() []byte {
	q := o.queue
	o.queue = o.spare[:0]
	o.spare = nil
	return q
}

// release gives up the write side after writing buf (the queue taken
// earlier), or hands it to a new drain when more was queued meanwhile.
func (o *output) release(buf []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.spare == nil && cap(buf) <= 4<<10 {
		o.spare = buf[:0] // small buffers are worth keeping
	}
	o.done += uint64(len(buf))
	defer o.advanced.Broadcast()
	if len(o.queue) > 0 && o.err == nil {
		go o.drain()
		return
	}
	o.queue = o.queue[:0]
	o.done = o.queued // all written, or dropped after an error
	o.writing = false
	o.idle.Broadcast()
}

func (o *output) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	conn := o.t.conn
	if conn == nil {
		return ErrNotConnected
	}
	if _, err := conn.Write(p); err != nil {
		if o.t.closed.Load() {
			err = fmt.Errorf("%w: %w", ErrNotConnected, err)
		} else {
			err = fmt.Errorf("telnet: write: %w", err)
		}
		o.mu.Lock()
		o.fail(err)
		o.mu.Unlock()
		return err
	}
	return nil
}

// fail records the first write error; o.mu is held.
func (o *output) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// check returns why nothing more can be written, if so; o.mu is held.
// After Close that is ErrNotConnected, unless the package closed the
// connection itself because of a backlog.
func (o *output) check() error {
	switch {
	case errors.Is(o.err, ErrOutputBacklog):
		return o.err
	case o.t.closed.Load():
		return ErrNotConnected
	}
	return o.err
}

// failure returns the first write error.
func (o *output) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// reply sends a short command sequence from the reading goroutine.
func (t *Telnet) reply(seq ...byte) error {
	_, err := t.out.enqueue(seq)
	return err
}

// Write writes data, doubling every IAC byte (unless the connection is
// raw: see SetRaw), and returns len(p) on success (the io.Writer contract: counts are in the caller's bytes).
// It does no end-of-line translation; see AppendLineEndings for that.
func (t *Telnet) Write(p []byte) (int, error) {
	if t.conn == nil {
		return 0, ErrNotConnected
	}
	frame := p
	if !t.raw.Load() && bytes.IndexByte(p, IAC) >= 0 {
		frame = AppendEscaped(make([]byte, 0, len(p)+8), p)
	}
	if t.debugging() {
		t.Msg("send %s", pyBytes(frame))
	}
	if err := t.out.send(frame, t.queues()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteRaw writes p as it is, without doubling IAC, as one unit: for
// command sequences this package has no helper for.
func (t *Telnet) WriteRaw(p []byte) error {
	if t.conn == nil {
		return ErrNotConnected
	}
	return t.out.send(p, t.queues())
}

// SendCommand sends IAC cmd: BRK, IP, AO, AYT, EC, EL, GA, NOP, DM or
// EOR_CMD. Write cannot send these, since it escapes IAC.
func (t *Telnet) SendCommand(cmd byte) error {
	switch {
	case t.conn == nil:
		return ErrNotConnected
	case t.raw.Load():
		return ErrRaw
	}
	return t.out.send([]byte{IAC, cmd}, t.queues())
}

// SendNegotiation sends IAC cmd opt, with cmd one of DO, DONT, WILL, WONT.
// It sends what it is told; Negotiator keeps the state that decides what
// should be sent.
func (t *Telnet) SendNegotiation(cmd, opt byte) error {
	switch {
	case t.conn == nil:
		return ErrNotConnected
	case t.raw.Load():
		return ErrRaw
	}
	return t.out.send([]byte{IAC, cmd, opt}, t.queues())
}

// SendSubnegotiation sends IAC SB opt payload IAC SE, doubling every IAC
// in payload.
func (t *Telnet) SendSubnegotiation(opt byte, payload []byte) error {
	switch {
	case t.conn == nil:
		return ErrNotConnected
	case t.raw.Load():
		return ErrRaw
	}
	return t.out.send(AppendSubnegotiation(nil, opt, payload), t.queues())
}

// AppendEscaped appends p to dst with every IAC byte doubled.
func AppendEscaped(dst, p []byte) []byte {
	for {
		i := bytes.IndexByte(p, IAC)
		if i < 0 {
			return append(dst, p...)
		}
		dst = append(dst, p[:i+1]...)
		dst = append(dst, IAC)
		p = p[i+1:]
	}
}

// AppendSubnegotiation appends the frame IAC SB opt payload IAC SE to dst,
// doubling every IAC in opt and payload.
func AppendSubnegotiation(dst []byte, opt byte, payload []byte) []byte {
	dst = append(dst, IAC, SB)
	dst = AppendEscaped(dst, []byte{opt})
	dst = AppendEscaped(dst, payload)
	return append(dst, IAC, SE)
}
