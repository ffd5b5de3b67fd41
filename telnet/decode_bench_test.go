package telnet

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// bulkOutput returns n bytes of numbered text lines ending in CR LF with
// a command every fourth line (IAC NOP, IAC IAC, IAC GA in turn): about
// 3.6 command sequences per KiB, the stream bench/ sends through the
// gateway.
func bulkOutput(n int) []byte {
	const text = "the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG; 0123456789"
	raw := make([]byte, 0, n+128)
	var line []byte
	for i := 0; len(raw) < n; i++ {
		line = fmt.Appendf(line[:0], "%09d ", i)
		k := i % len(text)
		line = append(line, text[k:]...)
		line = append(line, text[:k]...)
		line = line[:10+50+i%20]
		mid := 10 + i%40
		raw = append(raw, line[:mid]...)
		switch i % 12 {
		case 3:
			raw = append(raw, IAC, NOP)
		case 7:
			raw = append(raw, IAC, IAC)
		case 11:
			raw = append(raw, IAC, GA)
		}
		raw = append(raw, line[mid:]...)
		raw = append(raw, '\r', '\n')
	}
	return raw[:n]
}

// noSource is a source with nothing to read, for decoding chunks handed
// to Telnet.decode directly.
type noSource struct{}

func (noSource) next(waitMode, time.Time) (chunk, bool) { return chunk{}, false }
func (noSource) recycle(chunk)                          {}
func (noSource) ready() int                             { return 0 }
func (noSource) stop()                                  {}

// BenchmarkCookInPlace is the receive path of a relay after the read
// system call: a 1 MiB chunk of bulkOutput decoded in place, each command
// handed to a Negotiator's callback. MB/s counts raw bytes; the copy that
// restores the chunk before each decode is included (about 40 µs/MiB
// here, as fast as the kernel's own copy of the bytes would be).
func BenchmarkCookInPlace(b *testing.B) {
	src := bulkOutput(1 << 20)
	buf := make([]byte, len(src))
	t := New()
	t.src = noSource{}
	t.SetOptionNegotiationCallback(NewNegotiator(Policy{}).Callback)
	// Every command is two bytes, and IAC IAC leaves one.
	want := len(src) - 2*bytes.Count(src, []byte{IAC}) + 3*bytes.Count(src, []byte{IAC, IAC})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, src)
		if n := len(t.decode(buf[:0], chunk{buf: buf})); n != want {
			b.Fatalf("decoded %d bytes, want %d", n, want)
		}
	}
}
