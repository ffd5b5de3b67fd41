package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"telgate/gateway"
)

// FuzzRequest throws arbitrary query strings, Authorization headers,
// identity headers and origins at the handler. Whatever comes in, it must
// not panic, must not serve anything but the probes without valid
// credentials, and must list only the targets the identity may open.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ path, query, authz, user, groups, origin string }{
		{"/ws", "target=lab&cols=80&rows=24&term=xterm", "", "", "", ""},
		{"/ws", "host=127.0.0.1:23", basicAuthValue("alice", "alice-secret"), "", "", ""},
		{"/api/targets", "", basicAuthValue("bob", "bob-secret"), "", "", ""},
		{"/api/check", "target=lab&cols=80&rows=24", basicAuthValue("alice", "alice-secret"), "", "", ""},
		{"/api/check", "host=127.0.0.1:23", "", "alice", "netops", "https://evil.example"},
		{"/api/targets", "", "", "alice", "netops,ops", ""},
		{"/", "", "Basic " + "YWxpY2U6", "", "", ""},
		{"/ws", "target=core&host=x", "Basic !!", "root", ",,,", "https://evil.example"},
		{"/ws", "target=%zz", "Digest x", "a\x00b", "g\xff", "null"},
		{"/ws", "cols=-1&rows=99999999999999999999&term=" + strings.Repeat("x", 50), "basic YWxpY2U6YWxpY2Utc2VjcmV0", "", "", "http://[::1"},
	} {
		f.Add(seed.path, seed.query, seed.authz, seed.user, seed.groups, seed.origin, true)
		f.Add(seed.path, seed.query, seed.authz, seed.user, seed.groups, seed.origin, false)
	}
	users := loadTestUsers(f)
	gw, err := gateway.New(gateway.Options{
		Targets: []gateway.Target{
			{Name: "lab", Address: "127.0.0.1:1", AllowGroups: []string{"netops"}},
			{Name: "core", Address: "127.0.0.1:1", AllowUsers: []string{"alice"}},
			{Name: "public", Address: "127.0.0.1:1"},
		},
		Adhoc:  []gateway.AdhocRule{{Hosts: []string{"192.0.2.0/24"}, AllowGroups: []string{"netops"}}},
		Limits: gateway.Limits{ConnectRate: -1, MaxSessions: -1, MaxSessionsPerClient: -1, MaxSessionsPerUser: -1},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := newHandler(Options{
		Gateway:        gw,
		Auth:           Auth{Users: users, ProxyHeader: "X-Forwarded-User", ProxyGroupsHeader: "X-Forwarded-Groups"},
		TrustedProxies: mustPrefixes(f, "10.0.0.1"),
		AllowedOrigins: []string{"https://portal.example.com"},
	})
	// Failed logins must not lock the fuzzer out.
	h.auth.limiter = newFailureLimiter(1<<30, 1, loginWait, limiterMaxKeys)

	f.Fuzz(func(t *testing.T, path, query, authz, user, groups, origin string, fromProxy bool) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \x00\r\n") {
			path = "/" + url.PathEscape(path)
		}
		req := httptest.NewRequest("GET", "http://gw.test/", nil)
		req.URL.Path, req.URL.RawQuery = path, query
		req.RemoteAddr = "10.0.0.2:4000"
		if fromProxy {
			req.RemoteAddr = "10.0.0.1:4000"
		}
		setHeader := func(k, v string) {
			if v != "" {
				req.Header[k] = []string{v}
			}
		}
		setHeader("Authorization", authz)
		setHeader("X-Forwarded-User", user)
		setHeader("X-Forwarded-Groups", groups)
		setHeader("Origin", origin)
		rec := httptest.NewRecorder()
		h.root.ServeHTTP(rec, req)

		if path == "/healthz" || path == "/readyz" {
			return
		}
		if rec.Code/100 == 3 {
			// ServeMux sends unclean paths to their clean form, on
			// this host.
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("%s: redirect to %q", path, loc)
			}
			return
		}
		proxyUser := fromProxy && strings.TrimSpace(user) != ""
		if !validCreds(authz) && !proxyUser && rec.Code < 400 {
			t.Fatalf("%s?%s with Authorization %q, user %q (proxy %v): HTTP %d without valid credentials",
				path, query, authz, user, fromProxy, rec.Code)
		}
		if path == "/api/targets" && rec.Code == http.StatusOK {
			var list targetList
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
				t.Fatalf("/api/targets: %v", err)
			}
			name, gs := user, strings.Split(groups, ",")
			if !proxyUser {
				name = authzUser(authz)
				gs = nil
				for _, u := range testUsers {
					if u.name == name {
						gs = u.groups
					}
				}
			}
			for _, tg := range list.Targets {
				t2, _ := gw.Target(tg.Name)
				if !t2.Allows(strings.TrimSpace(name), trimAll(gs)) {
					t.Fatalf("user %q groups %q listed %q", name, gs, tg.Name)
				}
			}
		}
	})
}

// FuzzOrigin checks the origin matcher's invariants: an accepted origin
// is an http(s) origin whose host is the request's, and normalising is
// idempotent.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"http://a.example:80", "https://A.example", "http://[::1]:8080", "null", "http://x.", "https://x:0443"} {
		f.Add(s, "a.example", true)
		f.Add(s, "[::1]:8080", false)
	}
	f.Fuzz(func(t *testing.T, origin, host string, known bool) {
		for _, scheme := range []string{"http", "https"} {
			if !sameOrigin(origin, scheme, host, known) {
				continue
			}
			_, oh, _, ok := parseOrigin(origin)
			rh, _, ok2 := splitHost(host)
			if !ok || !ok2 || oh != rh {
				t.Fatalf("sameOrigin(%q, %s, %q) but hosts %q and %q", origin, scheme, host, oh, rh)
			}
		}
		if n, ok := normalOrigin(origin); ok {
			if n2, ok2 := normalOrigin(n); !ok2 || n2 != n {
				t.Fatalf("normalOrigin(%q) = %q, then %q, %v", origin, n, n2, ok2)
			}
		}
	})
}

func basicAuthValue(user, password string) string {
	return basicAuth(user, password).Get("Authorization")
}

// validCreds reports whether a header value holds a test user's
// credentials.
func validCreds(v string) bool {
	r := &http.Request{Header: http.Header{"Authorization": {v}}}
	u, p, ok := r.BasicAuth()
	for _, tu := range testUsers {
		if ok && u == tu.name && p == tu.password {
			return true
		}
	}
	return false
}

// authzUser is the user name of a Basic Authorization header.
func authzUser(v string) string {
	r := &http.Request{Header: http.Header{"Authorization": {v}}}
	u, _, _ := r.BasicAuth()
	return u
}

func trimAll(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
