package gateway

import (
	"bytes"
	"strings"
	"testing"
)

// The tail holds the last tailSize bytes of output whatever the sizes of
// the writes that brought them, growing up to that size first.
func TestOutputTailKeepsTheLastBytes(t *testing.T) {
	var all []byte
	var tail outputTail
	for i, n := range []int{1, 100, 5000, tailSize - 5101, 1, 3, tailSize - 1, 7, 3 * tailSize, 12345} {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		for j := range p {
			p[j] += byte(j % 3) // not one byte repeated
		}
		tail.write(p)
		all = append(all, p...)
		for _, want := range []int{0, 1, 17, tailSize / 2, tailSize, tailSize + 1} {
			got := tail.last(int64(want))
			keep := min(want, len(all), tailSize)
			if !bytes.Equal(got, all[len(all)-keep:]) {
				t.Fatalf("after %d bytes, last(%d): %d bytes differ from the output's last %d", len(all), want, len(got), keep)
			}
		}
		if grown := len(all) < tailSize; grown && len(tail.ring) != len(all) {
			t.Errorf("after %d bytes the buffer is %d bytes, want as many as the output", len(all), len(tail.ring))
		}
	}
}

// A viewer is shown what the tail holds, from a line ending on once the
// start of the output has gone, so that it does not begin inside an
// escape sequence.
func TestOutputTailScreen(t *testing.T) {
	var tail outputTail
	tail.write([]byte("login: alice\r\n$ "))
	if got := string(tail.screen()); got != "login: alice\r\n$ " {
		t.Errorf("screen %q, want the whole output", got)
	}
	tail.write([]byte(strings.Repeat("\x1b[31mred\x1b[0m\r\n", tailSize/12)))
	got := tail.screen()
	if !bytes.HasPrefix(got, []byte("\x1b[31mred")) || len(got) > tailSize {
		t.Errorf("screen starts %q (%d bytes), want a whole line first", got[:20], len(got))
	}
}
