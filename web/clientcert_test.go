package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testCA is a certificate authority for client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool // trusting this authority alone, as a root
}

func newTestCA(t *testing.T, name string) *testCA { return newAuthority(t, name, nil, nil) }

// newAuthority makes an authority that parent signed, or a root for nil;
// edit may change the template before it is signed.
func newAuthority(t *testing.T, name string, parent *testCA, edit func(*x509.Certificate)) *testCA {
	t.Helper()
	ca := &testCA{key: testKey(t)}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if edit != nil {
		edit(tmpl)
	}
	issuer, issuerKey := tmpl, ca.key
	if parent != nil {
		issuer, issuerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &ca.key.PublicKey, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(ca.cert)
	return ca
}

func testKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// issue makes a client certificate for subject; edit may change the
// template before it is signed.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, edit func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	key := testKey(t)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// clientCerts trusts ca alone, revoking nothing.
func (ca *testCA) clientCerts() *ClientCerts {
	return &ClientCerts{roots: ca.pool, authorities: []*x509.Certificate{ca.cert}}
}

// intermediate makes an authority that ca signed.
func (ca *testCA) intermediate(t *testing.T, name string) *testCA {
	return newAuthority(t, name, ca, nil)
}

func person(cn string, orgs ...string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: orgs}
}

func TestClientCertificatesIdentifyUsers(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: ca.clientCerts()}}})

	for _, tc := range []struct {
		cert tls.Certificate
		want []string
	}{
		{ca.issue(t, person("alice"), nil), []string{"core", "public"}},
		{ca.issue(t, person("dave", "ops", "netops"), nil), []string{"lab", "public"}},
		{ca.issue(t, person("erin", "ops"), nil), []string{"public"}},
	} {
		f.presenting(tc.cert)
		if names, _ := f.targets(nil); !sortedEqual(names, tc.want...) {
			t.Errorf("%s: targets %v, want %v", tc.cert.Leaf.Subject, names, tc.want)
		}
	}

	f.presenting(ca.issue(t, person("dave", "netops"), nil))
	f.open("target=lab", nil)
	f.presenting(ca.issue(t, person("erin", "ops"), nil))
	_, resp, body, err := f.dial("target=lab", nil)
	expectRefused(t, "erin opening lab", resp, body, err, http.StatusForbidden, "not allowed")

	// A chain through an intermediate authority, sent by the client.
	sub := ca.intermediate(t, "Lab clients CA")
	chained := sub.issue(t, person("frank", "netops"), nil)
	chained.Certificate = append(chained.Certificate, sub.cert.Raw)
	f.presenting(chained)
	if names, _ := f.targets(nil); !sortedEqual(names, "lab", "public") {
		t.Errorf("through an intermediate: targets %v, want [lab public]", names)
	}
	f.open("target=lab", nil)
	if !strings.Contains(f.logs.String(), `"user":"frank","cols":80,"rows":24,"message":"session start"`) {
		t.Error("the session's log line does not name the certificate's user")
	}
}

