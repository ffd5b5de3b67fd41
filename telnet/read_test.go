package telnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// test_read_until: the data through the end of the match, the rest kept.
func TestReadUntil(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("xxxmatchyyy")
	})
	if got, err := tn.ReadUntil([]byte("match"), wait); string(got) != "xxxmatch" || err != nil {
		t.Errorf("ReadUntil = %q, %v; want xxxmatch", got, err)
	}
	if got, err := tn.ReadAll(); string(got) != "yyy" || err != nil {
		t.Errorf("ReadAll = %q, %v; want yyy", got, err)
	}
}

// test_read_until, second part: the match comes in a later write.
func TestReadUntilAcrossWrites(t *testing.T) {
	x50, y50 := strings.Repeat("x", 50), strings.Repeat("y", 50)
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString(x50)
		c.SendString("match")
		c.SendString(y50)
	})
	if got, err := tn.ReadUntil([]byte("match"), wait); string(got) != x50+"match" || err != nil {
		t.Errorf("ReadUntil = %q, %v", got, err)
	}
}

// B25: a match that starts inside a false start ("xxaaab" for "aab"),
// wherever the stream is split. The host sends the first part and a NOP,
// and the rest only once the callback has seen the NOP, so the match
// spans two reads.
func TestReadUntilSplitMatch(t *testing.T) {
	const stream = "xxaaabyy"
	for cut := 1; cut < len(stream); cut++ {
		resume := make(chan struct{})
		tn := serve(t, func(c *telnettest.Conn) {
			c.Send(seq(stream[:cut], telnet.IAC, telnet.NOP))
			<-resume
			c.SendString(stream[cut:])
		})
		tr := traceCommands(tn)
		tr.on = func(cmd, _ byte) {
			if cmd == telnet.NOP {
				close(resume)
			}
		}
		got, err := tn.ReadUntil([]byte("aab"), wait)
		if string(got) != "xxaaab" || err != nil {
			t.Errorf("cut at %d: ReadUntil = %q, %v; want xxaaab", cut, got, err)
		}
		tn.Close()
	}
}

func TestReadUntilEmptyMatch(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.ExpectEOF() })
	start := time.Now()
	if got, err := tn.ReadUntil(nil, 0); len(got) != 0 || err != nil {
		t.Errorf("ReadUntil(nil) = %q, %v", got, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ReadUntil(nil) waited %v", d)
	}
}

// test_read_all: everything until EOF, then nothing.
func TestReadAll(t *testing.T) {
	parts := []string{strings.Repeat("x", 500), strings.Repeat("y", 500), strings.Repeat("z", 500)}
	tn := serve(t, func(c *telnettest.Conn) {
		for _, p := range parts {
			c.SendString(p)
		}
	})
	if got, err := tn.ReadAll(); string(got) != strings.Join(parts, "") || err != nil {
		t.Errorf("ReadAll = %d bytes, %v; want 1500", len(got), err)
	}
	if got, err := tn.ReadAll(); len(got) != 0 || err != nil {
		t.Errorf("second ReadAll = %q, %v; want nothing", got, err)
	}
}

// test_read_some: at least one byte; at EOF nothing, with io.EOF where
// telnetlib returns an empty bytes object.
func TestReadSome(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString(strings.Repeat("x", 500))
	})
	var all []byte
	for {
		got, err := tn.ReadSome()
		if err != nil {
			if !errors.Is(err, io.EOF) || len(got) != 0 {
				t.Fatalf("ReadSome at the end = %q, %v", got, err)
			}
			break
		}
		if len(got) == 0 {
			t.Fatal("ReadSome returned no data and no error")
		}
		all = append(all, got...)
	}
	if string(all) != strings.Repeat("x", 500) {
		t.Errorf("read %d bytes, want 500 x", len(all))
	}

	tn = serve(t, func(c *telnettest.Conn) {})
	if got, err := tn.ReadSome(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadSome on an empty stream = %q, %v; want io.EOF", got, err)
	}
}

// ReadSome returns at once what has come, even when the chunk ends with
// a command (B3), and negotiation alone is not data.
func TestReadSomeReturnsAvailable(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq("hello", telnet.IAC, telnet.WILL, telnet.ECHO))
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Send(seq(telnet.IAC, telnet.NOP))
		c.SendString("world")
		c.ExpectData("bye")
	})
	if got, err := tn.ReadSome(); string(got) != "hello" || err != nil {
		t.Errorf("ReadSome = %q, %v; want hello", got, err)
	}
	if got, err := tn.ReadSome(); string(got) != "world" || err != nil {
		t.Errorf("ReadSome = %q, %v; want world", got, err)
	}
	tn.Write([]byte("bye"))
}

