package gateway

import (
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// A paste into a target with a line delay reaches the host line by line,
// each line at least the delay after the one before it, and whole.
func TestLineDelayPacesPastedLines(t *testing.T) {
	const delay = 80 * time.Millisecond
	arrived := make(chan []time.Time, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		var at []time.Time
		for _, line := range []string{"one\r\x00", "two\r\x00", "three\r\x00"} {
			c.ExpectString(line)
			at = append(at, time.Now())
		}
		// A keystroke after the paste goes at once, in order.
		c.ExpectString("x")
		arrived <- at
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: delay}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	b.Input("one\rtwo\rthree\r")
	b.Input("x")
	at := within(t, arrived)
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < delay {
			t.Errorf("line %d arrived %v after line %d, want at least %v", i+1, gap, i, delay)
		}
	}
}

// The session's end cuts a line delay short: a browser that closes during
// a long paste ends its session at once, and the rest of the paste is not
// sent.
func TestLineDelayEndsWithTheSession(t *testing.T) {
	first := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		c.ExpectString("one\r\x00")
		close(first)
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: time.Hour}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	b.Input("one\rtwo\r")
	within(t, first)
	_ = b.Conn.Close()
	tg.waitIdle()
}

// While a paste is paced the browser is still read: a toolbar command
// (Break) reaches the host between two lines, not after the paste, and a
// keepalive ping is answered.
func TestLineDelayLetsCommandsAndPingsThrough(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		c.ExpectString("one\r\x00")
		c.SendString("one\r\n")
		c.ExpectCommand(telnet.BRK)
		c.SendString("broke\r\n")
		c.ExpectEOF() // the rest of the paste never comes
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: time.Hour}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	b.Input("one\rtwo\r")
	b.WaitOutput([]byte("one\r\n"))
	b.Control(`{"type":"command","name":"break"}`)
	b.WaitOutput([]byte("broke\r\n"))
	b.Control(`{"type":"ping"}`)
	b.ExpectStatus("pong")
	_ = b.Conn.Close()
	tg.waitIdle()
}

func TestLineEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a\r", 2},
		{"a\r\x00b", 3},
		{"a\r\nb", 3},
		{"a\rb", 2},
		{"\r\r", 1},
	} {
		if got := lineEnd([]byte(tc.in)); got != tc.want {
			t.Errorf("lineEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// within waits for a value on ch, failing after waitLimit.
func within[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatal("timed out")
		panic("unreachable")
	}
}
