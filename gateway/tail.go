package gateway

// tailSize is how much of the latest output a session keeps, when it
// keeps any: for its browser to resume from (a screenful or two of a busy
// console, more than what is in flight to a browser on an interactive
// session), and to show a viewer who starts watching.
const tailSize = 64 << 10

// An outputTail keeps the last tailSize bytes of a session's output: in
// a buffer that grows with the output until it holds tailSize bytes (a
// session that shows a prompt and waits keeps a few), then in a ring of
// that size. Its user guards it (the session's wmu).
type outputTail struct {
	ring []byte // while it grows, exactly the output so far
	end  int    // where the next byte goes in a full-size ring; 0 while it grows
	held int    // how many bytes ring holds: up to tailSize
	// wrapped is set once output has been dropped from the front.
	wrapped bool
}

// write keeps p as the latest output.
func (t *outputTail) write(p []byte) {
	if len(p) == 0 {
		return
	}
	if len(t.ring) < tailSize {
		if len(t.ring)+len(p) <= tailSize {
			t.ring = append(t.ring, p...)
			t.held = len(t.ring)
			return
		}
		ring := make([]byte, tailSize)
		t.end = copy(ring, t.ring)
		t.ring = ring
	}
	t.wrapped = t.wrapped || t.held+len(p) > len(t.ring)
	t.held = min(t.held+len(p), len(t.ring))
	if len(p) >= len(t.ring) {
		copy(t.ring, p[len(p)-len(t.ring):])
		t.end = 0
		return
	}
	n := copy(t.ring[t.end:], p)
	copy(t.ring, p[n:])
	t.end = (t.end + len(p)) % len(t.ring)
}

// last returns the last n bytes of output, or all it holds when n is
// more, in a new slice. (While the buffer grows, end is 0 and the bytes
// held are the whole buffer, so the ring's arithmetic holds for it too.)
func (t *outputTail) last(n int64) []byte {
	n = min(n, int64(t.held))
	if n <= 0 {
		return nil
	}
	out := make([]byte, n)
	start := (t.end - int(n) + len(t.ring)) % len(t.ring)
	m := copy(out, t.ring[start:])
	copy(out[m:], t.ring)
	return out
}

// screen returns what it holds for a viewer who starts watching: all of
// it, but that once output has been dropped from the front it starts
// after the first line ending, so that it does not begin in the middle
// of a character or an escape sequence (unless no line ends in its first
// quarter).
func (t *outputTail) screen() []byte {
	out := t.last(int64(t.held))
	if t.wrapped {
		if i := indexByteWithin(out, '\n', len(out)/4); i >= 0 {
			out = out[i+1:]
		}
	}
	return out
}

// indexByteWithin is the index of the first c in the first n bytes of
// p, or -1.
func indexByteWithin(p []byte, c byte, n int) int {
	for i := 0; i < min(n, len(p)); i++ {
		if p[i] == c {
			return i
		}
	}
	return -1
}