// test_read_eager for ReadEager and ReadVeryEager: nothing when nothing
// has come, without waiting; then everything, then io.EOF.
func TestReadEager(t *testing.T) {
	for _, name := range []string{"ReadEager", "ReadVeryEager"} {
		t.Run(name, func(t *testing.T) {
			want := strings.Repeat("x", 100)
			tn := serve(t, func(c *telnettest.Conn) {
				c.ExpectData("go")
				c.SendString(want)
			})
			read := tn.ReadEager
			if name == "ReadVeryEager" {
				read = tn.ReadVeryEager
			}
			start := time.Now()
			if got, err := read(); len(got) != 0 || err != nil {
				t.Fatalf("%s before any data = %q, %v; want nothing", name, got, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s waited %v with nothing to read", name, d)
			}
			tn.Write([]byte("go"))
			var data []byte
			deadline := time.Now().Add(wait)
			for {
				got, err := read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				data = append(data, got...)
				if time.Now().After(deadline) {
					t.Fatalf("no EOF after %v; got %q", wait, data)
				}
				if len(got) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if string(data) != want {
				t.Errorf("%s read %q, want 100 x", name, data)
			}
		})
	}
}

// Negotiation produces no data: ReadEager may return nothing though the
// connection was readable, and the replies are sent all the same (C-29).
func TestReadEagerNegotiationOnly(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq(telnet.IAC, telnet.DO, telnet.TTYPE, telnet.IAC, telnet.DO, telnet.NAWS))
		c.ExpectNegotiation(telnet.WONT, telnet.TTYPE)
		c.ExpectNegotiation(telnet.WONT, telnet.NAWS)
		c.SendString("done")
	})
	got, err := tn.ReadUntil([]byte("done"), wait)
	if string(got) != "done" || err != nil {
		t.Errorf("ReadUntil = %q, %v", got, err)
	}
}

// The never-run read_very_lazy test (C-30) and test_read_lazy: the lazy
// reads never read the connection; they return what was decoded, and
// io.EOF once that is drained after the end.
func TestReadLazy(t *testing.T) {
	for _, name := range []string{"ReadLazy", "ReadVeryLazy"} {
		t.Run(name, func(t *testing.T) {
			want := strings.Repeat("x", 100)
			tn := serve(t, func(c *telnettest.Conn) {
				c.SendString("y" + want)
			})
			read := tn.ReadLazy
			if name == "ReadVeryLazy" {
				read = tn.ReadVeryLazy
			}
			if got, err := read(); len(got) != 0 || err != nil {
				t.Fatalf("%s before reading = %q, %v; want nothing", name, got, err)
			}
			// One write of the host arrives whole: reading its first byte
			// decodes the rest.
			if got, err := tn.ReadUntil([]byte("y"), wait); string(got) != "y" || err != nil {
				t.Fatalf("ReadUntil = %q, %v", got, err)
			}
			if got, err := read(); string(got) != want || err != nil {
				t.Fatalf("%s = %q, %v; want 100 x", name, got, err)
			}
			if got, err := read(); len(got) != 0 || err != nil {
				t.Fatalf("%s when drained = %q, %v; want nothing", name, got, err)
			}
			if _, err := tn.ReadSome(); !errors.Is(err, io.EOF) {
				t.Fatalf("ReadSome = %v, want io.EOF", err)
			}
			if got, err := read(); len(got) != 0 || !errors.Is(err, io.EOF) {
				t.Errorf("%s at EOF = %q, %v; want io.EOF", name, got, err)
			}
		})
	}
}

// After a local Close, data already decoded is still returned, then EOF
// (C-6), also by the reads that do not wait.
func TestReadsAfterClose(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("one two")
		c.ExpectEOF()
	})
	if got, err := tn.ReadUntil([]byte("one"), wait); string(got) != "one" || err != nil {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}
	tn.Close()
	if got, err := tn.ReadVeryLazy(); string(got) != " two" || err != nil {
		t.Errorf("ReadVeryLazy after Close = %q, %v; want \" two\"", got, err)
	}
	if got, err := tn.ReadVeryLazy(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadVeryLazy when drained = %q, %v; want io.EOF", got, err)
	}
	if got, err := tn.ReadVeryEager(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadVeryEager after Close = %q, %v; want io.EOF", got, err)
	}
	if got, err := tn.ReadEager(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadEager after Close = %q, %v; want io.EOF", got, err)
	}
	if n, err := tn.TryRead(make([]byte, 8)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("TryRead after Close = %d, %v; want io.EOF", n, err)
	}
}

