package web

import (
	"net/http"
	"strings"
	"testing"
)

func basePathFixture(t *testing.T) *fixture {
	return newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t)}, BasePath: "/console/"}})
}

// noRedirects returns f's client, answering redirects itself.
func (f *fixture) noRedirects() *http.Client {
	c := *f.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestBasePathServesEveryRouteButProbesUnderIt(t *testing.T) {
	f := basePathFixture(t)
	alice := basicAuth("alice", "alice-secret")
	for _, tc := range []struct {
		path string
		code int
		want string // in the body
	}{
		{"/console/", http.StatusOK, "<html"},
		{"/console/static/app.js", http.StatusOK, "telgate browser client"},
		{"/console/api/targets", http.StatusOK, `"name":"public"`},
		{"/console/api/check?target=public", http.StatusOK, ""},
		{"/healthz", http.StatusOK, "ok"},
		{"/readyz", http.StatusOK, "ready"},
		{"/static/app.js", http.StatusNotFound, ""},
		{"/api/targets", http.StatusNotFound, ""},
		{"/ws?target=public", http.StatusNotFound, ""},
		{"/console/healthz", http.StatusNotFound, ""},
		{"/consolex/", http.StatusNotFound, ""},
	} {
		resp, body := f.get(tc.path, alice)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %.60q, want %d with %q", tc.path, resp.StatusCode, body, tc.code, tc.want)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no security headers", tc.path)
		}
	}
	if resp, _ := f.get("/console/", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /console/ without credentials: %d, want 401", resp.StatusCode)
	}
	ws := f.open("target=public", alice)
	if err := ws.Close(); err != nil {
		t.Error(err)
	}
}

func TestBasePathRedirectsTheRootAndTheBareBase(t *testing.T) {
	for _, tc := range []struct {
		base, path, want string
	}{
		{"/console/", "/", "console/"},
		{"/console/", "/?host=r1:23", "console/?host=r1:23"}, // a link keeps what it opens
		{"/console/", "/console", "console/"},
		{"/console/", "/console?target=lab", "console/?target=lab"},
		{"/console/", "/console/static", "static/"},
		{"/a/b/", "/", "a/b/"},
		{"/a/b/", "/a/b", "b/"},
		{"", "/static", "static/"},
	} {
		f := newFixture(t, fixtureOpts{web: Options{BasePath: tc.base}})
		req, err := http.NewRequest("GET", f.srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := f.noRedirects().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want {
			t.Errorf("base %q: GET %s: %d Location %q, want 302 to %q", tc.base, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
		// Followed, it lands on the page or the assets, under the base.
		if resp, _ := f.get(tc.path, nil); resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, strings.TrimSuffix(tc.base, "/")) {
			t.Errorf("base %q: GET %s followed to %s: %d", tc.base, tc.path, resp.Request.URL, resp.StatusCode)
		}
	}
}

func TestBasePathScopesTheSessionCookie(t *testing.T) {
	f := basePathFixture(t)
	resp, _ := f.get("/console/", basicAuth("alice", "alice-secret"))
	c := sessionOf(resp)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if c.Path != "/console/" {
		t.Errorf("session cookie path %q, want /console/", c.Path)
	}
	// The cookie alone (the password checked once) still lets the
	// browser in under the base path.
	before := f.compares.Load()
	if resp, _ := f.get("/console/api/targets", withCookie(basicAuth("alice", "alice-secret"), c)); resp.StatusCode != http.StatusOK {
		t.Errorf("with the cookie: %d", resp.StatusCode)
	}
	if n := f.compares.Load() - before; n != 0 {
		t.Errorf("with the cookie: %d bcrypt comparisons, want 0", n)
	}
}

func TestBasePathKeepsTheOriginCheck(t *testing.T) {
	f := basePathFixture(t)
	hdr := basicAuth("alice", "alice-secret")
	hdr.Set("Origin", "https://evil.example")
	if resp, body := f.get("/console/api/targets", hdr); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "origin not allowed") {
		t.Errorf("cross-origin /console/api/targets: %d %q, want 403 origin not allowed", resp.StatusCode, body)
	}
	_, resp, body, err := f.dial("target=public", hdr)
	expectRefused(t, "cross-origin /console/ws", resp, body, err, http.StatusForbidden, "origin not allowed")
}
