package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// errBrowserAway is what a write returns while a resumable session waits
// for its browser.
var errBrowserAway = errors.New("the browser is away")

// ErrNoSession is returned for a resume of a session that has ended, or
// that never was, and by EndSession for a session that is not there to
// end.
var ErrNoSession = errors.New("no such session: it has ended")

// An attachment is one of the browser's connections to a session: the
// first, or one that resumed it.
type attachment struct {
	ws *websocket.Conn
	// reasonSet is closed once reading the connection failed and the
	// session has dealt with it (a reason, or waiting for a resume).
	reasonSet chan struct{}
	// readStopped is closed after reasonSet, once the connections before
	// this one relay nothing more either: the next one may then relay.
	readStopped chan struct{}
	// after is the attachment before this one (nil for the first, and
	// once waited for), whose reader must be done before this one's
	// relays a message, so that input goes to the host in the order the
	// browser sent it. Only this one's reader uses it.
	after *attachment
	// mu orders a message's count (session.inputReceived,
	// controlsReceived) with a resume
	// taking the session over: once superseded, what the reader reads
	// is neither counted nor relayed, and the browser sends it again.
	mu         sync.Mutex
	superseded bool
	// resumed says the connection resumed the session: the page's (see
	// keepalive).
	resumed bool
}

// attach makes an attachment of a browser connection.
func (s *session) attach(ws *websocket.Conn) *attachment {
	if n := s.g.limits.MaxMessageSize; n > 0 {
		ws.SetReadLimit(n)
	}
	return &attachment{ws: ws, reasonSet: make(chan struct{}), readStopped: make(chan struct{})}
}

// resumption is what a resumable session keeps for its browser to
// resume: its token, and how far into the output the browser is (the
// output itself is the session's tail). Its fields but token and grace
// are guarded by the session's wmu.
type resumption struct {
	token string
	grace time.Duration

	// position is how far into the output a browser that got everything
	// has received: the bytes written, or being written, to the browser,
	// less those a resume told it it lost. Read without wmu by a resume's
	// first check; it only grows.
	position atomic.Int64
	// resumed is signalled when a browser resumes the session.
	resumed chan struct{}
	timer   *time.Timer // ends the session when the grace is over
	lostFor string      // the reason the session ends for when the grace is over
	expired atomic.Bool // the grace is over: the session is ending
	// resuming is the connection a resume is writing to, before the
	// session has it: stop bounds its writes too.
	resuming atomic.Pointer[websocket.Conn]
}

func newResumption(grace time.Duration) *resumption {
	return &resumption{token: newToken(), grace: grace, resumed: make(chan struct{}, 1)}
}

// newToken returns a random token of 22 characters, for a URL.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// stop disarms the grace timer; r may be nil.
func (r *resumption) stop() {
	if r == nil {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
	}
}

// lose deals with the failure of one of the browser's connections, for
// reason: for a resumable session whose connection dropped (it ended
// without a close frame, or a write to it failed), the session waits for
// the browser to resume it; otherwise the session ends. The failure of a
// connection the session no longer uses (taken over by a resume)
// changes nothing.
func (s *session) lose(a *attachment, reason string, dropped bool) {
	if s.att.Load() != a {
		return
	}
	if s.res != nil && dropped && s.detach(a, reason) {
		return
	}
	s.stop(reason)
}

// detach lets go of the browser's connection a, which dropped for
// reason, to wait for the browser to resume the session, for the grace.
// It reports false when the session is ending anyway.
func (s *session) detach(a *attachment, reason string) bool {
	// First, so that a write stuck on it ends and gives up wmu, and its
	// reader, if it still reads, ends.
	_ = a.ws.NetConn().Close()
	s.wmu.Lock()
	if s.att.Load() != a {
		s.wmu.Unlock()
		return true
	}
	if s.ctx.Err() != nil {
		s.wmu.Unlock()
		return false
	}
	s.att.Store(nil)
	r := s.res
	r.stop()
	// The connection dropped: stalled (a write timed out) or lost, even
	// when the read that noticed took its end for a close.
	r.lostFor = ReasonBrowserLost
	if reason == ReasonBrowserStalled {
		r.lostFor = reason
	}
	var timer *time.Timer
	timer = time.AfterFunc(r.grace, func() {
		s.wmu.Lock()
		// A timer that fired as a resume disarmed it is not this
		// detach's to act on.
		away := r.timer == timer && s.att.Load() == nil
		if away {
			r.expired.Store(true)
		}
		why := r.lostFor
		s.wmu.Unlock()
		if away {
			s.stop(why)
		}
	})
	r.timer = timer
	s.wmu.Unlock()
	s.rec.marker("browser connection lost: held for it to resume")
	s.g.metrics.detached.Inc()
	s.log().Info().Dur("grace", r.grace).Msg("browser connection lost: session held for the browser to resume")
	return true
}

