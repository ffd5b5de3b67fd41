package gateway

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet/telnettest"
)

// Repeated resumes, after a drop and taking over a connection still being
// read, with a page that sends again what the resume says did not
// arrive: the host gets every byte once, in order, also through a line
// delay and a character set.
func TestResumeRelaysInputExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(addr string) Target
	}{
		{"plain", func(a string) Target { return Target{Name: "lab", Address: a} }},
		{"paced", func(a string) Target { return Target{Name: "lab", Address: a, LineDelay: time.Millisecond} }},
		{"charset", func(a string) Target {
			return Target{Name: "lab", Address: a, Charset: mustCharset(t, "iso-8859-1")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []byte
			host := telnettest.NewServer(t, func(c *telnettest.Conn) {
				c.SetTimeout(time.Minute)
				c.SendString("$ ")
				for {
					ev, err := c.ReadEvent()
					if err != nil {
						return
					}
					if ev.IsData() {
						mu.Lock()
						got = append(got, ev.Data...)
						mu.Unlock()
					}
				}
			})
			tg := newTestGateway(t, Options{Targets: []Target{tc.target(host.Addr())}})
			b, token := openResumable(t, tg, "target=lab")
			b.WaitOutput([]byte("$ "))
			var sent [][]byte
			var want bytes.Buffer
			seq := 0
			cur := b
			for round := 0; round < 60; round++ {
				for k := 0; k < 20; k++ {
					m := []byte(fmt.Sprintf("<%05d>", seq))
					if seq%7 == 0 {
						m = append(m, '\r')
					}
					seq++
					sent = append(sent, m)
					want.Write(m)
					_ = cur.Conn.WriteMessage(websocket.BinaryMessage, m)
				}
				if round%3 == 0 {
					_ = cur.Conn.NetConn().Close() // dropped
				}
				nb := tg.open(fmt.Sprintf("resume=%s&received=%d", token, 2))
				st := nb.ExpectStatus("resumed")
				in := int(st["input"].(float64))
				n, i := 0, 0
				for i < len(sent) && n < in {
					n += len(sent[i])
					i++
				}
				if n != in {
					t.Fatalf("round %d: input %d is not at a message boundary", round, in)
				}
				for _, m := range sent[i:] {
					_ = nb.Conn.WriteMessage(websocket.BinaryMessage, m)
				}
				_ = cur.Conn.NetConn().Close()
				cur = nb
			}
			norm := func(p []byte) string {
				s := strings.ReplaceAll(string(p), "\r\x00", "\r")
				return strings.ReplaceAll(s, "\r\n", "\r")
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				g := norm(got)
				mu.Unlock()
				if g == want.String() {
					break
				}
				if len(g) > want.Len() || !strings.HasPrefix(want.String(), g) || time.Now().After(deadline) {
					t.Fatalf("host got %d bytes, want %d; first difference at %d", len(g), want.Len(), firstDiff(g, want.String()))
				}
				time.Sleep(10 * time.Millisecond)
			}
			closeWebSocket(cur)
			tg.waitIdle()
		})
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// A connection that resumed while the one before it is still writing its
// last message to a host that reads nothing answers the page's pings
// meanwhile: unanswered, the page would take it for dead and resume
// again, for as long as the host stalls.
func TestResumedConnectionAnswersPingsWhileTheOldOneWrites(t *testing.T) {
	release := make(chan struct{})
	host := hostThatReadsNothing(t, release)
	t.Cleanup(func() { close(release) })
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	go func() {
		chunk := []byte(strings.Repeat("y", 64<<10))
		for i := 0; i < 512; i++ {
			if err := b.Conn.WriteMessage(websocket.BinaryMessage, chunk); err != nil {
				return
			}
		}
	}()
	waitFor(t, "the reader to be stuck writing to the host", func() bool {
		buf := make([]byte, 1<<20)
		st := string(buf[:runtime.Stack(buf, true)])
		return strings.Contains(st, "gateway.(*session).writeNow(")
	})
	b2 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	b2.ExpectStatus("resumed")
	b2.Control(`{"type":"ping"}`)
	b2.Wait = 3 * time.Second
	b2.ExpectStatus("pong")
}

// hostThatReadsNothing prompts, then reads nothing until release is closed.
func hostThatReadsNothing(t *testing.T, release chan struct{}) string {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		<-release
	}).Addr()
}