// A chunk that WaitRead set aside has arrived but is not decoded yet:
// telnetlib's raw queue. ReadLazy decodes it (its commands reach the
// callback there), as read_lazy processes the raw queue; ReadVeryLazy
// does not, and reports io.EOF after Close only once it is decoded and
// read, as read_very_lazy raises EOFError only when the raw queue is
// empty too.
func TestReadLazyDecodesWhatWaitReadSetAside(t *testing.T) {
	c, s := net.Pipe() // read by a pump, which WaitRead takes a chunk from
	defer s.Close()
	tn := telnet.NewConn(c)
	defer tn.Close()
	var cmds []byte
	tn.SetOptionNegotiationCallback(func(_ *telnet.Telnet, cmd, _ byte) { cmds = append(cmds, cmd) })

	go s.Write(seq("hel", telnet.IAC, telnet.NOP, "lo"))
	tn.WaitRead()
	if got, err := tn.ReadVeryLazy(); len(got) != 0 || err != nil {
		t.Errorf("ReadVeryLazy after WaitRead = %q, %v; want nothing: it decodes nothing", got, err)
	}
	if got, err := tn.ReadLazy(); string(got) != "hello" || err != nil {
		t.Errorf("ReadLazy after WaitRead = %q, %v; want \"hello\"", got, err)
	}
	if !bytes.Equal(cmds, []byte{telnet.NOP}) {
		t.Errorf("the callback got %v, want NOP", cmds)
	}

	go s.Write([]byte("world"))
	tn.WaitRead()
	tn.Close()
	if got, err := tn.ReadVeryLazy(); len(got) != 0 || err != nil {
		t.Errorf("ReadVeryLazy after Close with a chunk set aside = %q, %v; want nothing, not yet io.EOF", got, err)
	}
	if got, err := tn.ReadLazy(); string(got) != "world" || err != nil {
		t.Errorf("ReadLazy after Close = %q, %v; want \"world\"", got, err)
	}
	for _, read := range []func() ([]byte, error){tn.ReadLazy, tn.ReadVeryLazy} {
		if got, err := read(); len(got) != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("a lazy read when all is read = %q, %v; want io.EOF", got, err)
		}
	}
}

// Once Close has begun the reads take nothing more from the connection:
// what a pump had read ahead is dropped, as the kernel's buffer is for a
// connection read directly, so that after ReadVeryLazy reports io.EOF no
// read returns data.
func TestReadsAfterCloseTakeNothingMore(t *testing.T) {
	c, s := net.Pipe()
	defer s.Close()
	tn := telnet.NewConn(c)
	defer tn.Close()
	// Each write returns once the pump has read it: when the second
	// has, the first waits in the pump's queue.
	for _, part := range []string{"hello", "world"} {
		if _, err := s.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	tn.Close()
	if got, err := tn.ReadVeryLazy(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadVeryLazy after Close = %q, %v; want io.EOF", got, err)
	}
	if got, err := tn.ReadVeryEager(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadVeryEager after ReadVeryLazy's io.EOF = %q, %v; want io.EOF", got, err)
	}
	if n, err := tn.Read(make([]byte, 64)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Read after ReadVeryLazy's io.EOF = %d, %v; want io.EOF", n, err)
	}
	if i, _, got, err := tn.Expect(patterns(""), -1); i != -1 || len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Expect of empty text after Close = %d, %q, %v; want io.EOF", i, got, err)
	}
}

