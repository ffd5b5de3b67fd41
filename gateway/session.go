package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/telnet"
)

// newMsgBuf makes a buffer for a Gateway's msgBufs pool: messages from
// the browser (keystrokes, control messages, pastes), taken per message
// like frame buffers.
func newMsgBuf() any {
	b := make([]byte, 0, 1<<10)
	return &b
}

// maxPooledMsg is the largest message buffer kept for reuse: a big paste
// grows one, which is then left to the garbage collector.
const maxPooledMsg = 64 << 10

// noLimit is what -1 (no limit) becomes for a size the telnet package
// needs as a positive number.
const noLimit = math.MaxInt32

// closeGrace bounds the last writes to a browser when a session ends.
const closeGrace = 2 * time.Second

// sessionPolicy is what a browser terminal agrees to: our window size,
// terminal type, suppress-go-ahead and binary; the host's echo,
// suppress-go-ahead and binary. Everything else is refused, TIMING-MARK
// included: inetutils-telnetd takes WILL TM for a client that does its own
// line editing (kludge linemode), which a browser terminal does not.
var sessionPolicy = telnet.Policy{
	Local:  telnet.NewOptionSet(telnet.NAWS, telnet.TTYPE, telnet.SGA, telnet.BINARY),
	Remote: telnet.NewOptionSet(telnet.ECHO, telnet.SGA, telnet.BINARY),
}

// serialPolicy is sessionPolicy with COM-PORT-OPTION (RFC 2217) on our
// side, for a target with Serial.
var serialPolicy = func() telnet.Policy {
	p := sessionPolicy
	p.Local.Add(telnet.COM_PORT_OPTION)
	return p
}()

// A session is one browser paired with one telnet connection.
//
// Goroutines: run (on the caller of Gateway.Serve) dials, then relays host
// output to the browser and is the only writer of data frames (but for a
// resume's replay, written before the session has the connection); readBrowser
// relays browser input to the host, one for each of the browser's
// connections (see attachment), and a viewer handed the keyboard relays
// its input too (see handOver), each under inputMu. Status messages are
// written under wmu.
// Pings use WriteControl, which may run concurrently with both.
// Short-lived goroutines send window sizes to the host (resize), answer
// the page's keepalive (pong) and tell it who watches (viewersChanged),
// so that none holds readBrowser or the relay.
type session struct {
	g   *Gateway
	id  string // names it in the session list (see Gateway.Sessions)
	req Request
	// att is the browser's connection: the first, or the one that last
	// resumed the session; nil while a resumable session waits for its
	// browser to come back. It changes under wmu.
	att atomic.Pointer[attachment]
	// lastAtt is the browser's last connection, also while it is away;
	// it changes under wmu.
	lastAtt *attachment
	// inputReceived counts the bytes of binary messages read from the
	// browser, and controlsReceived its control messages but pings,
	// resizes and transfers, for a resume (see attachment.mu).
	inputReceived    atomic.Int64
	controlsReceived atomic.Int64

	res *resumption // nil unless the browser may resume the session
	// tail is the latest output, kept for a resume and for viewers; nil
	// unless the session is resumable or was shared. Guarded by wmu.
	tail *outputTail
	// sharing is the session's viewers while it is shared (see share);
	// it changes under wmu, as sharingOver, set when the session ends.
	sharing     atomic.Pointer[sharing]
	sharingOver bool
	// lastViewerID is the id given to the last viewer that joined; it
	// changes under wmu.
	lastViewerID int
	// Who watches is told the browser by one goroutine at a time (see
	// viewersChanged).
	viewersMu      sync.Mutex
	viewersSending bool
	viewersStale   bool
	// readers counts the readBrowser goroutines.
	readers sync.WaitGroup
	logger  zerolog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	tn  *telnet.Telnet
	neg *telnet.Negotiator
	rec *recorder // nil when the session is not recorded
	// login is the target's automatic login (nil without one), which
	// watches the host's output until it ends.
	login *autoLogin
	// serial is the host's serial port, for a target with Serial (nil
	// otherwise).
	serial *serialPort

	// hostText and browserText convert the host's character set to and
	// from UTF-8 (nil when the target has none): hostText is the relay's
	// of host output, browserText readBrowser's.
	hostText    *hostText
	browserText *browserText

	wmu sync.Mutex // serialises writes of messages to the browser, guards att's changes
	// inputMu serialises input to the host, from the browser and from a
	// viewer handed the keyboard (see handOver).
	inputMu sync.Mutex
	// transfer says the browser's input goes to the host as bytes (a
	// file sent with XMODEM): no Enter, Backspace or character set
	// mapping and no line delay, and a CR as CR NUL unless our side sends
	// in BINARY mode, the target's Enter is a bare CR or the host is raw
	// TCP, so that the
	// host's telnet server gives it back as it was (RFC 854). A viewer's
	// input is dropped meanwhile. A resumed connection starts without
	// it. Guarded by inputMu, as transferred, the bytes sent in it,
	// which the recording notes instead of the bytes themselves.
	transfer    bool
	transferred int64
	// pace paces input for a target with a line delay (nil until the
	// first input there); pacing counts its goroutine.
	pace   *pacer
	pacing sync.WaitGroup
	reason onceString

	// The window size being sent to the host, and the next one (see
	// resize).
	resizeMu    sync.Mutex
	resizeDone  chan struct{} // closed when the sending ends; nil when none runs
	sizePending bool
	nextSize    [2]int
	sentSize    [2]int // the last size given to the negotiator

	pongs     atomic.Int32               // pings waiting for the pong being written (see pong)
	finishing atomic.Bool                // finish has begun: no warning is written after it
	powerLast atomic.Pointer[keptStatus] // the last power message, for a resume
	loginLast atomic.Pointer[keptStatus] // the login's failure, for a resume
	// cutoff closes the browser's connection if the session has not
	// ended closeGrace after its first stop plus the grace of finish's
	// two writes: a bound that no write deadline set later can undo, and
	// that also ends finish's wait for the browser's close reply.
	cutoff   atomic.Pointer[time.Timer]
	stopOnce sync.Once
	// lingerUntil is when finish stops waiting for what the browser still
	// sends (unix nanoseconds; 0 until finish): no read deadline may go
	// past it.
	lingerUntil atomic.Int64

	start    time.Time
	activity atomic.Int64 // unix nanoseconds of the last traffic
	writing  atomic.Bool  // a message to the browser is being written
	bytesIn  atomic.Int64 // browser to host
	bytesOut atomic.Int64 // host to browser
}