// awaitBrowser deals with a failed write to the browser's connection a
// (nil when the browser was away) and, for a resumable session, waits
// until the browser resumes it. It reports whether the session goes on.
func (s *session) awaitBrowser(a *attachment, err error) bool {
	if a != nil {
		s.browserWriteFailed(a, err)
	}
	if s.res == nil {
		return false
	}
	for s.ctx.Err() == nil {
		if s.att.Load() != nil {
			return true
		}
		select {
		case <-s.res.resumed:
		case <-s.ctx.Done():
		}
	}
	return false
}

// resumedMsg answers a resume.
type resumedMsg struct {
	Type     string `json:"type"`
	Lost     int64  `json:"lost"`
	Input    int64  `json:"input"`    // bytes of binary messages received from the browser
	Controls int64  `json:"controls"` // its control messages but pings, resizes and transfers
}

// resume gives the session the browser's new connection ws, after the
// browser had received received bytes of output: it sends the output the
// browser lacks, of what is kept, and says how much more it lost, and
// takes the session over from the connection it had, if any.
func (s *session) resume(ws *websocket.Conn, received int64, remote string) error {
	r := s.res
	// Checked first without wmu, so that a resume that cannot be does
	// not cut the connection the session has.
	if err := s.resumeRefusal(received); err != nil {
		return err
	}
	if old := s.att.Load(); old != nil {
		// A write stuck on it ends, and gives up wmu.
		_ = old.ws.NetConn().Close()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.resumeRefusal(received); err != nil {
		return err
	}
	// position counts what the browser was told it lost no more.
	missing := r.position.Load() - received
	// The tail was kept from the session's start, so that it holds all
	// of the missing bytes or its whole ring.
	replay := s.tail.last(missing)
	lost := missing - int64(len(replay))
	// The input counted is final once the last connection's reader
	// takes no more: what it reads from now on the browser sends again.
	// A connection another resume gave the session after this one's
	// first check is taken over too, as the first check took over the
	// one before: once superseded it could not go on.
	if cur := s.att.Load(); cur != nil {
		_ = cur.ws.NetConn().Close()
	}
	last := s.lastAtt
	last.mu.Lock()
	last.superseded = true
	last.mu.Unlock()
	msg, _ := json.Marshal(resumedMsg{Type: "resumed", Lost: lost, Input: s.inputReceived.Load(),
		Controls: s.controlsReceived.Load()})
	r.resuming.Store(ws)
	defer r.resuming.Store(nil)
	d := s.g.opts.WriteTimeout
	if s.ctx.Err() != nil {
		d = min(d, closeGrace)
	}
	_ = ws.SetWriteDeadline(time.Now().Add(d))
	err := ws.WriteMessage(websocket.TextMessage, msg)
	if err == nil && len(replay) > 0 {
		err = ws.WriteMessage(websocket.BinaryMessage, replay)
	}
	if err != nil {
		return err
	}
	r.position.Add(-lost)
	s.bytesOut.Add(int64(len(replay)))
	s.g.metrics.toBrowser.Add(float64(len(replay)))
	if old := s.att.Load(); old != nil {
		// Another resume's, that came in between: this one wins.
		_ = old.ws.NetConn().Close()
	}
	a := s.attach(ws)
	a.resumed = true
	a.after = last
	s.att.Store(a)
	s.lastAtt = a
	r.stop()
	s.touch()
	// Under wmu, which the session's first message was written under,
	// after its recording started.
	s.rec.marker("session resumed from " + remote)
	// Before run waits for the readers: the session is not stopped
	// (checked under wmu), and run's wait follows finish, whose write
	// takes wmu.
	s.startReading(a)
	select {
	case r.resumed <- struct{}{}:
	default:
	}
	s.g.metrics.resumed.Inc()
	s.resendSerial()           // the page may have missed a change
	s.resendKept(&s.powerLast) // or the answer to a power request
	s.resendKept(&s.loginLast) // or the login's failure
	if s.sharing.Load() != nil {
		s.viewersChanged() // the browser may have missed a change
	}
	s.log().Info().Str("remote", remote).Int64("replayed", int64(len(replay))).Int64("lost", lost).Msg("session resumed")
	return nil
}

// resumeRefusal says why the session cannot be resumed by a browser that
// has received received bytes of output, or returns nil.
func (s *session) resumeRefusal(received int64) error {
	r := s.res
	if s.ctx.Err() != nil || r.expired.Load() {
		return ErrNoSession
	}
	if pos := r.position.Load(); received < 0 || received > pos {
		return fmt.Errorf("received %d: the session sent %d", received, pos)
	}
	return nil
}

// CheckResume reports whether user may resume the session token names:
// nil, or an error wrapping ErrNoSession (it has ended) or ErrNotAllowed
// (another user's).
func (g *Gateway) CheckResume(token, user string) error {
	_, err := g.resumable(token, user)
	return err
}

func (g *Gateway) resumable(token, user string) (*session, error) {
	g.mu.Lock()
	s := g.resumes[token]
	g.mu.Unlock()
	switch {
	case s == nil || token == "":
		return nil, ErrNoSession
	case s.req.User != user:
		return nil, notAllowed("the session is another user's")
	}
	return s, nil
}

// A browser whose connection dies without a word (Wi-Fi dropped, a VPN
// reconnected, a laptop slept) can resume its session on a new one:
// the telnet connection stays open meanwhile, for the resume grace
// (Limits.ResumeGrace), and the browser gets the output it missed.
//
// The page asks for this with ?resumable=1. Its "connected" message then
// carries a token and the grace in seconds:
//
//	{"type":"connected",...,"resume":TOKEN,"resume_grace":60}
//
// Until the grace has passed since the connection was lost, the page may
// open ws?resume=TOKEN&received=N, where N counts the bytes of binary
// messages it has received. The gateway answers
//
//	{"type":"resumed","lost":L,"input":I,"controls":C}
//
// followed by the output the browser lacks, in one binary message, and
// the session goes on. I counts the bytes of binary messages (input) the
// gateway received from the browser in the session, and C its control
// messages other than pings, resizes and transfers (a Break or a Stop sharing sent
// into a dead connection is as lost as a key): the page sends again what
// it sent after them, which went into the dead connection, and the
// gateway acts on each byte and message once, in order. The gateway keeps the last tailSize bytes of
// output for this; L counts what the browser missed beyond them (0 but
// after a flood of output). A resume is refused (404) once the session
// has ended, and to another user (403). A resume takes the session over
// from a connection the gateway still holds: the browser often notices
// first that the old one died.
//
// Only a connection that died is waited for: a browser that closed the
// WebSocket (a closed tab) or broke the protocol ends the session at
// once. While the browser is away, host output is not read: it waits
// in the kernel's buffers and then on the host, so nothing is lost, and
// a paste being paced goes on.
//
// Resume gives the session that token names, user's, the browser's new
// connection ws, after the browser had received received bytes of its
// output. When the session cannot be resumed it tells the browser why
// and closes ws. It returns once the session has ws; the session's
// goroutines read and write it from then on.
func (g *Gateway) Resume(ws *websocket.Conn, token, user string, received int64, remote string) {
	s, err := g.resumable(token, user)
	if err == nil {
		err = s.resume(ws, received, remote)
	}
	if err == nil {
		return
	}
	refuseConn(ws, "cannot resume: "+err.Error())
}
