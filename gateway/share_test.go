package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet/telnettest"
)

// share asks for b's session to be shared and returns the watch token.
func share(t *testing.T, b *browser) string {
	t.Helper()
	b.Control(`{"type":"share"}`)
	st := b.ExpectStatus("shared")
	token, _ := st["watch"].(string)
	if len(token) < 22 {
		t.Fatalf("shared %v: want a watch token", st)
	}
	return token
}

// expectViewers waits for the session's browser to be told who watches,
// and fails unless it is users.
func expectViewers(t *testing.T, b *browser, users ...string) {
	t.Helper()
	st := b.ExpectStatus("viewers")
	var got []string
	list, _ := st["users"].([]any)
	for _, u := range list {
		s, _ := u.(string)
		got = append(got, s)
	}
	if !slices.Equal(got, users) {
		t.Fatalf("viewers %v, want %q", st, users)
	}
}

// watch opens a viewer's connection and checks what it is told first.
func watch(t *testing.T, tg *testGateway, token, user string) (*browser, map[string]any) {
	t.Helper()
	v := tg.open("watch=" + token + "&user=" + user)
	return v, v.ExpectStatus("watching")
}

// A shared session is watched as it goes on: the viewer is shown what the
// session kept of the output before it came, then the output as it comes
// and the window size as it changes; what it types reaches nobody; the
// session's user is told who watches; and when sharing stops the viewer
// is let go and the token opens nothing more.
func TestSharedSessionIsWatched(t *testing.T) {
	typed := make(chan string, 1)
	more := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("banner\r\n$ ")
		select {
		case <-more:
		case <-time.After(waitLimit):
			return
		}
		c.SendString("while watched\r\n")
		// What comes until the owner's keys: nothing the viewer sent.
		var events []string
		for {
			ev, err := c.ReadEvent()
			if err != nil {
				break
			}
			events = append(events, ev.String())
			if ev.IsData() {
				break
			}
		}
		typed <- strings.Join(events, ", ")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Description: "Lab console"}}})
	// Resumable, as the page's sessions are, so that the session keeps
	// its output from the start.
	owner, _ := openResumable(t, tg, "target=lab&user=alice&cols=100&rows=30")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	if again := share(t, owner); again != token {
		t.Errorf("sharing again gave token %q, want the same %q", again, token)
	}

	v, st := watch(t, tg, token, "bob")
	if st["target"] != "lab" || st["description"] != "Lab console" || st["user"] != "alice" ||
		st["cols"] != float64(100) || st["rows"] != float64(30) {
		t.Errorf("watching %v: want target lab, its description, user alice, 100x30", st)
	}
	v.WaitOutput([]byte("banner\r\n$ "))
	expectViewers(t, owner, "bob")

	v.Input("viewer's keys")
	v.Control(`{"type":"command","name":"break"}`)
	v.Control(`{"type":"ping"}`)
	v.ExpectStatus("pong")
	close(more)
	v.WaitOutput([]byte("while watched\r\n"))
	owner.WaitOutput([]byte("while watched\r\n"))
	owner.Control(`{"type":"resize","cols":120,"rows":40}`)
	if st := v.ExpectStatus("size"); st["cols"] != float64(120) || st["rows"] != float64(40) {
		t.Errorf("size %v, want 120x40", st)
	}
	owner.Input("owner")
	if got := within(t, typed); got != `data "owner"` {
		t.Errorf("the host got %s, want the owner's keys alone", got)
	}

	owner.Control(`{"type":"unshare"}`)
	v.ExpectClosed(ReasonSharingStopped)
	expectViewers(t, owner)
	if _, code, _ := tg.tryOpen("watch=" + token + "&user=bob"); code != http.StatusNotFound {
		t.Errorf("watch after unshare: HTTP %d, want 404", code)
	}
	if again := share(t, owner); again == token {
		t.Error("sharing after unshare gave the old token")
	}
	closeWebSocket(owner)
	tg.waitIdle()
	if n := len(tg.log.entries("viewer joined")); n != 1 {
		t.Errorf("%d viewer joined lines, want 1", n)
	}
	if left := tg.log.entries("viewer left"); len(left) != 1 || left[0]["viewer"] != "bob" || left[0]["reason"] != ReasonSharingStopped {
		t.Errorf("viewer left lines %v, want one for bob, %q", left, ReasonSharingStopped)
	}
}