// onceString keeps the first value set.
type onceString struct {
	mu  sync.Mutex
	val string
}

func (o *onceString) set(v string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.val != "" {
		return false
	}
	o.val = v
	return true
}

func (o *onceString) get() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.val
}

func newSession(g *Gateway, ws *websocket.Conn, req Request) *session {
	if size := req.Target.Size; size.Cols > 0 {
		req.Cols, req.Rows = size.Cols, size.Rows
	}
	s := &session{g: g, id: newToken()[:16], req: req, start: time.Now()}
	s.logger = g.opts.Log.With().
		Str("target", req.Target.Name).
		Str("address", req.Target.Address).
		Str("remote", req.Remote).
		Str("user", req.User).Logger()
	s.att.Store(s.attach(ws))
	s.lastAtt = s.att.Load()
	if req.Resumable && g.limits.ResumeGrace > 0 {
		s.res = newResumption(g.limits.ResumeGrace)
		s.tail = &outputTail{}
	}
	if cs := req.Target.Charset; cs != nil {
		s.hostText, s.browserText = cs.hostText(), cs.browserText()
	}
	s.ctx, s.cancel = context.WithCancel(g.ctx)
	s.touch()
	return s
}

func (s *session) touch() { s.activity.Store(time.Now().UnixNano()) }

// log returns the logger for the session's lines: who (user, client
// address of the first connection) and where to (target and address).
func (s *session) log() *zerolog.Logger {
	return &s.logger
}

// stop ends the session for reason (the first reason given wins): it
// closes the telnet connection, which ends the relay of host output.
func (s *session) stop(reason string) {
	s.reason.set(reason)
	s.cancel()
	_ = s.tn.Close()
	// A relay blocked on a browser that does not read must not hold the
	// session open: cut its pending write short.
	if a := s.att.Load(); a != nil {
		_ = a.ws.NetConn().SetWriteDeadline(time.Now().Add(closeGrace))
	}
	if s.res != nil {
		if ws := s.res.resuming.Load(); ws != nil {
			_ = ws.NetConn().SetWriteDeadline(time.Now().Add(closeGrace))
		}
	}
	s.stopOnce.Do(func() {
		s.cutoff.Store(time.AfterFunc(3*closeGrace, func() {
			if a := s.att.Load(); a != nil {
				_ = a.ws.NetConn().Close()
			}
		}))
	})
}

