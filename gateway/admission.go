package gateway

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// The session limits, each wrapping ErrTooManySessions.
var (
	errGatewayFull = fmt.Errorf("%w: the gateway is full", ErrTooManySessions)
	errUserFull    = fmt.Errorf("%w for this user", ErrTooManySessions)
	errClientFull  = fmt.Errorf("%w from this address", ErrTooManySessions)
	// errNoDescriptors: one more session would take the process past its
	// open-file limit (see fdCap).
	errNoDescriptors = fmt.Errorf("%w: the gateway is out of file descriptors", ErrTooManySessions)
)

// Descriptors: a session holds two (the WebSocket and the telnet
// connection), three when recorded; fdHeadroom are kept for everything
// else (listeners, logs, name lookups, the metrics endpoint, a refusal).
const (
	fdsPerSession = 2
	fdHeadroom    = 64
)

// maxRateClients bounds the client addresses whose connect rate is
// remembered. Past it, the least recently seen address is forgotten (it
// starts afresh with a full burst when it comes back), so a flood from
// many addresses costs bounded memory.
const maxRateClients = 10000

// A Ticket is a session slot reserved by Admit. Serve releases it when the
// session ends; a caller that does not reach Serve (a failed upgrade, say)
// must call Release: Shutdown waits for it. Release may be called more
// than once, from any goroutine.
type Ticket struct {
	once    sync.Once
	release func()
}

// Release gives the slot back.
func (t *Ticket) Release() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		if t.release != nil {
			t.release()
		}
	})
}

// Admit reserves a session slot for a client before its WebSocket is
// upgraded, so that a refusal can be an HTTP answer (429 for ErrRateLimited,
// 503 for ErrTooManySessions and ErrShuttingDown). clientIP is the client's
// address without port (a port is ignored); user is "" without
// authentication, and then no per-user limit applies.
//
// Every attempt from a client address counts against its connect rate,
// refused ones included; then the total, per-user and per-client session
// counts are checked.
func (g *Gateway) Admit(clientIP, user string) (*Ticket, error) {
	g.mu.Lock()
	closing := g.closing
	if !closing {
		g.tickets++
	}
	g.mu.Unlock()
	if closing {
		g.metrics.refused(ErrShuttingDown)
		return nil, ErrShuttingDown
	}
	release, err := g.adm.admit(clientKey(clientIP, g.limits.ClientIPv6Prefix), user, time.Now())
	if err != nil {
		g.ticketReleased()
		g.metrics.refused(err)
		return nil, err
	}
	return &Ticket{release: func() {
		release()
		g.ticketReleased()
	}}, nil
}

// ticketReleased counts a Ticket given back, and tells a Shutdown
// waiting for the last one.
func (g *Gateway) ticketReleased() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tickets--
	if g.tickets == 0 && g.ticketsGone != nil {
		close(g.ticketsGone)
	}
}

// Check reports why Admit would refuse a session now, or nil when it
// would admit one, without reserving a slot or spending the client's
// connect rate: a page whose WebSocket was refused (browsers hide why)
// asks it. A session limit is reported before the connect rate, since
// an attempt refused for a limit spent a token too, and waiting for the
// rate would not help.
func (g *Gateway) Check(clientIP, user string) error {
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	if closing {
		return ErrShuttingDown
	}
	return g.adm.check(clientKey(clientIP, g.limits.ClientIPv6Prefix), user, time.Now())
}

// Ready reports whether the gateway accepts new sessions (nil) or why
// not: ErrShuttingDown once Shutdown has begun, ErrTooManySessions while
// the total session limit is reached.
func (g *Gateway) Ready() error {
	g.mu.Lock()
	closing := g.closing
	g.mu.Unlock()
	if closing {
		return ErrShuttingDown
	}
	if g.adm.full() {
		return ErrTooManySessions
	}
	return nil
}

