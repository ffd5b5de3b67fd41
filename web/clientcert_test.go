package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
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

func newTestCA(t *testing.T, name string) *testCA { return newAuthority(t, name, nil) }

// newAuthority makes an authority that parent signed, or a root for nil.
func newAuthority(t *testing.T, name string, parent *testCA) *testCA {
	t.Helper()
	ca := &testCA{key: testKey(t)}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
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
func (ca *testCA) intermediate(t *testing.T, name string) *testCA { return newAuthority(t, name, ca) }

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
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: ca.clientCerts()}}})

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
			"names no user", "no valid common name"},
		{"a name with a control character", ptr(ca.issue(t, person("ali\nce"), nil)),
			"names no user", "no valid common name"},
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

func TestRevokedClientCertificatesAreRefused(t *testing.T) {
	ca := newTestCA(t, "Clients CA")
	sub := ca.intermediate(t, "Lab clients CA")
	alice, bob := ca.issue(t, person("alice"), nil), ca.issue(t, person("bob"), nil)
	frank := sub.issue(t, person("frank"), nil)
	frank.Certificate = append(frank.Certificate, sub.cert.Raw)
	erin := sub.issue(t, person("erin"), nil)
	erin.Certificate = append(erin.Certificate, sub.cert.Raw)
	// The intermediate's authority is a root here too, so its own list
	// verifies.
	roots := ca.clientCerts()
	roots.roots.AddCert(sub.cert)
	roots.authorities = append(roots.authorities, sub.cert)

	next := time.Now().Add(time.Hour)
	certs, err := roots.WithRevocations(writeFile(t, crlPEM(ca.revocationList(t, next, bob.Leaf), sub.revocationList(t, next.Add(time.Hour), erin.Leaf))))
	if err != nil {
		t.Fatal(err)
	}
	if !certs.NextUpdate().Equal(next.Truncate(time.Second)) {
		t.Errorf("NextUpdate %v, want the earlier list's %v", certs.NextUpdate(), next)
	}
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{ClientCerts: certs}}})
	expect := func(when string, want map[string]int) {
		t.Helper()
		for name, cert := range map[string]tls.Certificate{"alice": alice, "bob": bob, "frank": frank, "erin": erin} {
			f.presenting(cert)
			resp, body := f.get("/api/targets", nil)
			if resp.StatusCode != want[name] {
				t.Errorf("%s: %s gets %d %s, want %d", when, name, resp.StatusCode, body, want[name])
			}
			if resp.StatusCode == http.StatusForbidden && !strings.Contains(body, "it has been revoked") {
				t.Errorf("%s: %s's refusal says %s", when, name, body)
			}
		}
	}
	ok, no := http.StatusOK, http.StatusForbidden
	expect("bob and erin revoked", map[string]int{"alice": ok, "bob": no, "frank": ok, "erin": no})
	if !strings.Contains(f.logs.String(), `refused: revoked (serial `+bob.Leaf.SerialNumber.String()+` of CN=Clients CA)`) {
		t.Errorf("the log does not say which certificate was revoked:\n%s", f.logs.String())
	}

	// The intermediate revoked: every certificate it issued goes. One
	// list in DER, replacing the two.
	certs, err = roots.WithRevocations(writeFile(t, ca.revocationList(t, next, sub.cert)))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Handler{f.h}).SetClientCerts(certs); err != nil {
		t.Fatal(err)
	}
	expect("the intermediate revoked", map[string]int{"alice": ok, "bob": ok, "frank": no, "erin": no})
	if err := (&Handler{f.h}).SetClientCerts(nil); err == nil {
		t.Error("SetClientCerts(nil) took client certificates away")
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