// Viewers are let go when the session ends, told why; and Shutdown waits
// for them.
func TestViewersEndWithTheSession(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectString("exit")
		c.SendString("bye\r\n")
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	owner := tg.open("target=lab")
	owner.ExpectStatus("connected")
	token := share(t, owner)
	v1, _ := watch(t, tg, token, "")
	v2, _ := watch(t, tg, token, "")
	owner.Input("exit")
	owner.ExpectClosed(ReasonHostClosed)
	for _, v := range []*browser{v1, v2} {
		v.ExpectClosed(ReasonHostClosed)
		if !bytes.Contains(v.Output, []byte("bye\r\n")) {
			t.Errorf("viewer got %q, want the output to the end", v.Output)
		}
	}
	tg.waitIdle()
	waitFor(t, "the viewers to leave", func() bool { return len(tg.log.entries("viewer left")) == 2 })
}

// A session is watched only by its token, by users who may open its
// target, up to MaxViewers at a time, and not at all where sharing is
// turned off.
func TestWatchRefusals(t *testing.T) {
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "lab", Address: echoHost(t).Addr(), AllowUsers: []string{"alice", "bob"}}},
		Limits:  Limits{MaxViewers: 1},
	})
	owner := tg.open("target=lab&user=alice")
	owner.ExpectStatus("connected")
	token := share(t, owner)
	if _, code, _ := tg.tryOpen("watch=" + strings.Repeat("A", 22) + "&user=bob"); code != http.StatusNotFound {
		t.Errorf("a token nobody was given: HTTP %d, want 404", code)
	}
	if _, code, _ := tg.tryOpen("watch=" + token + "&user=mallory"); code != http.StatusForbidden {
		t.Errorf("a user who may not open the target: HTTP %d, want 403", code)
	}
	watch(t, tg, token, "bob")
	expectViewers(t, owner, "bob")
	second := tg.open("watch=" + token + "&user=alice")
	second.ExpectClosed("cannot watch: " + ErrTooManyViewers.Error())

	off := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}},
		Limits: Limits{MaxViewers: -1}})
	b := off.open("target=lab")
	b.ExpectStatus("connected")
	b.Control(`{"type":"share"}`)
	if st := b.ExpectStatus("error"); !strings.Contains(st["message"].(string), errSharingOff.Error()) {
		t.Errorf("share where sharing is off: %v", st)
	}
}

// A viewer that does not read is let go once it falls maxViewerBacklog
// behind, and the session's browser gets every byte meanwhile.
func TestViewerThatFallsBehindIsLetGo(t *testing.T) {
	raw, cooked := relayStream(16<<20, false)
	raw = append(raw, "END\r\n"...)
	cooked = append(cooked, "END\r\n"...)
	start := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		<-start
		c.Send(raw)
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "bulk", Address: host.Addr()}}})
	owner := tg.open("target=bulk")
	owner.ExpectStatus("connected")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	// A viewer that never reads: a bare connection, not a browser.
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("watch="+token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	expectViewers(t, owner, "")
	close(start)
	want := append([]byte("$ "), cooked...)
	got := owner.WaitOutput([]byte("END\r\n"))
	if !bytes.Equal(got, want) {
		t.Fatalf("the session's browser got %d bytes, want %d", len(got), len(want))
	}
	waitFor(t, "the viewer to be let go", func() bool {
		left := tg.log.entries("viewer left")
		return len(left) == 1 && left[0]["reason"] == ReasonViewerBehind
	})
	expectViewers(t, owner)
	closeWebSocket(owner)
	tg.waitIdle()
}

