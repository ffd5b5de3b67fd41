package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"slices"

	"github.com/gorilla/websocket"
)

// A shared session's user may hand the keyboard to one of its viewers at
// a time: a colleague called in to help then types into the session as
// the user does, without the two of them passing a laptop around. The
// user's own keys go on working, and the user takes the keyboard back at
// any time. The page asks with
//
//	{"type":"hand-over","viewer":ID}
//	{"type":"take-back"}
//
// where ID names a viewer in the viewers message, which lists each viewer
// in the order they came, and the one that types:
//
//	{"type":"viewers","users":[U,...],"viewers":[{"id":ID,"user":U,"typing":true},...]}
//
// Handing the keyboard to another viewer takes it from the one that had
// it. The viewer is told when it may type and when it no longer may:
//
//	{"type":"typing","allowed":true}
//	{"type":"typing","allowed":false}
//
// and then sends input as the session's page does, in binary messages,
// and toolbar commands ({"type":"command","name":N}). Its input goes to
// the host as the page's does (the target's Enter, Backspace, character
// set and line delay, recorded with the page's when input is), and is
// activity for the idle timeout; the window size and sharing stay the
// user's. The keyboard goes back to the user alone when the viewer
// leaves, and when sharing stops, and a file the page sends (see
// session.transfer) takes none of its keys. Who may type is logged and
// marked in the recording. A target's WatchOnly refuses every hand-over.

// maxViewerControl bounds a viewer's text messages (pings and
// commands); longer ones are dropped unread.
const maxViewerControl = 4 << 10

// errNotSharedNow answers a hand-over in a session that is not shared.
var errNotSharedNow = errors.New("the session is not shared")

// errWatchOnly answers a hand-over in a session of a WatchOnly target.
var errWatchOnly = errors.New("this target's sessions are watched only: only their user types")

// errNoSuchViewer answers a hand-over to a viewer that is not watching
// (it may have just left).
var errNoSuchViewer = errors.New("no such viewer: it may have left")

// viewerEntry is a viewer in the viewers message.
type viewerEntry struct {
	ID     int    `json:"id"`
	User   string `json:"user"`
	Typing bool   `json:"typing,omitempty"`
}

type typingMsg struct {
	Type    string `json:"type"`
	Allowed bool   `json:"allowed"`
}

// handOver lets the viewer id type, taking the keyboard from the viewer
// that had it. Called from the session's readBrowser.
func (s *session) handOver(id int) error {
	if s.req.Target.WatchOnly {
		return errWatchOnly
	}
	sh := s.sharing.Load()
	if sh == nil {
		return errNotSharedNow
	}
	sh.mu.Lock()
	var to *viewer
	for v := range sh.viewers {
		if v.id == id && !v.leaving() {
			to = v
		}
	}
	if to == nil || sh.ended {
		sh.mu.Unlock()
		return errNoSuchViewer
	}
	from := sh.typist
	if from == to {
		sh.mu.Unlock()
		return nil
	}
	sh.typist = to
	if from != nil {
		from.setTyping(false)
	}
	to.setTyping(true)
	sh.mu.Unlock()
	if from != nil {
		s.typingTaken(from, "handed to another viewer")
	}
	s.log().Info().Str("viewer", to.user).Str("viewer_remote", to.remote).Msg("keyboard handed to viewer")
	s.rec.marker("keyboard handed to " + viewerName(to.user, to.remote))
	s.viewersChanged()
	return nil
}

// takeBack takes the keyboard back from the viewer that has it, if any.
// Called from the session's readBrowser: once it returns, nothing more
// the viewer sends reaches the host.
func (s *session) takeBack() {
	sh := s.sharing.Load()
	if sh == nil {
		return
	}
	sh.mu.Lock()
	from := sh.typist
	sh.typist = nil
	if from != nil {
		from.setTyping(false)
	}
	sh.mu.Unlock()
	if from == nil {
		return
	}
	s.typingTaken(from, "taken back")
	s.viewersChanged()
}

