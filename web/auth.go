package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Auth configures authentication. The zero value authenticates nobody and
// lets everyone in.
type Auth struct {
	// Users checks HTTP Basic credentials; nil means no Basic
	// authentication.
	Users *Users
	// ProxyHeader names a header carrying the user's name, set by an
	// authenticating reverse proxy. It is believed only from
	// Options.TrustedProxies; from anyone else it is ignored.
	ProxyHeader string
	// ProxyGroupsHeader names a header carrying the user's groups,
	// separated by commas, from the same proxies.
	ProxyGroupsHeader string
	// ClientCerts, when not nil, identifies users by the client
	// certificate their browser sent in the TLS handshake, verified here
	// against these authorities and revocations (so the server's
	// tls.Config asks for a certificate without verifying it:
	// tls.RequestClientCert, with ClientCAs set to ClientCerts.Pool for
	// the browser's choice). The user is the subject's common name, the
	// groups its organizations (as Kubernetes reads them). A certificate
	// that does not verify is refused with the reason, where a handshake
	// would fail with none. A request without a certificate falls back to
	// Users, and without Users is refused. Handler.SetClientCerts
	// replaces them for the requests that follow.
	ClientCerts *ClientCerts
	// OperatorUsers and OperatorGroups are the operators: in the session
	// list (/api/sessions) they see and may end every session, where
	// other users see and may end their own, and they may play the
	// recordings back. These are the operators at start;
	// Handler.SetOperators replaces them for the requests that follow.
	OperatorUsers  []string
	OperatorGroups []string
}

// operators are the users and groups of operators.
type operators struct{ users, groups []string }

// is reports whether id is an operator's.
func (o *operators) is(id Identity) bool {
	if id.User == "" {
		return false
	}
	if slices.Contains(o.users, id.User) {
		return true
	}
	return slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(o.groups, g) })
}

// Enabled reports whether any authentication is configured.
func (a Auth) Enabled() bool { return a.Users != nil || a.ProxyHeader != "" || a.ClientCerts != nil }

// Identity is who a request comes from.
type Identity struct {
	User   string   // "" without authentication
	Groups []string // the user's groups
	// Method is how the user was authenticated: "basic", "proxy",
	// "certificate", or "" when authentication is off.
	Method string

	// users are the users a "basic" identity was checked against: the
	// session cookie is signed over the same, even when a reload
	// replaced them meanwhile.
	users *Users
}

type identityKey struct{}

// IdentityFrom returns the identity the handler established for a
// request.
func IdentityFrom(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// Brute-force limits of HTTP Basic authentication: each client address
// (an IPv6 client's /64) may fail loginBurst times, then once per
// loginRefill; a comparison counts as a failure until it succeeds, so
// that guesses sent at once count too. A login that finds the client's
// failures all held by comparisons still running waits up to loginWait
// for one of them to resolve rather than be refused: they may all be
// right. A browser logged in holds a session cookie and needs neither
// again (see sessions).
const (
	loginBurst      = 10
	loginRefill     = 15 * time.Second
	loginWait       = 5 * time.Second
	limiterMaxKeys  = 1 << 16
	credentialTTL   = 5 * time.Minute
	credentialCache = 4096
	// maxIdentityLen bounds a user name or groups header from a proxy.
	maxIdentityLen = 4096
)

// refusal is why a request is not served: the status, what the client is
// told, and what the access log says.
type refusal struct {
	code       int
	reason     string // for the log; never a credential
	msg        string // for the client
	retryAfter time.Duration
	challenge  bool // add WWW-Authenticate: Basic
	// warn logs the refusal as a warning, not at debug level: a
	// credential that was presented and is no good (a client
	// certificate revoked, expired, of another authority).
	warn bool
}

// authenticator checks requests against Auth.
type authenticator struct {
	auth Auth
	// users is auth.Users, or what Handler.SetUsers put in its place.
	users atomic.Pointer[Users]
	// certs is auth.ClientCerts, or what Handler.SetClientCerts put in
	// its place.
	certs    atomic.Pointer[ClientCerts]
	trusted  func(netip.Addr) bool
	limiter  *failureLimiter
	cache    *credCache
	sessions *sessions
	// bcrypt comparisons running at once are bounded so that a flood of
	// bad logins cannot take every core.
	slots   chan struct{}
	compare func(hash, pw []byte) error
}

func newAuthenticator(a Auth, trusted func(netip.Addr) bool) *authenticator {
	au := &authenticator{
		auth:     a,
		trusted:  trusted,
		limiter:  newFailureLimiter(loginBurst, loginRefill, loginWait, limiterMaxKeys),
		cache:    newCredCache(credentialTTL, credentialCache),
		sessions: newSessions(),
		slots:    make(chan struct{}, runtime.GOMAXPROCS(0)),
		compare:  bcrypt.CompareHashAndPassword,
	}
	au.users.Store(a.Users)
	au.certs.Store(a.ClientCerts)
	return au
}

// authenticate establishes who a request comes from. peer is the TCP
// peer's address, client the client's (the same unless a trusted proxy
// said otherwise).
func (a *authenticator) authenticate(r *http.Request, peer, client netip.Addr) (Identity, *refusal) {
	if !a.auth.Enabled() {
		return Identity{}, nil
	}
	if a.auth.ProxyHeader != "" && a.trusted(peer) {
		if id, ref, ok := a.fromProxy(r); ok {
			return id, ref
		}
	}
	if certs := a.certs.Load(); certs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return fromCertificate(certs, r.TLS.PeerCertificates)
	}
	if a.users.Load() == nil {
		if a.auth.ClientCerts != nil {
			return Identity{}, &refusal{code: http.StatusForbidden, reason: "no client certificate",
				msg: "authentication required: this gateway needs a client certificate, and the browser sent none"}
		}
		return Identity{}, &refusal{code: http.StatusForbidden, reason: "no identity from a trusted proxy",
			msg: "authentication required: sign in through the gateway's proxy"}
	}
	return a.basic(r, client)
}

