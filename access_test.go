package main

// Whole-program tests of access control: run() with its flags and
// configuration, in process, for authentication, TLS, origins, headers and
// the refusal to serve other machines without authentication.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"telgate/telnet/telnettest"
)

const accessWait = 10 * time.Second

// accessBuffer is a buffer safe for concurrent use that signals each
// line written.
type accessBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newAccessBuffer() *accessBuffer { return &accessBuffer{lines: make(chan string, 256)} }

func (b *accessBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := b.buf.Len()
	b.buf.Write(p)
	for _, line := range strings.SplitAfter(b.buf.String()[start:], "\n") {
		if strings.HasSuffix(line, "\n") {
			select {
			case b.lines <- strings.TrimSpace(line):
			default:
			}
		}
	}
	return len(p), nil
}

func (b *accessBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// accessRun is run() going on in this process.
type accessRun struct {
	URL    string // http(s)://127.0.0.1:port
	stdout *accessBuffer
	stderr *accessBuffer
	cancel context.CancelFunc
	done   chan int
}

var accessServing = regexp.MustCompile(`^telgate: serving \d+ target\(s\) at (https?://\S+)/$`)

// runAccess calls run with args in the background and returns once it
// serves. It fails the test when run exits first. At the end of the test
// run is stopped as by SIGTERM and must exit 0.
func runAccess(t *testing.T, args ...string) *accessRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &accessRun{stdout: newAccessBuffer(), stderr: newAccessBuffer(), cancel: cancel, done: make(chan int, 1)}
	go func() { p.done <- runContext(ctx, args, strings.NewReader(""), p.stdout, p.stderr) }()
	deadline := time.After(accessWait)
	for p.URL == "" {
		select {
		case line := <-p.stdout.lines:
			if m := accessServing.FindStringSubmatch(line); m != nil {
				p.URL = m[1]
			}
		case code := <-p.done:
			cancel()
			t.Fatalf("run %q exited with %d before serving:\n%s", args, code, p.stderr.String())
		case <-deadline:
			cancel()
			t.Fatalf("run %q did not serve within %v:\n%s", args, accessWait, p.stderr.String())
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-p.done:
			if code != 0 {
				t.Errorf("run %q exited with %d, want 0", args, code)
			}
		case <-time.After(accessWait):
			t.Errorf("run %q did not stop", args)
		}
		if t.Failed() {
			t.Logf("log:\n%s", p.stderr.String())
		}
	})
	return p
}

// runAccessExit calls run with args and returns its exit status and
// standard error; it must not serve.
func runAccessExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), accessWait)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := runContext(ctx, args, strings.NewReader(""), &stdout, &stderr)
	if strings.Contains(stdout.String(), "serving") {
		t.Errorf("run %q served: %s", args, stdout.String())
	}
	return code, stderr.String()
}

// accessFiles writes files into a new directory and returns its path.
func accessFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// accessUsers is a users file: alice (netops) and bob, at bcrypt's lowest
// cost.
func accessUsers(t *testing.T) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	return fmt.Sprintf("users:\n  - name: alice\n    password: %q\n    groups: [netops]\n  - name: bob\n    password: %q\n",
		hash("alice-pw"), hash("bob-pw"))
}

// accessCert makes a self-signed certificate for 127.0.0.1 and localhost
// and returns its PEM files' contents and a pool trusting it.
func accessCert(t *testing.T) (certPEM, keyPEM string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "telgate test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), pool
}

// clientPKI is a certificate authority for client certificates with a
// certificate it signed for each of its subjects, as PEM files'
// contents.
type clientPKI struct {
	caPEM           string
	certPEM, keyPEM []string // the subjects', in order
	ca              *x509.Certificate
	caKey           *ecdsa.PrivateKey
	serials         []*big.Int
}

