package gateway

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
)

// plainHost is a host that speaks plain TCP: it sends greeting, then
// hands what it receives to got until the client closes.
func plainHost(t *testing.T, greeting []byte) (addr string, got <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan []byte, 16)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write(greeting)
		buf := make([]byte, 4096)
		for {
			_ = c.SetReadDeadline(time.Now().Add(waitLimit))
			n, err := c.Read(buf)
			if n > 0 {
				ch <- bytes.Clone(buf[:n])
			}
			if err != nil {
				close(ch)
				return
			}
		}
	}()
	return ln.Addr().String(), ch
}

// receive collects what the host got until it holds n bytes.
func receive(t *testing.T, got <-chan []byte, n int) []byte {
	t.Helper()
	var all []byte
	for len(all) < n {
		select {
		case p, ok := <-got:
			if !ok {
				t.Fatalf("the host's connection ended after %q", all)
			}
			all = append(all, p...)
		case <-time.After(waitLimit):
			t.Fatalf("the host got %q, waiting for %d bytes", all, n)
		}
	}
	return all
}

// A raw target passes every byte both ways as it is: what looks like
// telnet negotiation reaches the browser and is not answered, an IAC
// typed reaches the host alone, and Enter is a bare CR; the page is told
// the host takes no telnet commands, and a command is refused.
func TestRawTargetPassesEveryByte(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	greeting := append([]byte{telnet.IAC, telnet.DO, telnet.NAWS, telnet.IAC, telnet.DO, telnet.TTYPE, '\r', 0}, all...)
	addr, got := plainHost(t, greeting)
	// Enter left at its zero value: a bare CR for a raw host.
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "console", Address: addr, Raw: true}}})
	b := tg.open("target=console")
	if st := b.ExpectStatus("connected"); st["raw"] != true {
		t.Errorf("connected %v: want raw true", st)
	}
	if out := b.WaitOutput(greeting); !bytes.Equal(out, greeting) {
		t.Errorf("browser got %q, want the host's bytes as they are", out)
	}
	b.Input("show\r\xff")
	if p := receive(t, got, len("show\r\xff")); string(p) != "show\r\xff" {
		t.Errorf("host got %q, want %q: no answer to the negotiation, the CR alone, the IAC single", p, "show\r\xff")
	}
	b.Control(`{"type":"command","name":"break"}`)
	if st := b.ExpectStatus("error"); !strings.Contains(st["message"].(string), "plain TCP") {
		t.Errorf("a command to a raw host: %v", st)
	}
	b.Input("x")
	if p := receive(t, got, 1); string(p) != "x" {
		t.Errorf("host got %q after the command, want only the next key", p)
	}
	_ = b.Conn.Close()
	tg.waitIdle()
	if _, ok := <-got; ok {
		t.Error("the host got more")
	}
}

// Enter for a raw host is what the target says: crlf here.
func TestRawTargetEnterCRLF(t *testing.T) {
	addr, got := plainHost(t, []byte("> "))
	target, err := parseKeys("raw", "crlf", "bs", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	target.Name, target.Address = "console", addr
	tg := newTestGateway(t, Options{Targets: []Target{target}})
	b := tg.open("target=console")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("> "))
	b.Input("ab\x7f\r")
	if p := receive(t, got, len("ab\b\r\n")); string(p) != "ab\b\r\n" {
		t.Errorf("host got %q, want %q", p, "ab\b\r\n")
	}
	_ = b.Conn.Close()
	tg.waitIdle()
}