func TestClientCertificatesThatDoNotVerifyAreRefusedWithTheReason(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	other := newTestCA(t, "Someone else's CA")
	expiredSub := newAuthority(t, "Old lab CA", ca, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	})
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: loadCAs(t, ca, expiredSub)}}})
	tooLong := ca.issue(t, person("alice"), nil)
	for range 6 {
		tooLong.Certificate = append(tooLong.Certificate, ca.cert.Raw)
	}

	for _, tc := range []struct {
		name string
		cert *tls.Certificate // nil: none sent
		want string           // in the page's body and the log
		log  string
	}{
		{"none", nil, "needs a client certificate", "no client certificate"},
		{"another authority's", ptr(other.issue(t, person("alice", "netops"), nil)),
			"no authority this gateway trusts signed it", "certificate signed by unknown authority"},
		{"expired", ptr(ca.issue(t, person("alice"), func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		})), "it is valid from 2020-01-01 to 2021-01-01, not now", "expired"},
		{"a server's", ptr(ca.issue(t, person("alice"), func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		})), "it is not for client authentication", "incompatible key usage"},
		{"without a name", ptr(ca.issue(t, person("", "netops"), nil)),
			"names no user", "no single valid common name"},
		{"a name with a control character", ptr(ca.issue(t, person("ali\nce"), nil)),
			"names no user", "no single valid common name"},
		{"two names", ptr(ca.issue(t, pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCommonName, Value: "mallory"}, {Type: oidCommonName, Value: "alice"}}}, nil)),
			"names no user", "no single valid common name"},
		{"an expired authority's", ptr(expiredSub.issue(t, person("alice"), nil)),
			"the authority that issued it (CN=Old lab CA) is valid from 2020-01-01 to 2021-01-01, not now", "expired"},
		{"a chain too long", ptr(tooLong), "too many certificates", "7 certificates sent, at most 6 taken"},
		// The intermediate's certificate is not sent, and the pool does
		// not hold it.
		{"an intermediate's without its chain", ptr(ca.intermediate(t, "Lab clients CA").issue(t, person("frank"), nil)),
			"no authority this gateway trusts signed it", "unknown authority"},
	} {
		if tc.cert == nil {
			f.presenting()
		} else {
			f.presenting(*tc.cert)
		}
		before := len(f.logs.String())
		resp, body := f.get("/api/targets", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tc.want) {
			t.Errorf("%s: HTTP %d %q, want 403 saying %q", tc.name, resp.StatusCode, body, tc.want)
		}
		if logged := f.logs.String()[before:]; !strings.Contains(logged, tc.log) {
			t.Errorf("%s: the log says %s, want %q in it", tc.name, logged, tc.log)
		}
		_, resp, body, err := f.dial("target=public", nil)
		expectRefused(t, tc.name+": the WebSocket", resp, body, err, http.StatusForbidden, tc.want)
	}
	// The probes need no certificate.
	f.presenting()
	if resp, _ := f.get("/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a certificate: %d, want 200", resp.StatusCode)
	}
}

func TestClientCertificatesBesideAUsersFile(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: ca.clientCerts(), Users: loadTestUsers(t)}}})

	// Without a certificate, the users file: challenged, then let in.
	f.presenting()
	if resp, _ := f.get("/api/targets", nil); resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no certificate, no password: %d %v, want a 401 challenge", resp.StatusCode, resp.Header)
	}
	if names, _ := f.targets(basicAuth("bob", "bob-secret")); !sortedEqual(names, "public") {
		t.Errorf("bob by password: %v, want [public]", names)
	}
	// With one, the certificate's user, whatever the password says.
	f.presenting(ca.issue(t, person("carol", "netops"), nil))
	if names, _ := f.targets(basicAuth("bob", "bob-secret")); !sortedEqual(names, "lab", "public") {
		t.Errorf("carol by certificate: %v, want [lab public]", names)
	}
	// A bad certificate is refused, not passed over for the password.
	f.presenting(newTestCA(t, "Someone else's CA").issue(t, person("carol", "netops"), nil))
	if resp, body := f.get("/api/targets", basicAuth("bob", "bob-secret")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign certificate with a password: %d %s, want 403", resp.StatusCode, body)
	}
}

func ptr[T any](v T) *T { return &v }

// revocationList is ca's list revoking certs, due to be replaced at
// next, in DER.
func (ca *testCA) revocationList(t *testing.T, next time.Time, certs ...*x509.Certificate) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, c := range certs {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: next.Add(-time.Hour), NextUpdate: next, RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func crlPEM(ders ...[]byte) []byte {
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})...)
	}
	return out
}