// run is the whole session. Its log lines say who (user, client
// address), where to (target and the address dialled), how much (bytes
// each way), how long and why it ended; never what was typed or shown.
func (s *session) run() {
	defer s.cancel()
	log := *s.log()
	log.Info().Int("cols", s.req.Cols).Int("rows", s.req.Rows).Msg("session start")

	if err := s.dial(); err != nil {
		s.reason.set(DialReason(err))
		if s.reason.get() == ReasonNoDescriptors {
			log.Error().Err(err).Msg("dial failed: out of file descriptors; raise the open-file limit (ulimit -n, LimitNOFILE) or set limits.max_sessions lower")
		} else {
			log.Warn().Err(err).Str("reason", s.reason.get()).Msg("dial failed")
		}
		s.endWithoutRelay()
	} else {
		if s.req.Target.Record {
			s.rec = startRecording(s.g, log, &s.req, s.req.Cols, s.req.Rows, s.term())
			if s.rec != nil {
				log.Info().Str("recording", s.rec.file).Msg("recording session")
			}
		}
		s.startLogin()
		stopOnCancel := context.AfterFunc(s.ctx, func() { s.stop(ReasonShutdown) })
		s.startReading(s.att.Load())
		stopTimers := s.startTimers()
		connected := connectedMsg{Type: "connected", Target: s.req.Target.Name, Description: s.req.Target.Description,
			Raw: s.req.Target.Raw, Banner: s.req.Target.Banner, Color: s.req.Target.Color,
			WatchOnly: s.req.Target.WatchOnly, Power: s.mayPower()}
		if s.req.Target.Size.Cols > 0 {
			connected.Cols, connected.Rows = s.req.Cols, s.req.Rows
		}
		if s.res != nil {
			connected.Resume, connected.ResumeGrace = s.res.token, int(s.res.grace/time.Second)
		}
		if a, err := s.send(connected); err == nil || s.awaitBrowser(a, err) {
			s.relayHost()
		}
		s.login.stop() // nothing of it after the session's end
		stopTimers()
		stopOnCancel()
		if s.ctx.Err() != nil {
			// Canceled (a shutdown, an end from the session list)
			// while the relay waited for the browser to resume: a
			// context closes Done before it starts its AfterFuncs, so
			// the relay may have seen it first, and the function that
			// stops the session may not have run, or not yet. Stopped
			// here (again, which changes nothing), the telnet
			// connection is closed before the session ends.
			s.stop(ReasonShutdown)
		}
		s.finish()
		s.unshare(s.reason.get(), true)
		s.rec.marker("session ended: " + s.reason.get())
		s.readers.Wait()
		s.pacing.Wait()
		s.g.closeRecording(s.rec)
		if t := s.cutoff.Load(); t != nil {
			t.Stop()
		}
		s.res.stop()
	}
	if a := s.att.Load(); a != nil {
		_ = a.ws.Close()
	}
	s.g.metrics.sessionClosed(s.reason.get())
	log.Info().
		Int64("bytes_in", s.bytesIn.Load()).
		Int64("bytes_out", s.bytesOut.Load()).
		Dur("duration", time.Since(s.start)).
		Str("reason", s.reason.get()).
		Msg("session end")
}

// term is the terminal type sent to the host.
func (s *session) term() string {
	switch {
	case s.req.Target.Term != "":
		return s.req.Target.Term
	case s.req.Term != "":
		return s.req.Term
	}
	return DefaultTerm
}

// dial connects to the target and prepares negotiation.
func (s *session) dial() error {
	ctx := s.ctx
	if d := s.g.limits.DialTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	began := time.Now()
	conn, err := s.g.opts.Dial(ctx, "tcp", s.req.Target.Address)
	s.g.metrics.dialed(time.Since(began), err)
	if err != nil {
		return err
	}
	tn := telnet.NewConn(conn)
	tn.SetRaw(s.req.Target.Raw)
	switch n := s.g.limits.MaxSubnegotiation; {
	case n > 0:
		tn.SetMaxSubnegotiation(n)
	case n < 0:
		tn.SetMaxSubnegotiation(noLimit)
	}
	policy := sessionPolicy
	if s.req.Target.Serial != nil {
		policy = serialPolicy
		s.serial = &serialPort{}
	}
	neg := telnet.NewNegotiator(policy)
	neg.SetTerminalTypes(s.term())
	neg.SetWindowSize(tn, s.req.Cols, s.req.Rows)
	s.sentSize = [2]int{s.req.Cols, s.req.Rows}
	neg.OnChange(func(t *telnet.Telnet, opt byte, local, enabled bool) {
		s.g.metrics.optionChanged(opt, local, enabled)
		if opt == telnet.COM_PORT_OPTION && local && s.serial != nil {
			s.serialOptionChanged(t, enabled)
		}
	})
	if s.serial != nil {
		neg.OnOther(s.serialNotice)
	}
	tn.SetOptionNegotiationCallback(neg.Callback)
	s.tn, s.neg = tn, neg
	if s.serial != nil && !s.req.Target.Raw {
		// RFC 2217: the client offers the option. A server that offered
		// first (ser2net asks DO) makes this the answer.
		_ = neg.EnableLocal(tn, telnet.COM_PORT_OPTION)
	}
	return nil
}

