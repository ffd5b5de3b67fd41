package telnet_test

import (
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

func patterns(exprs ...string) []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		res[i] = regexp.MustCompile(e)
	}
	return res
}

// test_expect: the text through the match, the match coming in a later
// write.
func TestExpect(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString(strings.Repeat("x", 10))
		c.SendString("match")
		c.SendString(strings.Repeat("y", 10))
	})
	i, m, text, err := tn.Expect(patterns("match"), wait)
	if i != 0 || string(m[0]) != "match" || string(text) != strings.Repeat("x", 10)+"match" || err != nil {
		t.Errorf("Expect = %d, %q, %q, %v", i, m, text, err)
	}
	if rest, _ := tn.ReadAll(); string(rest) != strings.Repeat("y", 10) {
		t.Errorf("rest %q", rest)
	}
}

// C-32: patterns are tried in list order over all the data; the first
// that matches anywhere wins, not the earliest match. (One write of the
// host arrives whole, so both patterns see all of it.)
func TestExpectListOrder(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("aaa bbb ccc")
		c.ExpectEOF()
	})
	i, m, text, err := tn.Expect(patterns("bbb", "aaa"), wait)
	if i != 0 || string(m[0]) != "bbb" || string(text) != "aaa bbb" || err != nil {
		t.Errorf("Expect([bbb aaa]) = %d, %q, %q, %v; want 0, bbb, \"aaa bbb\"", i, m, text, err)
	}
	if rest, _ := tn.ReadVeryLazy(); string(rest) != " ccc" {
		t.Errorf("left %q unread, want \" ccc\"", rest)
	}
}

// Submatches come as FindSubmatch gives them; a greedy pattern takes what
// has arrived.
func TestExpectSubmatches(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("abc123def user@host ")
		c.ExpectEOF()
	})
	i, m, text, err := tn.Expect(patterns(`\d+`), wait)
	if i != 0 || string(m[0]) != "123" || string(text) != "abc123" || err != nil {
		t.Errorf(`Expect(\d+) = %d, %q, %q, %v; want abc123`, i, m, text, err)
	}
	i, m, text, err = tn.Expect(patterns(`nomatch`, `(\w+)@(\w+)(:\d+)?`), wait)
	if i != 1 || len(m) != 4 || string(m[1]) != "user" || string(m[2]) != "host" || m[3] != nil ||
		string(text) != "def user@host" || err != nil {
		t.Errorf("Expect = %d, %q, %q, %v", i, m, text, err)
	}
}

// On timeout: -1, no match, the text so far and no error.
func TestExpectTimeout(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("partial")
		c.ExpectEOF()
	})
	start := time.Now()
	i, m, text, err := tn.Expect(patterns("never"), 100*time.Millisecond)
	if i != -1 || m != nil || string(text) != "partial" || err != nil {
		t.Errorf("Expect = %d, %q, %q, %v; want -1, nil, partial, nil", i, m, text, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > wait {
		t.Errorf("Expect returned after %v, want about 100ms", d)
	}
}

// C-33 and C-35: at the end of the stream, the text without error; then
// io.EOF. An empty list waits for the end.
func TestExpectEOF(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.SendString("some text") })
	i, m, text, err := tn.Expect(nil, 0)
	if i != -1 || m != nil || string(text) != "some text" || err != nil {
		t.Errorf("Expect(nil) = %d, %q, %q, %v; want -1, nil, the text, nil", i, m, text, err)
	}
	i, m, text, err = tn.Expect(patterns("x"), 0)
	if i != -1 || m != nil || len(text) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Expect at EOF = %d, %q, %q, %v; want io.EOF", i, m, text, err)
	}
}

// C-34, fixed: data held when the stream has ended is still matched
// (telnetlib's expect matches nothing once eof is set, by close() too).
func TestExpectMatchesAfterEOF(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("one two")
		c.ExpectEOF()
	})
	if i, _, text, err := tn.Expect(patterns("one"), wait); i != 0 || string(text) != "one" || err != nil {
		t.Fatalf("Expect(one) = %d, %q, %v", i, text, err)
	}
	tn.Close()
	i, m, text, err := tn.Expect(patterns("two"), wait)
	if i != 0 || string(m[0]) != "two" || string(text) != " two" || err != nil {
		t.Errorf("Expect after Close = %d, %q, %q, %v; want a match", i, m, text, err)
	}
	if i, _, _, err := tn.Expect(patterns("two"), wait); i != -1 || !errors.Is(err, io.EOF) {
		t.Errorf("Expect when drained = %d, %v; want io.EOF", i, err)
	}
}

// At the end of the stream with nothing unread, even a pattern that
// matches empty text gives io.EOF (as telnetlib's EOFError), so that a
// loop of Expect calls ends.
func TestExpectEmptyMatchAtEOF(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.SendString("line\n") })
	if i, _, text, err := tn.Expect(patterns(`\n`), wait); i != 0 || string(text) != "line\n" || err != nil {
		t.Fatalf("Expect(\\n) = %d, %q, %v", i, text, err)
	}
	if _, err := tn.ReadAll(); err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	for _, timeout := range []time.Duration{0, wait, -1} {
		i, m, text, err := tn.Expect(patterns(`x*`), timeout)
		if i != -1 || m != nil || len(text) != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("Expect(x*, %v) at EOF = %d, %q, %q, %v; want -1 and io.EOF", timeout, i, m, text, err)
		}
	}
}

// A negative timeout polls; what the poll brings is matched, never
// returned unmatched.
func TestExpectNegativeTimeout(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		c.SendString("prompt> ")
		c.ExpectEOF()
	})
	start := time.Now()
	if i, _, text, err := tn.Expect(patterns("prompt> "), -1); i != -1 || len(text) != 0 || err != nil {
		t.Errorf("Expect(-1) with nothing sent = %d, %q, %v", i, text, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Expect(-1) waited %v", d)
	}
	tn.Write([]byte("go"))
	deadline := time.Now().Add(wait)
	for {
		i, _, text, err := tn.Expect(patterns("prompt> "), -1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if string(text) != "prompt> " {
				t.Errorf("text %q", text)
			}
			break
		}
		if len(text) != 0 {
			t.Fatalf("Expect(-1) = -1 with %q: polled data returned unmatched", text)
		}
		if time.Now().After(deadline) {
			t.Fatal("data never came")
		}
		time.Sleep(time.Millisecond)
	}
}

// Expect's patterns see cooked data: commands are taken out first.
func TestExpectCookedData(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq("log", telnet.IAC, telnet.NOP, "in: ", telnet.IAC, telnet.IAC))
		c.ExpectEOF()
	})
	i, m, text, err := tn.Expect(patterns(`login: (.)`), wait)
	if i != 0 || string(text) != "login: \xff" || string(m[1]) != "\xff" || err != nil {
		t.Errorf("Expect = %d, %q, %q, %v", i, m, text, err)
	}
}