// A viewer that pings and does not read has one pong waiting at most.
func TestViewerPingsQueueOnePong(t *testing.T) {
	v := &viewer{wake: make(chan struct{}, 1)}
	for range 1000 {
		v.queuePong()
	}
	if len(v.queue) != 1 || v.queued != len(pongMessage) {
		t.Errorf("%d messages (%d bytes) queued, want one pong", len(v.queue), v.queued)
	}
}

// A viewer that reads nothing holds up neither Shutdown nor its slot past
// the bound a session's last writes have: its stuck write is cut short.
func TestShutdownDoesNotWaitForAStuckViewer(t *testing.T) {
	more := make(chan bool)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		for <-more {
			c.Send(bytes.Repeat([]byte("x"), 32<<10))
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, WriteTimeout: time.Minute})
	owner := tg.open("target=lab")
	owner.ExpectStatus("connected")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("watch="+token), nil) // never read
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	expectViewers(t, owner, "")
	tg.gw.mu.Lock()
	sh := tg.gw.watches[token].sharing.Load()
	tg.gw.mu.Unlock()
	stuck := func() bool {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		for v := range sh.viewers {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.queued > 256<<10 // the kernel's buffers are full
		}
		return false
	}
	for sent := 32 << 10; !stuck(); sent += 32 << 10 {
		more <- true
		owner.WaitOutput(bytes.Repeat([]byte("x"), sent))
	}
	close(more)
	ctx, cancel := context.WithTimeout(context.Background(), 4*closeGrace)
	defer cancel()
	if err := tg.gw.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with a viewer that reads nothing: %v", err)
	}
}

// Viewers coming and going are not activity: an idle session still ends.
func TestViewersDoNotKeepAnIdleSessionOpen(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}},
		Limits: Limits{IdleTimeout: time.Second}})
	owner := tg.open("target=lab")
	owner.ExpectStatus("connected")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	done := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if ws, _, err := websocket.DefaultDialer.Dial(tg.url("watch="+token), nil); err == nil {
				_ = ws.Close()
			}
		}
	}()
	defer func() { close(done); <-churned }()
	owner.ExpectClosed(ReasonIdle)
}

// Who may watch follows the configuration as it stands: a user a reload
// no longer lets open the target may not start watching.
func TestWatchFollowsReconfiguredTargets(t *testing.T) {
	addr := echoHost(t).Addr()
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: addr, AllowUsers: []string{"alice", "bob"}}}})
	owner := tg.open("target=lab&user=alice")
	owner.ExpectStatus("connected")
	token := share(t, owner)
	if err := tg.gw.CheckWatch(token, "bob", nil); err != nil {
		t.Fatalf("bob, who may open lab: %v", err)
	}
	if err := tg.gw.Reconfigure([]Target{{Name: "lab", Address: addr, AllowUsers: []string{"alice"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tg.gw.CheckWatch(token, "bob", nil); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("bob, no longer allowed to open lab: %v, want ErrNotAllowed", err)
	}
	if err := tg.gw.CheckWatch(token, "alice", nil); err != nil {
		t.Errorf("alice, the session's own user: %v", err)
	}
}

// The target's banner and color reach the session's page and its
// viewers' pages alike.
func TestBannerAndColorReachEveryPage(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "core", Address: host.Addr(),
		Banner: "Production: changes need a ticket", Color: "#c0392b"}}})
	owner := tg.open("target=core")
	st := owner.ExpectStatus("connected")
	if st["banner"] != "Production: changes need a ticket" || st["color"] != "#c0392b" {
		t.Errorf("connected %v: want the banner and color", st)
	}
	token := share(t, owner)
	viewer := tg.open("watch=" + token)
	st = viewer.ExpectStatus("watching")
	if st["banner"] != "Production: changes need a ticket" || st["color"] != "#c0392b" {
		t.Errorf("watching %v: want the banner and color", st)
	}
}
