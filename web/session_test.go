package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sessionOf returns the session cookie an answer sets, or nil.
func sessionOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName(resp.Request) {
			return c
		}
	}
	return nil
}

// withCookie returns hdr with the cookie added.
func withCookie(hdr http.Header, c *http.Cookie) http.Header {
	out := hdr.Clone()
	out.Add("Cookie", c.String())
	return out
}

// A browser logged in keeps working however long it is used, while
// others at its address (a NAT's neighbours) spend every failed login:
// its session cookie spares it the limiter and bcrypt both.
func TestLoggedInBrowserIsNotLockedOutByFailuresAtItsAddress(t *testing.T) {
	f := basicFixture(t)
	clock := &testClock{now: time.Unix(1e9, 0)}
	f.useClock(clock)
	alice := basicAuth("alice", "alice-secret")
	resp, _ := f.get("/api/targets", alice)
	cookie := sessionOf(resp)
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("alice logs in: %d, session cookie %v", resp.StatusCode, cookie)
	}
	// Three days of use, each gap shorter than sessionTTL, each time
	// just after someone at her address spent every failure.
	for used := time.Duration(0); used < 3*sessionTTL; {
		gap := sessionTTL - time.Minute
		clock.Advance(gap)
		used += gap
		f.drain(nil)
		before := f.compares.Load()
		resp, body := f.get("/api/check?target=public", withCookie(alice, cookie))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("alice, logged in, %v later with her address's failures spent: %d %s, want 200", used, resp.StatusCode, body)
		}
		if n := f.compares.Load() - before; n != 0 {
			t.Errorf("alice, logged in, %v later: %d bcrypt comparisons, want 0", used, n)
		}
		if renewed := sessionOf(resp); renewed == nil {
			t.Fatalf("alice's cookie, %v old, was not renewed", gap)
		} else {
			cookie = renewed
		}
	}
	// Unused for sessionTTL, the cookie is worth nothing: the next
	// request is a login like any other.
	clock.Advance(sessionTTL)
	f.drain(nil)
	if resp, _ := f.get("/api/targets", withCookie(alice, cookie)); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("alice after %v unused, her address's failures spent: %d, want 429", sessionTTL, resp.StatusCode)
	}
}

// Without the cookie, a right password is limited like any other once
// the client's failures are spent, even one verified a moment ago: were
// it served, a client could try passwords as fast as it can send them
// and tell the right one (200) from the rest (429).
func TestRightPasswordWithoutTheCookieIsLimitedLikeAnyOther(t *testing.T) {
	f := basicFixture(t)
	alice := basicAuth("alice", "alice-secret")
	if resp, _ := f.get("/api/targets", alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice logs in: %d", resp.StatusCode)
	}
	before := f.compares.Load()
	if resp, _ := f.get("/api/targets", alice); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice again, without the cookie: %d", resp.StatusCode)
	}
	if n := f.compares.Load() - before; n != 0 {
		t.Errorf("remembered credentials cost %d bcrypt comparisons, want 0", n)
	}
	f.drain(nil)
	if resp, _ := f.get("/api/targets", alice); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("alice's right password without the cookie, the address's failures spent: %d, want 429", resp.StatusCode)
	}
}

