package gateway

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A session's user may share it, for a colleague asked for help, a class
// following a lab, a second pair of eyes on a change: others then watch
// it as it goes on, read-only unless handed the keyboard (see
// handOver). The page asks with
//
//	{"type":"share"}
//
// and the gateway answers with the token viewers watch by:
//
//	{"type":"shared","watch":TOKEN}
//
// A viewer's page opens ws?watch=TOKEN (see Gateway.Watch). The session's
// user is told who watches whenever a viewer comes or goes, and once
// after sharing stops:
//
//	{"type":"viewers","users":[U,...],"viewers":[...]}   (one entry a viewer; user "" when not authenticated)
//
// and stops sharing with {"type":"unshare"}, which ends every viewer's
// connection and the token with them; sharing again gives a new token.
// Sharing ends with the session.
//
// A viewer sees the output from when it starts watching, after what the
// session kept of the output before (its last tailSize bytes, from a line
// ending on): the shell's last lines, but not a full-screen program's
// screen drawn long before. Nothing a viewer sends reaches the host,
// but while it has the keyboard.
// Viewers never slow the session: each has its output queued, and one
// that falls maxViewerBacklog behind is let go.

// DefaultMaxViewers is Limits.MaxViewers' default.
const DefaultMaxViewers = 10

// ErrNotShared is returned for a watch of a session that has ended, is
// no longer shared, or never was.
var ErrNotShared = errors.New("no such shared session: it has ended or is no longer shared")

// ErrTooManyViewers is returned for a watch of a session that has as
// many viewers as Limits.MaxViewers allows.
var ErrTooManyViewers = errors.New("the session has as many viewers as it may")

// errSharingOff is the answer to a share where Limits.MaxViewers is -1.
var errSharingOff = errors.New("sharing sessions is turned off on this gateway")

const (
	// maxViewerBacklog bounds the output queued for one viewer: a
	// viewer that falls further behind is let go.
	maxViewerBacklog = 1 << 20
	// viewerFrame bounds the binary messages queued output is joined
	// into.
	viewerFrame = 64 << 10
)

// A WatchRequest is a viewer's request to watch a shared session.
type WatchRequest struct {
	Token  string   // the session's watch token
	User   string   // the authenticated user; "" when none
	Groups []string // the user's groups
	Remote string   // the browser's address, for logs
	// Ticket is the slot Admit reserved; it is released when the viewer
	// stops watching. Nil when the caller did not call Admit.
	Ticket *Ticket
}

// CheckWatch reports whether user, of groups, may watch the session token
// names: nil, or an error wrapping ErrNotShared or ErrNotAllowed. The
// session's own user may; others as far as they may open its target.
func (g *Gateway) CheckWatch(token, user string, groups []string) error {
	_, err := g.watchable(token, user, groups)
	return err
}

func (g *Gateway) watchable(token, user string, groups []string) (*session, error) {
	g.mu.Lock()
	s := g.watches[token]
	g.mu.Unlock()
	switch {
	case s == nil || token == "":
		return nil, ErrNotShared
	case !g.mayWatch(s, user, groups):
		return nil, notAllowed("you may not open this session's target")
	}
	return s, nil
}

// mayWatch reports whether user, of groups, may watch s: its own user
// may; others as far as they may open its target as the configuration
// now stands (a reload may have changed who may, or the target).
func (g *Gateway) mayWatch(s *session, user string, groups []string) bool {
	t := s.req.Target
	switch {
	case s.req.User == user:
		return true
	case t.byName:
		// The rule that allowed the host then, and a rule open to the
		// user now.
		return t.Allows(user, groups) && g.AdhocOpenTo(user, groups)
	}
	now, ok := g.Target(t.Name)
	return ok && now.Address == t.Address && now.Allows(user, groups)
}

