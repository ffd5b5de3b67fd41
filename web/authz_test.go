package web

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"telgate/gateway"
)

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTargetsAreListedPerUser(t *testing.T) {
	f := basicFixture(t)
	for _, tc := range []struct {
		user, password string
		want           []string
	}{
		{"alice", "alice-secret", []string{"lab", "core", "public"}},
		{"bob", "bob-secret", []string{"public"}},
		{"carol", "carol-secret", []string{"lab", "public"}},
	} {
		names, adhoc := f.targets(basicAuth(tc.user, tc.password))
		if !sortedEqual(names, tc.want...) {
			t.Errorf("%s sees %v, want %v", tc.user, names, tc.want)
		}
		if adhoc {
			t.Errorf("%s: adhoc true without ad-hoc rules", tc.user)
		}
	}
	// The list keeps its v1 shape: no "adhoc" key when there is none;
	// "sessions" says the session list is served, as it is with
	// authentication.
	_, body := f.get("/api/targets", basicAuth("bob", "bob-secret"))
	if strings.TrimSpace(body) != `{"targets":[{"name":"public","description":"Public"}],"sessions":true}` {
		t.Errorf("bob's list %s", body)
	}
}

func TestWebSocketOnlyToAllowedTargets(t *testing.T) {
	f := basicFixture(t)
	bob := basicAuth("bob", "bob-secret")
	for _, q := range []string{"target=lab", "target=core"} {
		_, resp, body, err := f.dial(q, bob)
		expectRefused(t, "bob "+q, resp, body, err, http.StatusForbidden, "not allowed")
	}
	// Refused before any session: no telnet connection was made.
	if n := f.gw.Active(); n != 0 {
		t.Errorf("%d sessions after refusals", n)
	}
	_, resp, body, err := f.dial("target=nope", bob)
	expectRefused(t, "unknown target", resp, body, err, http.StatusNotFound, "unknown target")
	_, resp, body, err = f.dial("target=core", nil)
	expectRefused(t, "no credentials", resp, body, err, http.StatusUnauthorized, "authentication required")
	_, resp, body, err = f.dial("target=core", basicAuth("alice", "wrong"))
	expectRefused(t, "wrong password", resp, body, err, http.StatusUnauthorized, "authentication required")

	f.open("target=public", bob)
	f.open("target=core", basicAuth("alice", "alice-secret"))
	f.open("target=lab", basicAuth("carol", "carol-secret"))
}

func TestSingleTargetDefaultIsAuthorizedToo(t *testing.T) {
	f := newFixture(t, fixtureOpts{
		web:     Options{Auth: Auth{Users: loadTestUsers(t)}},
		gateway: gateway.Options{Targets: []gateway.Target{{Name: "only", Address: "127.0.0.1:1", AllowUsers: []string{"alice"}}}},
	})
	_, resp, body, err := f.dial("", basicAuth("bob", "bob-secret"))
	expectRefused(t, "bob, no target named", resp, body, err, http.StatusForbidden, "not allowed")
}