// fromProxy reads the identity headers of a trusted proxy; ok is false
// when the proxy sent no user.
func (a *authenticator) fromProxy(r *http.Request) (Identity, *refusal, bool) {
	vals := r.Header.Values(a.auth.ProxyHeader)
	if len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == "") {
		return Identity{}, nil, false
	}
	bad := func(why string) (Identity, *refusal, bool) {
		return Identity{}, &refusal{code: http.StatusForbidden, reason: why, msg: "invalid identity from proxy"}, true
	}
	if len(vals) > 1 {
		return bad("more than one " + a.auth.ProxyHeader + " header")
	}
	user := strings.TrimSpace(vals[0])
	if !validIdentity(user) {
		return bad("invalid " + a.auth.ProxyHeader + " header")
	}
	var groups []string
	if a.auth.ProxyGroupsHeader != "" {
		// Two groups headers are refused as two user headers are: a
		// proxy that appends its own instead of replacing the client's
		// would pass the client's through, and groups it claims would be
		// believed beside the proxy's.
		gvals := r.Header.Values(a.auth.ProxyGroupsHeader)
		if len(gvals) > 1 {
			return bad("more than one " + a.auth.ProxyGroupsHeader + " header")
		}
		for _, v := range gvals {
			if len(v) > maxIdentityLen || !utf8.ValidString(v) {
				return bad("invalid " + a.auth.ProxyGroupsHeader + " header")
			}
			for g := range strings.SplitSeq(v, ",") {
				if g = strings.TrimSpace(g); g != "" && validIdentity(g) {
					groups = append(groups, g)
				}
			}
		}
	}
	return Identity{User: user, Groups: groups, Method: "proxy"}, nil, true
}

// validIdentity accepts a user or group name from a proxy or a client
// certificate: valid UTF-8, bounded, no control characters.
func validIdentity(s string) bool {
	if s == "" || len(s) > maxIdentityLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (a *authenticator) basic(r *http.Request, client netip.Addr) (Identity, *refusal) {
	challenge := func(reason string) (Identity, *refusal) {
		return Identity{}, &refusal{code: http.StatusUnauthorized, reason: reason,
			msg: "authentication required", challenge: true}
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return challenge("malformed or non-Basic Authorization header")
		}
		return challenge("no credentials")
	}
	users := a.users.Load()
	if e, known := users.byName[user]; known && a.sessions.valid(r, login{user, password, e.hash}) {
		return Identity{User: user, Groups: e.groups, Method: "basic", users: users}, nil
	}
	groups, hit := a.cache.get(user, password, users)
	// The failure is taken before the comparison, and given back if it
	// succeeds or spent if it fails: see failureLimiter.take. Credentials
	// remembered take one too, and give it back: see sessions for why.
	b, wait, ok := a.limiter.take(r.Context(), limiterKey(client))
	if !ok {
		if r.Context().Err() != nil {
			return challenge("client went away")
		}
		return Identity{}, &refusal{code: http.StatusTooManyRequests, reason: "too many failed logins from this client",
			msg: "too many failed logins: try again later", retryAfter: wait}
	}
	if hit {
		a.limiter.giveBack(b)
		return Identity{User: user, Groups: groups, Method: "basic", users: users}, nil
	}
	select {
	case a.slots <- struct{}{}:
	case <-r.Context().Done():
		a.limiter.giveBack(b)
		return challenge("client went away")
	}
	groups, good := users.check(user, password, a.compare)
	<-a.slots
	if !good {
		a.limiter.spend(b)
		// The user name is not logged: people type passwords into it.
		return challenge("wrong user name or password")
	}
	a.limiter.giveBack(b)
	a.cache.put(user, password, users)
	return Identity{User: user, Groups: groups, Method: "basic", users: users}, nil
}