// startReading starts readBrowser on a connection of the browser's.
func (s *session) startReading(a *attachment) {
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		s.readBrowser(a)
	}()
}

// readBrowser relays browser input from one of its connections to the
// host until the connection ends or the session does.
func (s *session) readBrowser(a *attachment) {
	ka := newKeepalive(a.ws, s.g.limits.PingInterval, s.g.opts.WriteTimeout, &s.lingerUntil, a.resumed)
	recordInput := s.rec != nil && s.g.opts.Recording.Input
	for {
		// The browser's silence counts from here: while the last
		// message went to a host that reads slowly (a paste into a
		// console), its pongs waited unread, and that was not silence.
		_ = ka.extend()
		typ, r, err := a.ws.NextReader()
		if err != nil {
			s.readFailed(a, err)
			s.discardInput(a, err)
			return
		}
		_ = ka.extend()
		// A buffer only while a message is handled: an idle session
		// holds none.
		bp := s.g.msgBufs.Get().(*[]byte)
		data, err := readMessage(r, (*bp)[:0])
		var c Control
		var cerr error
		if err == nil && typ == websocket.TextMessage {
			c, cerr = ParseControl(data)
		}
		ping := cerr == nil && c.Type == "ping"
		if err == nil {
			a.mu.Lock()
			switch {
			case a.superseded:
				// A resume took over: the browser sends it again.
				err = net.ErrClosed
			case typ == websocket.BinaryMessage:
				s.inputReceived.Add(int64(len(data)))
			case cerr == nil && c.Type != "ping" && c.Type != "resize" && c.Type != "transfer":
				// A command, a share, a hand-over...: the page sends
				// those into a dead connection again. Not pings, nor
				// sizes, which it sends afresh, nor a transfer, which
				// it does not take up again.
				s.controlsReceived.Add(1)
			}
			a.mu.Unlock()
		}
		if err != nil {
			s.readFailed(a, err)
		} else {
			if ping {
				ka.heardPing()
			}
			if a.after != nil && !ping {
				// The connection this one resumed from may still be
				// writing its last message to the host: it goes first.
				// Pings are answered meanwhile.
				select {
				case <-a.after.readStopped:
				case <-s.ctx.Done():
				}
				a.after = nil // and the connections before it can go
				// The page gave up a transfer when its connection
				// dropped: this one starts with input mapped.
				s.inputMu.Lock()
				s.transfer = false
				s.inputMu.Unlock()
			}
			s.browserMessage(typ, data, c, cerr, recordInput)
		}
		if cap(data) <= maxPooledMsg {
			*bp = data[:0]
			s.g.msgBufs.Put(bp)
		}
		if err != nil {
			s.discardInput(a, err)
			return
		}
	}
}

// discardInput reads and drops whatever the browser still sends, raw,
// after the WebSocket failed on something it sent (a message over the
// size limit, a protocol error): gorilla reads no more and has sent its
// close frame, and the input left unread (at least the rest of the
// oversized message) would make the final close a reset, which throws
// away that close frame and the output still on its way. It returns at
// the end of the stream or at finish's deadline; at once when the browser
// closed (it sends nothing more) or the connection failed.
func (s *session) discardInput(a *attachment, err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) || s.att.Load() != a {
		return // closed by the browser, or left for another connection
	}
	_, _ = io.Copy(io.Discard, a.ws.NetConn())
}

