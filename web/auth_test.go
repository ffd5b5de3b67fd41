package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func basicFixture(t *testing.T) *fixture {
	return newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t)}}})
}

func TestEveryRouteButProbesNeedsAuthentication(t *testing.T) {
	f := basicFixture(t)
	for _, path := range []string{"/", "/static/app.js", "/static/vendor/xterm/xterm.js", "/favicon.ico", "/api/targets", "/ws?target=public"} {
		resp, body := f.get(path, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="telgate", charset="UTF-8"` {
			t.Errorf("%s: WWW-Authenticate %q", path, got)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: the 401 has no security headers", path)
		}
		if strings.Contains(body, "<html") {
			t.Errorf("%s: 401 carries the page", path)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := f.get(path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s without credentials: %d, want 200", path, resp.StatusCode)
		}
	}
	if resp, _ := f.get("/metrics", basicAuth("alice", "alice-secret")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics without Options.Metrics: %d, want 404", resp.StatusCode)
	}
}

func TestBasicAuthentication(t *testing.T) {
	f := basicFixture(t)
	for _, tc := range []struct {
		name string
		hdr  http.Header
		code int
	}{
		{"missing", nil, http.StatusUnauthorized},
		{"wrong password", basicAuth("alice", "bob-secret"), http.StatusUnauthorized},
		{"unknown user", basicAuth("mallory", "alice-secret"), http.StatusUnauthorized},
		{"empty password", basicAuth("alice", ""), http.StatusUnauthorized},
		{"case of the name", basicAuth("Alice", "alice-secret"), http.StatusUnauthorized},
		{"password with a suffix", basicAuth("alice", "alice-secretX"), http.StatusUnauthorized},
		{"not Basic", http.Header{"Authorization": {"Bearer abc"}}, http.StatusUnauthorized},
		{"bad base64", http.Header{"Authorization": {"Basic !!!"}}, http.StatusUnauthorized},
		{"right", basicAuth("alice", "alice-secret"), http.StatusOK},
		{"right, other user", basicAuth("bob", "bob-secret"), http.StatusOK},
	} {
		resp, body := f.get("/", tc.hdr)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
		if tc.code == http.StatusOK && !strings.Contains(body, "<html") {
			t.Errorf("%s: no page", tc.name)
		}
		if tc.code == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no challenge", tc.name)
		}
	}
}

func TestUnknownUserCostsABcryptComparison(t *testing.T) {
	f := basicFixture(t)
	before := f.compares.Load()
	if resp, _ := f.get("/", basicAuth("nobody", "whatever")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
	if n := f.compares.Load() - before; n != 1 {
		t.Errorf("unknown user: %d bcrypt comparisons, want 1 (against a stand-in hash)", n)
	}
	// The stand-in hash is as costly as the users'.
	users := loadTestUsers(t)
	if h := users.standIn("nobody"); len(h) != 60 || string(h[:7]) != "$2a$04$" {
		t.Errorf("stand-in hash %q: want a cost-4 bcrypt hash like the users'", h)
	}
	before = f.compares.Load()
	if resp, _ := f.get("/", basicAuth("nobody", strings.Repeat("x", 100))); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user, long password: %d", resp.StatusCode)
	}
	if n := f.compares.Load() - before; n != 1 {
		t.Errorf("long password: %d bcrypt comparisons, want 1", n)
	}
}

func TestPasswordsLongerThanBcryptSeesAreRefused(t *testing.T) {
	long := strings.Repeat("p", MaxPasswordLen)
	hash, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers("u.yaml", []byte("users:\n  - name: dave\n    password: \""+string(hash)+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: users}}})
	if resp, _ := f.get("/", basicAuth("dave", long)); resp.StatusCode != http.StatusOK {
		t.Errorf("72-byte password: %d, want 200", resp.StatusCode)
	}
	if resp, _ := f.get("/", basicAuth("dave", long+"tail")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("76-byte password whose first 72 bytes match: %d, want 401", resp.StatusCode)
	}
	if _, err := HashPassword(long + "x"); err == nil {
		t.Error("HashPassword took a 73-byte password")
	}
}

func TestVerifiedCredentialsAreRemembered(t *testing.T) {
	f := basicFixture(t)
	now := time.Unix(1e9, 0)
	f.h.auth.cache.now = func() time.Time { return now }
	hdr := basicAuth("carol", "carol-secret")
	before := f.compares.Load()
	for range 5 {
		if resp, _ := f.get("/static/app.js", hdr); resp.StatusCode != http.StatusOK {
			t.Fatalf("carol: %d", resp.StatusCode)
		}
	}
	if n := f.compares.Load() - before; n != 1 {
		t.Errorf("5 requests with the same credentials: %d bcrypt comparisons, want 1", n)
	}
	// A wrong password is never taken from the cache.
	if resp, _ := f.get("/", basicAuth("carol", "carol-secreT")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password after a right one: %d", resp.StatusCode)
	}
	now = now.Add(credentialTTL)
	before = f.compares.Load()
	f.get("/", hdr)
	if n := f.compares.Load() - before; n != 1 {
		t.Errorf("after the TTL: %d comparisons, want 1", n)
	}
}

func TestFailedLoginsAreLimitedPerClient(t *testing.T) {
	f := basicFixture(t)
	now := time.Unix(1e9, 0)
	f.h.auth.limiter.now = func() time.Time { return now }
	// A browser that logged in before the attack keeps working: it
	// holds a session cookie.
	good := basicAuth("alice", "alice-secret")
	resp, _ := f.get("/", good)
	if resp.StatusCode != http.StatusOK || sessionOf(resp) == nil {
		t.Fatalf("alice: %d, session cookie %v", resp.StatusCode, sessionOf(resp))
	}
	browser := withCookie(good, sessionOf(resp))
	for i := range loginBurst {
		if resp, _ := f.get("/", basicAuth("alice", "guess")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	before := f.compares.Load()
	resp, body := f.get("/api/targets", basicAuth("alice", "guess"))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d %s, want 429", loginBurst, resp.StatusCode, body)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "15" {
		t.Errorf("Retry-After %q, want 15", ra)
	}
	if !strings.Contains(body, "too many failed logins") {
		t.Errorf("429 body %q", body)
	}
	// Even the right password waits: it could be the attacker's next
	// guess. No bcrypt work is spent meanwhile.
	if resp, _ := f.get("/", basicAuth("carol", "carol-secret")); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right, uncached password while limited: %d, want 429", resp.StatusCode)
	}
	if n := f.compares.Load() - before; n != 0 {
		t.Errorf("%d bcrypt comparisons while limited, want 0", n)
	}
	if resp, _ := f.get("/", browser); resp.StatusCode != http.StatusOK {
		t.Errorf("alice's browser while limited: %d, want 200", resp.StatusCode)
	}
	if resp, _ := f.get("/", good); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("alice's remembered password without her cookie while limited: %d, want 429", resp.StatusCode)
	}
	if resp, _ := f.get("/", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credentials while limited: %d, want 401 (a challenge)", resp.StatusCode)
	}
	// One more guess per refill period.
	now = now.Add(loginRefill)
	if resp, _ := f.get("/", basicAuth("carol", "carol-secret")); resp.StatusCode != http.StatusOK {
		t.Errorf("after one refill period: %d, want 200", resp.StatusCode)
	}
	if resp, _ := f.get("/", basicAuth("alice", "guess")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a guess after one refill period: %d, want 401", resp.StatusCode)
	}
	if resp, _ := f.get("/", basicAuth("alice", "guess")); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a second guess: %d, want 429", resp.StatusCode)
	}
}

// Guesses sent at once are limited as guesses sent one by one: each takes
// its failure before bcrypt compares, so at most loginBurst comparisons
// run for a client, however many of its guesses arrive together.
func TestConcurrentFailedLoginsAreLimited(t *testing.T) {
	f := basicFixture(t)
	f.h.auth.limiter.now = func() time.Time { return time.Unix(1e9, 0) }
	// Comparisons wait until the guesses beyond the burst are answered,
	// or a second has passed: every guess has arrived before any is
	// known to be wrong. (The guesses beyond the burst wait for the
	// comparisons in flight, which might succeed, so it is the second.)
	release := make(chan struct{})
	compare := f.h.auth.compare
	f.h.auth.compare = func(hash, pw []byte) error {
		<-release
		return compare(hash, pw)
	}
	const guesses = 60
	codes := f.loginsAtOnce(guesses, func(i int) string { return fmt.Sprintf("guess-%d", i) })
	count := map[int]int{}
	answered := 0
	wait := time.After(time.Second)
early:
	for answered < guesses-loginBurst {
		select {
		case code := <-codes:
			count[code]++
			answered++
		case <-wait:
			break early
		}
	}
	close(release)
	for ; answered < guesses; answered++ {
		count[<-codes]++
	}
	if n := f.compares.Load(); n > loginBurst {
		t.Errorf("%d wrong passwords at once: %d bcrypt comparisons, want at most %d", guesses, n, loginBurst)
	}
	if count[http.StatusUnauthorized] > loginBurst || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != guesses {
		t.Errorf("%d wrong passwords at once: answered %v, want at most %d 401s and the rest 429", guesses, count, loginBurst)
	}
}

// Users behind one address (an office's NAT at nine) logging in at once
// are not refused as if they had failed: every comparison in flight holds
// one of the client's loginBurst tokens, and a login that finds none free
// waits for one to come back instead of getting 429. Before, 16 correct
// logins with a 200 ms comparison got 10 200s and 6 429s.
func TestConcurrentCorrectLoginsFromOneClientAreServed(t *testing.T) {
	f := basicFixture(t)
	compare := f.h.auth.compare
	f.h.auth.compare = func(hash, pw []byte) error {
		time.Sleep(200 * time.Millisecond)
		return compare(hash, pw)
	}
	const logins = loginBurst + 6
	codes := f.loginsAtOnce(logins, func(int) string { return "alice-secret" })
	count := map[int]int{}
	for range logins {
		count[<-codes]++
	}
	if count[http.StatusOK] != logins {
		t.Errorf("%d correct logins at once from one client: answered %v, want %d 200s", logins, count, logins)
	}
	l := f.h.auth.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) != 0 {
		t.Errorf("after %d correct logins, %d clients tracked, want none", logins, len(l.buckets))
	}
}

// A take that finds no token waits for the comparisons in flight, and no
// longer than they, the context or maxWait allow; it is refused at once
// when nothing is in flight.
func TestFailureLimiterWaitsForComparisonsInFlight(t *testing.T) {
	l := newFailureLimiter(1, time.Hour, waitLimit, 8)
	l.now = func() time.Time { return time.Unix(0, 0) }
	ctx := context.Background()
	key := limiterKey(mustAddr(t, "192.0.2.1"))
	type taken struct {
		b  *bucket
		ok bool
	}
	takeAsync := func(ctx context.Context, key netip.Prefix) chan taken {
		c := make(chan taken, 1)
		go func() {
			b, _, ok := l.take(ctx, key)
			c <- taken{b, ok}
		}()
		return c
	}
	// waitingOn returns once a take is waiting for a comparison of key.
	waitingOn := func(key netip.Prefix) {
		waitFor(t, "a take to wait", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			b := l.buckets[key]
			return b != nil && b.resolved != nil
		})
	}
	first, _, ok := l.take(ctx, key)
	if !ok {
		t.Fatal("first take refused")
	}
	// A success gives its token to the take waiting for it.
	waiting := takeAsync(ctx, key)
	waitingOn(key)
	select {
	case got := <-waiting:
		t.Fatalf("take with the only token in flight returned %v, want it to wait", got.ok)
	default:
	}
	l.giveBack(first)
	second := <-waiting
	if !second.ok {
		t.Fatal("the waiting take was refused after the comparison in flight succeeded")
	}
	// A failure spends it: the take waiting is refused, as is the next.
	waiting = takeAsync(ctx, key)
	waitingOn(key)
	l.spend(second.b)
	if got := <-waiting; got.ok {
		t.Error("a take was served after the comparison in flight failed")
	}
	if _, wait, ok := l.take(ctx, key); ok || wait != time.Hour {
		t.Errorf("with no token and none in flight: taken %v, wait %v, want a refusal for an hour", ok, wait)
	}
	l.mu.Lock()
	if b := l.buckets[key]; b == nil || b.tokens != 0 || b.inFlight != 0 {
		t.Errorf("after one failure of one: bucket %+v, want 0 tokens, none in flight", b)
	}
	l.mu.Unlock()

	// The wait is bounded by the context and by maxWait.
	other := limiterKey(mustAddr(t, "192.0.2.2"))
	held, _, _ := l.take(ctx, other)
	cctx, cancel := context.WithCancel(ctx)
	waiting = takeAsync(cctx, other)
	waitingOn(other)
	cancel()
	if got := <-waiting; got.ok {
		t.Error("a take whose context ended was served")
	}
	l.maxWait = 50 * time.Millisecond
	start := time.Now()
	if _, _, ok := l.take(ctx, other); ok {
		t.Error("a take was served with the only token in flight")
	}
	if el := time.Since(start); el < l.maxWait || el > waitLimit {
		t.Errorf("take waited %v, want about %v", el, l.maxWait)
	}
	l.giveBack(held)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, tracked := l.buckets[other]; tracked {
		t.Error("a client with its token back and nothing in flight is still tracked")
	}
}

// loginsAtOnce sends n requests for the page as alice, the i-th with
// password(i), each from a goroutine of its own, and returns their
// statuses as they come (0 for a request that got no answer).
func (f *fixture) loginsAtOnce(n int, password func(i int) string) <-chan int {
	codes := make(chan int, n)
	for i := range n {
		go func() {
			req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
			req.SetBasicAuth("alice", password(i))
			resp, err := f.client().Do(req)
			if err != nil {
				f.t.Error(err)
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	return codes
}

func TestFailureLimiterKeysAndBounds(t *testing.T) {
	l := newFailureLimiter(2, time.Second, 0, 3)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	a := limiterKey(mustAddr(t, "2001:db8::1"))
	b := limiterKey(mustAddr(t, "2001:db8::ffff:1"))
	if a != b {
		t.Errorf("one IPv6 /64 gives keys %v and %v", a, b)
	}
	if v4, mapped := limiterKey(mustAddr(t, "192.0.2.1")), limiterKey(mustAddr(t, "::ffff:192.0.2.1")); v4 != mapped {
		t.Errorf("IPv4 %v and its mapped form %v differ", v4, mapped)
	}
	for range 2 {
		b, _, _ := l.take(ctx, a)
		l.spend(b)
	}
	if _, wait, ok := l.take(ctx, a); ok || wait != time.Second {
		t.Errorf("after the burst: taken %v, wait %v", ok, wait)
	}
	if tokens := l.buckets[a].tokens; tokens != 0 {
		t.Errorf("after the burst and a refusal: %v tokens, want 0", tokens)
	}
	// A comparison that succeeded gives its token back, and a client
	// with every token back is forgotten.
	c := limiterKey(mustAddr(t, "198.51.100.1"))
	held, _, _ := l.take(ctx, c)
	l.giveBack(held)
	if _, tracked := l.buckets[c]; tracked {
		t.Error("a client whose one comparison succeeded is still tracked")
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		held, _, _ := l.take(ctx, limiterKey(mustAddr(t, ip)))
		l.spend(held)
	}
	if len(l.buckets) > 3 {
		t.Errorf("%d clients tracked, bound 3", len(l.buckets))
	}
	now = now.Add(time.Hour)
	l.take(ctx, limiterKey(mustAddr(t, "192.0.2.9")))
	if _, ok := l.buckets[limiterKey(mustAddr(t, "192.0.2.9"))]; !ok {
		t.Error("a new client was not tracked after the others' buckets refilled")
	}
}

func TestProxyHeaderIsIgnoredFromUntrustedPeers(t *testing.T) {
	// The test client connects from 127.0.0.1; only 127.0.0.2 is trusted.
	hdr := http.Header{"X-Forwarded-User": {"alice"}, "X-Forwarded-Groups": {"netops"}}
	proxyOnly := newFixture(t, fixtureOpts{web: Options{
		Auth:           Auth{ProxyHeader: "X-Forwarded-User", ProxyGroupsHeader: "X-Forwarded-Groups"},
		TrustedProxies: mustPrefixes(t, "127.0.0.2"),
	}})
	for _, path := range []string{"/", "/api/targets", "/ws?target=public"} {
		resp, _ := proxyOnly.get(path, hdr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("proxy only, %s from an untrusted peer: %d, want 403", path, resp.StatusCode)
		}
	}
	both := newFixture(t, fixtureOpts{web: Options{
		Auth:           Auth{Users: loadTestUsers(t), ProxyHeader: "X-Forwarded-User", ProxyGroupsHeader: "X-Forwarded-Groups"},
		TrustedProxies: mustPrefixes(t, "127.0.0.2"),
	}})
	if resp, _ := both.get("/", hdr); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("with users too, from an untrusted peer: %d, want 401", resp.StatusCode)
	}
	// Basic credentials still work, and the header does not change who
	// the user is.
	hdr2 := basicAuth("bob", "bob-secret")
	hdr2["X-Forwarded-User"] = []string{"alice"}
	hdr2["X-Forwarded-Groups"] = []string{"netops"}
	names, _ := both.targets(hdr2)
	if !sortedEqual(names, "public") {
		t.Errorf("bob claiming to be alice sees %v, want [public]", names)
	}
}

func TestProxyHeaderFromTrustedPeerIsHonouredWithGroups(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{
		Auth:           Auth{ProxyHeader: "X-Forwarded-User", ProxyGroupsHeader: "X-Forwarded-Groups"},
		TrustedProxies: mustPrefixes(t, "127.0.0.0/8"),
	}})
	as := func(user, groups string) http.Header {
		h := http.Header{"X-Forwarded-User": {user}}
		if groups != "" {
			h["X-Forwarded-Groups"] = []string{groups}
		}
		return h
	}
	for _, tc := range []struct {
		hdr  http.Header
		want []string
	}{
		{as("alice", ""), []string{"core", "public"}},
		{as("dave", "ops, netops"), []string{"lab", "public"}},
		{as("erin", "ops"), []string{"public"}},
		{as("alice", "netops"), []string{"lab", "core", "public"}},
	} {
		if names, _ := f.targets(tc.hdr); !sortedEqual(names, tc.want...) {
			t.Errorf("%v: targets %v, want %v", tc.hdr, names, tc.want)
		}
	}
	f.open("target=lab", as("dave", "netops"))
	_, resp, body, err := f.dial("target=lab", as("erin", "ops"))
	expectRefused(t, "erin opening lab", resp, body, err, http.StatusForbidden, "not allowed")

	// A trusted proxy that sends no user: nobody.
	if resp, _ := f.get("/", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("trusted peer without the header: %d, want 403", resp.StatusCode)
	}
	for name, hdr := range map[string]http.Header{
		"two user headers":  {"X-Forwarded-User": {"alice", "bob"}},
		"control character": {"X-Forwarded-User": {"ali\x01ce"}},
		"too long":          {"X-Forwarded-User": {strings.Repeat("a", maxIdentityLen+1)}},
		// A proxy that appends its groups header passes the client's
		// through: erin, in ops, would be in netops too.
		"two groups headers": {"X-Forwarded-User": {"erin"}, "X-Forwarded-Groups": {"netops", "ops"}},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "127.0.0.1:1234"
		req.Header = hdr
		rec := httptest.NewRecorder()
		f.h.root.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, rec.Code)
		}
	}
}

func TestAccessLogRecordsRefusalsWithoutCredentials(t *testing.T) {
	f := basicFixture(t)
	f.get("/api/targets", basicAuth("hunter2-typed-as-name", "sekrit-password"))
	f.get("/ws?target=core", basicAuth("bob", "bob-secret"))
	logs := f.logs.String()
	for _, secret := range []string{"sekrit-password", "hunter2-typed-as-name", "bob-secret", "Basic "} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{
		`"status":401`, `"reason":"wrong user name or password"`, `"path":"/api/targets"`, `"client":"127.0.0.1"`,
		`"status":403`, `"user":"bob"`, `"reason":"target core not allowed"`, `"message":"request refused"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// A take waiting for comparisons in flight is also served by a token that
// comes back with time, though none of them has ended.
func TestFailureLimiterWaiterTakesARefilledToken(t *testing.T) {
	l := newFailureLimiter(1, 100*time.Millisecond, waitLimit, 8)
	key := limiterKey(mustAddr(t, "192.0.2.1"))
	if _, _, ok := l.take(context.Background(), key); !ok { // held, never settled
		t.Fatal("first take refused")
	}
	start := time.Now()
	if _, wait, ok := l.take(context.Background(), key); !ok {
		t.Fatalf("the waiting take was refused after %v (retry in %v), though a token came back after 100 ms", time.Since(start), wait)
	}
}

// testClock is a time that tests move, for the limiter and the cache.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// useClock makes f's limiter, credential cache and sessions read the
// time from c. Call it before any request.
func (f *fixture) useClock(c *testClock) {
	f.h.auth.cache.mu.Lock()
	f.h.auth.cache.now = c.Now
	f.h.auth.cache.mu.Unlock()
	f.h.auth.limiter.mu.Lock()
	f.h.auth.limiter.now = c.Now
	f.h.auth.limiter.mu.Unlock()
	f.h.auth.sessions.now = c.Now
}

// drain fails logins with hdr's address until it is refused with 429.
func (f *fixture) drain(hdr http.Header) {
	f.t.Helper()
	guess := basicAuth("bob", "guess")
	for k, v := range hdr {
		if k != "Authorization" {
			guess[k] = v
		}
	}
	for range loginBurst + 1 {
		if resp, _ := f.get("/api/targets", guess); resp.StatusCode == http.StatusTooManyRequests {
			return
		}
	}
	f.t.Fatalf("%d failed logins were not limited", loginBurst+1)
}

// Remembered credentials are forgotten when the users file has another
// hash for the user, or no such user.
func TestRememberedCredentialsFollowTheUsersFile(t *testing.T) {
	hashOf := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	usersWith := func(entries ...string) *Users {
		var b strings.Builder
		b.WriteString("users:\n")
		for i := 0; i+1 < len(entries); i += 2 {
			fmt.Fprintf(&b, "  - name: %s\n    password: %q\n", entries[i], entries[i+1])
		}
		u, err := ParseUsers("users.yaml", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	a := newAuthenticator(Auth{Users: usersWith("alice", hashOf("old-secret"), "bob", hashOf("bob-secret"))},
		func(netip.Addr) bool { return false })
	compares := 0
	a.compare = func(hash, pw []byte) error { compares++; return bcrypt.CompareHashAndPassword(hash, pw) }
	client := mustAddr(t, "192.0.2.1")
	login := func(user, pw string) (int, int) {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pw)
		before := compares
		_, ref := a.authenticate(r, client, client)
		code := http.StatusOK
		if ref != nil {
			code = ref.code
		}
		return code, compares - before
	}
	if code, n := login("alice", "old-secret"); code != http.StatusOK || n != 1 {
		t.Fatalf("login: %d with %d comparisons, want 200 with 1", code, n)
	}
	if code, n := login("alice", "old-secret"); code != http.StatusOK || n != 0 {
		t.Fatalf("remembered: %d with %d comparisons, want 200 with none", code, n)
	}
	// alice's password changed: the old one is compared, and refused.
	a.users.Store(usersWith("alice", hashOf("new-secret"), "bob", hashOf("bob-secret")))
	if code, n := login("alice", "old-secret"); code != http.StatusUnauthorized || n != 1 {
		t.Errorf("old password after the change: %d with %d comparisons, want 401 with 1", code, n)
	}
	if code, _ := login("alice", "new-secret"); code != http.StatusOK {
		t.Errorf("new password: %d, want 200", code)
	}
	// alice removed.
	a.users.Store(usersWith("bob", hashOf("bob-secret")))
	if code, _ := login("alice", "new-secret"); code != http.StatusUnauthorized {
		t.Errorf("removed user: %d, want 401", code)
	}
}

// A new users file takes effect at once: a removed user is refused, even
// with the session cookie, and an added one gets in.
func TestSetUsersReplacesTheUsers(t *testing.T) {
	f := basicFixture(t)
	alice := basicAuth("alice", "alice-secret")
	resp, _ := f.get("/api/targets", alice)
	cookie := sessionOf(resp)
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("alice: %d, cookie %v", resp.StatusCode, cookie)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("dave-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsers("users.yaml", fmt.Appendf(nil, "users:\n  - name: dave\n    password: %q\n", hash))
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{f.h}
	if err := h.SetUsers(users); err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.get("/api/targets", withCookie(alice, cookie)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("removed alice, with her cookie: %d, want 401", resp.StatusCode)
	}
	if resp, _ := f.get("/api/targets", basicAuth("dave", "dave-secret")); resp.StatusCode != http.StatusOK {
		t.Errorf("added dave: %d", resp.StatusCode)
	}
	if err := h.SetUsers(nil); err == nil {
		t.Error("SetUsers(nil) turned authentication off")
	}
}

// A users file replaced while a login is being checked: the session
// cookie is signed over the users the login was checked against, so the
// old password does not outlive the change.
func TestCookieFollowsTheUsersTheLoginWasCheckedAgainst(t *testing.T) {
	f := basicFixture(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-new"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := ParseUsers("users.yaml", fmt.Appendf(nil, "users:\n  - name: alice\n    password: %q\n", hash))
	if err != nil {
		t.Fatal(err)
	}
	compare := f.h.auth.compare
	f.h.auth.compare = func(hash, pw []byte) error {
		err := compare(hash, pw)
		f.h.auth.users.Store(changed) // a reload lands during the check
		return err
	}
	old := basicAuth("alice", "alice-secret")
	resp, _ := f.get("/api/targets", old)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login before the change took effect: %d", resp.StatusCode)
	}
	f.h.auth.compare = compare
	if c := sessionOf(resp); c != nil {
		if resp, _ := f.get("/api/targets", withCookie(old, c)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the old password with the cookie after the change: %d, want 401", resp.StatusCode)
		}
	}
}