// Every read of a Telnet that was never opened fails with
// ErrNotConnected, as Write does: none returns nothing with a nil error,
// on which a loop of ReadUntil or Expect would spin.
func TestReadsUnconnected(t *testing.T) {
	tn := telnet.New()
	tn.WaitRead() // returns at once
	buf := make([]byte, 8)
	for _, r := range []struct {
		name string
		read func() ([]byte, error)
	}{
		{"Read", func() ([]byte, error) { n, err := tn.Read(buf); return buf[:n], err }},
		{"TryRead", func() ([]byte, error) { n, err := tn.TryRead(buf); return buf[:n], err }},
		{"ReadUntil", func() ([]byte, error) { return tn.ReadUntil([]byte("x"), 0) }},
		{"ReadUntil empty", func() ([]byte, error) { return tn.ReadUntil(nil, 0) }},
		{"ReadUntil -1", func() ([]byte, error) { return tn.ReadUntil([]byte("x"), -1) }},
		{"Expect", func() ([]byte, error) { _, _, got, err := tn.Expect(patterns("x"), 0); return got, err }},
		{"Expect empty", func() ([]byte, error) { _, _, got, err := tn.Expect(patterns(""), 0); return got, err }},
		{"ReadAll", tn.ReadAll},
		{"ReadSome", tn.ReadSome},
		{"ReadVeryEager", tn.ReadVeryEager},
		{"ReadEager", tn.ReadEager},
		{"ReadLazy", tn.ReadLazy},
		{"ReadVeryLazy", tn.ReadVeryLazy},
	} {
		within(t, wait, r.name, nil, func() {
			if got, err := r.read(); len(got) != 0 || !errors.Is(err, telnet.ErrNotConnected) {
				t.Errorf("%s on a Telnet never opened = %q, %v; want ErrNotConnected", r.name, got, err)
			}
		})
	}
}

// The EOF rules of every read (C-27, C-33 and §1.5 of the survey).
func TestReadsAtEOF(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.SendString("partial") })
	if got, err := tn.ReadUntil([]byte("never"), 0); string(got) != "partial" || err != nil {
		t.Errorf("ReadUntil without match = %q, %v; want the partial data", got, err)
	}
	if got, err := tn.ReadUntil([]byte("never"), 0); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadUntil at EOF = %q, %v; want io.EOF", got, err)
	}
	if got, err := tn.ReadSome(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadSome at EOF = %q, %v", got, err)
	}
	if got, err := tn.ReadEager(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadEager at EOF = %q, %v", got, err)
	}
	if got, err := tn.ReadVeryEager(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadVeryEager at EOF = %q, %v", got, err)
	}
	if got, err := tn.ReadLazy(); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadLazy at EOF = %q, %v", got, err)
	}
	if n, err := tn.Read(make([]byte, 8)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Read at EOF = %d, %v", n, err)
	}
	if got, err := tn.ReadAll(); len(got) != 0 || err != nil {
		t.Errorf("ReadAll at EOF = %q, %v; want nothing and no error", got, err)
	}
	if !tn.EOF() {
		t.Error("EOF() = false")
	}
}

// A match already received is returned even after the end of the stream.
func TestReadUntilMatchAfterEOF(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) { c.SendString("one\ntwo\n") })
	if got, err := tn.ReadUntil([]byte("one\n"), wait); string(got) != "one\n" || err != nil {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}
	if got, err := tn.ReadUntil([]byte("three\n"), wait); string(got) != "two\n" || err != nil {
		t.Fatalf("ReadUntil to EOF = %q, %v; want the rest", got, err)
	}
	if _, err := tn.ReadUntil([]byte("two\n"), wait); !errors.Is(err, io.EOF) {
		t.Errorf("ReadUntil after = %v, want io.EOF", err)
	}
}

// The end of the stream inside a command or a subnegotiation drops the
// partial command; the data before it is intact.
func TestEOFMidSequence(t *testing.T) {
	cases := []struct {
		name string
		send []byte
		data string
		cmds []byte
	}{
		{"IAC", seq("abc", telnet.IAC), "abc", nil},
		{"IAC DO", seq("abc", telnet.IAC, telnet.DO), "abc", nil},
		{"SB", seq("abc", telnet.IAC, telnet.SB, telnet.TTYPE, 1), "abc", []byte{telnet.SB, 0}},
		{"SB IAC", seq("abc", telnet.IAC, telnet.SB, telnet.TTYPE, 1, telnet.IAC), "abc", []byte{telnet.SB, 0}},
		{"CR", seq("abc\r"), "abc\r", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := serve(t, func(c *telnettest.Conn) { c.Send(tc.send) })
			tr := traceCommands(tn)
			if got, err := tn.ReadAll(); string(got) != tc.data || err != nil {
				t.Errorf("ReadAll = %q, %v; want %q", got, err, tc.data)
			}
			if got := tr.commands(); !bytes.Equal(got, tc.cmds) {
				t.Errorf("callback saw %s, want %s", names(got), names(tc.cmds))
			}
		})
	}
}

