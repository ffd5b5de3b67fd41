package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"telgate/gateway"
	"telgate/telnet/telnettest"
)

const waitLimit = 5 * time.Second

// Test users, hashed at bcrypt's lowest cost to keep the tests fast.
var testUsers = []struct {
	name, password string
	groups         []string
}{
	{"alice", "alice-secret", []string{"netops"}},
	{"bob", "bob-secret", nil},
	{"carol", "carol-secret", []string{"ops", "netops"}},
}

var (
	usersOnce sync.Once
	usersYAML []byte
)

// testUsersFile returns a users file holding testUsers.
func testUsersFile(t testing.TB) []byte {
	t.Helper()
	usersOnce.Do(func() {
		var b strings.Builder
		b.WriteString("users:\n")
		for _, u := range testUsers {
			h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			fmt.Fprintf(&b, "  - name: %s\n    password: %q\n", u.name, h)
			if len(u.groups) > 0 {
				fmt.Fprintf(&b, "    groups: [%s]\n", strings.Join(u.groups, ", "))
			}
		}
		usersYAML = []byte(b.String())
	})
	return usersYAML
}

func loadTestUsers(t testing.TB) *Users {
	t.Helper()
	u, err := ParseUsers("users.yaml", testUsersFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a handler on a loopback port with a scripted telnet host
// behind three targets: "lab" (group netops), "core" (user alice) and
// "public" (anyone).
type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	gw       *gateway.Gateway
	h        *handler
	logs     *syncBuffer
	compares atomic.Int64 // bcrypt comparisons made
}

type fixtureOpts struct {
	web     Options
	gateway gateway.Options
	tls     bool
	host    func(c *telnettest.Conn) // the telnet host's script
}

func newFixture(t *testing.T, fo fixtureOpts) *fixture {
	t.Helper()
	script := fo.host
	if script == nil {
		script = func(c *telnettest.Conn) {
			c.SendString("hello\r\n")
			_, _ = io.Copy(io.Discard, c.NetConn())
		}
	}
	host := telnettest.NewServer(t, script)
	gopts := fo.gateway
	if gopts.Targets == nil {
		gopts.Targets = []gateway.Target{
			{Name: "lab", Address: host.Addr(), Description: "Lab", AllowGroups: []string{"netops"}},
			{Name: "core", Address: host.Addr(), Description: "Core", AllowUsers: []string{"alice"}},
			{Name: "public", Address: host.Addr(), Description: "Public"},
		}
	}
	f := &fixture{t: t, logs: &syncBuffer{}}
	log := zerolog.New(f.logs).Level(zerolog.DebugLevel)
	gopts.Log = log
	gw, err := gateway.New(gopts)
	if err != nil {
		t.Fatal(err)
	}
	opts := fo.web
	opts.Gateway, opts.Log = gw, log
	h := newHandler(opts)
	compare := h.auth.compare
	h.auth.compare = func(hash, pw []byte) error {
		f.compares.Add(1)
		return compare(hash, pw)
	}
	switch {
	case opts.Auth.ClientCerts != nil:
		// As telgate's listener asks: for a certificate, unverified.
		f.srv = httptest.NewUnstartedServer(h.root)
		f.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, ClientCAs: opts.Auth.ClientCerts.Pool()}
		f.srv.StartTLS()
	case fo.tls:
		f.srv = httptest.NewTLSServer(h.root)
	default:
		f.srv = httptest.NewServer(h.root)
	}
	f.gw, f.h = gw, h
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		f.srv.Close()
		if t.Failed() {
			t.Logf("log:\n%s", f.logs.String())
		}
	})
	return f
}

func basicAuth(user, password string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return http.Header{"Authorization": r.Header["Authorization"]}
}

func (f *fixture) client() *http.Client {
	return f.srv.Client()
}

// presenting makes the fixture's client, and its WebSockets, present
// cert in TLS handshakes from now on, or none. It is sent even when the
// server names other authorities, which browsers and Go's own choice
// would not do.
func (f *fixture) presenting(cert ...tls.Certificate) {
	tr := f.srv.Client().Transport.(*http.Transport)
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if len(cert) == 0 {
			return &tls.Certificate{}, nil
		}
		return &cert[0], nil
	}
	tr.CloseIdleConnections()
}

// get fetches path with the given headers (a Host header becomes the
// request's Host, as the WebSocket dialer takes it) and returns the
// response with its body read.
func (f *fixture) get(path string, hdr http.Header) (*http.Response, string) {
	f.t.Helper()
	return f.do("GET", path, hdr)
}

// do is get for any method.
func (f *fixture) do(method, path string, hdr http.Header) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if host := hdr.Get("Host"); host != "" {
		req.Host = host
	}
	resp, err := f.client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// targets returns the names /api/targets lists and its adhoc flag.
func (f *fixture) targets(hdr http.Header) ([]string, bool) {
	f.t.Helper()
	resp, body := f.get("/api/targets", hdr)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("/api/targets: %d %s", resp.StatusCode, body)
	}
	var list struct {
		Targets []struct{ Name string } `json:"targets"`
		Adhoc   bool                    `json:"adhoc"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		f.t.Fatalf("/api/targets: %v: %s", err, body)
	}
	var names []string
	for _, t := range list.Targets {
		names = append(names, t.Name)
	}
	return names, list.Adhoc
}

func (f *fixture) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + f.h.base + "ws?" + query
}

// dial opens a WebSocket; on a refusal it returns the response with its
// body.
func (f *fixture) dial(query string, hdr http.Header) (*websocket.Conn, *http.Response, string, error) {
	f.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitLimit}
	if f.srv.TLS != nil {
		d.TLSClientConfig = f.srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	ws, resp, err := d.Dial(f.wsURL(query), hdr)
	body := ""
	if resp != nil && resp.Body != nil {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	if ws != nil {
		f.t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, resp, body, err
}

// open dials and expects the session to connect.
func (f *fixture) open(query string, hdr http.Header) *websocket.Conn {
	f.t.Helper()
	ws, resp, body, err := f.dial(query, hdr)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		f.t.Fatalf("dial %s: %v (HTTP %d %s)", query, err, code, body)
	}
	expectConnected(f.t, ws)
	return ws
}

// expectConnected reads until the gateway's "connected" status.
func expectConnected(t testing.TB, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for connected: %v", err)
		}
		if typ == websocket.TextMessage {
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			if m["type"] == "connected" {
				_ = ws.SetReadDeadline(time.Time{})
				return
			}
			t.Fatalf("status %s before connected", data)
		}
	}
}

// expectRefused checks that a WebSocket dial was refused with code and a
// JSON error holding want.
func expectRefused(t testing.TB, what string, resp *http.Response, body string, err error, code int, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: upgraded, want HTTP %d", what, code)
		return
	}
	if resp == nil || resp.StatusCode != code {
		got := 0
		if resp != nil {
			got = resp.StatusCode
		}
		t.Errorf("%s: HTTP %d %s, want %d", what, got, body, code)
		return
	}
	var m map[string]string
	if jerr := json.Unmarshal([]byte(body), &m); jerr != nil || !strings.Contains(m["error"], want) {
		t.Errorf("%s: body %q, want a JSON error containing %q", what, body, want)
	}
}

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := gateway.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func sortedEqual(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		if seen[w]--; seen[w] < 0 {
			return false
		}
	}
	return true
}