// Watch makes the browser's connection ws a viewer of the shared session
// req.Token names (see sharing, above). The viewer is first sent
//
//	{"type":"watching","target":T,"description":D,"user":U,"cols":C,"rows":R}
//
// with the session's user and its window size (and "raw":true for a
// host that takes no telnet commands), then what the session kept of its
// output, then its output as it comes, and the window size again
// whenever it changes:
//
//	{"type":"size","cols":C,"rows":R}
//
// Pings are answered as in a session; what else the viewer sends is
// dropped, unless it was handed the keyboard (see handOver). When the
// session ends, sharing stops or the viewer falls too far behind, the viewer is sent {"type":"closed","reason":R} and the
// connection is closed. When the session cannot be watched Watch tells
// the browser why and closes ws. It returns at once; the viewer's
// goroutines read and write ws from then on, and Shutdown waits for them.
func (g *Gateway) Watch(ws *websocket.Conn, req WatchRequest) {
	s, err := g.watchable(req.Token, req.User, req.Groups)
	if err == nil {
		err = s.addViewer(ws, req)
	}
	if err != nil {
		req.Ticket.Release()
		refuseConn(ws, "cannot watch: "+err.Error())
	}
}

// refuseConn tells a browser why its connection is refused and closes
// it.
func refuseConn(ws *websocket.Conn, reason string) {
	writeClosed(ws, reason, time.Now().Add(closeGrace))
	_ = ws.Close()
}

// writeClosed tells a browser's connection, which no other goroutine
// writes, why it is closed: the closed message, then the close frame,
// both by deadline.
func writeClosed(ws *websocket.Conn, reason string, deadline time.Time) {
	msg, _ := json.Marshal(closedMsg{Type: "closed", Reason: reason})
	_ = ws.SetWriteDeadline(deadline)
	_ = ws.WriteMessage(websocket.TextMessage, msg)
	_ = ws.WriteControl(websocket.CloseMessage, closeFrame(reason), deadline)
}

// sharing is a shared session's viewers, and the token they watch by.
type sharing struct {
	token   string
	mu      sync.Mutex
	viewers map[*viewer]struct{}
	ended   bool    // no viewer may join
	typist  *viewer // the viewer that may type (see handOver); nil: none
}

// broadcast queues output for every viewer.
func (sh *sharing) broadcast(p []byte) {
	sh.mu.Lock()
	for v := range sh.viewers {
		v.queueOutput(p)
	}
	sh.mu.Unlock()
}

// broadcastStatus queues a status message for every viewer.
func (sh *sharing) broadcastStatus(msg any) {
	data, _ := json.Marshal(msg)
	sh.mu.Lock()
	for v := range sh.viewers {
		v.queueText(data)
	}
	sh.mu.Unlock()
}

// end lets every viewer go, for reason, and takes the keyboard back.
// It returns the names of the viewers let go (see viewerName), for the
// recording: their leaving is recorded now, not when their connections
// are closed, which may be after the session's recording is; and the
// viewer that had the keyboard, if any.
func (sh *sharing) end(reason string) (names []string, typist *viewer) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.ended = true
	typist = sh.typist
	if typist != nil {
		sh.typist = nil
		typist.typing.Store(false)
	}
	for v := range sh.viewers {
		v.end(reason)
		v.leaveRecorded = true
		names = append(names, viewerName(v.user, v.remote))
	}
	slices.Sort(names)
	return names, typist
}

