package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// openResumable opens a resumable session to target and returns the
// browser and its resume token.
func openResumable(t *testing.T, tg *testGateway, query string) (*browser, string) {
	t.Helper()
	b := tg.open(query + "&resumable=1")
	st := b.ExpectStatus("connected")
	token, _ := st["resume"].(string)
	if len(token) < 22 || st["resume_grace"] != float64(60) {
		t.Fatalf("connected %v: want a resume token and resume_grace 60", st)
	}
	return b, token
}

// dropConnection ends b's connection without a word, as a network that
// fails does, and waits until the gateway holds the session for a resume.
func dropConnection(t *testing.T, tg *testGateway, b *browser) {
	t.Helper()
	held := len(tg.log.entries("browser connection lost: session held for the browser to resume"))
	_ = b.Conn.NetConn().Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", tg.log)
		}
	})
	waitFor(t, "the session to be held for a resume", func() bool {
		return len(tg.log.entries("browser connection lost: session held for the browser to resume")) > held
	})
}

// closeWebSocket closes b's WebSocket as a page does, with a close frame.
func closeWebSocket(b *browser) {
	_ = b.Conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = b.Conn.Close()
}

// resume opens a connection resuming the session token names after
// received bytes of output, and returns it with what it was told lost.
func resume(t *testing.T, tg *testGateway, token string, received int) (*browser, float64) {
	t.Helper()
	b := tg.open(fmt.Sprintf("resume=%s&received=%d", token, received))
	st := b.ExpectStatus("resumed")
	lost, ok := st["lost"].(float64)
	if !ok {
		t.Fatalf("resumed %v: no lost count", st)
	}
	return b, lost
}

// A browser whose connection died resumes its session on a new one: the
// host's output meanwhile waits for it, what it types reaches the host,
// and the session is one session in the log.
func TestResumeAfterTheConnectionDies(t *testing.T) {
	more := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("one\r\n")
		<-more
		c.SendString("two\r\n")
		c.ExpectString("three")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("one\r\n"))
	dropConnection(t, tg, b)
	close(more) // output while the browser is away

	b2, lost := resume(t, tg, token, len("one\r\n"))
	if lost != 0 {
		t.Errorf("lost %v, want 0", lost)
	}
	b2.WaitOutput([]byte("two\r\n"))
	b2.Input("three")
	closeWebSocket(b2)
	tg.waitIdle()
	ends := tg.log.entries("session end")
	if len(ends) != 1 || ends[0]["reason"] != ReasonBrowserClosed {
		t.Errorf("session end lines %v", ends)
	}
	if n := len(tg.log.entries("session resumed")); n != 1 {
		t.Errorf("%d session resumed lines, want 1", n)
	}
}

// A resume says how much input the gateway received, so that the page
// sends again only what went into the dead connection: the host gets
// every key once, in order; a resume that takes over a connection the
// gateway still reads waits for its last message first.
func TestResumeSaysHowMuchInputArrived(t *testing.T) {
	typed := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		var got []byte
		for len(got) < len("onetwothree") {
			ev, err := c.ReadEvent()
			if err != nil {
				break
			}
			got = append(got, ev.Data...)
		}
		typed <- string(got)
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("one")
	waitFor(t, "the input to arrive", func() bool { return inputReceived(tg) == 3 })
	dropConnection(t, tg, b)
	b2 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	if st := b2.ExpectStatus("resumed"); st["input"] != float64(3) {
		t.Fatalf("resumed %v: want input 3", st)
	}
	b2.Input("two")
	// Taken over while it still reads: the third connection follows the
	// second's last message.
	b3 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	st := b3.ExpectStatus("resumed")
	switch st["input"] {
	case float64(6): // "two" arrived first
		b3.Input("three")
	case float64(3): // "two" did not: the page sends it again
		b3.Input("twothree")
	default:
		t.Fatalf("resumed %v: want input 3 or 6", st)
	}
	if got := within(t, typed); got != "onetwothree" {
		t.Errorf("the host got %q, want each key once, in order", got)
	}
	closeWebSocket(b3)
	tg.waitIdle()
}

