package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
)

// Defaults for Limits' and Options' zero values.
const (
	DefaultTerm           = "xterm-256color"
	DefaultDialTimeout    = 10 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultMaxMessageSize = 256 << 10
	DefaultResumeGrace    = time.Minute
)

// Options configure a Gateway.
type Options struct {
	// Targets are the configured targets; there may be none when Adhoc
	// has rules.
	Targets []Target
	Log     zerolog.Logger

	// Limits bound sessions: counts and connect rate (see Admit),
	// dial, idle and session timeouts, pings, message and
	// subnegotiation sizes. Zero fields mean DefaultLimits; -1 means no
	// limit.
	Limits Limits
	// WriteTimeout bounds one write to the browser; 0 means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Adhoc are the rules for hosts users name themselves (see
	// AdhocTarget); none means users can open configured targets only.
	Adhoc []AdhocRule
	// Recording says where sessions of targets with Record are
	// recorded.
	Recording RecordingConfig

	// Resolver resolves ad-hoc host names; net.DefaultResolver by
	// default.
	Resolver Resolver
	// Dial connects to a target; net.Dialer's DialContext by default.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// A Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrShuttingDown is returned for sessions started after Shutdown.
var ErrShuttingDown = errors.New("gateway: shutting down")

// A Gateway pairs browsers with telnet hosts: each Serve call runs one
// session. It is safe for concurrent use.
type Gateway struct {
	opts   Options
	limits Limits // opts.Limits with defaults
	cat    atomic.Pointer[catalog]

	adm     *admission
	metrics *metrics
	// powerClient sends power requests, bounded by powerTimeout (tests
	// shorten it).
	powerClient  *http.Client
	powerTimeout time.Duration
	// powerBusy holds the names of the targets whose power request is
	// out: one at a time for a device, whichever session asks.
	powerMu   sync.Mutex
	powerBusy map[string]bool
	frames    frameBuffers

	// Buffers shared by the sessions, each held only while in use.
	msgBufs     sync.Pool // messages from browsers (newMsgBuf)
	recBufs     sync.Pool // recording events (newRecBuf)
	wsWriteBufs sync.Pool // gorilla/websocket's write buffers (NewUpgrader)

	ctx    context.Context // ends every session when canceled
	cancel context.CancelFunc

	mu       sync.Mutex
	sessions map[*session]struct{}
	resumes  map[string]*session // resumable sessions by token
	watches  map[string]*session // shared sessions by watch token
	// writing describes the recordings still being written, by file
	// name (see Recordings): their headers may not be on disk yet.
	writing map[string]RecordingInfo
	closing bool
	wg      sync.WaitGroup
	// tickets counts the Tickets Admit gave that are not released yet:
	// an upgrade in progress, or a session refused because Shutdown
	// came in between, which Shutdown waits for as for a session.
	tickets     int
	ticketsGone chan struct{} // made by Shutdown, closed when tickets is 0

	// recordings counts the recordings of ended sessions still being
	// written out: a slow disk holds them, not the sessions' slots (up to
	// maxBackgroundRecordings of them).
	recordings        sync.WaitGroup
	pendingRecordings atomic.Int32
}

// maxBackgroundRecordings bounds the recordings written out after their
// sessions ended: past it (a disk that hangs), a session waits for its
// recording, so that the sessions' limit bounds the descriptors and
// buffers the recordings hold.
const maxBackgroundRecordings = 16

// closeRecording writes out and closes an ended session's recording, in
// the background while few others wait for the disk.
func (g *Gateway) closeRecording(rec *recorder) {
	if rec == nil {
		return
	}
	closed := func() {
		rec.close()
		g.mu.Lock()
		delete(g.writing, rec.file)
		g.mu.Unlock()
	}
	if g.pendingRecordings.Add(1) > maxBackgroundRecordings {
		g.pendingRecordings.Add(-1)
		closed()
		return
	}
	g.recordings.Go(func() {
		defer g.pendingRecordings.Add(-1)
		closed()
	})
}

// New returns a Gateway for the given targets and rules.
func New(opts Options) (*Gateway, error) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.Recording.MaxBytes <= 0 {
		opts.Recording.MaxBytes = DefaultRecordingMaxBytes
	}
	cat, err := newCatalog(opts.Targets, opts.Adhoc, opts.Recording)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		opts:     opts,
		limits:   opts.Limits.WithDefaults(),
		sessions: map[*session]struct{}{},
		resumes:  map[string]*session{},
		watches:  map[string]*session{},
		writing:  map[string]RecordingInfo{},
	}
	g.cat.Store(cat)
	g.powerClient, g.powerTimeout = newPowerClient(nil), powerTimeout
	g.powerBusy = map[string]bool{}
	g.msgBufs.New = newMsgBuf
	g.recBufs.New = newRecBuf
	if cat.recorded {
		g.warnInputRecorded()
	}
	g.adm = newAdmission(g.limits)
	// With a recording directory a session may take a third descriptor,
	// now or after Reconfigure.
	perSession := fdsPerSession
	if opts.Recording.Dir != "" {
		perSession++
	}
	g.adm.fdCap = fdCap(perSession)
	var lastWarn time.Time
	g.adm.onFDCap = func() {
		// At most one line a minute: a client retrying in a loop must
		// not flood the log.
		if time.Since(lastWarn) >= time.Minute {
			lastWarn = time.Now()
			opts.Log.Error().Int("sessions", g.adm.fdCap).
				Msg("out of file descriptors: refusing new sessions (HTTP 503) at the open-file limit; raise it (ulimit -n, LimitNOFILE) or set limits.max_sessions lower")
		}
	}
	g.metrics = newMetrics(g)
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g, nil
}