// A connection that resumed and dropped before it relayed anything does
// not let the one that resumed from it go ahead of the connection before
// it: each waits for every connection before it, not only the last, so
// input reaches the host in the order the browser sent it.
func TestResumeKeepsOrderPastAConnectionThatRelayedNothing(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	var mu sync.Mutex
	var got []byte
	done := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SetTimeout(time.Minute)
		c.SendString("$ ")
		<-release
		for {
			ev, err := c.ReadEvent()
			if err != nil {
				close(done)
				return
			}
			if ev.IsData() {
				mu.Lock()
				got = append(got, ev.Data...)
				mu.Unlock()
			}
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	// Before the gateway's cleanup, which waits for the session.
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	z, token := openResumable(t, tg, "target=lab")
	z.WaitOutput([]byte("$ "))
	// z's reader gets stuck writing to the host, which reads nothing,
	// once the sockets' buffers between them are full.
	filler := bytes.Repeat([]byte("z"), 64<<10)
	sent := 0
	go func() {
		for i := 0; i < 1024; i++ {
			if err := z.Conn.WriteMessage(websocket.BinaryMessage, filler); err != nil {
				return
			}
		}
	}()
	stuck := regexp.MustCompile(`(?m)^goroutine \d+ \[IO wait[^\]]*\]:\n(?:.*\n)*?.*\.\(\*session\)\.writeNow\(`)
	waitFor(t, "z's reader to be stuck writing to the host", func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if stuck.MatchString(g) {
				return true
			}
		}
		return false
	})
	resume := func() (*browser, int64) {
		b := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
		return b, int64(b.ExpectStatus("resumed")["input"].(float64))
	}
	// a: its message is counted, and waits for z's reader.
	a, in := resume()
	sent = int(in)
	_ = a.Conn.WriteMessage(websocket.BinaryMessage, []byte("<first>"))
	waitFor(t, "a's message to be counted", func() bool { return inputReceived(tg) == in+int64(len("<first>")) })
	// b resumes and drops at once, with nothing read.
	b, _ := resume()
	_ = b.Conn.NetConn().Close()
	// c's message, sent after a's, must reach the host after it.
	c, _ := resume()
	_ = c.Conn.WriteMessage(websocket.BinaryMessage, []byte("<second>"))
	waitFor(t, "c's message to be counted", func() bool {
		return inputReceived(tg) == in+int64(len("<first><second>"))
	})
	// a's reader and c's wait for the connections before theirs; c's,
	// had it not waited, would be in line for the host with z's.
	for deadline := time.Now().Add(waitLimit); readersWaitingTheirTurn() != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers wait for the connection before theirs, want a's and c's", readersWaitingTheirTurn())
		}
	}
	releaseOnce.Do(func() { close(release) })
	waitFor(t, "both messages at the host", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Contains(got, []byte("<second>")) && bytes.Contains(got, []byte("<first>"))
	})
	mu.Lock()
	tail := string(got[sent:])
	mu.Unlock()
	if !strings.HasSuffix(tail, "<first><second>") {
		t.Errorf("the host got ...%q, want <first><second> last, in that order", tail[max(0, len(tail)-40):])
	}
	closeWebSocket(c)
	tg.waitIdle()
	<-done
}

// readersWaitingTheirTurn counts the goroutines of readBrowser waiting
// for the connection before theirs: blocked in a select of readBrowser's
// own (its other waits are reads, in the network poller).
func readersWaitingTheirTurn() int {
	buf := make([]byte, 1<<20)
	waiting := regexp.MustCompile(`(?m)^goroutine \d+ \[select[^\]]*\]:\n[^\n]*\.\(\*session\)\.readBrowser\(`)
	return len(waiting.FindAllString(string(buf[:runtime.Stack(buf, true)]), -1))
}
