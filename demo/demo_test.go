package demo

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func listen(t *testing.T) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Close ends the sessions, also one whose connection is being accepted
// as Close goes through them; it waited for such a one as long as its
// client stayed. The race is a matter of timing, so it is tried often
// (without the fix it hung within a few hundred tries).
func TestCloseEndsASessionBeingAccepted(t *testing.T) {
	for i := range 1000 {
		s := listen(t)
		c := dial(t, s)
		go func() { _, _ = io.Copy(io.Discard, c) }()
		done := make(chan struct{})
		go func() { _ = s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.Close()
			<-done
			t.Fatalf("try %d: Close waited for a session whose client stayed connected", i)
		}
		c.Close()
	}
}

// typeInto types input into a new session of the demo host and returns
// what the host sent, once done says it has it all.
func typeInto(t *testing.T, input string, done func(got []byte) bool) []byte {
	t.Helper()
	s := listen(t)
	t.Cleanup(func() { s.Close() })
	c := dial(t, s)
	if _, err := c.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !done(got) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("what was awaited never came (%v): %q", err, got)
		}
	}
	return got
}

// IAC EC erases the line's last character, all of its UTF-8 bytes, as
// Backspace does.
func TestEraseCharErasesACharacter(t *testing.T) {
	got := typeInto(t, "echo x\u00e9\xff\xf7|\r\n", func(got []byte) bool { // IAC EC after é
		return bytes.Contains(got, []byte("x|\r\n"))
	})
	if bytes.Contains(got, []byte("x\xc3|")) {
		t.Errorf("EC left half of é: %q", got)
	}
}

// The escape sequences of keys (arrows in either cursor mode, Home with
// a modifier, Alt+x, Esc twice) are dropped whole, not typed into the
// line.
func TestKeySequencesAreNotTyped(t *testing.T) {
	got := typeInto(t, "echo a\x1b[Ab\x1bOBc\x1b[1;5Hd\x1bxe\x1b\x1bf|\r\n", func(got []byte) bool {
		return bytes.Count(got, []byte("|\r\n")) >= 2
	})
	if !bytes.Contains(got, []byte("echo abcdef|\r\nabcdef|\r\n")) {
		t.Errorf("the host showed %q, want the line and its echo as abcdef|", got)
	}
}

// A control character, DEL or a non-ASCII character after Esc (or in an
// unfinished sequence) is not taken into the sequence: Esc then Enter
// runs the line, Alt+é types é whole, and DEL still erases.
func TestEscapeDoesNotSwallowTheNextKey(t *testing.T) {
	// The DEL that ends "Esc [1" erases é, as Backspace does.
	got := typeInto(t, "echo a\x1b\xc3\xa9\x1b[1\x7fb\x1b\r\n", func(got []byte) bool {
		return bytes.Contains(got, []byte("\r\nab\r\n"))
	})
	if !bytes.Contains(got, []byte("echo a\xc3\xa9\b \bb")) {
		t.Errorf("the echo %q is not of a, é (whole), its erasure and b", got)
	}
}