// loadCAs loads a client_ca file holding cas.
func loadCAs(t *testing.T, cas ...*testCA) *ClientCerts {
	t.Helper()
	var data []byte
	for _, ca := range cas {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
	}
	certs, err := LoadClientCAs(writeFile(t, data))
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func TestRevokedClientCertificatesAreRefused(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	sub := ca.intermediate(t, "Lab clients CA")
	alice, bob := ca.issue(t, person("alice"), nil), ca.issue(t, person("bob"), nil)
	frank := sub.issue(t, person("frank"), nil)
	frank.Certificate = append(frank.Certificate, sub.cert.Raw)
	// erin's browser does not send the intermediate: client_ca has it.
	erin := sub.issue(t, person("erin"), nil)
	authorities := loadCAs(t, sub, ca) // the intermediate first: still no anchor
	if lists, revoked := authorities.Revocations(); lists != 0 || revoked != 0 {
		t.Errorf("Revocations() without lists: %d, %d", lists, revoked)
	}

	// The root's list and the intermediate's own.
	next := time.Now().Add(time.Hour)
	certs, err := authorities.WithRevocations(writeFile(t, crlPEM(ca.revocationList(t, next, bob.Leaf),
		sub.revocationList(t, next.Add(time.Hour), erin.Leaf))))
	if err != nil {
		t.Fatal(err)
	}
	if !certs.NextUpdate().Equal(next.Truncate(time.Second)) {
		t.Errorf("NextUpdate %v, want the earlier list's %v", certs.NextUpdate(), next)
	}
	if lists, revoked := certs.Revocations(); lists != 2 || revoked != 2 {
		t.Errorf("Revocations() = %d lists, %d revoked; want 2, 2", lists, revoked)
	}
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: certs}}})
	expect := func(when string, want map[string]string) {
		t.Helper()
		for name, cert := range map[string]tls.Certificate{"alice": alice, "bob": bob, "frank": frank, "erin": erin} {
			f.presenting(cert)
			resp, body := f.get("/api/targets", nil)
			if ok := resp.StatusCode == http.StatusOK; (want[name] == "") != ok || !strings.Contains(body, want[name]) {
				t.Errorf("%s: %s gets %d %s, want %q", when, name, resp.StatusCode, body, want[name])
			}
		}
	}
	expect("bob and erin revoked", map[string]string{"bob": "it has been revoked", "erin": "it has been revoked"})
	if !regexp.MustCompile(`"level":"warn".*refused: revoked \(serial ` + bob.Leaf.SerialNumber.String() + ` of CN=Clients CA\)`).
		MatchString(f.logs.String()) {
		t.Errorf("no warning of which certificate was revoked:\n%s", f.logs.String())
	}

	// The intermediate revoked: every certificate it issued goes, sent
	// with it or not. One list in DER, replacing the two.
	certs, err = authorities.WithRevocations(writeFile(t, ca.revocationList(t, next, sub.cert)))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Handler{f.h}).SetClientCerts(certs); err != nil {
		t.Fatal(err)
	}
	gone := "the authority that issued it (CN=Lab clients CA) has been revoked"
	expect("the intermediate revoked", map[string]string{"frank": gone, "erin": gone})
	if err := (&Handler{f.h}).SetClientCerts(nil); err == nil {
		t.Error("SetClientCerts(nil) took client certificates away")
	}
}

// A certificate revoked while its browser's connection stays open is
// refused on that connection from the next request: the handshake is not
// where it is checked.
func TestRevocationReachesOpenConnections(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	alice := ca.issue(t, person("alice"), nil)
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: loadCAs(t, ca)}}})
	f.presenting(alice)
	get := func() (status int, reused bool) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", f.srv.URL+"/api/targets", nil)
		resp, err := f.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, reused
	}
	if status, _ := get(); status != http.StatusOK {
		t.Fatalf("alice: %d", status)
	}
	certs, err := loadCAs(t, ca).WithRevocations(writeFile(t, ca.revocationList(t, time.Now().Add(time.Hour), alice.Leaf)))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Handler{f.h}).SetClientCerts(certs); err != nil {
		t.Fatal(err)
	}
	if status, reused := get(); status != http.StatusForbidden || !reused {
		t.Errorf("after the revocation, on the connection kept alive (%v): %d, want 403", reused, status)
	}
}

func TestRevocationListsThatDoNotLoad(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	other := newTestCA(t, "Someone else's CA")
	next := time.Now().Add(time.Hour)
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"another authority's": {crlPEM(other.revocationList(t, next)), "revocation list 1 (issuer CN=Someone else's CA) is not signed by an authority of client_ca"},
		"the second of two":   {crlPEM(ca.revocationList(t, next), other.revocationList(t, next)), "revocation list 2"},
		"a certificate":       {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), "no revocation list"},
		"garbage DER":         {[]byte("not a list"), "revocation list 1"},
		"broken PEM":          {crlPEM([]byte("AAAA")), "revocation list 1"},
	} {
		if _, err := ca.clientCerts().WithRevocations(writeFile(t, tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	// Signed by a key of the authority's name that is not its key.
	impostor := newTestCA(t, "Clients CA")
	if _, err := ca.clientCerts().WithRevocations(writeFile(t, impostor.revocationList(t, next))); err == nil {
		t.Error("a list under the authority's name but not its signature was taken")
	}
	if _, err := ca.clientCerts().WithRevocations(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	certs, err := ca.clientCerts().WithRevocations("")
	if err != nil || len(certs.revoked) != 0 || !certs.NextUpdate().IsZero() {
		t.Errorf("no file: %v, %v", certs, err)
	}
}
