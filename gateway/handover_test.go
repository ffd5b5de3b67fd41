package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// transcriptHost is a host that writes down what it gets: data as it
// is, commands other than negotiations as <NAME>. The transcript so far
// is sent on the returned channel after each event.
func transcriptHost(t *testing.T) (*telnettest.Server, <-chan string) {
	got := make(chan string, 100)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		var sb strings.Builder
		for {
			ev, err := c.ReadEvent()
			if err != nil {
				return
			}
			switch {
			case ev.IsData():
				sb.Write(ev.Data)
			case ev.Cmd == telnet.DO || ev.Cmd == telnet.DONT || ev.Cmd == telnet.WILL || ev.Cmd == telnet.WONT || ev.Cmd == telnet.SB:
				continue
			default:
				sb.WriteString("<" + telnet.CommandName(ev.Cmd) + ">")
			}
			got <- sb.String()
		}
	})
	return host, got
}

// expectTranscript waits until the host's transcript is want, failing
// on one that cannot become it.
func expectTranscript(t *testing.T, got <-chan string, want string) {
	t.Helper()
	for {
		select {
		case s := <-got:
			if s == want {
				return
			}
			if !strings.HasPrefix(want, s) {
				t.Fatalf("the host got %q, want %q", s, want)
			}
		case <-time.After(waitLimit):
			t.Fatalf("the host did not get %q", want)
		}
	}
}

// expectViewerList waits for the session's page to be told that the
// viewers are want: "ID USER" each, in the order they came, with
// " typing" after the one that may type.
func expectViewerList(t *testing.T, b *browser, want string) {
	t.Helper()
	var last string
	for range 10 {
		st := b.ExpectStatus("viewers")
		list, _ := st["viewers"].([]any)
		var parts []string
		for _, e := range list {
			m, _ := e.(map[string]any)
			part := fmt.Sprintf("%v %v", m["id"], m["user"])
			if m["typing"] == true {
				part += " typing"
			}
			parts = append(parts, part)
		}
		if last = strings.Join(parts, ", "); last == want {
			return
		}
	}
	t.Fatalf("viewers %q, want %q", last, want)
}

// expectTyping waits for a viewer to be told whether it may type.
func expectTyping(t *testing.T, v *browser, allowed bool) {
	t.Helper()
	if st := v.ExpectStatus("typing"); st["allowed"] != allowed {
		t.Fatalf("typing %v, want allowed %v", st, allowed)
	}
}

// synced waits until the gateway has read what b sent before: its
// ping's answer comes after (status messages before it are passed over).
func synced(t *testing.T, b *browser) {
	t.Helper()
	b.Control(`{"type":"ping"}`)
	for b.Status()["type"] != "pong" {
	}
}

