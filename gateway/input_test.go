package gateway

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// pacedArrivals opens a session to a target with a line delay, sends each
// of messages as the browser's input and returns the gateway with the
// times at which the host received each of pieces, in order.
func pacedArrivals(t *testing.T, delay time.Duration, messages, pieces []string) (*testGateway, *browser, []time.Time) {
	t.Helper()
	arrived := make(chan []time.Time, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		var at []time.Time
		for _, p := range pieces {
			c.ExpectString(p)
			at = append(at, time.Now())
		}
		arrived <- at
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: delay}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	for _, m := range messages {
		b.Input(m)
	}
	at := within(t, arrived)
	// The gateway writes the pieces the delay apart; the host may see one
	// later than it was written (a busy machine's scheduling), and the
	// next one less late: each gap is allowed half the delay of such
	// lateness, and the whole span, whose lateness is the first piece's
	// alone, as much.
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < delay/2 {
			t.Errorf("%q arrived %v after %q, want about %v", pieces[i], gap, pieces[i-1], delay)
		}
	}
	if n := len(at) - 1; n > 0 {
		if span, least := at[n].Sub(at[0]), time.Duration(n)*delay-delay/2; span < least {
			t.Errorf("%d pieces arrived within %v, want at least %v", n+1, span, least)
		}
	}
	return tg, b, at
}

// A paste into a target with a line delay reaches the host line by line,
// each line at least the delay after the one before it, and whole; a key
// typed meanwhile waits behind it; the session counts the input once it
// is written.
func TestLineDelayPacesPastedLines(t *testing.T) {
	// The keys, queued one behind the other, may go as one write.
	tg, b, _ := pacedArrivals(t, 80*time.Millisecond,
		[]string{"one\rtwo\rthree\r", "x", "y"},
		[]string{"one\r\x00", "two\r\x00", "three\r\x00", "xy"})
	_ = b.Conn.Close()
	tg.waitIdle()
	if got := tg.log.entries("session end")[0]["bytes_in"]; got != float64(len("one\rtwo\rthree\rxy")) {
		t.Errorf("session end logged bytes_in %v, want %d", got, len("one\rtwo\rthree\rxy"))
	}
}

// Lines sent one message each (Enter pressed, or one line pasted at a
// time) are paced as well.
func TestLineDelayPacesLinesInMessagesOfTheirOwn(t *testing.T) {
	pacedArrivals(t, 80*time.Millisecond,
		[]string{"a\r", "b\r", "c\r"},
		[]string{"a\r\x00", "b\r\x00", "c\r\x00"})
}

// A paste that would leave more than maxPacedBacklog waiting ends the
// session with a reason, rather than stop reading the browser or drop
// the rest of the paste without a word; what went stays sent.
func TestLineDelayPasteTooLong(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		c.ExpectString("line\r\x00")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: time.Hour}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	chunk := strings.Repeat("line\r", 200<<10/5) // 200 KiB of lines
	for sent := 0; sent <= maxPacedBacklog; sent += len(chunk) {
		b.Input(chunk)
	}
	b.ExpectClosed(ReasonPasteTooLong)
	tg.waitIdle()
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

// Ctrl-C typed during a paced paste, or the Interrupt button, drops the
// rest of the paste and goes at once; what is typed after it is paced as
// before.
func TestLineDelayInterruptDropsTheRestOfThePaste(t *testing.T) {
	for _, tc := range []struct {
		name, control, input string
		want                 func(c *telnettest.Conn)
	}{
		{"ctrl-c", "", "\x03", func(c *telnettest.Conn) { c.ExpectString("\x03") }},
		{"interrupt button", `{"type":"command","name":"interrupt"}`, "", func(c *telnettest.Conn) { c.ExpectCommand(telnet.IP) }},
		// A second interrupt does not drop the first.
		{"both", `{"type":"command","name":"interrupt"}`, "\x03", func(c *telnettest.Conn) {
			c.ExpectString("\x03")
			c.ExpectCommand(telnet.IP)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := telnettest.NewServer(t, func(c *telnettest.Conn) {
				c.SendString("ready\r\n")
				c.ExpectString("one\r\x00")
				c.SendString("one\r\n")
				tc.want(c)
				c.SendString("stopped\r\n")
				// Not "two": the paste was dropped.
				c.ExpectString("after\r\x00")
				c.SendString("done\r\n")
				c.ExpectEOF()
			})
			tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), LineDelay: 300 * time.Millisecond}}})
			b := tg.open("target=lab")
			b.ExpectStatus("connected")
			b.WaitOutput([]byte("ready\r\n"))
			b.Input("one\rtwo\rthree\r")
			b.WaitOutput([]byte("one\r\n"))
			if tc.input != "" {
				b.Input(tc.input)
			}
			if tc.control != "" {
				b.Control(tc.control)
			}
			b.WaitOutput([]byte("stopped\r\n"))
			b.Input("after\r")
			b.WaitOutput([]byte("done\r\n"))
		})
	}
}

// backspace: bs changes the Backspace key's DEL, not a 127 that is a
// coordinate in an X10 mouse report (ESC [ M, button, column, row).
func TestBackspaceLeavesMouseReports(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("ready\r\n")
		c.ExpectString("\x1b[M \x7f!")
		c.ExpectString("\b")
		c.SendString("done\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Backspace: BS}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	b.Input("\x1b[M \x7f!") // a click at column 95, row 1
	b.Input("\x7f")
	b.WaitOutput([]byte("done\r\n"))
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

// A target of fixed size tells the host its size, whatever the browser's
// window, and the page that size; the browser's resizes go nowhere.
func TestFixedSizeTarget(t *testing.T) {
	sizes := make(chan []byte, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		sizes <- c.ExpectSubnegotiation(telnet.NAWS)
		c.SendString("ready\r\n")
		c.ExpectData("k") // no size before the key
		c.ExpectEOF()
	})
	size, err := ParseWindowSize("80x24")
	if err != nil {
		t.Fatal(err)
	}
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Size: size}}})
	b := tg.open("target=lab&cols=132&rows=50")
	if st := b.ExpectStatus("connected"); st["cols"] != float64(80) || st["rows"] != float64(24) {
		t.Errorf("connected %v: want the target's size, 80x24", st)
	}
	if got := within(t, (<-chan []byte)(sizes)); !bytes.Equal(got, []byte{0, 80, 0, 24}) {
		t.Errorf("NAWS %v, want 80x24", got)
	}
	b.WaitOutput([]byte("ready\r\n"))
	b.Control(`{"type":"resize","cols":100,"rows":30}`)
	b.Input("k")
	closeWebSocket(b)
	tg.waitIdle()
	for _, bad := range []string{"80", "0x24", "80x1001", "ax24", "80x24x1", ""} {
		if _, err := ParseWindowSize(bad); err == nil {
			t.Errorf("ParseWindowSize(%q): no error", bad)
		}
	}
}