// readMessage appends the rest of a message to buf, which it grows as
// needed; gorilla bounds the message (SetReadLimit).
func readMessage(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// browserMessage relays one message from the browser, with Enter (unless
// our side sends in BINARY mode) and Backspace as the target wants them.
// A write to the host that fails does not end the session: a
// connection that cannot be written to is closed or closing, and the
// relay of host output ends the session once the browser has everything
// the host sent before it went. Until then input is dropped.
func (s *session) browserMessage(typ int, data []byte, c Control, cerr error, recordInput bool) {
	if s.ctx.Err() != nil {
		// The session is ending (finish may be waiting for the
		// browser's close reply): nothing more goes to the host or
		// into the recording.
		return
	}
	if typ == websocket.TextMessage && cerr == nil && c.Type == "ping" {
		s.pong()
		return
	}
	s.touch()
	switch typ {
	case websocket.BinaryMessage:
		// Before the keys reach the host: a prompt they bring is not
		// the login's to answer.
		s.login.typed(data)
		s.inputMu.Lock()
		s.input(data, s.browserText, recordInput, nil)
		s.inputMu.Unlock()
	case websocket.TextMessage:
		s.control(c, cerr)
	}
}

// input writes input from the browser, or from the viewer from handed
// the keyboard (nil: the browser), to the host, text converted to the
// host's character set by text (nil: none), with Enter (unless our side
// sends in BINARY mode) and Backspace as the target wants them. Called
// with inputMu held.
func (s *session) input(data []byte, text *browserText, recordInput bool, from *viewer) {
	s.waitResize()
	if s.transfer && from == nil {
		// Not into the recording: a file, not keys (see control).
		s.transferred += int64(len(data))
		s.transferInput(data)
		return
	}
	if recordInput {
		s.rec.input(data)
	}
	browserBytes := len(data)
	// A mouse report is the terminal's own bytes (coordinates past
	// 94 are bytes past 127), not UTF-8 text.
	if text != nil && !bytes.HasPrefix(data, mouseReport) {
		conv := s.g.msgBufs.Get().(*[]byte)
		*conv = text.encode((*conv)[:0], data)
		data = *conv
		defer func() {
			if cap(*conv) <= maxPooledMsg {
				s.g.msgBufs.Put(conv)
			}
		}()
	}
	mapEnter := s.req.Target.enter() != telnet.RawCR && !s.neg.Local(telnet.BINARY) && bytes.IndexByte(data, '\r') >= 0
	erase := s.req.Target.Backspace
	// A mouse report (ESC [ M and three bytes, the terminal's own
	// message) can hold a 127 that is a coordinate, not a key.
	mapErase := erase != 0 && bytes.IndexByte(data, del) >= 0 && !bytes.HasPrefix(data, mouseReport)
	if !mapEnter && !mapErase {
		s.writeInput(data, browserBytes, from)
	} else {
		out := s.g.msgBufs.Get().(*[]byte)
		if mapEnter {
			*out = telnet.AppendLineEndings((*out)[:0], data, s.req.Target.enter())
		} else {
			*out = append((*out)[:0], data...)
		}
		if mapErase {
			for i, c := range *out {
				if c == del {
					(*out)[i] = erase
				}
			}
		}
		s.writeInput(*out, browserBytes, from)
		if cap(*out) <= maxPooledMsg {
			s.g.msgBufs.Put(out)
		}
	}
}

// control acts on a control message, as ParseControl gave it (err when
// malformed, which is answered with an error message). A failed write to
// the host is dropped, as browserMessage drops input.
func (s *session) control(c Control, err error) {
	if err != nil {
		_, _ = s.send(errorMsg{Type: "error", Message: err.Error()})
		return
	}
	switch c.Type {
	case "resize":
		if s.req.Target.Size.Cols > 0 {
			return // the target's size, whatever the browser's window
		}
		s.resize(c.Cols, c.Rows)
		s.rec.resize(c.Cols, c.Rows)
	case "command":
		if s.req.Target.Raw {
			_, _ = s.send(errorMsg{Type: "error", Message: "the host speaks plain TCP, not telnet: it takes no telnet commands"})
			return
		}
		s.inputMu.Lock()
		s.command(c.Name, nil)
		s.inputMu.Unlock()
	case "share":
		token, err := s.share()
		if err != nil {
			_, _ = s.send(errorMsg{Type: "error", Message: "cannot share: " + err.Error()})
			return
		}
		_, _ = s.send(sharedMsg{Type: "shared", Watch: token})
	case "unshare":
		s.unshare(ReasonSharingStopped, false)
	case "hand-over":
		if err := s.handOver(c.Viewer); err != nil {
			_, _ = s.send(errorMsg{Type: "error", Message: "cannot hand over the keyboard: " + err.Error()})
		}
	case "take-back":
		s.takeBack()
	case "serial":
		s.setSerial(c.Serial)
	case "power":
		s.power()
	case "transfer":
		s.inputMu.Lock()
		if c.On && !s.transfer && s.pace != nil {
			// The rest of a paste would go into the file's blocks.
			s.pace.dropAll()
		}
		switch {
		case c.On && !s.transfer:
			s.transferred = 0
			s.login.transferStarted()
			s.rec.marker("file transfer started")
		case !c.On && s.transfer:
			s.rec.marker("file transfer ended: " + strconv.FormatInt(s.transferred, 10) + " bytes sent")
		}
		s.transfer = c.On
		s.inputMu.Unlock()
	}
}

// transferInput writes input of a transfer (see session.transfer) to
// the host. Called with inputMu held.
func (s *session) transferInput(data []byte) {
	n := len(data)
	if !s.req.Target.Raw && s.req.Target.enter() != telnet.RawCR && !s.neg.Local(telnet.BINARY) && bytes.IndexByte(data, '\r') >= 0 {
		out := s.g.msgBufs.Get().(*[]byte)
		*out = appendCRNUL((*out)[:0], data)
		s.writeNow(*out, n)
		if cap(*out) <= maxPooledMsg {
			s.g.msgBufs.Put(out)
		}
		return
	}
	s.writeNow(data, n)
}

// appendCRNUL appends p to dst with a NUL after every CR.
func appendCRNUL(dst, p []byte) []byte {
	for {
		i := bytes.IndexByte(p, '\r')
		if i < 0 {
			return append(dst, p...)
		}
		dst = append(dst, p[:i+1]...)
		dst = append(dst, 0)
		p = p[i+1:]
	}
}

// command sends the toolbar command name (a valid one: see
// ParseControl) to the host, from the page or the viewer from. Called
// with inputMu held.
func (s *session) command(name string, from *viewer) {
	s.waitResize()
	cmd, _ := CommandByte(name)
	s.sendCommand(cmd, from)
}

// pong answers a page's keepalive ping, which is not activity, on a
// goroutine of its own: the relay may be writing a frame to a browser
// that reads slowly, and readBrowser must not wait for that (input such
// as a Ctrl-C would wait behind it). At most one pong is on its way,
// and every ping is answered by one written after it came.
func (s *session) pong() {
	if s.pongs.Add(1) != 1 {
		return // the goroutine writing a pong writes another after it
	}
	go func() {
		for {
			n := s.pongs.Load()
			_, _ = s.write(websocket.TextMessage, pongMessage, s.g.opts.WriteTimeout, false)
			// One pong answers the pings that came before it was
			// written; one that came meanwhile gets another.
			if s.pongs.CompareAndSwap(n, 0) {
				return
			}
		}
	}()
}

// warningLead is how long before an idle timeout or a session's time
// limit the browser is warned: a minute, or a quarter of a short limit.
func warningLead(limit time.Duration) time.Duration { return min(time.Minute, limit/4) }

// warn tells the browser its session ends for reason (ReasonIdle,
// ReasonMaxDuration) in d, unless, for ReasonIdle, something is typed
// or shown meanwhile. The message is not activity.
func (s *session) warn(reason string, d time.Duration) {
	msg, _ := json.Marshal(warningMsg{Type: "warning", Reason: reason, In: d.Round(100 * time.Millisecond).Seconds()})
	go func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if !s.finishing.Load() { // never after the closed message
			_, _ = s.writeHeld(websocket.TextMessage, msg, s.g.opts.WriteTimeout, false)
		}
	}()
}