// share starts sharing the session, unless it is shared already, and
// returns the token viewers watch by.
func (s *session) share() (string, error) {
	if s.g.limits.MaxViewers < 0 {
		return "", errSharingOff
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.sharingOver {
		return "", ErrNotShared
	}
	if sh := s.sharing.Load(); sh != nil {
		return sh.token, nil
	}
	if s.tail == nil {
		s.tail = &outputTail{}
	}
	sh := &sharing{token: newToken(), viewers: map[*viewer]struct{}{}}
	s.g.mu.Lock()
	s.g.watches[sh.token] = s
	s.g.mu.Unlock()
	s.sharing.Store(sh)
	s.log().Info().Msg("session shared")
	s.rec.marker("session shared")
	return sh.token, nil
}

// unshare stops sharing the session, for reason, and lets its viewers
// go; over says sharing is over for good, as the session ends.
func (s *session) unshare(reason string, over bool) {
	s.wmu.Lock()
	sh := s.sharing.Swap(nil)
	s.sharingOver = s.sharingOver || over
	s.wmu.Unlock()
	if sh == nil {
		return
	}
	s.g.mu.Lock()
	delete(s.g.watches, sh.token)
	s.g.mu.Unlock()
	names, typist := sh.end(reason)
	if typist != nil {
		// Also when the session ends: no viewer's input is on its way
		// to the host once the session waits for its input to end.
		s.typingTaken(typist, reason)
	}
	for _, name := range names {
		s.rec.marker("viewer left: " + name + ": " + reason)
	}
	if !over {
		s.log().Info().Msg("session no longer shared")
		s.rec.marker("session no longer shared")
		s.viewersChanged()
	}
}

// viewersChanged tells the session's browser who watches now, on a
// goroutine of its own (a write to the browser may wait for a relay's
// write): at most one such goroutine runs, and it sends the latest list.
func (s *session) viewersChanged() {
	s.viewersMu.Lock()
	if s.viewersSending {
		s.viewersStale = true
		s.viewersMu.Unlock()
		return
	}
	s.viewersSending = true
	s.viewersMu.Unlock()
	go func() {
		for {
			entries, users := []viewerEntry{}, []string{}
			if sh := s.sharing.Load(); sh != nil {
				entries, users = sh.list()
			}
			// Not once the session is ending: its page has been told.
			if s.ctx.Err() == nil && s.reason.get() == "" {
				// Not activity: viewers coming and going do not keep
				// an idle session open.
				data, _ := json.Marshal(viewersMsg{Type: "viewers", Users: users, Viewers: entries})
				_, _ = s.write(websocket.TextMessage, data, s.g.opts.WriteTimeout, false)
			}
			s.viewersMu.Lock()
			if !s.viewersStale {
				s.viewersSending = false
				s.viewersMu.Unlock()
				return
			}
			s.viewersStale = false
			s.viewersMu.Unlock()
		}
	}()
}

// windowSize is the window size last given to the host.
func (s *session) windowSize() (cols, rows int) {
	s.resizeMu.Lock()
	defer s.resizeMu.Unlock()
	return s.sentSize[0], s.sentSize[1]
}

// addViewer makes ws a viewer of the session, if it is still shared by
// the token req names, and starts its goroutines.
func (s *session) addViewer(ws *websocket.Conn, req WatchRequest) error {
	v := &viewer{s: s, ws: ws, user: req.User, remote: req.Remote, ticket: req.Ticket,
		start: time.Now(), wake: make(chan struct{}, 1), readDone: make(chan struct{})}
	if n := s.g.limits.MaxMessageSize; n > 0 {
		ws.SetReadLimit(n) // it may be handed the keyboard
	}
	if s.browserText != nil {
		v.text = s.req.Target.Charset.browserText()
	}
	// Under wmu, so that the viewer has the output kept up to now and
	// then every byte after it, in order.
	s.wmu.Lock()
	sh := s.sharing.Load()
	if s.ctx.Err() != nil || sh == nil || sh.token != req.Token {
		s.wmu.Unlock()
		return ErrNotShared
	}
	sh.mu.Lock()
	if sh.ended || len(sh.viewers) >= s.g.limits.MaxViewers {
		sh.mu.Unlock()
		s.wmu.Unlock()
		if sh.ended {
			return ErrNotShared
		}
		return ErrTooManyViewers
	}
	// Ids go on across sharings, so that a hand-over sent before a
	// sharing stopped names no viewer of the next one.
	s.lastViewerID++
	v.id = s.lastViewerID
	sh.viewers[v] = struct{}{}
	v.sh = sh
	// The session is running (its context is live under wmu), so
	// Shutdown has not finished waiting: it waits for this viewer too.
	s.g.wg.Add(1)
	sh.mu.Unlock()
	cols, rows := s.windowSize()
	data, _ := json.Marshal(watchingMsg{Type: "watching", Target: s.req.Target.Name,
		Description: s.req.Target.Description, User: s.req.User, Cols: cols, Rows: rows, Raw: s.req.Target.Raw,
		Banner: s.req.Target.Banner, Color: s.req.Target.Color})
	v.queueText(data)
	v.queueOutput(s.tail.screen())
	s.wmu.Unlock()

	s.g.metrics.viewers.Inc()
	s.log().Info().Str("viewer", req.User).Str("viewer_remote", req.Remote).Msg("viewer joined")
	s.rec.marker("viewer joined: " + viewerName(req.User, req.Remote))
	go v.read()
	go v.writeAll()
	s.viewersChanged()
	return nil
}

// viewerName names a viewer in a recording: its user and address.
func viewerName(user, remote string) string {
	if user == "" {
		return remote
	}
	return user + " (" + remote + ")"
}

// A viewer is a browser connection watching a shared session.
//
// Goroutines: writeAll writes everything the viewer is sent, from its
// queue, and pings; read reads what it sends (see message). The session's
// goroutines only queue.
type viewer struct {
	s  *session
	sh *sharing // the sharing it joined
	id int      // names it to the session's page, in its sharing
	// typing says the viewer may type (see handOver); it changes under
	// sh.mu.
	typing atomic.Bool
	text   *browserText // converts its input, as the session's page's
	// leaveRecorded says the end of the sharing recorded the viewer's
	// leaving (see sharing.end); guarded by sh.mu.
	leaveRecorded bool
	ws            *websocket.Conn
	user          string
	remote        string
	ticket        *Ticket
	start         time.Time

	mu     sync.Mutex
	queue  []viewerMessage
	queued int         // bytes in queue
	endFor string      // why the viewer is let go; "" while it watches
	endBy  time.Time   // when its last writes must be done, once let go
	failed bool        // a write failed: nothing more can be written
	cutoff *time.Timer // closes the connection if the last writes overrun endBy
	wake   chan struct{}
	// pongQueued says a pong is queued: a viewer that pings and does
	// not read has at most one waiting.
	pongQueued bool

	readDone chan struct{} // closed when read ends
	// lingerUntil is when close stops waiting for the browser's close
	// reply (unix nanoseconds; 0 until close): read sets no later read
	// deadline.
	lingerUntil atomic.Int64
}

type viewerMessage struct {
	typ  int
	data []byte
}

// signal wakes writeAll; called with mu held.
func (v *viewer) signal() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// queueOutput queues a copy of p, output, joined to output queued before
// it while the message stays within viewerFrame.
func (v *viewer) queueOutput(p []byte) {
	if len(p) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.endFor != "" {
		return
	}
	if v.queued+len(p) > maxViewerBacklog {
		v.behindLocked()
		return
	}
	v.queued += len(p)
	if n := len(v.queue); n > 0 && v.queue[n-1].typ == websocket.BinaryMessage && len(v.queue[n-1].data)+len(p) <= viewerFrame {
		v.queue[n-1].data = append(v.queue[n-1].data, p...)
	} else {
		v.queue = append(v.queue, viewerMessage{websocket.BinaryMessage, slices.Clone(p)})
	}
	v.signal()
}

// queueText queues a status message.
func (v *viewer) queueText(data []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.endFor != "" {
		return
	}
	if v.queued+len(data) > maxViewerBacklog {
		v.behindLocked()
		return
	}
	v.queued += len(data)
	v.queue = append(v.queue, viewerMessage{websocket.TextMessage, data})
	v.signal()
}

// end lets the viewer go for reason, once what is queued is written.
func (v *viewer) end(reason string) {
	v.mu.Lock()
	v.endLocked(reason)
	v.mu.Unlock()
}

func (v *viewer) endLocked(reason string) {
	if v.endFor == "" {
		v.endFor = reason
		// A viewer let go types no more, from now (see leave).
		v.typing.Store(false)
		// Its last writes are bounded as a session's are, and a write
		// it is stuck in ends then too, rather than at the write
		// timeout.
		v.endBy = time.Now().Add(closeGrace)
		_ = v.ws.NetConn().SetWriteDeadline(v.endBy)
		// A bound no deadline set later can undo, as the session's
		// cutoff.
		conn := v.ws.NetConn()
		v.cutoff = time.AfterFunc(3*closeGrace, func() { _ = conn.Close() })
		v.signal()
	}
}

// behindLocked lets go of a viewer too far behind; what is queued for it
// is dropped.
func (v *viewer) behindLocked() {
	v.queue, v.queued = nil, 0
	v.endLocked(ReasonViewerBehind)
}

// queuePong queues the answer to a ping, unless one is queued already.
func (v *viewer) queuePong() {
	v.mu.Lock()
	queued := v.pongQueued
	v.pongQueued = true
	v.mu.Unlock()
	if !queued {
		v.queueText(pongMessage)
	}
}

var pongMessage = []byte(`{"type":"pong"}`)

// fail lets the viewer go at once: its connection failed, for reason.
func (v *viewer) fail(reason string) {
	v.mu.Lock()
	v.failed = true
	v.endLocked(reason)
	v.mu.Unlock()
}

// writeAll writes what is queued for the viewer, and pings it, until it
// is let go; then it says why, closes the connection and leaves.
func (v *viewer) writeAll() {
	var ping <-chan time.Time
	if p := v.s.g.limits.PingInterval; p > 0 {
		t := time.NewTicker(p)
		defer t.Stop()
		ping = t.C
	}
	d := v.s.g.opts.WriteTimeout
	for {
		select {
		case <-v.wake:
		case <-ping:
			if err := v.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(d)); err != nil {
				v.fail(ReasonBrowserLost)
			}
			continue
		}
		v.mu.Lock()
		batch, reason, failed := v.queue, v.endFor, v.failed
		v.queue, v.queued = nil, 0
		v.pongQueued = false
		v.mu.Unlock()
		for _, m := range batch {
			if failed {
				break
			}
			deadline := time.Now().Add(d)
			v.mu.Lock()
			if v.endFor != "" && v.endBy.Before(deadline) {
				deadline = v.endBy // let go meanwhile: the last writes
			}
			v.mu.Unlock()
			_ = v.ws.SetWriteDeadline(deadline)
			if err := v.ws.WriteMessage(m.typ, m.data); err != nil {
				v.fail(browserWriteReason(err))
				v.mu.Lock()
				reason, failed = v.endFor, true
				v.mu.Unlock()
			}
		}
		if reason != "" {
			v.close(reason, failed)
			v.mu.Lock()
			v.cutoff.Stop()
			v.mu.Unlock()
			v.leave(reason)
			return
		}
	}
}