func TestAdhocHosts(t *testing.T) {
	hostFix := newFixture(t, fixtureOpts{}) // for its telnet host's port
	hostAddr := hostFix.gw.Targets()[0].Address
	_, port, _ := net.SplitHostPort(hostAddr)
	rules := []gateway.AdhocRule{{Hosts: []string{"127.0.0.1/32"}, Ports: port, AllowGroups: []string{"netops"}}}
	f := newFixture(t, fixtureOpts{
		web:     Options{Auth: Auth{Users: loadTestUsers(t)}},
		gateway: gateway.Options{Targets: []gateway.Target{{Name: "public", Address: hostAddr}}, Adhoc: rules},
	})
	alice, bob := basicAuth("alice", "alice-secret"), basicAuth("bob", "bob-secret")
	if _, adhoc := f.targets(alice); !adhoc {
		t.Error("alice (netops): adhoc false")
	}
	// The page's host field follows the gateway's rules as they are now.
	if err := f.gw.Reconfigure(f.gw.Targets(), nil); err != nil {
		t.Fatal(err)
	}
	if _, adhoc := f.targets(alice); adhoc {
		t.Error("alice after the rules were removed: adhoc true")
	}
	if err := f.gw.Reconfigure(f.gw.Targets(), rules); err != nil {
		t.Fatal(err)
	}
	if _, adhoc := f.targets(bob); adhoc {
		t.Error("bob: adhoc true")
	}
	f.open("host="+hostAddr, alice)

	_, resp, body, err := f.dial("host="+hostAddr, bob)
	expectRefused(t, "bob, ad-hoc", resp, body, err, http.StatusForbidden, "may not open hosts")
	_, resp, body, err = f.dial("host=127.0.0.1:1", alice)
	expectRefused(t, "alice, port outside the rule", resp, body, err, http.StatusForbidden, "not allowed")
	_, resp, body, err = f.dial("host=10.1.2.3:"+port, alice)
	expectRefused(t, "alice, address outside the rule", resp, body, err, http.StatusForbidden, "not allowed")
	_, resp, body, err = f.dial("host=169.254.169.254:"+port, alice)
	expectRefused(t, "alice, metadata address", resp, body, err, http.StatusForbidden, "not allowed")
	_, resp, body, err = f.dial("host="+hostAddr+"&target=public", alice)
	expectRefused(t, "host and target", resp, body, err, http.StatusBadRequest, "not both")
	_, resp, body, err = f.dial("host=", alice)
	expectRefused(t, "empty host", resp, body, err, http.StatusBadRequest, "host")
	_, resp, body, err = f.dial("host=a%0Ab:23", alice)
	expectRefused(t, "control character", resp, body, err, http.StatusBadRequest, "host")

	// Without rules, ?host= is refused whoever asks.
	none := basicFixture(t)
	_, resp, body, err = none.dial("host="+hostAddr, alice)
	expectRefused(t, "no rules", resp, body, err, http.StatusForbidden, "not enabled")
}

func TestAdmissionRefusalsAreHTTPAnswers(t *testing.T) {
	f := basicFixture(t)
	alice := basicAuth("alice", "alice-secret")
	for _, tc := range []struct {
		err   error
		code  int
		retry string
	}{
		{gateway.ErrRateLimited, http.StatusTooManyRequests, "1"},
		{fmt.Errorf("%w: the gateway is full", gateway.ErrTooManySessions), http.StatusServiceUnavailable, "1"},
		{retryErr{gateway.ErrRateLimited, 2500 * time.Millisecond}, http.StatusTooManyRequests, "3"},
		{gateway.ErrShuttingDown, http.StatusServiceUnavailable, ""},
	} {
		var gotIP, gotUser string
		f.h.admit = func(ip, user string) (*gateway.Ticket, error) {
			gotIP, gotUser = ip, user
			return nil, tc.err
		}
		_, resp, body, err := f.dial("target=public", alice)
		expectRefused(t, tc.err.Error(), resp, body, err, tc.code, "")
		if resp != nil && resp.Header.Get("Retry-After") != tc.retry {
			t.Errorf("%v: Retry-After %q, want %q", tc.err, resp.Header.Get("Retry-After"), tc.retry)
		}
		if gotIP != "127.0.0.1" || gotUser != "alice" {
			t.Errorf("Admit(%q, %q), want (127.0.0.1, alice)", gotIP, gotUser)
		}
	}
}

type retryErr struct {
	err   error
	after time.Duration
}

func (e retryErr) Error() string             { return e.err.Error() }
func (e retryErr) Unwrap() error             { return e.err }
func (e retryErr) RetryAfter() time.Duration { return e.after }