func accessClientCerts(t *testing.T, subjects ...pkix.Name) *clientPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "telgate test clients"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pki := &clientPKI{caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), ca: ca, caKey: caKey}
	for i, subject := range subjects {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial := big.NewInt(int64(i + 2))
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: serial, Subject: subject,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		pki.certPEM = append(pki.certPEM, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
		pki.keyPEM = append(pki.keyPEM, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
		pki.serials = append(pki.serials, serial)
	}
	return pki
}

// tlsConfig trusts serverCAs and presents subject i's certificate, or
// none for -1.
func (pki *clientPKI) tlsConfig(t *testing.T, serverCAs *x509.CertPool, i int) *tls.Config {
	t.Helper()
	conf := &tls.Config{RootCAs: serverCAs}
	if i >= 0 {
		cert, err := tls.X509KeyPair([]byte(pki.certPEM[i]), []byte(pki.keyPEM[i]))
		if err != nil {
			t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf
}

// revocationList is the authority's list revoking the certificates of
// the subjects numbered, due to be replaced at next, as a PEM file's
// contents.
func (pki *clientPKI) revocationList(t *testing.T, number int64, next time.Time, subjects ...int) string {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, i := range subjects {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: pki.serials[i], RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(number), ThisUpdate: next.Add(-time.Hour), NextUpdate: next,
		RevokedCertificateEntries: entries,
	}, pki.ca, pki.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// accessHost is a telnet host that greets and then reads until closed.
func accessHost(t *testing.T) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hello\r\n")
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
}

// accessGet fetches url with an optional Basic login.
func accessGet(t *testing.T, client *http.Client, url, user, password string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// accessDial opens a WebSocket and waits for "connected", or returns the
// HTTP status of the refusal.
func accessDial(t *testing.T, d *websocket.Dialer, url string, hdr http.Header) (*websocket.Conn, int) {
	t.Helper()
	ws, resp, err := d.Dial(url, hdr)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(accessWait))
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("dial %s: no connected status: %v", url, err)
		}
		if typ == websocket.TextMessage {
			var m map[string]any
			_ = json.Unmarshal(data, &m)
			if m["type"] != "connected" {
				t.Fatalf("dial %s: status %s", url, data)
			}
			return ws, http.StatusSwitchingProtocols
		}
	}
}

func basicHeader(user, password string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header
}

// -log-level takes the four levels its help names and nothing else
// zerolog would: "disabled" or a number would silence the warnings.
func TestRunRefusesOtherLogLevels(t *testing.T) {
	for _, level := range []string{"disabled", "panic", "fatal", "trace", "7", "-1", "", "DISABLED"} {
		code, stderr := runAccessExit(t, "-log-level", level, "-listen", "127.0.0.1:0")
		if code != 2 || !strings.Contains(stderr, "-log-level: unknown level") {
			t.Errorf("-log-level %q: exit %d, %q; want 2 and the level refused", level, code, stderr)
		}
	}
}

// -base-path wins over the configuration's, and a bad one is refused
// before anything is served.
func TestRunBasePath(t *testing.T) {
	host := accessHost(t)
	dir := accessFiles(t, map[string]string{
		"based.yaml": fmt.Sprintf("http: {base_path: /from-config}\ntargets:\n  - name: lab\n    address: %s\n", host.Addr()),
	})
	cfg := filepath.Join(dir, "based.yaml")
	if p := runAccess(t, "-listen", "127.0.0.1:0", "-config", cfg); !strings.HasSuffix(p.URL, "/from-config") {
		t.Errorf("http.base_path /from-config: serving at %s", p.URL)
	}
	p := runAccess(t, "-listen", "127.0.0.1:0", "-config", cfg, "-base-path", "from-flag")
	if !strings.HasSuffix(p.URL, "/from-flag") {
		t.Errorf("-base-path from-flag over the config's: serving at %s", p.URL)
	}
	if resp, _ := accessGet(t, http.DefaultClient, p.URL+"/api/targets", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s/api/targets: %d", p.URL, resp.StatusCode)
	}
	code, stderr := runAccessExit(t, "-listen", "127.0.0.1:0", "-base-path", "/a/../b")
	if code != 2 || !strings.Contains(stderr, `-base-path: "/a/../b" has a ".." segment`) {
		t.Errorf("-base-path /a/../b: exit %d, %q; want 2 and why", code, stderr)
	}
}

func TestRunRefusesNonLoopbackWithoutAuthentication(t *testing.T) {
	host := accessHost(t)
	dir := accessFiles(t, map[string]string{
		"open.yaml": fmt.Sprintf("listen: 0.0.0.0:0\ntargets:\n  - name: lab\n    address: %s\n", host.Addr()),
	})
	for _, args := range [][]string{
		{"-listen", "0.0.0.0:0"},
		{"-listen", "[::]:0", "-target", host.Addr()},
		{"-listen", ":0"},
		{"-config", filepath.Join(dir, "open.yaml")},
	} {
		code, stderr := runAccessExit(t, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr, "refusing to serve") || !strings.Contains(stderr, "without authentication") ||
			!strings.Contains(stderr, "-insecure-no-auth") {
			t.Errorf("%q: message %q", args, stderr)
		}
	}
}

func TestRunInsecureNoAuthServesAndWarns(t *testing.T) {
	p := runAccess(t, "-listen", "0.0.0.0:0", "-insecure-no-auth", "-log-format", "json")
	port := p.URL[strings.LastIndex(p.URL, ":")+1:]
	resp, _ := accessGet(t, http.DefaultClient, "http://127.0.0.1:"+port+"/api/targets", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/api/targets: %d", resp.StatusCode)
	}
	var warned bool
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "warn" &&
			strings.Contains(fmt.Sprint(m["message"]), "authentication is off") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning that authentication is off:\n%s", p.stderr.String())
	}
}

