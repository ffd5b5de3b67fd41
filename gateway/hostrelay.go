package gateway

import (
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
// waiting) and down when one fills less than an eighth. The largest is
// 256 KiB: clients that copy each message whole before handing it on
// (Python's asyncio websockets, Node's ws, browsers assembling a Blob or
// ArrayBuffer) do so from their core's second-level cache at that size,
// and ran up to twice as fast as with 1 MiB frames, while the gateway
// spent no more CPU per byte (BENCHMARKS.md).
//
// For a host with a character set (Target.Charset) a read takes at most
// a third of the buffer, and the text is converted into a second buffer,
// of the size it needs: UTF-8 is at most three bytes for each byte read.
// Such a session holds two buffers while it writes a frame.
//
// The goroutine that reads a frame also writes it, and reads the next
// only then: the sockets' buffers in both kernels keep host and browser
// streaming meanwhile. Handing large frames to a second goroutine, to
// decode one while the last is written, overlapped the two but cost
// about a quarter more CPU per byte (the hand-over, and the frame's bytes
// moving from one core's cache to the other's), and brought no more
// throughput where the host, the browser and the gateway share a few
// cores.

// frameHeadroom is where a frame's payload begins in its buffer. The
// kernel copies with rep movsb, which on some CPUs (the AMD EPYC of
// BENCHMARKS.md among them) runs about four times slower when the
// destination lies 1 to 15 bytes past the source modulo 4 KiB.
// gorilla/websocket writes a large message as its own buffer (the frame
// header and the payload's first KiB, writeBufferSize) followed by the
// rest of the payload, and the socket's page for a new send often starts
// at offset 0: a payload at the start of a page-aligned buffer would
// land 4 or 10 bytes (the header's size) past its source, and every
// large frame would be copied at the slow rate. A payload 64 bytes in
// lands 54 or 60 bytes before it, and reads into the buffer stay
// cache-line aligned. BenchmarkKernelCopyDistance shows the effect.
const frameHeadroom = 64

// frameSizes are the frame buffer sizes, smallest first.
var frameSizes = [...]int{16 << 10, 64 << 10, 256 << 10}

// bigFrame is the first size class counted against bigFrameBudget.
const bigFrame = 2

// bigFrameBudget bounds the memory in big frame buffers across a
// gateway's sessions: a session that would go over it gets a smaller
// buffer, at worst the largest size below bigFrame. A session holds one
// buffer at a time (two with a character set), so the budget lets 256
// sessions stream at the largest size at once (128 with one).
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

// sizeClass is the smallest size class of at least size bytes, or the
// largest.
func sizeClass(size int) int {
	for class, n := range frameSizes {
		if n >= size {
			return class
		}
	}
	return len(frameSizes) - 1
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

// gatherRoom is the room a frame buffer must still have for the relay to
// try another read into it: half a pump chunk. A read from a pump (a
// connection that is not read directly) brings at most one 32 KiB
// chunk, so a frame takes several, the last perhaps part of one (the
// rest starts the next frame); after a direct read the next try mostly
// finds nothing, which costs one system call per frame (echoes, in
// 16 KiB buffers, never have the room).
const gatherRoom = 16 << 10

// relayHost copies host output to the browser until either side ends.
// It writes everything the host sent before it went before it stops the
// session.
func (s *session) relayHost() {
	class := 0
	for {
		s.tn.WaitRead()
		if s.res != nil && s.att.Load() == nil {
			// The browser is away: what the host sends waits for it
			// in the kernel's buffers, not in the gateway's. When the
			// session ends instead, the read below says so.
			s.awaitBrowser(nil, nil)
		}
		buf, got := s.g.frames.get(class)
		room := (*buf)[frameHeadroom:]
		if s.hostText != nil {
			// The converted text, with a character held from the last
			// read, fits a buffer of the same size.
			room = room[:len(room)/textExpansion-maxCharBytes]
		}
		n, err := s.tn.TryRead(room)
		for err == nil && n > 0 && len(room)-n >= gatherRoom {
			m, err2 := s.tn.TryRead(room[n:])
			if m == 0 {
				err = err2
				break
			}
			n += m
		}
		if s.hostText != nil {
			class = nextClass(got, n*textExpansion)
		} else {
			class = nextClass(got, n)
		}
		out := room[:n]
		var text *[]byte // the converted output's buffer
		textClass := 0
		if s.hostText != nil && (n > 0 || err != nil) {
			text, textClass = s.g.frames.get(sizeClass(frameHeadroom + (n+maxCharBytes)*textExpansion))
			// A host that ends in the middle of a character has its
			// last bytes shown as U+FFFD.
			out = s.hostText.decode((*text)[frameHeadroom:frameHeadroom], out, err != nil)
		}
		if len(out) > 0 {
			s.touch()
			s.rec.output(out)
			if s.login != nil && !s.login.over.Load() {
				s.login.observe(out)
			}
			a, werr := s.writeFrame(websocket.BinaryMessage, out, s.g.opts.WriteTimeout)
			s.putFrames(buf, got, text, textClass)
			if werr == nil {
				s.bytesOut.Add(int64(len(out)))
				s.g.metrics.toBrowser.Add(float64(len(out)))
			} else if !s.awaitBrowser(a, werr) {
				return
			}
		} else {
			// Commands alone (negotiation) decode to nothing.
			s.putFrames(buf, got, text, textClass)
		}
		if err != nil {
			s.stop(hostReason(err))
			return
		}
	}
}

// putFrames gives back a frame buffer and, when not nil, the one that
// converted text went into.
func (s *session) putFrames(buf *[]byte, class int, text *[]byte, textClass int) {
	s.g.frames.put(buf, class)
	if text != nil {
		s.g.frames.put(text, textClass)
	}
}