func TestAdmissionLimitsOfTheGateway(t *testing.T) {
	f := newFixture(t, fixtureOpts{
		web: Options{Auth: Auth{Users: loadTestUsers(t)}},
		gateway: gateway.Options{Limits: gateway.Limits{MaxSessions: 1, ConnectRate: 1e-3, ConnectBurst: 3},
			Targets: []gateway.Target{{Name: "public", Address: newFixture(t, fixtureOpts{}).gw.Targets()[0].Address}}},
	})
	alice := basicAuth("alice", "alice-secret")
	ws := f.open("target=public", alice)                 // 1st attempt
	_, resp, body, err := f.dial("target=public", alice) // 2nd
	expectRefused(t, "second session", resp, body, err, http.StatusServiceUnavailable, "too many sessions")
	// /api/check tells the page why, as often as it asks, spending
	// nothing: the 3rd attempt below is still within the burst.
	for i := 0; i < 5; i++ {
		resp, body := f.get("/api/check?target=public", alice)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "too many sessions") {
			t.Fatalf("/api/check while full: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := f.get("/api/check?target=nope", alice); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "unknown target") {
		t.Errorf("/api/check of an unknown target: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.get("/api/check?target=public", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/api/check without credentials: %d, want 401", resp.StatusCode)
	}
	if resp, _ := f.get("/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while full: %d, want 503", resp.StatusCode)
	}
	_ = ws.Close()
	waitFor(t, "the session to end", func() bool { return f.gw.Active() == 0 })
	waitFor(t, "/readyz to be 200", func() bool { resp, _ := f.get("/readyz", nil); return resp.StatusCode == 200 })
	if resp, body := f.get("/api/check?target=public", alice); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Errorf("/api/check with a slot free: %d %s", resp.StatusCode, body)
	}

	// 3rd attempt: admitted, then the upgrade fails (no WebSocket
	// headers); its slot must come back.
	resp, _ = f.get("/ws?target=public", alice)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET /ws: %d, want 400 from the upgrader", resp.StatusCode)
	}
	if resp, _ := f.get("/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz after a failed upgrade: %d: its ticket was not released", resp.StatusCode)
	}
	// 4th attempt: over the connect rate.
	_, resp, body, err = f.dial("target=public", alice)
	expectRefused(t, "fourth attempt", resp, body, err, http.StatusTooManyRequests, "slow down")
	if ra := resp.Header.Get("Retry-After"); ra == "" {
		t.Error("429 without Retry-After")
	}
	resp, body = f.get("/api/check?target=public", alice)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "slow down") {
		t.Errorf("/api/check over the connect rate: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestReadyzAndMetrics(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t)}, Metrics: true}})
	if resp, _ := f.get("/metrics", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", resp.StatusCode)
	}
	if resp, body := f.get("/metrics", basicAuth("bob", "bob-secret")); resp.StatusCode != http.StatusOK || !strings.Contains(body, "telgate_") {
		t.Errorf("/metrics: %d %.200s", resp.StatusCode, body)
	}
	if resp, body := f.get("/readyz", nil); resp.StatusCode != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", resp.StatusCode, body)
	}
	m := NewMetricsHandler(f.gw)
	for path, code := range map[string]int{"/metrics": 200, "/healthz": 200, "/readyz": 200, "/": 404, "/api/targets": 404} {
		rec := newRecorder(m, path)
		if rec.Code != code {
			t.Errorf("metrics listener %s: %d, want %d", path, rec.Code, code)
		}
	}
	if err := f.gw.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if resp, body := f.get("/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz after shutdown: %d %q", resp.StatusCode, body)
	}
	if resp, _ := f.get("/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after shutdown: %d", resp.StatusCode)
	}
}

// waitFor polls cond until it holds, failing after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawUpgrade sends a WebSocket handshake by hand and returns the status
// line.
func rawUpgrade(t *testing.T, addr, path string, hdr http.Header) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for k, vs := range hdr {
		for _, v := range vs {
			req += k + ": " + v + "\r\n"
		}
	}
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}