// waitResize waits until the window sizes being sent are queued for the
// host, so that input and commands that came after them reach it after
// them. It waits only when the host is slow to take them, and then input
// would have waited for the host anyway.
func (s *session) waitResize() {
	s.resizeMu.Lock()
	done := s.resizeDone
	s.resizeMu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-s.ctx.Done():
		}
	}
}

// resize sends the browser's window size to the host on a goroutine of
// its own, while readBrowser reads on: sending waits for the host to take
// it, and the browser, which resizes by itself, would have its next
// messages, its close among them, go unread as long as a host read
// nothing. Only the last size matters, so while one is being sent the
// later ones replace each other, and the last is sent after it.
func (s *session) resize(cols, rows int) {
	s.resizeMu.Lock()
	s.nextSize, s.sizePending = [2]int{cols, rows}, true
	if s.resizeDone != nil { // the goroutine sending sizes will send this one
		s.resizeMu.Unlock()
		return
	}
	done := make(chan struct{})
	s.resizeDone = done
	s.resizeMu.Unlock()
	go func() {
		defer close(done)
		for {
			s.resizeMu.Lock()
			size, pending := s.nextSize, s.sizePending
			s.sizePending = false
			if !pending {
				s.resizeDone = nil
			}
			// The same size again (a page that resumed, which cannot
			// know whether its last one arrived) tells the host nothing.
			same := size == s.sentSize
			s.sentSize = size
			s.resizeMu.Unlock()
			if !pending {
				return
			}
			if !same {
				s.neg.SetWindowSize(s.tn, size[0], size[1])
				if sh := s.sharing.Load(); sh != nil {
					sh.broadcastStatus(sizeMsg{Type: "size", Cols: size[0], Rows: size[1]})
				}
			}
		}
	}()
}

// send writes a status message; see write for what it returns.
func (s *session) send(msg any) (*attachment, error) {
	return s.sendWithin(msg, s.g.opts.WriteTimeout)
}

func (s *session) sendWithin(msg any, d time.Duration) (*attachment, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return s.writeFrame(websocket.TextMessage, data, d)
}

func (s *session) writeFrame(typ int, data []byte, d time.Duration) (*attachment, error) {
	return s.write(typ, data, d, true)
}

// write writes one message within d to the browser's connection, and
// returns that connection and the error; activity says whether it counts
// against the idle timeout (a pong does not). With no connection (the
// browser is away) it returns nil and errBrowserAway. Output (binary
// messages) is kept, whether it is written or not, by a resumable or
// shared session, and queued for its viewers (see output).
func (s *session) write(typ int, data []byte, d time.Duration, activity bool) (*attachment, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeHeld(typ, data, d, activity)
}