// close tells the viewer why it is let go (unless its connection failed)
// and closes the connection once its reader has ended: at the browser's
// close reply, or closeGrace on.
func (v *viewer) close(reason string, failed bool) {
	deadline := time.Now().Add(closeGrace)
	if !failed {
		writeClosed(v.ws, reason, deadline)
		v.lingerUntil.Store(deadline.UnixNano())
		_ = v.ws.SetReadDeadline(deadline)
	} else {
		_ = v.ws.NetConn().Close()
	}
	<-v.readDone
	_ = v.ws.Close()
}

// leave takes the viewer out of its sharing, and gives back its slot.
func (v *viewer) leave(reason string) {
	v.sh.mu.Lock()
	delete(v.sh.viewers, v)
	recorded := v.leaveRecorded
	typed := v.sh.typist == v // not when the sharing's end took the keyboard back
	if typed {
		v.sh.typist = nil
	}
	v.sh.mu.Unlock()
	s := v.s
	if typed {
		s.typingTaken(v, reason)
	}
	s.g.metrics.viewers.Dec()
	s.log().Info().Str("viewer", v.user).Str("viewer_remote", v.remote).
		Dur("duration", time.Since(v.start)).Str("reason", reason).Msg("viewer left")
	if !recorded {
		s.rec.marker("viewer left: " + viewerName(v.user, v.remote) + ": " + reason)
	}
	if s.sharing.Load() == v.sh {
		s.viewersChanged()
	}
	v.ticket.Release()
	s.g.wg.Done()
}

// read reads what the viewer sends (see message). A viewer that stops
// answering pings is gone (see keepalive).
func (v *viewer) read() {
	defer close(v.readDone)
	ka := newKeepalive(v.ws, v.s.g.limits.PingInterval, v.s.g.opts.WriteTimeout, &v.lingerUntil, false)
	for {
		_ = ka.extend()
		typ, r, err := v.ws.NextReader()
		var ping bool
		if err == nil {
			// As readBrowser: a paste's frame may take a while.
			_ = ka.extend()
			ping, err = v.message(typ, r)
		}
		if err != nil {
			v.mu.Lock()
			ending := v.endFor != ""
			v.mu.Unlock()
			if !ending {
				v.fail(browserReadReason(err))
			}
			return
		}
		if ping {
			ka.heardPing()
		}
	}
}
