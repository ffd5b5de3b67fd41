package telnet

import (
	"net"
	"sync"
)

// Sizes of the receive path: the pump reads into one of pumpBuffers
// buffers of pumpBufferSize bytes each. When all of them wait for the
// reader, the pump stops reading the connection, so a peer that sends
// while nobody reads meets TCP backpressure instead of a growing queue.
const (
	pumpBuffers    = 2
	pumpBufferSize = 32 << 10
)

// A chunk is what one read of the connection returned.
type chunk struct {
	buf []byte
	err error
}

// A pump reads the connection on its own goroutine and hands raw chunks
// to the reader. It lets the reader poll without blocking (telnetlib's
// sock_avail), which read deadlines cannot do: a deadline in the past
// fails a read even when data is buffered.
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
			buf = make([]byte, pumpBufferSize)
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

// recycle gives a chunk's buffer back to the pump.
func (p *pump) recycle(buf []byte) {
	if buf != nil {
		p.free <- buf[:0]
	}
}

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