func TestRunDefaultsStayOpenOnLoopback(t *testing.T) {
	p := runAccess(t, "-listen", "127.0.0.1:0", "-log-format", "json")
	for _, path := range []string{"/", "/api/targets", "/readyz", "/metrics"} {
		if resp, _ := accessGet(t, http.DefaultClient, p.URL+path, "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("%s without authentication: %d, want 200", path, resp.StatusCode)
		}
	}
	d := &websocket.Dialer{HandshakeTimeout: accessWait}
	accessDial(t, d, "ws"+strings.TrimPrefix(p.URL, "http")+"/ws?target=demo", nil)
	if strings.Contains(p.stderr.String(), `"level":"warn"`) {
		t.Errorf("warnings with the defaults:\n%s", p.stderr.String())
	}
}

func TestRunHardenedConfiguration(t *testing.T) {
	host := accessHost(t)
	certPEM, keyPEM, pool := accessCert(t)
	dir := accessFiles(t, map[string]string{
		"users.yaml": accessUsers(t),
		"cert.pem":   certPEM,
		"key.pem":    keyPEM,
		"telgate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
tls: {cert: cert.pem, key: key.pem}
auth:
  users_file: users.yaml
http:
  allowed_origins: [https://portal.example.com]
  frame_ancestors: [https://portal.example.com]
targets:
  - name: lab
    address: %[1]s
    allow_groups: [netops]
  - name: public
    address: %[1]s
`, host.Addr()),
	})
	// Relative paths are the configuration file's, wherever telgate runs.
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-listen", "127.0.0.1:0", "-log-format", "json")
	if !strings.HasPrefix(p.URL, "https://") {
		t.Fatalf("serving %s, want https", p.URL)
	}
	tlsConf := &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}}

	resp, _ := accessGet(t, client, p.URL+"/", "", "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("/ without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := accessGet(t, client, p.URL+"/", "alice", "alice-pw")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("/ as alice: %d", resp.StatusCode)
	}
	if resp.Proto != "HTTP/1.1" || resp.TLS.NegotiatedProtocol != "http/1.1" {
		t.Errorf("protocol %s, ALPN %q: want HTTP/1.1 only", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	if resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x", resp.TLS.Version)
	}
	for k, want := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000",
		"X-Frame-Options":           "",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors https://portal.example.com") {
		t.Errorf("CSP %q", csp)
	}
	resp, body = accessGet(t, client, p.URL+"/api/targets", "bob", "bob-pw")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `"lab"`) {
		t.Errorf("bob's targets: %d %s", resp.StatusCode, body)
	}

	// WebSockets over TLS: the page's own origin, an allowed origin, a
	// foreign one, an unauthorized target.
	d := &websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: accessWait}
	wss := "wss" + strings.TrimPrefix(p.URL, "https") + "/ws?"
	alice := basicHeader("alice", "alice-pw")
	for _, tc := range []struct {
		query, user, origin string
		want                int
	}{
		{"target=lab", "alice", p.URL, http.StatusSwitchingProtocols},
		{"target=lab", "alice", "https://portal.example.com", http.StatusSwitchingProtocols},
		{"target=lab", "alice", "https://evil.example", http.StatusForbidden},
		{"target=lab", "alice", "http" + strings.TrimPrefix(p.URL, "https"), http.StatusForbidden},
		{"target=lab", "bob", p.URL, http.StatusForbidden},
		{"target=public", "bob", p.URL, http.StatusSwitchingProtocols},
		{"target=public", "", p.URL, http.StatusUnauthorized},
	} {
		hdr := http.Header{"Origin": {tc.origin}}
		switch tc.user {
		case "alice":
			hdr["Authorization"] = alice["Authorization"]
		case "bob":
			hdr["Authorization"] = basicHeader("bob", "bob-pw")["Authorization"]
		}
		if _, code := accessDial(t, d, wss+tc.query, hdr); code != tc.want {
			t.Errorf("%s as %q from %s: %d, want %d", tc.query, tc.user, tc.origin, code, tc.want)
		}
	}

	// TLS below 1.2 is refused.
	old := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}
	addr := strings.TrimSuffix(strings.TrimPrefix(p.URL, "https://"), "/")
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// Plain HTTP to the TLS port gets no page.
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served the page on the TLS port")
		}
	}
}

// Client certificates authenticate on their own, so telgate serves other
// machines with nothing else; a browser without one reaches the probes
// and is told what is missing.
func TestRunClientCertificates(t *testing.T) {
	host := accessHost(t)
	certPEM, keyPEM, pool := accessCert(t)
	pki := accessClientCerts(t, pkix.Name{CommonName: "alice", Organization: []string{"netops"}}, pkix.Name{CommonName: "bob"})
	dir := accessFiles(t, map[string]string{
		"cert.pem": certPEM, "key.pem": keyPEM, "clients-ca.pem": pki.caPEM,
		"telgate.yaml": "listen: 0.0.0.0:0\ntls: {cert: cert.pem, key: key.pem}\nauth: {client_ca: clients-ca.pem}\n" +
			labTargets(host.Addr()),
	})
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-log-format", "json", "-log-level", "debug")
	port := p.URL[strings.LastIndex(p.URL, ":")+1:]
	base := "https://127.0.0.1:" + port
	as := func(i int) *tls.Config { return pki.tlsConfig(t, pool, i) }
	get := func(conf *tls.Config, path string) (int, string) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
		defer client.CloseIdleConnections()
		resp, body := accessGet(t, client, base+path, "", "")
		return resp.StatusCode, body
	}
	if code, body := get(as(0), "/api/targets"); code != http.StatusOK || !strings.Contains(body, `"lab"`) {
		t.Errorf("alice's targets: %d %s", code, body)
	}
	if code, body := get(as(1), "/api/targets"); code != http.StatusOK || strings.Contains(body, `"lab"`) {
		t.Errorf("bob's targets: %d %s", code, body)
	}
	if code, body := get(as(-1), "/api/targets"); code != http.StatusForbidden || !strings.Contains(body, "client certificate") {
		t.Errorf("no certificate: %d %s, want 403 saying a client certificate is needed", code, body)
	}
	if code, _ := get(as(-1), "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz without a certificate: %d", code)
	}
	wss := "wss://127.0.0.1:" + port + "/ws?target=lab"
	origin := http.Header{"Origin": {base}}
	if _, code := accessDial(t, &websocket.Dialer{TLSClientConfig: as(0)}, wss, origin); code != http.StatusSwitchingProtocols {
		t.Errorf("alice opening lab: %d", code)
	}
	if _, code := accessDial(t, &websocket.Dialer{TLSClientConfig: as(1)}, wss, origin); code != http.StatusForbidden {
		t.Errorf("bob opening lab: %d, want 403", code)
	}
	if !regexp.MustCompile(`"user":"alice",.*"message":"session start"`).MatchString(p.stderr.String()) {
		t.Error("alice's session is not logged as hers")
	}
	// The browser is told which authorities to choose a certificate of.
	asked := false
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool,
		GetClientCertificate: func(req *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			var names []string
			for _, raw := range req.AcceptableCAs {
				var name pkix.RDNSequence
				if _, err := asn1.Unmarshal(raw, &name); err == nil {
					var n pkix.Name
					n.FillFromRDNSequence(&name)
					names = append(names, n.CommonName)
				}
			}
			if fmt.Sprint(names) != "[telgate test clients]" {
				t.Errorf("the handshake names the authorities %q, want the clients' CA", names)
			}
			return &tls.Certificate{}, nil
		}})
	if err != nil {
		t.Fatalf("a handshake without a certificate: %v", err)
	}
	conn.Close()
	if !asked {
		t.Error("the handshake asked for no client certificate")
	}
}

// A UNIX socket, for a reverse proxy on the same machine: served like
// loopback (no authentication needed), its peers counted as 127.0.0.1, a
// socket left behind replaced, one in use or a file in the way refused,
// the socket removed at exit.
func TestRunUnixSocket(t *testing.T) {
	host := accessHost(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "telgate.sock")
	if l, err := net.Listen("unix", sock); err != nil {
		t.Fatal(err)
	} else {
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close() // a socket file whose process is gone
	}
	// The path relative to the configuration file.
	cfg := filepath.Join(dir, "telgate.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("listen: unix:telgate.sock\ntargets:\n  - {name: lab, address: %q}\n", host.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newAccessBuffer(), newAccessBuffer()
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"-config", cfg, "-log-format", "json"}, strings.NewReader(""), stdout, stderr)
	}()
	select {
	case line := <-stdout.lines:
		if want := "telgate: serving 1 target(s) at unix:" + sock + " (http, /)"; line != want {
			t.Fatalf("%q, want %q", line, want)
		}
	case code := <-done:
		t.Fatalf("exited with %d: %s", code, stderr.String())
	case <-time.After(accessWait):
		t.Fatal("not serving")
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("the socket: %v, %v; want a socket of mode 0660", fi, err)
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	if resp, body := accessGet(t, client, "http://localhost/api/targets", "", ""); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"lab"`) {
		t.Errorf("/api/targets over the socket: %d %s", resp.StatusCode, body)
	}
	d := &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: accessWait}
	accessDial(t, d, "ws://localhost/ws?target=lab", nil)
	if !regexp.MustCompile(`"remote":"127\.0\.0\.1:0".*"message":"session start"`).MatchString(stderr.String()) {
		t.Errorf("the session's peer is not 127.0.0.1:\n%s", stderr.String())
	}

	// A second telgate on the same path, a socket another program
	// serves, a file in the way, no path, an abstract name.
	other := filepath.Join(dir, "other.sock")
	if l, err := net.Listen("unix", other); err != nil {
		t.Fatal(err)
	} else {
		defer l.Close()
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ listen, want string }{
		{"unix:" + sock, "a telgate serves it already"},
		{"unix:" + other, "another process is listening on it"},
		{"unix:" + file, "not a socket"},
		{"unix:", "no socket path"},
		{"unix:@telgate", "abstract sockets are not supported"},
	} {
		code, msg := runAccessExit(t, "-listen", tc.listen, "-target", host.Addr())
		if code != 1 || !strings.Contains(msg, tc.want) {
			t.Errorf("-listen %s: exit %d, %q; want 1 and %q", tc.listen, code, msg, tc.want)
		}
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Errorf("the file in the way holds %q", data)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the other program's socket: %v", err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(accessWait):
		t.Fatal("did not stop")
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket after exit: %v, want it removed", err)
	}
}

func TestRunTLSFlagsWinOverTheConfiguration(t *testing.T) {
	host := accessHost(t)
	certPEM, keyPEM, pool := accessCert(t)
	dir := accessFiles(t, map[string]string{
		"cert.pem": certPEM, "key.pem": keyPEM,
		"telgate.yaml": fmt.Sprintf("tls: {cert: missing.pem, key: missing-key.pem}\ntargets:\n  - name: lab\n    address: %s\n", host.Addr()),
	})
	cfg := filepath.Join(dir, "telgate.yaml")
	code, stderr := runAccessExit(t, "-config", cfg, "-listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "tls:") || !strings.Contains(stderr, "missing.pem") {
		t.Errorf("missing certificate: exit %d, %q", code, stderr)
	}
	p := runAccess(t, "-config", cfg, "-listen", "127.0.0.1:0",
		"-tls-cert", filepath.Join(dir, "cert.pem"), "-tls-key", filepath.Join(dir, "key.pem"))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, _ := accessGet(t, client, p.URL+"/healthz", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz over TLS: %d", resp.StatusCode)
	}
	code, stderr = runAccessExit(t, "-tls-cert", filepath.Join(dir, "cert.pem"))
	if code != 2 || !strings.Contains(stderr, "-tls-cert and -tls-key go together") {
		t.Errorf("-tls-cert alone: exit %d, %q", code, stderr)
	}
}

func TestRunRefusesBadSecuritySettings(t *testing.T) {
	host := accessHost(t)
	certPEM, keyPEM, _ := accessCert(t)
	target := fmt.Sprintf("targets:\n  - name: lab\n    address: %s\n", host.Addr())
	dir := accessFiles(t, map[string]string{
		"bad-users.yaml": "users:\n  - name: alice\n    password: hunter2\n",
		"users.yaml":     accessUsers(t),
		"a.yaml":         "auth: {users_file: bad-users.yaml}\n" + target,
		"b.yaml":         "auth: {users_file: nowhere.yaml}\n" + target,
		"c.yaml":         target + "    allow_users: [alice]\n",
		"d.yaml":         "adhoc:\n  - hosts: [192.0.2.0/24]\n    allow_groups: [netops]\n" + target,
		"e.yaml":         "auth: {operator_groups: [netops]}\n" + target,
		"f.yaml":         "auth: {client_ca: ca.pem}\n" + target,
		"g.yaml":         "tls: {cert: cert.pem, key: key.pem}\nauth: {client_ca: nowhere.pem}\n" + target,
		"h.yaml":         "tls: {cert: cert.pem, key: key.pem}\nauth: {client_ca: users.yaml}\n" + target,
		"i.yaml":         "tls: {cert: cert.pem, key: key.pem}\nauth: {client_ca: broken.pem}\n" + target,
		"j.yaml":         target + "    power: {url: \"http://pdu.test/x\", allow_groups: [labadmin]}\n",
		"k.yaml":         target + "    login: {user: \"{user}\"}\n",
		"cert.pem":       certPEM,
		"key.pem":        keyPEM,
		"broken.pem":     "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	})
	for file, want := range map[string]string{
		"a.yaml": "bad-users.yaml:3: user \"alice\": password is not a bcrypt hash",
		"b.yaml": "nowhere.yaml",
		"c.yaml": "target \"lab\" has allow_users or allow_groups, but no authentication is configured",
		"d.yaml": "adhoc[0] has allow_users or allow_groups, but no authentication is configured",
		"e.yaml": "auth has operator_users or operator_groups, but no authentication is configured",
		"f.yaml": "auth: client_ca needs telgate's own TLS",
		"g.yaml": "auth: client_ca: open " + filepath.Join(dir, "nowhere.pem"),
		"h.yaml": "users.yaml: no PEM certificate in it",
		"i.yaml": "broken.pem: certificate 1: x509: malformed certificate",
		"j.yaml": "target \"lab\": power has allow_users or allow_groups, but no authentication is configured",
		"k.yaml": "target \"lab\": login's user names {user}, but no authentication is configured",
	} {
		for _, check := range []bool{false, true} {
			args := []string{"-config", filepath.Join(dir, file), "-listen", "127.0.0.1:0"}
			if check {
				args = append(args, "-check-config")
			}
			code, stderr := runAccessExit(t, args...)
			if code != 2 || !strings.Contains(stderr, want) {
				t.Errorf("%q: exit %d, %q; want 2 and %q", args, code, stderr, want)
			}
		}
	}
}

// -check-config checks a configuration as a start would, without
// listening: a good one is reported on stdout (its address may be in
// use), one that would not start is refused with the start's reason.
func TestRunCheckConfig(t *testing.T) {
	host := accessHost(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	target := fmt.Sprintf("targets:\n  - name: lab\n    address: %s\n", host.Addr())
	dir := accessFiles(t, map[string]string{
		"good.yaml":     fmt.Sprintf("listen: %s\n", busy.Addr()) + target + "adhoc:\n  - hosts: [192.0.2.0/24]\n",
		"recorded.yaml": target + "    record: true\n",
		"open.yaml":     "listen: 0.0.0.0:8080\n" + target,
		"login.yaml":    target + "    login: {user: ops, password_file: nowhere.pass}\n",
	})
	var stdout, stderr bytes.Buffer
	good := filepath.Join(dir, "good.yaml")
	if code := runContext(context.Background(), []string{"-check-config", "-config", good}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("a good configuration: exit %d: %s", code, stderr.String())
	}
	if want := fmt.Sprintf("telgate: %s: ok: 1 target(s), 1 ad-hoc rule(s), on %s\n", good, busy.Addr()); stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	for file, want := range map[string]string{
		"recorded.yaml": "recording: a target has record: true but recording has no dir",
		"open.yaml":     "refusing to serve 0.0.0.0:8080 without authentication",
		"login.yaml":    `target "lab": login: password_file: open ` + filepath.Join(dir, "nowhere.pass"),
	} {
		code, stderr := runAccessExit(t, "-check-config", "-config", filepath.Join(dir, file))
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, %q; want 2 and %q", file, code, stderr, want)
		}
	}
	if code, stderr := runAccessExit(t, "-check-config"); code != 2 || !strings.Contains(stderr, "-check-config checks a -config file") {
		t.Errorf("without -config: exit %d, %q", code, stderr)
	}
}

func TestRunMetricsListener(t *testing.T) {
	host := accessHost(t)
	dir := accessFiles(t, map[string]string{
		"users.yaml":   accessUsers(t),
		"telgate.yaml": fmt.Sprintf("auth: {users_file: users.yaml}\ntargets:\n  - name: lab\n    address: %s\n", host.Addr()),
	})
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-listen", "127.0.0.1:0",
		"-metrics-listen", "127.0.0.1:0", "-log-format", "json")
	var metricsURL string
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["message"] == "serving metrics" {
			metricsURL, _ = m["url"].(string)
		}
	}
	if metricsURL == "" {
		t.Fatalf("no metrics URL logged:\n%s", p.stderr.String())
	}
	if resp, body := accessGet(t, http.DefaultClient, metricsURL, "", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "telgate_") {
		t.Errorf("metrics listener: %d", resp.StatusCode)
	}
	if resp, _ := accessGet(t, http.DefaultClient, p.URL+"/metrics", "alice", "alice-pw"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with -metrics-listen: %d, want 404", resp.StatusCode)
	}
	if resp, _ := accessGet(t, http.DefaultClient, p.URL+"/readyz", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz on the main listener: %d", resp.StatusCode)
	}
}

func TestHashPasswordFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-hash-password"}, strings.NewReader("correct horse\r\nignored\n"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	hash := strings.TrimSpace(stdout.String())
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 12 {
		t.Fatalf("hash %q: cost %d, %v", hash, cost, err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Errorf("the hash does not match the password: %v", err)
	}
	for _, in := range []string{"", "\n", strings.Repeat("x", 73) + "\n"} {
		stdout.Reset()
		stderr.Reset()
		if code := run([]string{"-hash-password"}, strings.NewReader(in), &stdout, &stderr); code != 2 || stdout.Len() != 0 {
			t.Errorf("%d-byte input: exit %d, output %q", len(in), code, stdout.String())
		}
	}
}

// TestBrowserRecordings: an operator plays back a recorded session in
// Chromium, from the Recordings link, seeks in it and downloads it.
func TestBrowserRecordings(t *testing.T) {
	node := browserTools(t)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("first line\r\n")
		c.ExpectData("x")
		c.SendString("second line\r\n")
	})
	dir := accessFiles(t, map[string]string{
		"users.yaml": accessUsers(t),
		"telgate.yaml": fmt.Sprintf(`auth: {users_file: users.yaml, operator_users: [alice]}
recording: {dir: recordings}
targets:
  - name: lab
    address: %s
    record: true
`, host.Addr()),
	})
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-listen", "127.0.0.1:0", "-log-format", "json")
	result := runScenario(t, node, "access.mjs", "recordings", "TELGATE_URL="+p.URL+"/",
		"TELGATE_USER=alice", "TELGATE_PASSWORD=alice-pw", "TELGATE_TARGET=lab",
		"TELGATE_SCREENSHOTS="+screenshotDir(t))
	if result["listed"] != float64(1) {
		t.Errorf("the list showed %v recordings, want 1", result["listed"])
	}
	if !regexp.MustCompile(`"user":"alice","remote":"[^"]+","recording":"lab-[^"]+\.cast","download":true,.*"message":"recording opened"`).MatchString(p.stderr.String()) {
		t.Error("no log line of alice downloading the recording")
	}
}

