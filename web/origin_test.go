package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"telgate/gateway"
)

func newRecorder(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, scheme, host string
		known, want          bool
	}{
		{"http://gw.example:8080", "http", "gw.example:8080", true, true},
		{"http://GW.Example:8080", "http", "gw.example:8080", true, true},
		{"http://gw.example:8080", "http", "GW.EXAMPLE:8080", true, true},
		{"http://gw.example", "http", "gw.example:80", true, true},
		{"http://gw.example:80", "http", "gw.example", true, true},
		{"https://gw.example", "https", "gw.example", true, true},
		{"https://gw.example:443", "https", "gw.example", true, true},
		{"http://[::1]:8080", "http", "[::1]:8080", true, true},
		{"http://gw.example.", "http", "gw.example", true, true},
		{"http://gw.example:8081", "http", "gw.example:8080", true, false},
		{"http://gw.example", "http", "gw.example:8080", true, false},
		{"http://evil.example:8080", "http", "gw.example:8080", true, false},
		{"http://gw.example.evil:8080", "http", "gw.example:8080", true, false},
		{"http://gw.example:8080", "https", "gw.example:8080", true, false}, // never http for https
		{"http://gw.example", "https", "gw.example", false, false},
		{"https://gw.example", "http", "gw.example", true, false}, // a proxy said http
		// Plain HTTP and nobody said which scheme the browser used: a
		// TLS proxy keeping the Host header may be in front.
		{"https://gw.example", "http", "gw.example", false, true},
		{"https://gw.example:8443", "http", "gw.example:8443", false, true},
		{"https://gw.example:8443", "http", "gw.example", false, false},
		{"https://gw.example", "http", "gw.example:8080", false, false},
		{"null", "http", "gw.example", false, false},
		{"file://", "http", "gw.example", false, false},
		{"ws://gw.example", "http", "gw.example", false, false},
		{"http://user@gw.example", "http", "gw.example", false, false},
		{"http://gw.example/path", "http", "gw.example", false, false},
		{"http://gw.example:", "http", "gw.example", false, false},
		{"http://gw.example:8o", "http", "gw.example:8o", false, false},
		{"", "http", "gw.example", false, false},
		{"http://", "http", "", false, false},
	} {
		if got := sameOrigin(tc.origin, tc.scheme, tc.host, tc.known); got != tc.want {
			t.Errorf("sameOrigin(%q, %s, %q, known %v) = %v, want %v", tc.origin, tc.scheme, tc.host, tc.known, got, tc.want)
		}
	}
}

func TestNormalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Portal.Example.COM":     "https://portal.example.com",
		"https://portal.example.com:443": "https://portal.example.com",
		"http://portal.example.com:80/":  "http://portal.example.com",
		"HTTP://portal:8080":             "http://portal:8080",
		"http://[::1]:80":                "http://[::1]",
		"http://[2001:DB8::1]:8080":      "http://[2001:db8::1]:8080",
	} {
		if got, ok := normalOrigin(in); !ok || got != want {
			t.Errorf("normalOrigin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "null", "portal.example.com", "ftp://x", "https://x/y", "https://x?q", "https://u:p@x", "https://x#f"} {
		if got, ok := normalOrigin(bad); ok {
			t.Errorf("normalOrigin(%q) = %q, want refused", bad, got)
		}
	}
}

func TestClientAddress(t *testing.T) {
	p := proxies(mustPrefixes(t, "10.0.0.0/8", "192.0.2.1", "fe80::/10"))
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"198.51.100.7", "203.0.113.9", "198.51.100.7"}, // untrusted peer: header ignored
		{"10.1.1.1", "", "10.1.1.1"},
		{"10.1.1.1", "203.0.113.9", "203.0.113.9"},
		{"10.1.1.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"}, // the client wrote 1.2.3.4
		{"10.1.1.1", "203.0.113.9, 192.0.2.1", "203.0.113.9"},
		{"10.1.1.1", "10.2.2.2, 10.3.3.3", "10.2.2.2"},
		{"10.1.1.1", "junk, 203.0.113.9", "203.0.113.9"},
		{"10.1.1.1", "203.0.113.9, junk", "10.1.1.1"},
		{"10.1.1.1", "::ffff:203.0.113.9", "203.0.113.9"},
		{"::ffff:10.1.1.1", "2001:db8::5", "2001:db8::5"},
		// Some proxies (Azure Application Gateway) write the port too.
		{"10.1.1.1", "203.0.113.7:51234", "203.0.113.7"},
		{"10.1.1.1", "[2001:db8::7]:51234", "2001:db8::7"},
		{"10.1.1.1", "[::ffff:203.0.113.7]:51234", "203.0.113.7"},
		{"10.1.1.1", "1.2.3.4:80, 203.0.113.7:51234", "203.0.113.7"},
		{"10.1.1.1", "203.0.113.9, 10.2.2.2:443", "203.0.113.9"},
		{"10.1.1.1", "2001:db8::7:5123", "2001:db8::7:5123"}, // an IPv6 address, not one with a port
		{"10.1.1.1", "203.0.113.9, 203.0.113.7:", "10.1.1.1"},
		{"10.1.1.1", "203.0.113.9, 203.0.113.7:http", "10.1.1.1"},
		{"10.1.1.1", "203.0.113.9, [2001:db8::7]", "10.1.1.1"},
		{"10.1.1.1", "203.0.113.9, 2001:db8::7]:51234", "10.1.1.1"},
		// A link-local peer is reached through an interface, and the
		// same address on another link is another host: no prefix
		// makes it a trusted proxy.
		{"fe80::1%eth0", "203.0.113.9", "fe80::1%eth0"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer + ":5555"
		if strings.Contains(tc.peer, ":") {
			r.RemoteAddr = "[" + tc.peer + "]:5555"
		}
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := p.clientAddr(r, peerAddr(r)); got.String() != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %v, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

func TestCrossOriginWebSocketsAreForbidden(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{
		Auth:           Auth{Users: loadTestUsers(t)},
		AllowedOrigins: []string{"https://Portal.Example.com:443"},
	}})
	bob := basicAuth("bob", "bob-secret")
	self := f.srv.URL
	for _, tc := range []struct {
		origin string
		creds  bool
		code   int
	}{
		{"https://evil.example", true, http.StatusForbidden},
		{"https://evil.example", false, http.StatusForbidden}, // before authentication
		{"null", true, http.StatusForbidden},
		{"http://portal.example.com", true, http.StatusForbidden}, // scheme differs from the allowed one
		{"https://portal.example.com:8443", true, http.StatusForbidden},
		{strings.Replace(self, "127.0.0.1", "localhost", 1), true, http.StatusForbidden},
	} {
		hdr := http.Header{"Origin": {tc.origin}}
		if tc.creds {
			hdr["Authorization"] = bob["Authorization"]
		}
		_, resp, body, err := f.dial("target=public", hdr)
		expectRefused(t, "origin "+tc.origin, resp, body, err, tc.code, "origin not allowed")
	}
	for _, origin := range []string{"https://portal.example.com", "HTTPS://PORTAL.EXAMPLE.COM", self, strings.ToUpper(self)} {
		hdr := http.Header{"Origin": {origin}, "Authorization": bob["Authorization"]}
		f.open("target=public", hdr)
	}
	if !strings.Contains(f.logs.String(), `"reason":"cross-origin /ws from \"https://evil.example\""`) {
		t.Errorf("no access log line for the cross-origin upgrade:\n%s", f.logs.String())
	}
	// Its /api/check likewise: it may look a host up.
	evil := http.Header{"Origin": {"https://evil.example"}, "Authorization": bob["Authorization"]}
	if resp, body := f.get("/api/check?target=public", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin /api/check: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := f.get("/api/check?target=public", bob); resp.StatusCode != http.StatusOK {
		t.Errorf("/api/check without Origin (a same-origin fetch sends none): %d %s", resp.StatusCode, body)
	}
}

// A browser sends no Origin on a GET in no-cors mode (another site's
// <img src>, or fetch(url, {mode: "no-cors"})), so the origin check let
// such a /api/check through, with the user's credentials, and with host=
// it looked the host up. Without Origin, the page's API and /ws are now
// refused when Sec-Fetch-Site says another site, or another origin of
// the same site, sent the request: the allowed origins may be anywhere,
// and without Origin there is no telling which sent it. With Origin the
// origin check decides, whatever Sec-Fetch-Site says.
func TestCrossSiteRequestsWithoutOriginAreRefused(t *testing.T) {
	rules := []gateway.AdhocRule{{Hosts: []string{"127.0.0.1/32"}}}
	f := newFixture(t, fixtureOpts{
		web: Options{
			Auth:           Auth{Users: loadTestUsers(t)},
			AllowedOrigins: []string{"https://portal.example.com"},
		},
		gateway: gateway.Options{Adhoc: rules},
	})
	alice := basicAuth("alice", "alice-secret")
	with := func(hdr http.Header) http.Header {
		out := hdr.Clone()
		out["Authorization"] = alice["Authorization"]
		return out
	}
	api := []string{"/api/check?target=public", "/api/check?host=127.0.0.1", "/api/targets"}
	for _, site := range []string{"cross-site", "same-site", "Cross-Site"} {
		hdr := with(http.Header{"Sec-Fetch-Site": {site}, "Sec-Fetch-Mode": {"no-cors"}, "Sec-Fetch-Dest": {"empty"}})
		for _, path := range api {
			resp, body := f.get(path, hdr)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "origin not allowed") {
				t.Errorf("%s, Sec-Fetch-Site %s, no Origin: %d %s, want 403 origin not allowed", path, site, resp.StatusCode, strings.TrimSpace(body))
			}
		}
		_, resp, body, err := f.dial("target=public", hdr)
		expectRefused(t, "/ws, Sec-Fetch-Site "+site+", no Origin", resp, body, err, http.StatusForbidden, "origin not allowed")
		// Links and subresources from other sites are served.
		for _, path := range []string{"/", "/static/app.js"} {
			if resp, _ := f.get(path, hdr); resp.StatusCode != http.StatusOK {
				t.Errorf("%s, Sec-Fetch-Site %s: %d, want 200", path, site, resp.StatusCode)
			}
		}
	}
	if !strings.Contains(f.logs.String(), `"reason":"cross-origin /api/check without Origin, Sec-Fetch-Site \"cross-site\""`) {
		t.Errorf("no access log line for the cross-site /api/check:\n%s", f.logs.String())
	}
	// The page's own requests, the address bar's, and those from no
	// browser; and an allowed origin on another site, which says so.
	for name, hdr := range map[string]http.Header{
		"same-origin":                {"Sec-Fetch-Site": {"same-origin"}},
		"none":                       {"Sec-Fetch-Site": {"none"}},
		"no Sec-Fetch-Site":          {},
		"allowed origin, cross-site": {"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://portal.example.com"}},
		"own origin, same-origin":    {"Sec-Fetch-Site": {"same-origin"}, "Origin": {f.srv.URL}},
	} {
		for _, path := range api {
			if resp, body := f.get(path, with(hdr)); resp.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d %s, want 200", path, name, resp.StatusCode, strings.TrimSpace(body))
			}
		}
	}
	f.open("target=public", with(http.Header{"Origin": {"https://portal.example.com"}, "Sec-Fetch-Site": {"cross-site"}}))
	// Another origin saying same-origin is still another origin.
	evil := with(http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"same-origin"}})
	if resp, _ := f.get("/api/targets", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("/api/targets from https://evil.example: %d, want 403", resp.StatusCode)
	}
}

