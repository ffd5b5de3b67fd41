package telnet_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// wait bounds every wait of these tests for something that should happen.
const wait = telnettest.DefaultTimeout

// serve starts a scripted host and connects a Telnet to it.
func serve(t *testing.T, host func(c *telnettest.Conn)) *telnet.Telnet {
	t.Helper()
	return telnettest.NewServer(t, host).Dial()
}

// cmdTrace records what the option callback receives: the command and
// option of each call, and the payload of each subnegotiation.
type cmdTrace struct {
	mu   sync.Mutex
	seen []byte   // cmd, opt, cmd, opt, ...
	sb   [][]byte // ReadSBData at each SE
	on   func(cmd, opt byte)
	tn   *telnet.Telnet
}

// traceCommands sets a callback on tn that records every command.
func traceCommands(tn *telnet.Telnet) *cmdTrace {
	tr := &cmdTrace{tn: tn}
	tn.SetOptionNegotiationCallback(tr.callback)
	return tr
}

func (tr *cmdTrace) callback(tn *telnet.Telnet, cmd, opt byte) {
	if tn == tr.tn || tn.Conn() != tr.tn.Conn() {
		panic("callback got the Telnet it was set on, or another connection's")
	}
	var payload []byte
	if cmd == telnet.SE {
		payload = tn.ReadSBData()
	}
	tr.mu.Lock()
	tr.seen = append(tr.seen, cmd, opt)
	if cmd == telnet.SE {
		tr.sb = append(tr.sb, payload)
	}
	on := tr.on
	tr.mu.Unlock()
	if on != nil {
		on(cmd, opt)
	}
}

// commands returns the recorded cmd, opt pairs.
func (tr *cmdTrace) commands() []byte {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]byte(nil), tr.seen...)
}

func (tr *cmdTrace) payloads() [][]byte {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([][]byte(nil), tr.sb...)
}

// names formats a cmd, opt sequence for messages.
func names(seen []byte) string {
	var parts []string
	for i := 0; i+1 < len(seen); i += 2 {
		parts = append(parts, fmt.Sprintf("%s(%d)", telnet.CommandName(seen[i]), seen[i+1]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// within runs f on a goroutine and fails the test if it has not returned
// after d; unblock is then called to end it.
func within(t *testing.T, d time.Duration, what string, unblock func(), f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		if unblock != nil {
			unblock()
		}
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// waitBlocked polls the goroutine dump until some goroutine waits (on a
// channel, a lock or the network) inside fn, so that a test acts on a call
// that is really blocked.
func waitBlocked(t *testing.T, fn string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			blocked := strings.Contains(header, "[select") ||
				strings.Contains(header, "[chan receive") ||
				strings.Contains(header, "[sync.Cond.Wait") ||
				strings.Contains(header, "[IO wait")
			if blocked && strings.Contains(g, fn+"(") {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no goroutine blocked in %s after %v", fn, wait)
}

// settleGoroutines polls until no more than n goroutines run.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines still running, want at most %d:\n%s",
				runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// dialSmallBuffers connects to addr with a small send buffer, so that a
// peer that stops reading stalls our writes after a few kilobytes.
func dialSmallBuffers(t *testing.T, addr string) *telnet.Telnet {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	tn := telnet.NewConn(conn)
	t.Cleanup(func() { _ = tn.Close() })
	return tn
}

// seq concatenates bytes, strings and byte slices.
func seq(parts ...any) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b.WriteByte(v)
		case int:
			b.WriteByte(byte(v))
		case string:
			b.WriteString(v)
		case []byte:
			b.Write(v)
		default:
			panic(fmt.Sprintf("seq: %T", p))
		}
	}
	return b.Bytes()
}