// The session's user hands the keyboard to one viewer at a time: that
// viewer's keys and commands reach the host, with the session's own
// keys, and no other viewer's do; handing it to another takes it from
// the first, and taking it back leaves the user alone at the keyboard.
// Each change is told the viewers and the session's page, logged and
// marked in the recording, which records the viewer's input too.
func TestViewerHandedTheKeyboardTypes(t *testing.T) {
	host, got := transcriptHost(t)
	tg, dir := recordedLab(t, host.Addr())
	owner, _ := openResumable(t, tg, "target=lab&user=alice")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	bob, _ := watch(t, tg, token, "bob")
	expectViewerList(t, owner, "1 bob")
	carol, _ := watch(t, tg, token, "carol")
	expectViewerList(t, owner, "1 bob, 2 carol")

	bob.Input("before")
	synced(t, bob)
	owner.Control(`{"type":"hand-over","viewer":1}`)
	expectTyping(t, bob, true)
	expectViewerList(t, owner, "1 bob typing, 2 carol")
	bob.Input("bob")
	bob.Control(`{"type":"command","name":"break"}`)
	synced(t, bob)
	carol.Input("carol")
	carol.Control(`{"type":"command","name":"interrupt"}`)
	synced(t, carol)
	owner.Input("alice")
	expectTranscript(t, got, "bob<BRK>alice")

	owner.Control(`{"type":"hand-over","viewer":2}`)
	expectTyping(t, bob, false)
	expectTyping(t, carol, true)
	expectViewerList(t, owner, "1 bob, 2 carol typing")
	bob.Input("bob again")
	synced(t, bob)
	carol.Input("carol")
	expectTranscript(t, got, "bob<BRK>alicecarol")

	owner.Control(`{"type":"take-back"}`)
	expectTyping(t, carol, false)
	expectViewerList(t, owner, "1 bob, 2 carol")
	carol.Input("carol again")
	synced(t, carol)
	owner.Input("!")
	expectTranscript(t, got, "bob<BRK>alicecarol!")

	for _, msg := range []string{`{"type":"hand-over","viewer":7}`, `{"type":"hand-over"}`, `{"type":"hand-over","viewer":"bob"}`} {
		owner.Control(msg)
		if st := owner.ExpectStatus("error"); !strings.Contains(st["message"].(string), "hand-over") &&
			!strings.Contains(st["message"].(string), "hand over") {
			t.Errorf("%s answered %v", msg, st)
		}
	}

	// The viewer that types leaves: the keyboard is the user's again.
	owner.Control(`{"type":"hand-over","viewer":1}`)
	expectTyping(t, bob, true)
	expectViewerList(t, owner, "1 bob typing, 2 carol")
	closeWebSocket(bob)
	expectViewerList(t, owner, "2 carol")

	closeWebSocket(owner)
	tg.waitIdle()
	if n := len(tg.log.entries("keyboard handed to viewer")); n != 3 {
		t.Errorf("%d keyboard handed lines, want 3:\n%s", n, tg.log)
	}
	var reasons []string
	for _, e := range tg.log.entries("keyboard taken back from viewer") {
		reasons = append(reasons, fmt.Sprint(e["viewer"], ": ", e["reason"]))
	}
	if want := "bob: handed to another viewer, carol: taken back, bob: closed by browser"; strings.Join(reasons, ", ") != want {
		t.Errorf("keyboard taken back lines %q, want %q", reasons, want)
	}
	_, events := readCast(t, onlyFile(t, dir))
	if in := joined(events, "i"); in != "bobalicecarol!" {
		t.Errorf("recorded input %q, want the user's and the typing viewers' keys alone", in)
	}
	markers := joined(events, "m")
	for _, want := range []string{"keyboard handed to bob", "keyboard taken back from carol (", "): taken back"} {
		if !strings.Contains(markers, want) {
			t.Errorf("the recording's markers %q lack %q", markers, want)
		}
	}
}

// A hand-over in a session that is not shared is refused with an error,
// and the session goes on.
func TestHandOverNeedsASharedSession(t *testing.T) {
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	owner := tg.open("target=lab&user=alice")
	owner.ExpectStatus("connected")
	owner.Control(`{"type":"hand-over","viewer":1}`)
	if st := owner.ExpectStatus("error"); st["message"] != "cannot hand over the keyboard: "+errNotSharedNow.Error() {
		t.Errorf("error %v", st)
	}
	owner.Control(`{"type":"take-back"}`)
	owner.Input("still here")
	expectTranscript(t, got, "still here")
}