// Without authentication a page on any website could use telgate on
// loopback by DNS rebinding: its name, re-pointed at 127.0.0.1, comes as
// both Host and Origin, and the two match. Only hosts that no DNS answer
// decides, and those of allowed origins, are served; with authentication
// the browser has no credentials for the attacker's name, and any host is
// served as before.
func TestWithoutAuthenticationOnlyHostsDNSCannotRebindAreServed(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{AllowedOrigins: []string{"https://portal.example.com"}}})
	u, _ := url.Parse(f.srv.URL)
	port := u.Port()
	as := func(host string) http.Header {
		return http.Header{"Host": {host}, "Origin": {"http://" + host}}
	}
	for _, host := range []string{
		"attacker.example:" + port, "attacker.example", "127.0.0.1.attacker.example:" + port,
		"localhost.attacker.example:" + port, "portal.example.com.attacker.example:" + port, "bad host",
	} {
		for _, path := range []string{"/", "/static/app.js", "/api/targets", "/api/check?target=public"} {
			resp, body := f.get(path, as(host))
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "host not allowed") {
				t.Errorf("Host %s, %s: %d %s, want 403 host not allowed", host, path, resp.StatusCode, printableLog(body))
			}
		}
		_, resp, body, err := f.dial("target=public", as(host))
		expectRefused(t, "Host "+host, resp, body, err, http.StatusForbidden, "host not allowed")
	}
	before := f.logs.String()
	f.get("/api/targets", as("attacker.example:"+port))
	if added := strings.TrimPrefix(f.logs.String(), before); strings.Count(added, "\n") != 1 ||
		!strings.Contains(added, `attacker.example:`+port) || !strings.Contains(added, `"status":403`) {
		t.Errorf("a refused host logged %q, want one line naming it", added)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := f.get(path, as("attacker.example:"+port)); resp.StatusCode != http.StatusOK {
			t.Errorf("%s on the attacker's host: %d %q, want 200 (probes reveal nothing)", path, resp.StatusCode, body)
		}
	}
	for _, host := range []string{
		"127.0.0.1:" + port, "[::1]:" + port, "192.0.2.10:" + port, "localhost:" + port, "LOCALHOST.:" + port,
		"term.localhost:" + port, "portal.example.com", "Portal.Example.com:" + port,
	} {
		for _, path := range []string{"/", "/api/targets", "/api/check?target=public"} {
			if resp, body := f.get(path, as(host)); resp.StatusCode != http.StatusOK {
				t.Errorf("Host %s, %s: %d %q, want 200", host, path, resp.StatusCode, body)
			}
		}
	}
	f.open("target=public", as("localhost:"+port))

	// The host the browser used is what a trusted proxy says it was.
	proxied := newFixture(t, fixtureOpts{web: Options{TrustedProxies: mustPrefixes(t, "127.0.0.1")}})
	if resp, body := proxied.get("/", http.Header{"X-Forwarded-Host": {"attacker.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("X-Forwarded-Host attacker.example from a trusted proxy: %d %s, want 403", resp.StatusCode, printableLog(body))
	}
	if resp, body := proxied.get("/", http.Header{"Host": {"gw.internal"}, "X-Forwarded-Host": {"localhost:8443"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("X-Forwarded-Host localhost from a trusted proxy: %d %q, want 200", resp.StatusCode, body)
	}

	authed := basicFixture(t)
	hdr := as("attacker.example:" + port)
	hdr["Authorization"] = basicAuth("bob", "bob-secret")["Authorization"]
	if resp, body := authed.get("/", hdr); resp.StatusCode != http.StatusOK {
		t.Errorf("with authentication, any host: %d %q, want 200", resp.StatusCode, body)
	}
	authed.open("target=public", hdr)
}

// Without authentication a name the browser reached over TLS is served
// all the same: a page that DNS re-points at telgate cannot get the
// browser through TLS to a name the certificate does not carry. So is a
// name a trusted proxy says the browser reached over https. Over plain
// HTTP a name is still refused, and the 403 says how to serve it.
func TestWithoutAuthenticationAnyHostIsServedOverTLS(t *testing.T) {
	f := newFixture(t, fixtureOpts{tls: true})
	u, _ := url.Parse(f.srv.URL)
	host := "gw.example.com:" + u.Port()
	overTLS := http.Header{"Host": {host}, "Origin": {"https://" + host}}
	proxied := newFixture(t, fixtureOpts{web: Options{TrustedProxies: mustPrefixes(t, "127.0.0.1")}})
	viaProxy := http.Header{"Host": {"gw.internal:8080"}, "X-Forwarded-Host": {"gw.example.com"},
		"X-Forwarded-Proto": {"https"}, "Origin": {"https://gw.example.com"}}
	for _, tc := range []struct {
		what string
		f    *fixture
		hdr  http.Header
	}{{"over TLS", f, overTLS}, {"over https per a trusted proxy", proxied, viaProxy}} {
		for _, path := range []string{"/", "/api/targets", "/api/check?target=public"} {
			if resp, body := tc.f.get(path, tc.hdr); resp.StatusCode != http.StatusOK {
				t.Errorf("gw.example.com %s, %s: %d %s, want 200", tc.what, path, resp.StatusCode, printableLog(body))
			}
		}
		tc.f.open("target=public", tc.hdr)
	}

	untrusted := newFixture(t, fixtureOpts{web: Options{TrustedProxies: mustPrefixes(t, "127.0.0.2")}})
	for _, tc := range []struct {
		what string
		f    *fixture
		hdr  http.Header
	}{
		{"over plain HTTP", untrusted, http.Header{"Host": {"gw.example.com"}}},
		{"over http per a trusted proxy", proxied, http.Header{"X-Forwarded-Host": {"gw.example.com"}, "X-Forwarded-Proto": {"http"}}},
		{"with X-Forwarded-Proto https from an untrusted peer", untrusted, http.Header{"Host": {"gw.example.com"}, "X-Forwarded-Proto": {"https"}}},
	} {
		resp, body := tc.f.get("/", tc.hdr)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "host not allowed") ||
			!strings.Contains(body, "http.allowed_origins") || !strings.Contains(body, "auth or TLS") {
			t.Errorf("gw.example.com %s: %d %s, want 403 host not allowed, saying how to serve it", tc.what, resp.StatusCode, printableLog(body))
		}
	}
}

// An operator who sees 403 "host not allowed" finds why in the log: one
// line at start, without authentication, names the hosts served and how
// to serve another.
func TestWithoutAuthenticationTheServedHostsAreLogged(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{AllowedOrigins: []string{"https://portal.example.com", "http://192.0.2.1:8080"}}})
	var lines []string
	for line := range strings.Lines(f.logs.String()) {
		if strings.Contains(line, "http.allowed_origins") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"info"`) ||
		!strings.Contains(lines[0], `"hosts":["IP addresses","localhost","*.localhost","portal.example.com"]`) ||
		!strings.Contains(lines[0], "TLS") {
		t.Errorf("without authentication, logged %q, want one info line naming the hosts served", lines)
	}
	if authed := basicFixture(t); strings.Contains(authed.logs.String(), "http.allowed_origins") {
		t.Errorf("with authentication, logged %q", authed.logs.String())
	}
}

func TestForwardedSchemeAndHostOnlyFromTrustedProxies(t *testing.T) {
	hdr := http.Header{
		"Origin":            {"https://gw.example.com"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host":  {"gw.example.com"},
		"X-Forwarded-User":  {"alice"},
	}
	trusted := newFixture(t, fixtureOpts{web: Options{
		Auth: Auth{ProxyHeader: "X-Forwarded-User"}, TrustedProxies: mustPrefixes(t, "127.0.0.1"),
	}})
	trusted.open("target=core", hdr)
	resp, _ := trusted.get("/", hdr)
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS when a trusted proxy says the browser used https")
	}
	// The proxy says http: an https Origin is then someone else's.
	hdr2 := hdr.Clone()
	hdr2.Set("X-Forwarded-Proto", "http")
	_, resp, body, err := trusted.dial("target=core", hdr2)
	expectRefused(t, "https origin, proxy says http", resp, body, err, http.StatusForbidden, "origin")

	untrusted := newFixture(t, fixtureOpts{web: Options{
		Auth: Auth{Users: loadTestUsers(t)}, TrustedProxies: mustPrefixes(t, "127.0.0.2"),
	}})
	hdr3 := hdr.Clone()
	hdr3["Authorization"] = basicAuth("alice", "alice-secret")["Authorization"]
	_, resp, body, err = untrusted.dial("target=core", hdr3)
	expectRefused(t, "X-Forwarded-Host from an untrusted peer", resp, body, err, http.StatusForbidden, "origin")
	resp, _ = untrusted.get("/", hdr3)
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on plain HTTP because an untrusted peer said https")
	}
}

func TestSecurityHeaders(t *testing.T) {
	plain := newFixture(t, fixtureOpts{})
	resp, _ := plain.get("/", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self' 'unsafe-inline'", "frame-ancestors 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for k, want := range map[string]string{
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
		"Strict-Transport-Security": "",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	framed := newFixture(t, fixtureOpts{tls: true, web: Options{
		FrameAncestors: []string{"https://portal.example.com", "https://ops.example.com:8443"},
	}})
	for _, path := range []string{"/", "/api/targets", "/static/app.js", "/healthz", "/ws?target=nope"} {
		resp, _ := framed.get(path, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, "; frame-ancestors https://portal.example.com https://ops.example.com:8443") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if xfo := resp.Header.Values("X-Frame-Options"); len(xfo) != 0 {
			t.Errorf("%s: X-Frame-Options %q contradicts frame-ancestors", path, xfo)
		}
		if hsts := resp.Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000" {
			t.Errorf("%s over TLS: HSTS %q", path, hsts)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("%s: not TLS 1.2+", path)
		}
	}
	framed.open("target=public", nil) // WebSocket over TLS
}

func TestFrameAncestorsCannotInjectIntoThePolicy(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{
		FrameAncestors: []string{"https://a.example; script-src *", "HTTPS://B.example:443"},
	}})
	resp, _ := f.get("/", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if strings.Contains(csp, "script-src *") || !strings.HasSuffix(csp, "frame-ancestors https://b.example") {
		t.Errorf("CSP %q", csp)
	}
	only := newFixture(t, fixtureOpts{web: Options{FrameAncestors: []string{"not an origin"}}})
	resp, _ = only.get("/", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("no valid ancestor: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
}

// A reverse proxy on this machine that trusted_proxies does not list makes
// every user one client: telgate says so once per such peer, and never
// for a public peer, which anyone can make send the header.
func TestUntrustedLocalProxyIsWarnedOfOnce(t *testing.T) {
	const warning = "X-Forwarded-For from a peer that trusted_proxies does not list"
	xff := http.Header{"X-Forwarded-For": {"203.0.113.9"}}

	f := newFixture(t, fixtureOpts{})
	f.get("/", nil)
	if strings.Contains(f.logs.String(), warning) {
		t.Fatal("warned of a request without X-Forwarded-For")
	}
	// Without authentication only an IP address or localhost is served:
	// the requests below name one.
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://192.0.2.1/", nil)
	r.RemoteAddr = "198.51.100.7:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	f.h.root.ServeHTTP(rec, r)
	if strings.Contains(f.logs.String(), warning) {
		t.Fatal("warned of X-Forwarded-For from a public address")
	}
	f.get("/", xff)
	f.get("/api/targets", xff)
	if n := strings.Count(f.logs.String(), warning); n != 1 {
		t.Fatalf("%d warnings after two forwarded requests from loopback, want 1:\n%s", n, f.logs.String())
	}
	if !strings.Contains(f.logs.String(), `"peer":"127.0.0.1"`) {
		t.Errorf("the warning does not name the peer:\n%s", f.logs.String())
	}
	// Another private peer (an office's forward proxy, say) gets its own
	// warning: the first did not use it up.
	for range 2 {
		r := httptest.NewRequest("GET", "http://192.0.2.1/", nil)
		r.RemoteAddr = "10.1.2.3:5555"
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		f.h.root.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := strings.Count(f.logs.String(), warning); n != 2 || !strings.Contains(f.logs.String(), `"peer":"10.1.2.3"`) {
		t.Fatalf("%d warnings after requests from a second private peer, want 2, the second naming it:\n%s", n, f.logs.String())
	}

	trusted := newFixture(t, fixtureOpts{web: Options{TrustedProxies: mustPrefixes(t, "127.0.0.1")}})
	trusted.get("/", xff)
	if strings.Contains(trusted.logs.String(), warning) {
		t.Error("warned of a trusted proxy")
	}
}