// typingTaken makes sure that nothing more from the viewer v, which
// no longer types, reaches the host, and logs it. Input let through
// before the change (viewerInput checks under inputMu) is written by the
// time inputMu is had; input of its that a line delay holds back is
// dropped.
func (s *session) typingTaken(v *viewer, why string) {
	s.inputMu.Lock()
	pace := s.pace
	s.inputMu.Unlock()
	if pace != nil {
		pace.drop(v)
	}
	s.log().Info().Str("viewer", v.user).Str("viewer_remote", v.remote).Str("reason", why).Msg("keyboard taken back from viewer")
	s.rec.marker("keyboard taken back from " + viewerName(v.user, v.remote) + ": " + why)
}

// leaving reports whether the viewer has been let go (its connection is
// being closed); called with its sharing's mu held.
func (v *viewer) leaving() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.endFor != ""
}

// setTyping tells the viewer whether it may type; called with its
// sharing's mu held, so that the messages go in the order of the changes.
func (v *viewer) setTyping(allowed bool) {
	v.typing.Store(allowed)
	data, _ := json.Marshal(typingMsg{Type: "typing", Allowed: allowed})
	v.queueText(data)
}

// list lists the viewers in the order they came, and their users sorted.
func (sh *sharing) list() ([]viewerEntry, []string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	entries := make([]viewerEntry, 0, len(sh.viewers))
	users := make([]string, 0, len(sh.viewers))
	for v := range sh.viewers {
		entries = append(entries, viewerEntry{ID: v.id, User: v.user, Typing: v == sh.typist})
		users = append(users, v.user)
	}
	slices.SortFunc(entries, func(a, b viewerEntry) int { return a.ID - b.ID })
	slices.Sort(users)
	return entries, users
}

// message handles a message from a viewer, of type typ, read from r:
// pings are answered, input and commands go to the host while the viewer
// may type, and the rest is dropped (input unread, into no buffer). It
// reports whether the message was the page's ping, and the error that
// ended reading it.
func (v *viewer) message(typ int, r io.Reader) (ping bool, err error) {
	if typ == websocket.BinaryMessage && !v.typing.Load() {
		_, err := io.Copy(io.Discard, r)
		return false, err
	}
	whole := r
	if typ == websocket.TextMessage {
		// Pings and commands: a viewer needs no more, and one that
		// types nothing has its binary messages dropped unread, so no
		// viewer that may not type makes the gateway hold more.
		r = io.LimitReader(r, maxViewerControl+1)
	}
	bp := v.s.g.msgBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledMsg {
			v.s.g.msgBufs.Put(bp)
		}
	}()
	data, err := readMessage(r, (*bp)[:0])
	*bp = data[:0]
	if err != nil {
		return false, err
	}
	if typ == websocket.TextMessage && len(data) > maxViewerControl {
		_, err := io.Copy(io.Discard, whole) // the rest of it, unread
		return false, err
	}
	if typ == websocket.BinaryMessage {
		v.s.viewerInput(v, data)
		return false, nil
	}
	c, err := ParseControl(data)
	switch {
	case err != nil:
	case c.Type == "ping":
		v.queuePong()
		return true, nil
	case c.Type == "command":
		v.s.viewerCommand(v, c.Name)
	}
	return false, nil
}

// viewerInput writes input from a viewer that may type, as the
// session's page's input is written.
func (s *session) viewerInput(v *viewer, data []byte) {
	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	if !v.typing.Load() || s.ctx.Err() != nil || s.transfer {
		return // a file being sent from the page takes no keys
	}
	s.touch()
	s.login.typed(data) // before the keys reach the host (see browserMessage)
	s.input(data, v.text, s.rec != nil && s.g.opts.Recording.Input, v)
}

// viewerCommand sends a toolbar command from a viewer that may type.
func (s *session) viewerCommand(v *viewer, name string) {
	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	if !v.typing.Load() || s.ctx.Err() != nil || s.req.Target.Raw || s.transfer {
		return
	}
	s.touch()
	s.command(name, v)
}