// The cookie counts only as signed, with the Basic user and password it
// was issued with, while the users file has the same hash for the user,
// and for a day after it was issued.
func TestSessionCookieCountsOnlyWithItsLogin(t *testing.T) {
	users := loadTestUsers(t)
	s := newSessions()
	now := time.Unix(1e9, 0)
	s.now = func() time.Time { return now }
	alice := login{"alice", "alice-secret", users.byName["alice"].hash}
	bob := login{"bob", "bob-secret", users.byName["bob"].hash}
	request := func(values ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for _, v := range values {
			r.AddCookie(&http.Cookie{Name: cookieName(r), Value: v})
		}
		return r
	}
	good := s.renewal(request(), alice, false).Value
	if !s.valid(request(good), alice) {
		t.Fatal("a cookie just issued is not valid")
	}
	other := newSessions() // a replica beside this gateway, or this one before a restart
	other.now = s.now
	foreign := other.renewal(request(), alice, false).Value
	user, rest, _ := strings.Cut(good, ".")
	issued, sig, _ := strings.Cut(rest, ".")
	for _, tc := range []struct {
		what  string
		value string
		login login
	}{
		{"with another password", good, login{"alice", "guess", alice.hash}},
		{"with no password", good, login{"alice", "", alice.hash}},
		{"for another user", good, bob},
		{"after a password change", good, login{"alice", "alice-secret", bob.hash}},
		{"signed by another key", foreign, alice},
		{"with its time moved", user + "." + "1999999999" + "." + sig, alice},
		{"with its user changed", "Ym9i." + issued + "." + sig, bob},
		{"without a signature", user + "." + issued + ".", alice},
		{"malformed", "alice", alice},
	} {
		if s.valid(request(tc.value), tc.login) {
			t.Errorf("a cookie %s is valid", tc.what)
		}
	}
	if !s.valid(request(foreign, good), alice) {
		t.Error("a good cookie beside another gateway's is not valid")
	}
	now = now.Add(sessionTTL)
	if s.valid(request(good), alice) {
		t.Errorf("a cookie %v old is valid", sessionTTL)
	}
}

// A session cookie never stands in for the password: with another one,
// the request is checked as any other (and fails).
func TestSessionCookieNeedsTheRightPassword(t *testing.T) {
	f := basicFixture(t)
	resp, _ := f.get("/api/targets", basicAuth("alice", "alice-secret"))
	cookie := sessionOf(resp)
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d, cookie %v", resp.StatusCode, cookie)
	}
	for _, pw := range []string{"wrong", ""} {
		if resp, body := f.get("/api/targets", withCookie(basicAuth("alice", pw), cookie)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("alice's cookie with password %q: %d %s, want 401", pw, resp.StatusCode, body)
		}
	}
}

// Cookies are shared by every port of a host: the name carries the port,
// so that two gateways on one host do not overwrite each other's.
func TestSessionCookieNameCarriesThePort(t *testing.T) {
	for host, want := range map[string]string{
		"gw.example.com:8080": "telgate_session_8080",
		"[::1]:8443":          "telgate_session_8443",
		"gw.example.com":      "telgate_session",
		"gw.example.com:":     "telgate_session",
		"gw.example.com:a;b":  "telgate_session",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		if got := cookieName(r); got != want {
			t.Errorf("Host %q: cookie %q, want %q", host, got, want)
		}
	}
}

// The cookie is HttpOnly, SameSite=Lax, for the whole site, for the
// browser's session, and Secure when the browser came over https; it is
// renewed only once it is an hour old.
func TestSessionCookieAttributes(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t)},
		TrustedProxies: mustPrefixes(t, "127.0.0.0/8")}})
	clock := &testClock{now: time.Unix(1e9, 0)}
	f.useClock(clock)
	alice := basicAuth("alice", "alice-secret")
	for _, https := range []bool{false, true} {
		hdr := alice.Clone()
		if https {
			hdr.Set("X-Forwarded-Proto", "https")
		}
		resp, _ := f.get("/", hdr)
		c := sessionOf(resp)
		if resp.StatusCode != http.StatusOK || c == nil {
			t.Fatalf("https %v: %d, cookie %v", https, resp.StatusCode, c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != https ||
			c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("https %v: cookie %q", https, c.String())
		}
		if resp, _ := f.get("/", withCookie(hdr, c)); sessionOf(resp) != nil {
			t.Errorf("https %v: a fresh cookie was issued anew", https)
		}
		clock.Advance(sessionRenew)
		if resp, _ := f.get("/", withCookie(hdr, c)); sessionOf(resp) == nil {
			t.Errorf("https %v: a cookie %v old was not renewed", https, sessionRenew)
		}
	}
	// Without authentication there is no session.
	open := newFixture(t, fixtureOpts{})
	if resp, _ := open.get("/", nil); sessionOf(resp) != nil {
		t.Error("a session cookie without authentication")
	}
}
