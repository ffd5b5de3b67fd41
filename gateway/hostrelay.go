package gateway

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// Host output reaches the browser in frames, each one binary message of
// whatever the host had sent by the time the relay read it: a lone echo
// leaves at once, alone, and bulk output leaves in large frames, which
// cost the browser and both kernels far less per byte than small ones.
//
// The telnet package reads each frame's bytes straight into the frame
// buffer and decodes them there, so a byte is copied from the host's
// socket once and then handed to the browser's. A frame buffer is taken
// only once output has arrived (Telnet.WaitRead) and given back when the
// frame is written, so an idle session holds none.
//
// Buffer sizes adapt to the stream: a session starts with the smallest,
// moves up a size when a read fills at least half of its buffer (more is
// waiting) and down when one fills less than an eighth. While frames are
// large the session writes them on a second goroutine, so that reading
// and decoding the next frame overlaps writing the last; small frames,
// echoes among them, are written by the reading goroutine itself, with
// no hand-over in their way.

// frameHeadroom is where a frame's payload begins in its buffer. The
// kernel copies with rep movsb, which on some CPUs (the AMD EPYC of
// BENCHMARKS.md among them) runs about four times slower when the
// destination lies 1 to 15 bytes past the source modulo 4 KiB.
// gorilla/websocket writes a large message as its own buffer (the frame
// header and the payload's first 4 KiB) followed by the rest of the
// payload, and the socket's page for a new send often starts at offset
// 0: a payload at the start of a page-aligned buffer would land 4 or 10
// bytes (the header's size) past its source, and every large frame would
// be copied at the slow rate. A payload 64 bytes in lands 54 or 60 bytes
// before it, and reads into the buffer stay cache-line aligned.
// BenchmarkKernelCopyDistance shows the effect.
const frameHeadroom = 64

// frameSizes are the frame buffer sizes, smallest first.
var frameSizes = [...]int{16 << 10, 64 << 10, 256 << 10, 1 << 20}

// bigFrame is the first size class written on the second goroutine and
// counted against bigFrameBudget.
const bigFrame = 2

// bigFrameBudget bounds the memory in big frame buffers across a
// gateway's sessions: a session that would go over it gets a smaller
// buffer, at worst the largest size below bigFrame. At the largest size a session holds up to
// three buffers (one being written, one queued behind it, one being
// filled), so the budget lets about 20 sessions stream at full speed at
// once.
const bigFrameBudget = 64 << 20

// frameBuffers hands out a gateway's frame buffers.
type frameBuffers struct {
	pools [len(frameSizes)]sync.Pool
	big   atomic.Int64 // bytes of big frame buffers in use
}

// get returns a buffer of size class class, or of a smaller class when
// the budget for big buffers is spent, and the class it is of.
func (f *frameBuffers) get(class int) (*[]byte, int) {
	for class >= bigFrame {
		size := int64(frameSizes[class])
		if f.big.Add(size) <= bigFrameBudget {
			break
		}
		f.big.Add(-size)
		class--
	}
	bp, _ := f.pools[class].Get().(*[]byte)
	if bp == nil {
		b := make([]byte, frameSizes[class])
		bp = &b
	}
	return bp, class
}

// put gives back a buffer that get returned for class.
func (f *frameBuffers) put(bp *[]byte, class int) {
	if class >= bigFrame {
		f.big.Add(-int64(frameSizes[class]))
	}
	f.pools[class].Put(bp)
}

// nextClass is the size class for the frame after one that took n bytes
// of a buffer of class class.
func nextClass(class, n int) int {
	size := frameSizes[class]
	switch {
	case n >= size/2 && class < len(frameSizes)-1:
		return class + 1
	case n < size/8 && class > 0:
		return class - 1
	}
	return class
}

// An outFrame is host output ready for the browser: n bytes of a frame
// buffer, from frameHeadroom on.
type outFrame struct {
	buf   *[]byte
	class int
	n     int
}

func (f outFrame) payload() []byte { return (*f.buf)[frameHeadroom : frameHeadroom+f.n] }

// errSessionOver is a frameWriter's error once the session has been
// stopped with frames still queued.
var errSessionOver = errors.New("session over")