// A keptStatus is a status message kept for a page that resumes, which
// may have missed it (see resendKept).
type keptStatus struct {
	data []byte
	at   time.Time
	// pending says it tells of something still under way (a power
	// request out): sent again whatever its age; unsent, that no
	// connection took it.
	pending bool
	unsent  atomic.Bool
}

// sendKept sends a status message, data, never after the session's
// closed message, and keeps it in k for a page that resumes: for news
// from a goroutine of the session's own (a power request's answer, a
// login's failure), which may come as the session ends or while the
// browser is away.
func (s *session) sendKept(k *atomic.Pointer[keptStatus], data []byte, pending bool) {
	kept := &keptStatus{data: data, at: time.Now(), pending: pending}
	k.Store(kept)
	s.writeKept(k, kept)
}

// writeKept writes kept, unless a newer message took its place in k (a
// power answer after "asked") or the session's closed message went,
// and notes whether a connection took it.
func (s *session) writeKept(k *atomic.Pointer[keptStatus], kept *keptStatus) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if k.Load() == kept && !s.finishing.Load() {
		_, err := s.writeHeld(websocket.TextMessage, kept.data, s.g.opts.WriteTimeout, false)
		kept.unsent.Store(err != nil) // the browser away, say: sent again on a resume
	}
}

// resendKept sends a page that resumed the message kept in k if it may
// have missed it: one still pending, or one sent within the time a dead
// connection can go unnoticed (a write into one succeeds, so having
// written it proves nothing). An older one is not announced again.
func (s *session) resendKept(k *atomic.Pointer[keptStatus]) {
	last := k.Load()
	if last == nil {
		return
	}
	unnoticed := 2*s.g.limits.PingInterval + s.g.opts.WriteTimeout
	if last.pending || last.unsent.Load() || time.Since(last.at) < unnoticed {
		// Not stored again: the age stays the message's own.
		go s.writeKept(k, last)
	}
}

// writeHeld is write, with wmu held.
func (s *session) writeHeld(typ int, data []byte, d time.Duration, activity bool) (*attachment, error) {
	if typ == websocket.BinaryMessage {
		s.output(data)
	}
	a := s.att.Load()
	if a == nil {
		return nil, errBrowserAway
	}
	if s.ctx.Err() != nil {
		// Stopped: keep to the grace stop gave the last writes.
		d = min(d, closeGrace)
	}
	_ = a.ws.SetWriteDeadline(time.Now().Add(d))
	s.writing.Store(activity)
	err := a.ws.WriteMessage(typ, data)
	if err == nil && activity {
		s.touch() // before writing is cleared: the idle timer reads them the other way round
	}
	s.writing.Store(false)
	return a, err
}

// output keeps p, output being written to the browser, for a resume and
// for viewers, and queues it for the viewers. Called with wmu held.
func (s *session) output(p []byte) {
	if s.res != nil {
		s.res.position.Add(int64(len(p)))
	}
	if s.tail != nil {
		s.tail.write(p)
	}
	if sh := s.sharing.Load(); sh != nil {
		sh.broadcast(p)
	}
}

// finish tells the browser why the session ended, stops writing to it
// and bounds the reading of what it still sends: readBrowser (or
// endWithoutRelay) then ends at the browser's close reply or at the
// deadline, and the WebSocket is closed after it.
func (s *session) finish() {
	s.finishing.Store(true)
	s.reason.set(ReasonHostClosed) // unless a reason is set already
	reason := s.reason.get()
	_, _ = s.sendWithin(closedMsg{Type: "closed", Reason: reason}, closeGrace)
	a := s.att.Load()
	if a == nil {
		return // the browser is away: nobody to tell
	}
	_ = a.ws.WriteControl(websocket.CloseMessage, closeFrame(reason), time.Now().Add(closeGrace))
	// The browser may still be sending (keystrokes, its own close frame)
	// and may not have read all the output yet. A socket closed with
	// input unread makes the kernel send a reset and throw away the
	// output it still holds, so the browser would lose the end of the
	// session and its reason. Instead: no more writes (the browser sees
	// the end after the last byte), and the socket is closed only once
	// the browser's close reply is read, or closeGrace has passed.
	until := time.Now().Add(closeGrace)
	s.lingerUntil.Store(until.UnixNano())
	_ = a.ws.NetConn().SetReadDeadline(until)
	if c, ok := a.ws.NetConn().(interface{ CloseWrite() error }); ok {
		_ = c.CloseWrite()
	}
}