// A resume says how many control messages (but pings, resizes and transfers) the
// gateway received, as it says how much input: the page sends again
// those it sent into the dead connection, and the host gets each command
// once, in order with the keys.
func TestResumeSaysHowManyControlsArrived(t *testing.T) {
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("a")
	b.Control(`{"type":"command","name":"break"}`)
	b.Control(`{"type":"resize","cols":90,"rows":30}`) // not a command
	b.Control(`{"type":"command","name":"bogus"}`)     // not one either
	b.ExpectStatus("error")
	expectTranscript(t, got, "a<BRK>")
	dropConnection(t, tg, b)
	b2 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	if st := b2.ExpectStatus("resumed"); st["input"] != float64(1) || st["controls"] != float64(1) {
		t.Fatalf("resumed %v: want input 1, controls 1", st)
	}
	b2.Control(`{"type":"command","name":"interrupt"}`)
	b2.Control(`{"type":"unshare"}`)
	b2.Input("b")
	expectTranscript(t, got, "a<BRK><IP>b")
	dropConnection(t, tg, b2)
	b3 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	if st := b3.ExpectStatus("resumed"); st["input"] != float64(2) || st["controls"] != float64(3) {
		t.Fatalf("resumed %v: want input 2, controls 3", st)
	}
	closeWebSocket(b3)
	tg.waitIdle()
}

// inputReceived is the input count of the gateway's one session.
func inputReceived(tg *testGateway) int64 {
	tg.gw.mu.Lock()
	defer tg.gw.mu.Unlock()
	for s := range tg.gw.sessions {
		return s.inputReceived.Load()
	}
	return -1
}

// Output the old connection took but the browser never got is sent
// again on the new one, from where the browser says it got to.
func TestResumeReplaysWhatTheBrowserMissed(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("one\r\ntwo\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("one\r\ntwo\r\n"))
	dropConnection(t, tg, b)
	// The browser says it got "one\r\n" only.
	b2, lost := resume(t, tg, token, len("one\r\n"))
	if got := b2.WaitOutput([]byte("two\r\n")); string(got) != "two\r\n" || lost != 0 {
		t.Errorf("resumed with %q, lost %v; want two\\r\\n again and nothing lost", got, lost)
	}
	// A browser that claims more than was sent is refused.
	dropConnection(t, tg, b2)
	b3 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, 1000))
	if reason := b3.ExpectStatus("closed")["reason"]; !strings.Contains(fmt.Sprint(reason), "received 1000: the session sent 10") {
		t.Errorf("resume with received 1000: closed %q", reason)
	}
	// The session still waits for a right resume.
	b4, _ := resume(t, tg, token, len("one\r\ntwo\r\n"))
	closeWebSocket(b4)
	tg.waitIdle()
}

