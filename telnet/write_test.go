package telnet_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// test_write: the only thing Write does is double IAC. It returns len(p),
// not the bytes on the wire (B26).
func TestWrite(t *testing.T) {
	samples := [][]byte{
		[]byte("data sample without IAC"),
		seq("data sample with", telnet.IAC, " one IAC"),
		seq("a few", telnet.IAC, telnet.IAC, " iacs", telnet.IAC),
		{telnet.IAC},
		{1, telnet.IAC, 2},
		{},
	}
	for _, p := range samples {
		wire := []byte(strings.ReplaceAll(string(p), "\xff", "\xff\xff"))
		tn := serve(t, func(c *telnettest.Conn) {
			c.Expect(wire)
			c.ExpectString("end")
		})
		n, err := tn.Write(p)
		if n != len(p) || err != nil {
			t.Errorf("Write(%q) = %d, %v; want %d, nil", p, n, err, len(p))
		}
		tn.WriteRaw([]byte("end"))
		tn.Close()
	}
}

// Write translates nothing but IAC: no CR LF, CR NUL or LF handling.
func TestWriteNoLineTranslation(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectString("a\rb\nc\r\n\x00")
	})
	tn.Write([]byte("a\rb\nc\r\n\x00"))
}

// The commands Write cannot send, each as its exact bytes.
func TestSendCommands(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Expect([]byte{telnet.IAC, telnet.BRK})
		c.Expect([]byte{telnet.IAC, telnet.AYT})
		c.Expect([]byte{telnet.IAC, telnet.EOR_CMD})
		c.Expect([]byte{telnet.IAC, telnet.WILL, telnet.NAWS})
		c.Expect([]byte{telnet.IAC, telnet.SB, telnet.NAWS, 0, telnet.IAC, telnet.IAC, 0, 24, telnet.IAC, telnet.SE})
		c.Expect([]byte{telnet.IAC, telnet.SB, telnet.IAC, telnet.IAC, 'x', telnet.IAC, telnet.SE})
		c.Expect([]byte{telnet.IAC, telnet.IP, 'x'})
	})
	must(t, tn.SendCommand(telnet.BRK))
	must(t, tn.SendCommand(telnet.AYT))
	must(t, tn.SendCommand(telnet.EOR_CMD))
	must(t, tn.SendNegotiation(telnet.WILL, telnet.NAWS))
	must(t, tn.SendSubnegotiation(telnet.NAWS, []byte{0, 255, 0, 24}))
	must(t, tn.SendSubnegotiation(255, []byte("x")))
	must(t, tn.WriteRaw([]byte{telnet.IAC, telnet.IP, 'x'}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Writes from several goroutines, while the reader answers negotiations,
// reach the wire as whole units: no line, reply or subnegotiation is cut
// by another, and each writer's order is kept.
func TestConcurrentWrites(t *testing.T) {
	const writers, lines = 4, 200
	tn := serve(t, func(c *telnettest.Conn) {
		go func() {
			for i := range lines {
				c.Negotiate(telnet.DO, byte(100+i%50))
			}
			c.SendString("sent\n")
		}()
		var data []byte
		replies, sbs := 0, 0
		for !strings.HasSuffix(string(data), "bye") {
			ev, err := c.ReadEvent()
			if err != nil {
				t.Errorf("host: %v after %d bytes", err, len(data))
				return
			}
			switch {
			case ev.IsData():
				data = append(data, ev.Data...)
			case ev.Cmd == telnet.WONT && ev.Opt == byte(100+replies%50):
				replies++
			case ev.Cmd == telnet.SB && ev.Opt == telnet.NAWS && len(ev.Payload) == 4 && ev.Payload[2] == 0xff:
				sbs++
			default:
				t.Errorf("host: unexpected %v", ev)
			}
		}
		if replies != lines || sbs != writers*lines {
			t.Errorf("host got %d replies and %d subnegotiations, want %d and %d", replies, sbs, lines, writers*lines)
		}
		next := make([]int, writers)
		for _, line := range strings.SplitAfter(strings.TrimSuffix(string(data), "bye"), "\n") {
			var w, n int
			if line == "" {
				continue
			}
			if _, err := fmt.Sscanf(line, "w%d line %d", &w, &n); err != nil || w < 0 || w >= writers ||
				line != fmt.Sprintf("w%d line %03d\xff\n", w, n) {
				t.Errorf("host: broken line %q", line)
				return
			}
			if n != next[w] {
				t.Errorf("host: writer %d's line %d came instead of %d", w, n, next[w])
				return
			}
			next[w]++
		}
		for w, n := range next {
			if n != lines {
				t.Errorf("host: writer %d sent %d lines, want %d", w, n, lines)
			}
		}
	})
	reader := make(chan error, 1)
	go func() {
		_, err := tn.ReadUntil([]byte("sent\n"), wait)
		reader <- err
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				if _, err := fmt.Fprintf(tn, "w%d line %03d\xff\n", w, i); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if err := tn.SendSubnegotiation(telnet.NAWS, []byte{0, byte(w), 0xff, byte(i)}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := <-reader; err != nil {
		t.Fatal(err)
	}
	// Queued replies go out before a later write.
	tn.Write([]byte("bye"))
}