// sessionCookie returns the session cookie to set on the answer to r,
// made by id, or nil when none is due (see sessions).
func (a *authenticator) sessionCookie(r *http.Request, id Identity, secure bool) *http.Cookie {
	users := id.users
	if id.Method != "basic" || users == nil {
		return nil
	}
	user, password, ok := r.BasicAuth()
	e, known := users.byName[user]
	if !ok || !known || user != id.User {
		return nil
	}
	return a.sessions.renewal(r, login{user, password, e.hash}, secure)
}

// limiterKey is what failed logins are counted by: the client's IPv4
// address, or its IPv6 /64.
func limiterKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// failureLimiter is a token bucket per key: each comparison that may fail
// takes a token first, one that succeeds gives it back, one that fails
// spends it, and tokens come back at one per every, up to burst.
type failureLimiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	maxWait time.Duration // how long take waits for comparisons in flight
	maxKeys int
	now     func() time.Time
	buckets map[netip.Prefix]*bucket // keys that failed or are being compared
}

// A bucket is one key's tokens and the comparisons holding some of them.
type bucket struct {
	key      netip.Prefix
	tokens   float64
	last     time.Time
	inFlight int // comparisons that took a token and have not resolved
	// resolved is closed, and replaced, when a comparison in flight
	// resolves, waking the takes waiting for it; nil while none waits.
	resolved chan struct{}
}

func newFailureLimiter(burst int, every, maxWait time.Duration, maxKeys int) *failureLimiter {
	return &failureLimiter{burst: float64(burst), every: every, maxWait: maxWait, maxKeys: maxKeys,
		now: time.Now, buckets: map[netip.Prefix]*bucket{}}
}

// refill brings b up to date; the caller holds mu.
func (l *failureLimiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(el)/float64(l.every))
		b.last = now
	}
}

// take reserves a failure of key before a comparison and returns the
// bucket to settle it with (giveBack or spend; nil when the key could not
// be tracked). Every comparison let through holds its token, so however
// many arrive at once at most burst wrong ones are compared before the
// limit applies; charging after the comparison would let all that arrive
// together through.
//
// A take that finds no token while comparisons of key are in flight waits
// (until ctx is done or maxWait has passed) for one to resolve, and tries
// again: right passwords give their tokens back, and many users behind
// one address logging in together must not be refused as if they had
// failed. Only when no token is left and none is in flight, or the wait
// ends, is ok false, with how long until a token comes back.
func (l *failureLimiter) take(ctx context.Context, key netip.Prefix) (b *bucket, wait time.Duration, ok bool) {
	var timeout <-chan time.Time
	expired := false // maxWait has passed: one more look, then refuse
	for {
		l.mu.Lock()
		now := l.now()
		b = l.buckets[key]
		if b == nil {
			if len(l.buckets) >= l.maxKeys {
				l.sweep(now)
			}
			if len(l.buckets) >= l.maxKeys {
				l.mu.Unlock()
				// Every tracked client is failing at once: do not
				// grow further. bcrypt's bounded concurrency still
				// limits the rate of guesses.
				return nil, 0, true
			}
			b = &bucket{key: key, tokens: l.burst, last: now}
			l.buckets[key] = b
		}
		l.refill(b, now)
		if b.tokens >= 1 {
			b.tokens--
			b.inFlight++
			l.mu.Unlock()
			return b, 0, true
		}
		wait = time.Duration((1 - b.tokens) * float64(l.every))
		if b.inFlight == 0 || expired {
			l.mu.Unlock()
			return nil, wait, false
		}
		if b.resolved == nil {
			b.resolved = make(chan struct{})
		}
		resolved := b.resolved
		l.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(l.maxWait)
			defer t.Stop()
			timeout = t.C
		}
		// A token also comes back with time, which nothing signals.
		refilled := time.NewTimer(wait)
		select {
		case <-resolved:
		case <-refilled.C:
		case <-ctx.Done():
			refilled.Stop()
			return nil, wait, false
		case <-timeout:
			expired = true
		}
		refilled.Stop()
	}
}