// clientKey normalises a client address: without port or zone, IPv4 in
// IPv6 as IPv4, and an IPv6 address as its prefix of v6bits bits when
// that is shorter than 128. Something that is not an address is kept,
// shortened.
func clientKey(s string, v6bits int) string {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return truncate(s, 64)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() && v6bits > 0 && v6bits < 128 {
		if p, err := a.Prefix(v6bits); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// admission counts sessions and limits the connect rate of each client
// address.
type admission struct {
	maxTotal, maxUser, maxClient int // -1: no limit
	// fdCap bounds the sessions by the open-file limit (0: none), so
	// that running out of descriptors is a clean refusal before the
	// upgrade, not an accept or dial failing halfway.
	fdCap   int
	onFDCap func() // called (with mu held) when fdCap refuses a session
	limit   rate.Limit
	burst   int // 0: no rate limit

	mu        sync.Mutex
	total     int
	perUser   map[string]int
	perClient map[string]int
	rates     map[string]*list.Element // of *rateEntry
	lru       list.List                // most recently seen first
	maxRates  int
}

type rateEntry struct {
	key string
	lim *rate.Limiter
}

func newAdmission(l Limits) *admission {
	a := &admission{
		maxTotal: l.MaxSessions, maxUser: l.MaxSessionsPerUser, maxClient: l.MaxSessionsPerClient,
		perUser: map[string]int{}, perClient: map[string]int{},
		rates: map[string]*list.Element{}, maxRates: maxRateClients,
	}
	if l.ConnectRate > 0 && l.ConnectBurst > 0 {
		a.limit, a.burst = rate.Limit(l.ConnectRate), l.ConnectBurst
	}
	return a
}

func (a *admission) admit(client, user string, now time.Time) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if wait, ok := a.allow(client, now); !ok {
		return nil, &rateLimitedError{after: wait}
	}
	if err := a.limitReached(client, user); err != nil {
		if err == errNoDescriptors && a.onFDCap != nil {
			a.onFDCap()
		}
		return nil, err
	}
	a.total++
	if user != "" {
		a.perUser[user]++
	}
	a.perClient[client]++
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.total--
		if user != "" {
			if a.perUser[user]--; a.perUser[user] <= 0 {
				delete(a.perUser, user)
			}
		}
		if a.perClient[client]--; a.perClient[client] <= 0 {
			delete(a.perClient, client)
		}
	}, nil
}

// check is admit without its effects (see Gateway.Check).
func (a *admission) check(client, user string, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.limitReached(client, user); err != nil {
		return err
	}
	if el, found := a.rates[client]; found && a.burst > 0 {
		if lim := el.Value.(*rateEntry).lim; lim.TokensAt(now) < 1 {
			return &rateLimitedError{after: a.untilToken(lim, now)}
		}
	}
	return nil
}

// limitReached returns the session limit that one more session for
// client and user would break, or nil. Called with mu held.
func (a *admission) limitReached(client, user string) error {
	switch {
	case a.maxTotal > 0 && a.total >= a.maxTotal:
		return errGatewayFull
	case a.fdCap > 0 && a.total >= a.fdCap:
		return errNoDescriptors
	case user != "" && a.maxUser > 0 && a.perUser[user] >= a.maxUser:
		return errUserFull
	case a.maxClient > 0 && a.perClient[client] >= a.maxClient:
		return errClientFull
	}
	return nil
}

func (a *admission) full() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxTotal > 0 && a.total >= a.maxTotal || a.fdCap > 0 && a.total >= a.fdCap
}

// allow takes a token from the client's bucket, or says how long until
// there is one. Called with mu held.
func (a *admission) allow(client string, now time.Time) (wait time.Duration, ok bool) {
	if a.burst == 0 {
		return 0, true
	}
	a.forgetIdle(now)
	var lim *rate.Limiter
	if el, found := a.rates[client]; found {
		a.lru.MoveToFront(el)
		lim = el.Value.(*rateEntry).lim
	} else {
		for a.lru.Len() >= a.maxRates {
			a.remove(a.lru.Back())
		}
		lim = rate.NewLimiter(a.limit, a.burst)
		a.rates[client] = a.lru.PushFront(&rateEntry{key: client, lim: lim})
	}
	if lim.AllowN(now, 1) {
		return 0, true
	}
	return a.untilToken(lim, now), false
}

// untilToken is how long until lim has a token.
func (a *admission) untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing / float64(a.limit) * float64(time.Second))
}

// rateLimitedError is ErrRateLimited with the time until the client may
// try again.
type rateLimitedError struct{ after time.Duration }

func (e *rateLimitedError) Error() string        { return ErrRateLimited.Error() }
func (e *rateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter says how long until the client may open a session again.
func (e *rateLimitedError) RetryAfter() time.Duration { return e.after }

// forgetIdle drops the least recently seen clients whose buckets have
// filled up again: such an entry limits nothing that a new one would not.
// Each entry is dropped once, so this costs O(1) per admission on average.
func (a *admission) forgetIdle(now time.Time) {
	full := float64(a.burst) - 1e-9
	for el := a.lru.Back(); el != nil; el = a.lru.Back() {
		if el.Value.(*rateEntry).lim.TokensAt(now) < full {
			return
		}
		a.remove(el)
	}
}

func (a *admission) remove(el *list.Element) {
	delete(a.rates, el.Value.(*rateEntry).key)
	a.lru.Remove(el)
}

// rateClients returns how many client addresses the rate limiter holds.
func (a *admission) rateClients() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}