// When sharing stops, the keyboard comes back with it: what the viewer
// that typed sends after that reaches nobody, although its connection
// is still being closed.
func TestUnshareTakesTheKeyboardBack(t *testing.T) {
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	owner, _ := openResumable(t, tg, "target=lab&user=alice")
	owner.WaitOutput([]byte("$ "))
	// A viewer that reads only when told to, so that it can still send
	// once sharing has stopped, before it reads the close.
	bob, _, err := websocket.DefaultDialer.Dial(tg.url("watch="+share(t, owner)+"&user=bob"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	readUntil := func(typ string) {
		t.Helper()
		_ = bob.SetReadDeadline(time.Now().Add(waitLimit))
		for {
			mt, data, err := bob.ReadMessage()
			if err != nil {
				t.Fatalf("viewer: reading for %q: %v", typ, err)
			}
			if mt == websocket.TextMessage && strings.Contains(string(data), `"type":"`+typ+`"`) {
				return
			}
		}
	}
	readUntil("watching")
	expectViewerList(t, owner, "1 bob")
	owner.Control(`{"type":"hand-over","viewer":1}`)
	readUntil("typing")
	if err := bob.WriteMessage(websocket.BinaryMessage, []byte("bob")); err != nil {
		t.Fatal(err)
	}
	expectTranscript(t, got, "bob")

	owner.Control(`{"type":"unshare"}`)
	expectViewerList(t, owner, "")
	if err := bob.WriteMessage(websocket.BinaryMessage, []byte("after")); err != nil {
		t.Fatal(err)
	}
	readUntil("closed")
	// The viewer has left once its reader is done: "after" was read.
	waitFor(t, "bob to leave", func() bool { return len(tg.log.entries("viewer left")) == 1 })
	owner.Input("!")
	expectTranscript(t, got, "bob!")
	if taken := tg.log.entries("keyboard taken back from viewer"); len(taken) != 1 || taken[0]["reason"] != ReasonSharingStopped {
		t.Errorf("keyboard taken back lines %v, want one, for %q", taken, ReasonSharingStopped)
	}
}

// typingViewer opens alice's session to target (named lab, at a
// transcript host), shares it, lets bob watch and hands bob the
// keyboard.
func typingViewer(t *testing.T, target Target) (owner, bob *browser, got <-chan string) {
	t.Helper()
	host, got := transcriptHost(t)
	target.Name, target.Address = "lab", host.Addr()
	tg := newTestGateway(t, Options{Targets: []Target{target}})
	owner, _ = openResumable(t, tg, "target=lab&user=alice")
	owner.WaitOutput([]byte("$ "))
	bob, _ = watch(t, tg, share(t, owner), "bob")
	expectViewerList(t, owner, "1 bob")
	owner.Control(`{"type":"hand-over","viewer":1}`)
	expectTyping(t, bob, true)
	return owner, bob, got
}

// On a target with a line delay, taking the keyboard back drops what the
// viewer pasted and the delay still holds back: the session's next key
// follows the line being written.
func TestTakeBackDropsTheViewersPacedPaste(t *testing.T) {
	owner, bob, got := typingViewer(t, Target{LineDelay: 50 * time.Millisecond})
	var paste strings.Builder
	for i := range 40 {
		fmt.Fprintf(&paste, "line %d\r", i)
	}
	bob.Input(paste.String())
	expectTranscript(t, got, "line 0\r")
	owner.Control(`{"type":"take-back"}`)
	expectTyping(t, bob, false)
	owner.Input("!")
	var last string
	for !strings.HasSuffix(last, "!") {
		select {
		case last = <-got:
		case <-time.After(waitLimit):
			t.Fatalf("the host got %q, and not the session's key", last)
		}
	}
	sent := strings.TrimSuffix(last, "!")
	if !strings.HasPrefix(paste.String(), sent) || strings.Count(sent, "\r") > 3 {
		t.Errorf("the host got %q before the session's key: want the first lines of the paste alone", sent)
	}
	owner.Input("?")
	expectTranscript(t, got, last+"?")
}

// A target that is watched only keeps the keyboard with the session's
// user: a hand-over is refused, and the page is told so on connecting.
func TestWatchOnlyTargetRefusesAHandOver(t *testing.T) {
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), WatchOnly: true}}})
	owner := tg.open("target=lab&user=alice&resumable=1")
	if st := owner.ExpectStatus("connected"); st["watch_only"] != true {
		t.Errorf("connected %v: want watch_only", st)
	}
	owner.WaitOutput([]byte("$ "))
	bob, _ := watch(t, tg, share(t, owner), "bob")
	expectViewerList(t, owner, "1 bob")
	owner.Control(`{"type":"hand-over","viewer":1}`)
	if st := owner.ExpectStatus("error"); st["message"] != "cannot hand over the keyboard: "+errWatchOnly.Error() {
		t.Errorf("a hand-over answered %v", st)
	}
	bob.Input("bob")
	synced(t, bob)
	owner.Input("alice")
	expectTranscript(t, got, "alice")
}
