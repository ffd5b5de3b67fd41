package telnet

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// Sizes of the receive path: a read of the connection takes at most
// chunkSize bytes. A pump holds at most pumpBuffers chunks that wait for
// the reader; when all of them wait, it stops reading the connection, so
// a peer that sends while nobody reads meets TCP backpressure instead of a
// growing queue.
const (
	pumpBuffers = 2
	chunkSize   = 32 << 10
)

// A chunk is what one read of the connection returned.
type chunk struct {
	buf    []byte
	err    error
	pooled *[]byte // buf's backing array, when it came from chunkPool
	// spare says buf is the reader's own (the rest of a chunk a
	// callback's panic interrupted): no source takes it back.
	spare bool
}

// A source hands the reader raw chunks of the connection. There are two:
// direct, which reads TCP and Unix connections on the reading goroutine
// itself, and pump, which reads any other net.Conn on a goroutine of its
// own.
type source interface {
	// next returns the next chunk. In poll mode it does not wait for
	// the network; in block mode it waits until data, the end of the
	// stream or the deadline (zero: none). It reports false when no
	// chunk came (poll mode, or the deadline passed).
	next(mode waitMode, deadline time.Time) (chunk, bool)
	// recycle takes back a chunk's buffer once it has been decoded.
	recycle(c chunk)
	// ready is how many chunks ReadVeryEager may take without waiting.
	ready() int
	// stop ends the source after the connection was closed.
	stop()
}

// An intoSource is a source that can also read straight into the
// reader's buffer, with no deadline (the chunk it returns is a prefix of
// p), and wait for data without taking any. held returns what it keeps
// for the next read (an error found while waiting), when a pump takes
// the connection over.
type intoSource interface {
	nextInto(p []byte, mode waitMode) (chunk, bool)
	wait()
	held() (chunk, bool)
}

// minDirectRead is the smallest buffer that Read and TryRead fill straight
// from an intoSource: a smaller one gets a chunk of the usual size,
// decoded into the Telnet's buffer, so that small reads do not make a
// system call each.
const minDirectRead = 4 << 10

// chunkPool holds the buffers of direct reads. A direct source takes one
// only for the read system call itself and for the decoding that follows,
// so an idle connection holds none, and a thousand idle sessions do not
// hold a thousand buffers.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, chunkSize)
	return &b
}}

// A pump reads the connection on its own goroutine and hands raw chunks
// to the reader. It lets the reader poll without blocking (telnetlib's
// sock_avail) on a connection without a descriptor, where read deadlines
// cannot serve: a deadline in the past fails a read even when data is
// buffered.
type pump struct {
	conn     net.Conn
	full     chan chunk
	free     chan []byte
	done     chan struct{}
	stopOnce sync.Once
}

func startPump(conn net.Conn) *pump {
	p := &pump{
		conn: conn,
		full: make(chan chunk, pumpBuffers),
		free: make(chan []byte, pumpBuffers),
		done: make(chan struct{}),
	}
	for i := 0; i < pumpBuffers; i++ {
		p.free <- nil // allocated on first use
	}
	go p.run()
	return p
}

func (p *pump) run() {
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			return
		}
		if buf == nil {
			buf = make([]byte, chunkSize)
		}
		n, err := p.conn.Read(buf[:cap(buf)])
		if n == 0 && err == nil {
			p.free <- buf
			continue
		}
		select {
		case p.full <- chunk{buf: buf[:n], err: err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (p *pump) next(mode waitMode, deadline time.Time) (chunk, bool) {
	var c chunk
	switch {
	case mode == poll || expired(deadline):
		select {
		case c = <-p.full:
		default:
			// Give a pump that has just been woken a chance to deliver.
			runtime.Gosched()
			select {
			case c = <-p.full:
			case <-p.done:
				c = p.stopped()
			default:
				return chunk{}, false
			}
		}
	case deadline.IsZero():
		select {
		case c = <-p.full:
		case <-p.done:
			c = p.stopped()
		}
	default:
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		select {
		case c = <-p.full:
		case <-p.done:
			c = p.stopped()
		case <-timer.C:
			return chunk{}, false
		}
	}
	return c, true
}

// recycle gives a chunk's buffer back to the pump (or to chunkPool, for
// a chunk read directly before Interact started the pump).
func (p *pump) recycle(c chunk) {
	switch {
	case c.spare:
	case c.pooled != nil:
		chunkPool.Put(c.pooled)
	case c.buf != nil:
		p.free <- c.buf[:0]
	}
}

func (p *pump) ready() int { return len(p.full) }

// stop ends the pump's goroutine; the connection must be closed first so
// that a pending read returns.
func (p *pump) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// stopped is what the reader receives once the pump has been stopped: a
// chunk the pump delivered before, then the end of the stream.
func (p *pump) stopped() chunk {
	select {
	case c := <-p.full:
		return c
	default:
		return chunk{err: net.ErrClosed}
	}
}