// Past what is kept, the browser is told how much it lost.
func TestResumeTellsWhatIsLostBeyondTheWindow(t *testing.T) {
	flood := append(bytes.Repeat([]byte("0123456789abcdef"), (tailSize+40000)/16), "END\r\n"...)
	more := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send(flood)
		<-more
		c.SendString("more\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("END\r\n"))
	dropConnection(t, tg, b)
	b2, lost := resume(t, tg, token, 0)
	if want := len(flood) - tailSize; lost != float64(want) {
		t.Errorf("lost %v, want %d", lost, want)
	}
	got := b2.WaitOutput([]byte("END\r\n"))
	if !bytes.Equal(got, flood[len(flood)-tailSize:]) {
		t.Errorf("replayed %d bytes, want the last %d of the output", len(got), tailSize)
	}
	// The browser counts what it received, not what it was told it
	// lost: a second resume from there has nothing to replay.
	dropConnection(t, tg, b2)
	b3, lost := resume(t, tg, token, len(got))
	close(more)
	if got := b3.WaitOutput([]byte("more\r\n")); string(got) != "more\r\n" || lost != 0 {
		t.Errorf("second resume: %q (%d bytes), lost %v; want only what came after", got[:min(len(got), 40)], len(got), lost)
	}
	closeWebSocket(b3)
	tg.waitIdle()
}

// Two resumes at once: the last wins, and the other's connection is
// closed, not left to type into the session beside it.
func TestResumeTwoAtOnce(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectString("from the winner")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("hi\r\n"))
	tg.gw.mu.Lock()
	s := tg.gw.resumes[token]
	tg.gw.mu.Unlock()
	s.wmu.Lock() // both resumes get as far as the session's lock
	query := fmt.Sprintf("resume=%s&received=%d", token, len("hi\r\n"))
	b1, b2 := tg.open(query), tg.open(query)
	buf := make([]byte, 1<<20)
	waitFor(t, "two resumes waiting", func() bool {
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "gateway.(*session).resume(") == 2
	})
	s.wmu.Unlock()
	first, second := b1.Next(), b2.Next()
	if !bytes.Contains(first.Data, []byte("resumed")) || !bytes.Contains(second.Data, []byte("resumed")) {
		t.Fatalf("answers %q and %q: want both resumed", first.Data, second.Data)
	}
	// The one that resumed first was taken over by the other.
	waitFor(t, "both resumes done", func() bool {
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "gateway.(*session).resume(")
	})
	s.wmu.Lock()
	current := s.att.Load().ws.RemoteAddr().String()
	s.wmu.Unlock()
	winner, loser := b2, b1
	if current == b1.Conn.LocalAddr().String() {
		winner, loser = b1, b2
	}
	loser.WaitClose()
	winner.Input("from the winner")
	closeWebSocket(winner)
	tg.waitIdle()
}

// A resume takes the session over from a connection the gateway still
// holds (the browser noticed first that it died).
func TestResumeTakesOverALiveConnection(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectString("still here")
		c.ExpectString("typed on the new one")
		c.SendString("bye\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("hi\r\n"))
	// A resume that cannot be leaves the connection alone.
	bad := tg.open(fmt.Sprintf("resume=%s&received=%d", token, 1000))
	bad.ExpectClosed("cannot resume: received 1000: the session sent 4")
	b.Input("still here")
	// Read before the resume: input the old connection still held would
	// be the page's to send again (see TestResumeSaysHowMuchInputArrived),
	// and the gateway's close of a connection with input unread a reset.
	waitFor(t, "the input to arrive", func() bool { return inputReceived(tg) == int64(len("still here")) })
	b2, lost := resume(t, tg, token, len("hi\r\n"))
	if lost != 0 {
		t.Errorf("lost %v", lost)
	}
	if _, ce := b.WaitClose(); ce != nil && ce.Code != websocket.CloseAbnormalClosure {
		t.Errorf("the old connection got a close frame %v: want it dropped", ce)
	}
	b2.Input("typed on the new one")
	b2.WaitOutput([]byte("bye\r\n"))
	closeWebSocket(b2)
	tg.waitIdle()
}

// Nobody else resumes a session: not without its token, not another
// user, not after it ended; and a browser that closes its WebSocket ends
// its session at once, resumable or not.
func TestResumeRefusals(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab&user=alice")
	b.WaitOutput([]byte("hi\r\n"))
	if err := tg.gw.CheckResume(token, "bob"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("bob resuming alice's session: %v, want ErrNotAllowed", err)
	}
	if err := tg.gw.CheckResume(strings.ToUpper(token), "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("a wrong token: %v, want ErrNoSession", err)
	}
	if err := tg.gw.CheckResume(token, "alice"); err != nil {
		t.Errorf("alice resuming her session: %v", err)
	}
	closeWebSocket(b) // the page closed it
	tg.waitIdle()
	if ends := tg.log.entries("session end"); len(ends) != 1 || ends[0]["reason"] != ReasonBrowserClosed {
		t.Errorf("session end %v, want closed by the browser", ends)
	}
	if err := tg.gw.CheckResume(token, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("resuming an ended session: %v, want ErrNoSession", err)
	}
	if _, code, _ := tg.tryOpen("resume=" + token + "&received=0&user=alice"); code != http.StatusNotFound {
		t.Errorf("resume of an ended session: HTTP %d", code)
	}
}

// A session nobody resumes ends when the grace is over, and the host's
// connection with it.
func TestResumeGraceEnds(t *testing.T) {
	hostGone := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectEOF()
		close(hostGone)
	})
	limits := Limits{ResumeGrace: 300 * time.Millisecond}
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, Limits: limits})
	b := tg.open("target=lab&resumable=1")
	token, _ := b.ExpectStatus("connected")["resume"].(string)
	b.WaitOutput([]byte("hi\r\n"))
	start := time.Now()
	dropConnection(t, tg, b)
	within(t, hostGone)
	if d := time.Since(start); d < limits.ResumeGrace {
		t.Errorf("the host's connection closed %v after the browser's: before the grace", d)
	}
	tg.waitIdle()
	if ends := tg.log.entries("session end"); len(ends) != 1 || ends[0]["reason"] != ReasonBrowserLost {
		t.Errorf("session end %v, want browser connection lost", ends)
	}
	if err := tg.gw.CheckResume(token, ""); !errors.Is(err, ErrNoSession) {
		t.Errorf("after the grace: %v, want ErrNoSession", err)
	}
}