// TestBrowserBasicAuthChallenge: Chromium meets the page's 401 challenge,
// answers it as a person does in the login dialog, and the credentials
// then also carry /api/targets, the same-origin WebSocket upgrade and
// the session list, where the user ends the session.
// labHost is a telnet host that greets "greetings from the lab".
func labHost(t *testing.T) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("greetings from the lab\r\n")
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
}

// labTargets are three targets at addr: lab for netops, core for bob,
// public for everyone.
func labTargets(addr string) string {
	return fmt.Sprintf(`targets:
  - name: lab
    address: %[1]s
    allow_groups: [netops]
  - name: core
    address: %[1]s
    allow_users: [bob]
  - name: public
    address: %[1]s
`, addr)
}

func TestBrowserBasicAuthChallenge(t *testing.T) {
	node := browserTools(t)
	host := labHost(t)
	dir := accessFiles(t, map[string]string{
		"users.yaml":   accessUsers(t),
		"telgate.yaml": "auth: {users_file: users.yaml}\n" + labTargets(host.Addr()),
	})
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-listen", "127.0.0.1:0",
		"-log-format", "json", "-log-level", "debug")

	result := runScenario(t, node, "access.mjs", "login", "TELGATE_URL="+p.URL+"/",
		"TELGATE_USER=alice", "TELGATE_PASSWORD=alice-pw", "TELGATE_TARGET=lab",
		"TELGATE_GREETING=greetings from the lab")
	if got := fmt.Sprint(result["targets"]); got != "[lab public]" {
		t.Errorf("alice's picker lists %s, want [lab public]", got)
	}
	if result["listed"] != float64(1) {
		t.Errorf("the session list showed %v sessions, want alice's one", result["listed"])
	}
	if !regexp.MustCompile(`"user":"alice","by":"alice",.*"message":"session ended from the session list"`).MatchString(p.stderr.String()) {
		t.Error("no log line of alice ending her session from the list")
	}
	if !strings.Contains(p.stderr.String(), `"path":"/","reason":"no credentials"`) {
		t.Error("the browser was not challenged for the page first")
	}
	// How the upgrade got its credentials: sent with it (from the
	// browser's cache) or after a challenge of its own.
	wsChallenged := strings.Contains(p.stderr.String(), `"path":"/ws","reason":"no credentials"`)
	t.Logf("the WebSocket upgrade was challenged first: %v", wsChallenged)
	if strings.Contains(p.stderr.String(), "alice-pw") {
		t.Error("the password is in the log")
	}

	result = runScenario(t, node, "access.mjs", "anonymous", "TELGATE_URL="+p.URL+"/")
	if result["ws"] == "open" || result["page"] != float64(401) {
		t.Errorf("without credentials: %v", result)
	}
	if !strings.Contains(p.stderr.String(), `"path":"/ws","reason":"no credentials"`) {
		t.Error("the anonymous WebSocket upgrade was not refused with 401")
	}
}