// A timeout bounds the wait: ReadUntil returns what it has, with no error.
func TestReadUntilTimeout(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("partial")
		c.ExpectEOF()
	})
	start := time.Now()
	got, err := tn.ReadUntil([]byte("never"), 100*time.Millisecond)
	if string(got) != "partial" || err != nil {
		t.Errorf("ReadUntil = %q, %v; want the partial data", got, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > wait {
		t.Errorf("ReadUntil returned after %v, want about 100ms", d)
	}
}

// The timeout is a deadline for the whole call: a host that never stops
// sending cannot keep ReadUntil or Expect reading past it.
func TestTimeoutIsOverallDeadline(t *testing.T) {
	for _, name := range []string{"ReadUntil", "Expect"} {
		t.Run(name, func(t *testing.T) {
			tn := serve(t, floodHost)
			// Each NOP costs a little, so that there is always another
			// chunk waiting when one is decoded.
			tn.SetOptionNegotiationCallback(func(*telnet.Telnet, byte, byte) {
				for start := time.Now(); time.Since(start) < 2*time.Microsecond; {
				}
			})
			const timeout = 200 * time.Millisecond
			var got []byte
			var err error
			start := time.Now()
			within(t, 10*time.Second, name, func() { tn.Close() }, func() {
				if name == "ReadUntil" {
					got, err = tn.ReadUntil([]byte("never"), timeout)
				} else {
					_, _, got, err = tn.Expect(patterns("never"), timeout)
				}
			})
			if err != nil || len(got) == 0 {
				t.Errorf("%s = %d bytes, %v; want the data read and no error", name, len(got), err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("%s with a %v timeout returned after %v", name, timeout, d)
			}
		})
	}
}

// floodHost sends data and NOPs without end, until the client goes.
func floodHost(c *telnettest.Conn) {
	block := bytes.Repeat([]byte{'x', telnet.IAC, telnet.NOP}, 20000)
	nc := c.NetConn()
	for {
		_ = nc.SetWriteDeadline(time.Now().Add(wait))
		if _, err := nc.Write(block); err != nil {
			return
		}
	}
}

// A negative timeout polls: it returns at once, and what has come is
// matched, never returned unmatched.
func TestNegativeTimeoutPolls(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		c.SendString("abc\n")
		c.ExpectEOF()
	})
	start := time.Now()
	if got, err := tn.ReadUntil([]byte("\n"), -1); len(got) != 0 || err != nil {
		t.Errorf("ReadUntil(-1) with nothing sent = %q, %v", got, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ReadUntil(-1) waited %v", d)
	}
	tn.Write([]byte("go"))
	deadline := time.Now().Add(wait)
	for {
		got, err := tn.ReadUntil([]byte("\n"), -1)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == "abc\n" {
			break
		}
		if len(got) != 0 {
			t.Fatalf("ReadUntil(-1) = %q, want nothing or abc\\n", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("data never came")
		}
		time.Sleep(time.Millisecond)
	}
}

// Read is an io.Reader: it returns what has come at once (B2), stops
// before a command that ends a chunk (B3), and io.Copy gets every byte of
// a long stream with escaped IACs across chunk boundaries.
func TestReadIOReader(t *testing.T) {
	var want, wire bytes.Buffer
	for i := range 200000 {
		b := byte(i % 251)
		if i%97 == 0 {
			b = telnet.IAC
		}
		want.WriteByte(b)
	}
	wire.Write(telnet.AppendEscaped(nil, want.Bytes()))
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("hello")
		c.ExpectData("more")
		c.Send(seq("abc", telnet.IAC, telnet.WILL, telnet.ECHO))
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.ExpectData("all")
		c.Send(wire.Bytes())
	})
	buf := make([]byte, 64)
	if n, err := tn.Read(buf); string(buf[:n]) != "hello" || err != nil {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	tn.Write([]byte("more"))
	if n, err := tn.Read(buf); string(buf[:n]) != "abc" || err != nil {
		t.Fatalf("Read = %q, %v; want abc", buf[:n], err)
	}
	tn.Write([]byte("all"))
	var got bytes.Buffer
	if _, err := io.Copy(&got, tn); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("io.Copy got %d bytes, want %d (equal: false)", got.Len(), want.Len())
	}
	if n, err := tn.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
}

// TryRead never waits: nothing yet is 0 and no error.
func TestTryRead(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		c.SendString("data")
	})
	buf := make([]byte, 16)
	if n, err := tn.TryRead(buf); n != 0 || err != nil {
		t.Errorf("TryRead with nothing sent = %d, %v", n, err)
	}
	tn.Write([]byte("go"))
	var got []byte
	deadline := time.Now().Add(wait)
	for {
		n, err := tn.TryRead(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("TryRead: %v after %q", err, got)
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if string(got) != "data" {
		t.Errorf("TryRead got %q, want data", got)
	}
}