// Without ?resumable=1 (or with resume_grace -1) a dead connection ends
// the session at once, as it always did.
func TestNotResumableEndsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		query  string
		limits Limits
	}{
		{"not asked", "target=lab", Limits{}},
		{"grace -1", "target=lab&resumable=1", Limits{ResumeGrace: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := telnettest.NewServer(t, func(c *telnettest.Conn) {
				c.SendString("hi\r\n")
				c.ExpectEOF()
			})
			tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, Limits: tc.limits})
			b := tg.open(tc.query)
			if st := b.ExpectStatus("connected"); st["resume"] != nil {
				t.Errorf("connected %v: a resume token", st)
			}
			b.WaitOutput([]byte("hi\r\n"))
			_ = b.Conn.NetConn().Close()
			tg.waitIdle()
			if ends := tg.log.entries("session end"); len(ends) != 1 || ends[0]["reason"] != ReasonBrowserClosed {
				t.Errorf("session end %v", ends)
			}
		})
	}
}

// Output that comes while the browser is away, more than is kept for a
// resume, waits for it, none lost: the gateway reads none of it meanwhile.
func TestResumeLosesNothingSentWhileAway(t *testing.T) {
	more := make(chan struct{})
	flood := append(bytes.Repeat([]byte("while away, 0123456789\r\n"), 4*tailSize/24), "END\r\n"...)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("one\r\n")
		<-more
		c.Send(flood)
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("one\r\n"))
	dropConnection(t, tg, b)
	close(more)
	b2, lost := resume(t, tg, token, len("one\r\n"))
	got := b2.WaitOutput([]byte("END\r\n"))
	if lost != 0 || !bytes.Equal(got, flood) {
		t.Errorf("after the resume: lost %v, %d bytes (want all %d, none lost)", lost, len(got), len(flood))
	}
	closeWebSocket(b2)
	tg.waitIdle()
}

// A page that resumed sends its window size again, not knowing whether
// the last one arrived: the host hears of a size once. Input waits for
// the sizes sent before it, so the host sees the key right after the
// first size, unless the same size went again.
func TestTheSameWindowSizeIsSentOnce(t *testing.T) {
	sizes := make(chan []byte, 4)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		sizes <- c.ExpectSubnegotiation(telnet.NAWS)
		c.SendString("ready\r\n")
		c.ExpectData("k")
		sizes <- c.ExpectSubnegotiation(telnet.NAWS)
		c.ExpectData("done")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b := tg.open("target=lab&cols=100&rows=30")
	b.WaitOutput([]byte("ready\r\n"))
	b.Control(`{"type":"resize","cols":100,"rows":30}`)
	b.Input("k")
	b.Control(`{"type":"resize","cols":90,"rows":20}`)
	b.Control(`{"type":"resize","cols":90,"rows":20}`)
	b.Input("done")
	for i, want := range [][]byte{{0, 100, 0, 30}, {0, 90, 0, 20}} {
		if got := within(t, (<-chan []byte)(sizes)); !bytes.Equal(got, want) {
			t.Errorf("NAWS %d: %v, want %v", i, got, want)
		}
	}
	closeWebSocket(b)
	tg.waitIdle()
}