// giveBack returns the token take reserved for a comparison that
// succeeded (or was not made). A key whose bucket is full again with
// nothing in flight is forgotten, as if it had never failed.
func (l *failureLimiter) giveBack(b *bucket) {
	l.settle(b, 1)
}

// spend settles a comparison that failed: its token stays taken.
func (l *failureLimiter) spend(b *bucket) {
	l.settle(b, 0)
}

// settle ends a comparison of b's key, giving back refund tokens, and
// wakes the takes waiting for it.
func (l *failureLimiter) settle(b *bucket, refund float64) {
	if b == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(b, l.now())
	b.tokens = math.Min(l.burst, b.tokens+refund)
	b.inFlight--
	if b.resolved != nil {
		close(b.resolved)
		b.resolved = nil
	}
	if l.forgettable(b) {
		delete(l.buckets, b.key)
	}
}

// forgettable reports whether b's key is as if it had never failed: its
// bucket full again and nothing in flight. The caller holds mu.
func (l *failureLimiter) forgettable(b *bucket) bool {
	return b.tokens >= l.burst && b.inFlight == 0
}

// sweep forgets clients whose buckets are full again and which have
// nothing in flight; the caller holds mu.
func (l *failureLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if l.forgettable(b) {
			delete(l.buckets, k)
		}
	}
}

// credCache remembers credentials that were verified, by a keyed hash of
// user and password (never the password itself), until they have not
// been used for ttl, so that a client without a session cookie (the
// page's first requests, which race its login's answer; a script) pays
// one bcrypt comparison, not one a request. Each entry holds the user's
// hash in the users file when they were verified, and is forgotten when
// the file has another hash for the user, or none. Remembered
// credentials still need the failure limiter's token (see sessions).
type credCache struct {
	mu      sync.Mutex
	secret  [32]byte
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[[32]byte]*credEntry
}

type credEntry struct {
	expires time.Time // ttl after the last use
	hash    []byte    // the user's hash when verified
}

func newCredCache(ttl time.Duration, maxEntries int) *credCache {
	c := &credCache{ttl: ttl, max: maxEntries, now: time.Now, entries: map[[32]byte]*credEntry{}}
	_, _ = rand.Read(c.secret[:])
	return c
}

func (c *credCache) key(user, password string) [32]byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	m.Sum(k[:0])
	return k
}

// get reports whether user and password were verified and are still the
// users file's, with the user's groups; a hit renews them.
func (c *credCache) get(user, password string, users *Users) (groups []string, hit bool) {
	k := c.key(user, password)
	e, known := users.byName[user]
	c.mu.Lock()
	defer c.mu.Unlock()
	ent := c.entries[k]
	if ent == nil {
		return nil, false
	}
	now := c.now()
	if !now.Before(ent.expires) || !known || !bytes.Equal(ent.hash, e.hash) {
		delete(c.entries, k)
		return nil, false
	}
	ent.expires = now.Add(c.ttl)
	return e.groups, true
}

// put remembers that user and password, the users file's, were verified.
func (c *credCache) put(user, password string, users *Users) {
	k := c.key(user, password)
	e, known := users.byName[user]
	if !known {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.entries[k] == nil && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k] = &credEntry{expires: now.Add(c.ttl), hash: e.hash}
}

// evict makes room for an entry: it forgets those expired, or else the
// one used least recently. The caller holds mu.
func (c *credCache) evict(now time.Time) {
	var oldest [32]byte
	var oldestExp time.Time
	for k, ent := range c.entries {
		if !now.Before(ent.expires) {
			delete(c.entries, k)
		} else if oldestExp.IsZero() || ent.expires.Before(oldestExp) {
			oldest, oldestExp = k, ent.expires
		}
	}
	if len(c.entries) >= c.max {
		delete(c.entries, oldest)
	}
}