// Request describes a session a browser asked for.
type Request struct {
	Target Target
	Cols   int      // initial window size, clamped to MinWindow..MaxWindow
	Rows   int      //
	Term   string   // the browser's terminal type; "" means DefaultTerm
	Remote string   // the browser's address, for logs
	User   string   // the authenticated user; "" when none
	Groups []string // the user's groups
	// Ticket is the slot Admit reserved; Serve releases it. Nil when
	// the caller did not call Admit, and then no session count or
	// connect rate limit applies to the session.
	Ticket *Ticket
	// Resumable lets the browser resume the session on a new connection
	// when its connection dies (see Gateway.Resume), unless
	// Limits.ResumeGrace is -1.
	Resumable bool
}

// Serve runs one session on an upgraded WebSocket until either side ends
// it, then closes the WebSocket. It returns when the session's goroutines
// have ended; its recording may still be being written out (Shutdown
// waits for that).
func (g *Gateway) Serve(ws *websocket.Conn, req Request) {
	if run := g.begin(ws, req); run != nil {
		run()
	}
}

// Start is Serve on a goroutine of its own. It returns once the session
// is registered, so that a Shutdown that follows waits for it and tells
// its browser why, and the caller's goroutine (an HTTP handler with its
// deep stack) can end while the session lives on. During a shutdown it
// refuses the session itself, and returns once the browser has answered
// the close or closeGrace has passed.
func (g *Gateway) Start(ws *websocket.Conn, req Request) {
	if run := g.begin(ws, req); run != nil {
		go run()
	}
}

// begin registers a session and returns the function that runs it, or
// refuses it (telling the browser) during shutdown and returns nil.
func (g *Gateway) begin(ws *websocket.Conn, req Request) func() {
	s := newSession(g, ws, req)
	if !g.track(s) {
		defer req.Ticket.Release()
		s.reason.set(ReasonShutdown)
		s.endWithoutRelay()
		_ = ws.Close()
		g.metrics.sessionClosed(ReasonShutdown)
		return nil
	}
	return func() {
		defer req.Ticket.Release()
		defer g.untrack(s)
		s.run()
	}
}

func (g *Gateway) track(s *session) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.sessions[s] = struct{}{}
	if s.res != nil {
		g.resumes[s.res.token] = s
	}
	g.wg.Add(1)
	return true
}

func (g *Gateway) untrack(s *session) {
	g.mu.Lock()
	delete(g.sessions, s)
	if s.res != nil {
		delete(g.resumes, s.res.token)
	}
	g.mu.Unlock()
	g.wg.Done()
}

// Active returns the number of sessions running.
func (g *Gateway) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// Shutdown ends every session, telling each browser why, refuses new
// ones, and waits until the sessions are gone, every Ticket Admit gave is
// released (an upgrade under way ends as a refused session) and the
// recordings are written out, or ctx ends.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	if g.ticketsGone == nil {
		g.ticketsGone = make(chan struct{})
		if g.tickets == 0 {
			close(g.ticketsGone)
		}
	}
	ticketsGone := g.ticketsGone
	g.mu.Unlock()
	g.cancel()
	var sessionsGone atomic.Bool
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		// An upgrade admitted before the shutdown ends in a refusal on
		// its HTTP handler's goroutine, which nothing else waits for.
		<-ticketsGone
		sessionsGone.Store(true)
		// No session is left to start a recording's close.
		g.recordings.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if sessionsGone.Load() {
			return fmt.Errorf("gateway: shutdown: recordings still being written: %w", ctx.Err())
		}
		return fmt.Errorf("gateway: shutdown: %w", ctx.Err())
	}
}