// endWithoutRelay ends a session in which readBrowser never ran (a
// refused or failed one): finish, then read and drop what the browser
// sends until its close reply or the end of finish's grace, in
// readBrowser's stead, so that the socket can be closed without a reset.
func (s *session) endWithoutRelay() {
	s.finish()
	a := s.att.Load()
	for {
		if _, _, err := a.ws.NextReader(); err != nil {
			return
		}
	}
}

// startTimers arms the ping, idle and duration timers; the returned
// function disarms them. Timers, not goroutines, so an idle session costs
// no stack for them.
func (s *session) startTimers() (stop func()) {
	var mu sync.Mutex // orders the timers' assignment before their use
	mu.Lock()
	defer mu.Unlock()
	stopped := false
	var ping, idle, limit *time.Timer
	if interval := s.g.limits.PingInterval; interval > 0 {
		ping = time.AfterFunc(interval, func() {
			deadline := time.Now().Add(s.g.opts.WriteTimeout)
			// While the browser is away there is nobody to ping.
			if a := s.att.Load(); a != nil {
				if err := a.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
					s.lose(a, ReasonBrowserLost, true)
				}
			}
			if s.ctx.Err() != nil {
				return
			}
			mu.Lock()
			if !stopped {
				ping.Reset(interval)
			}
			mu.Unlock()
		})
	}
	if d := s.g.limits.IdleTimeout; d > 0 {
		warnAt := d - warningLead(d)
		warned := false // since the session was last active; under mu
		idle = time.AfterFunc(warnAt, func() {
			// Output to a slow browser is traffic, however long it
			// takes (WriteTimeout bounds a stalled one). writing is
			// read first: a write that ends meanwhile has touched
			// activity by the time it clears writing.
			writing := s.writing.Load()
			quiet := time.Since(time.Unix(0, s.activity.Load()))
			if writing {
				quiet = 0
			}
			if quiet >= d {
				s.stop(ReasonIdle)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return
			}
			next := warnAt - quiet
			if quiet >= warnAt {
				if !warned {
					s.warn(ReasonIdle, d-quiet)
				}
				warned, next = true, d-quiet
			} else {
				warned = false
			}
			idle.Reset(next)
		})
	}
	var warnLimit *time.Timer
	if d := s.g.limits.MaxDuration; d > 0 {
		lead := warningLead(d)
		warnLimit = time.AfterFunc(d-lead, func() {
			mu.Lock()
			defer mu.Unlock()
			if !stopped {
				s.warn(ReasonMaxDuration, lead)
			}
		})
		limit = time.AfterFunc(d, func() { s.stop(ReasonMaxDuration) })
	}
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		for _, t := range []*time.Timer{ping, idle, warnLimit, limit} {
			if t != nil {
				t.Stop()
			}
		}
	}
}

func browserReadReason(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return ReasonMessageTooBig
	case errors.As(err, &ce):
		return ReasonBrowserClosed
	}
	return ReasonBrowserLost
}

// readFailed ends the session for what ended reading one of the
// browser's connections (or waits for the browser to resume it: see
// lose), and tells a relay waiting in browserWriteFailed that the
// reason is set. A connection that relayed nothing never waited for the
// one it resumed from, which may still be relaying its last message: it
// waits now, so that the connection resuming from it, which waits for
// it alone, goes after both.
func (s *session) readFailed(a *attachment, err error) {
	s.lose(a, browserReadReason(err), connectionDropped(err))
	close(a.reasonSet)
	if a.after != nil {
		select {
		case <-a.after.readStopped:
		case <-s.ctx.Done():
		}
		a.after = nil
	}
	close(a.readStopped)
}

// connectionDropped reports whether a read error from a browser's
// connection is its end without a close frame: the network failed, or
// the browser went without a word. gorilla reports an end of stream as
// close code 1006, which no close frame carries.
func connectionDropped(err error) bool {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code == websocket.CloseAbnormalClosure
	}
	return !errors.Is(err, websocket.ErrReadLimit)
}

// browserWriteFailed ends the session for a failed write to the browser,
// or, for a resumable one, waits for a resume (see lose).
// A write fails with ErrCloseSent when the reading goroutine has sent a
// close frame: gorilla answers the browser's close, or refuses a message
// over the size limit with 1009, there; the read that returns that is
// about to give the session its reason (closed by browser, message too
// big), which is then the right one, not "browser connection lost".
func (s *session) browserWriteFailed(a *attachment, err error) {
	if errors.Is(err, websocket.ErrCloseSent) {
		wait := time.NewTimer(closeGrace)
		select {
		case <-a.reasonSet:
		case <-wait.C:
		}
		wait.Stop()
	}
	s.lose(a, browserWriteReason(err), !errors.Is(err, websocket.ErrCloseSent))
}

func browserWriteReason(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonBrowserStalled
	}
	return ReasonBrowserLost
}
