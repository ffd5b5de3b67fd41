package web

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClientCerts is what client certificates are checked against: the
// authorities that issue them and, optionally, the certificates those
// revoked. It is never changed once made; WithRevocations makes another.
type ClientCerts struct {
	roots       *x509.CertPool
	authorities []*x509.Certificate
	// revoked holds the revoked serial numbers (decimal) under each
	// issuer's raw subject.
	revoked map[string]map[string]bool
	// nextUpdate is the earliest time a revocation list loaded says a
	// newer one is due; zero without lists.
	nextUpdate time.Time
}

// LoadClientCAs reads a PEM file of the certificate authorities whose
// client certificates identify users.
func LoadClientCAs(path string) (*ClientCerts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &ClientCerts{roots: x509.NewCertPool()}
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, len(c.authorities)+1, err)
		}
		c.roots.AddCert(ca)
		c.authorities = append(c.authorities, ca)
	}
	if len(c.authorities) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return c, nil
}

// Pool returns the authorities, for tls.Config.ClientCAs: the handshake
// names them to the browser, which offers its user the certificates they
// issued.
func (c *ClientCerts) Pool() *x509.CertPool { return c.roots }

// WithRevocations returns the same authorities with the certificate
// revocation lists of path, in place of any c had: PEM ("X509 CRL"
// blocks, one per authority or more) or a single DER list; "" for none.
// Each list must be signed by one of the authorities; a list past its
// next update is still used (NextUpdate says when one is due), since an
// old list still names what it revoked.
func (c *ClientCerts) WithRevocations(path string) (*ClientCerts, error) {
	if path == "" {
		return &ClientCerts{roots: c.roots, authorities: c.authorities}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type == "X509 CRL" {
			ders = append(ders, block.Bytes)
		}
	}
	if len(ders) == 0 && !bytes.Contains(data, []byte("-----BEGIN")) {
		ders = [][]byte{data} // DER
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%s: no revocation list (PEM \"X509 CRL\") in it", path)
	}
	out := &ClientCerts{roots: c.roots, authorities: c.authorities, revoked: map[string]map[string]bool{}}
	for i, der := range ders {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("%s: revocation list %d: %w", path, i+1, err)
		}
		if !c.signed(crl) {
			return nil, fmt.Errorf("%s: revocation list %d (issuer %s) is not signed by an authority of client_ca",
				path, i+1, crl.Issuer)
		}
		serials := out.revoked[string(crl.RawIssuer)]
		if serials == nil {
			serials = map[string]bool{}
			out.revoked[string(crl.RawIssuer)] = serials
		}
		for _, e := range crl.RevokedCertificateEntries {
			serials[e.SerialNumber.String()] = true
		}
		if !crl.NextUpdate.IsZero() && (out.nextUpdate.IsZero() || crl.NextUpdate.Before(out.nextUpdate)) {
			out.nextUpdate = crl.NextUpdate
		}
	}
	return out, nil
}

// signed reports whether one of the authorities signed crl.
func (c *ClientCerts) signed(crl *x509.RevocationList) bool {
	for _, ca := range c.authorities {
		if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}

// NextUpdate is the earliest time a loaded revocation list says a newer
// one is due, or zero.
func (c *ClientCerts) NextUpdate() time.Time { return c.nextUpdate }

// isRevoked reports whether cert is on its issuer's revocation list.
func (c *ClientCerts) isRevoked(cert *x509.Certificate) bool {
	return c.revoked[string(cert.RawIssuer)][cert.SerialNumber.String()]
}

// fromCertificate verifies a client's certificate chain (the leaf first,
// as the handshake received it) against certs and reads its identity:
// the subject's common name is the user, its organizations the groups. A
// certificate naming no valid user is refused rather than taken for an
// anonymous one.
func fromCertificate(certs *ClientCerts, chain []*x509.Certificate) (Identity, *refusal) {
	leaf := chain[0]
	who := "client certificate of " + strconv.Quote(leaf.Subject.CommonName) + " (serial " + leaf.SerialNumber.String() + ")"
	opts := x509.VerifyOptions{
		Roots:         certs.roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	verified, err := leaf.Verify(opts)
	if err != nil {
		return Identity{}, &refusal{code: http.StatusForbidden, reason: who + " refused: " + err.Error(),
			msg: "your client certificate is refused: " + certificateProblem(err, leaf)}
	}
	// Any revoked certificate on any chain refuses: the leaf is on
	// every one, and an intermediate revoked is no longer vouched for.
	for _, vc := range verified {
		for _, c := range vc[:len(vc)-1] {
			if certs.isRevoked(c) {
				return Identity{}, &refusal{code: http.StatusForbidden,
					reason: who + " refused: revoked (serial " + c.SerialNumber.String() + " of " + c.Issuer.String() + ")",
					msg:    "your client certificate is refused: it has been revoked"}
			}
		}
	}
	user := strings.TrimSpace(leaf.Subject.CommonName)
	if !validIdentity(user) {
		return Identity{}, &refusal{code: http.StatusForbidden, reason: who + " refused: no valid common name",
			msg: "your client certificate names no user: its subject needs a common name (CN)"}
	}
	var groups []string
	for _, g := range leaf.Subject.Organization {
		if g = strings.TrimSpace(g); validIdentity(g) {
			groups = append(groups, g)
		}
	}
	return Identity{User: user, Groups: groups, Method: "certificate"}, nil
}

// certificateProblem says why a client certificate did not verify, in
// words for its holder.
func certificateProblem(err error, leaf *x509.Certificate) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "it is valid from " + leaf.NotBefore.UTC().Format(time.DateOnly) +
			" to " + leaf.NotAfter.UTC().Format(time.DateOnly) + ", not now"
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return "it is not for client authentication"
	case errors.As(err, &unknown):
		return "no authority this gateway trusts signed it"
	}
	return "it does not verify"
}