// A frameWriter writes one session's frames in order: small ones on the
// caller's goroutine, big ones on a goroutine of its own, started when
// the first big frame of a burst comes and gone when the burst ends.
// Only the session's reading goroutine calls write and wait.
type frameWriter struct {
	s *session

	mu      sync.Mutex
	cond    sync.Cond // signalled when queued empties or writing ends
	queued  *outFrame // the next frame for the writing goroutine
	writing bool      // the writing goroutine is running
	err     error     // its failure; the session has been stopped
}

func newFrameWriter(s *session) *frameWriter {
	w := &frameWriter{s: s}
	w.cond.L = &w.mu
	return w
}

// write sends f to the browser, or queues it behind the frame being
// written. It takes f's buffer either way. It returns the error of a
// failed write, after which the session is stopped.
func (w *frameWriter) write(f outFrame) error {
	w.mu.Lock()
	if !w.writing && w.err == nil && f.class < bigFrame {
		w.mu.Unlock()
		return w.send(f)
	}
	for w.queued != nil && w.err == nil {
		w.cond.Wait()
	}
	if err := w.err; err != nil {
		w.mu.Unlock()
		w.s.g.frames.put(f.buf, f.class)
		return err
	}
	w.queued = &f
	if !w.writing {
		w.writing = true
		go w.run()
	}
	w.mu.Unlock()
	return nil
}

// run is the writing goroutine: it writes queued frames until none is
// waiting.
func (w *frameWriter) run() {
	w.mu.Lock()
	// Once the session is stopped, what is queued is not for anyone.
	for w.queued != nil && w.err == nil && w.s.ctx.Err() == nil {
		f := *w.queued
		w.queued = nil
		w.cond.Broadcast()
		w.mu.Unlock()
		err := w.send(f)
		w.mu.Lock()
		if err != nil {
			w.err = err
		}
	}
	if w.queued != nil { // not written: the session is over
		if w.err == nil {
			w.err = errSessionOver
		}
		w.s.g.frames.put(w.queued.buf, w.queued.class)
		w.queued = nil
	}
	w.writing = false
	w.cond.Broadcast()
	w.mu.Unlock()
}

// send writes one frame, gives its buffer back and, when the write
// fails, stops the session.
func (w *frameWriter) send(f outFrame) error {
	s := w.s
	err := s.writeFrame(websocket.BinaryMessage, f.payload(), s.g.opts.WriteTimeout)
	s.g.frames.put(f.buf, f.class)
	if err != nil {
		s.stop(browserWriteReason(err))
		return err
	}
	s.bytesOut.Add(int64(f.n))
	s.g.metrics.toBrowser.Add(float64(f.n))
	return nil
}

// wait returns once every frame handed to write has been written or
// dropped.
func (w *frameWriter) wait() {
	w.mu.Lock()
	for w.writing {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// gatherRoom is the room a frame buffer must still have for the relay to
// try another read into it. A read from a pump (a connection that is not
// read directly) brings at most one 32 KiB chunk, so a frame takes
// several; after a direct read the next try mostly finds nothing, which
// costs one system call per frame (echoes, in 16 KiB buffers, never
// have the room).
const gatherRoom = 32 << 10

// relayHost copies host output to the browser until either side ends.
func (s *session) relayHost() {
	w := newFrameWriter(s)
	defer w.wait()
	class := 0
	for {
		s.tn.WaitRead()
		buf, got := s.g.frames.get(class)
		room := (*buf)[frameHeadroom:]
		n, err := s.tn.TryRead(room)
		for err == nil && n > 0 && len(room)-n >= gatherRoom {
			m, err2 := s.tn.TryRead(room[n:])
			if m == 0 {
				err = err2
				break
			}
			n += m
		}
		class = nextClass(got, n)
		if n > 0 {
			f := outFrame{buf: buf, class: got, n: n}
			s.touch()
			s.rec.output(f.payload())
			if werr := w.write(f); werr != nil {
				return
			}
		} else {
			// Commands alone (negotiation) decode to nothing.
			s.g.frames.put(buf, got)
		}
		if err != nil {
			// Everything the host sent before it went reaches the
			// browser before the session is stopped.
			w.wait()
			s.stop(hostReason(err))
			return
		}
	}
}