// A browser presenting a client certificate logs in with it; one
// without is told what is missing. Playwright presents the certificate
// from its own TLS proxy between the browser and telgate, as Chromium
// cannot be given one headless without a system certificate store.
func TestBrowserClientCertificate(t *testing.T) {
	node := browserTools(t)
	host := labHost(t)
	certPEM, keyPEM, _ := accessCert(t)
	pki := accessClientCerts(t, pkix.Name{CommonName: "alice", Organization: []string{"netops"}})
	dir := accessFiles(t, map[string]string{
		"cert.pem": certPEM, "key.pem": keyPEM, "clients-ca.pem": pki.caPEM,
		"alice.pem": pki.certPEM[0], "alice-key.pem": pki.keyPEM[0],
		"telgate.yaml": "tls: {cert: cert.pem, key: key.pem}\nauth: {client_ca: clients-ca.pem}\n" + labTargets(host.Addr()),
	})
	p := runAccess(t, "-config", filepath.Join(dir, "telgate.yaml"), "-listen", "127.0.0.1:0",
		"-log-format", "json", "-log-level", "debug")

	result := runScenario(t, node, "access.mjs", "certificate", "TELGATE_URL="+p.URL+"/",
		"TELGATE_USER=alice", "TELGATE_TARGET=lab", "TELGATE_GREETING=greetings from the lab",
		"TELGATE_CLIENT_CERT="+filepath.Join(dir, "alice.pem"), "TELGATE_CLIENT_KEY="+filepath.Join(dir, "alice-key.pem"))
	if got := fmt.Sprint(result["targets"]); got != "[lab public]" {
		t.Errorf("alice's picker lists %s, want [lab public]", got)
	}
	if !regexp.MustCompile(`"user":"alice",.*"message":"session start"`).MatchString(p.stderr.String()) {
		t.Error("the session is not logged as alice's")
	}

	result = runScenario(t, node, "access.mjs", "nocertificate", "TELGATE_URL="+p.URL+"/")
	if result["page"] != float64(403) {
		t.Errorf("without a certificate: %v", result)
	}
}
