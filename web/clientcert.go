package web

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
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
//
// Any certificate authority can write any name into a certificate's
// subject, and name constraints do not reach the common name or the
// organizations: every authority given is trusted to name users and
// groups, so give only authorities that issue certificates for this
// purpose, never a system bundle of public authorities.
type ClientCerts struct {
	// roots are the anchors: the authorities that no other one given
	// issued. The others are intermediates, used to build chains and to
	// check their revocation lists.
	roots         *x509.CertPool
	intermediates []*x509.Certificate
	authorities   []*x509.Certificate // every one, in the file's order
	// revoked holds the revoked serial numbers (decimal) under each
	// issuer's raw subject. Two authorities of one name share a set, so
	// a list of one revokes the other's certificates of those serials
	// too: too much, never too little.
	revoked map[string]map[string]bool
	lists   int // revocation lists loaded
	// nextUpdate is the earliest time a revocation list loaded says a
	// newer one is due; zero without lists.
	nextUpdate time.Time
}

// maxClientChain bounds the certificates a client may send: the leaf and
// a few intermediates. Verifying costs a signature check per candidate
// chain link, and it is done for every request before the client is
// anyone.
const maxClientChain = 6

// LoadClientCAs reads a PEM file of the certificate authorities whose
// client certificates identify users: roots, and intermediates (whose
// revocation lists can then be checked, and which browsers then need
// not send). An intermediate given without its root is an anchor: the
// root's other authorities are not trusted.
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
		c.authorities = append(c.authorities, ca)
	}
	if len(c.authorities) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	for _, ca := range c.authorities {
		if c.issued(ca) {
			c.intermediates = append(c.intermediates, ca)
		} else {
			c.roots.AddCert(ca)
		}
	}
	return c, nil
}

// issued reports whether another of the authorities signed ca.
func (c *ClientCerts) issued(ca *x509.Certificate) bool {
	for _, other := range c.authorities {
		if other != ca && bytes.Equal(other.RawSubject, ca.RawIssuer) && ca.CheckSignatureFrom(other) == nil {
			return true
		}
	}
	return false
}

// Pool returns every authority, for tls.Config.ClientCAs: the handshake
// names them to the browser, which offers its user the certificates they
// issued.
func (c *ClientCerts) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, ca := range c.authorities {
		pool.AddCert(ca)
	}
	return pool
}

// WithRevocations returns the same authorities with the certificate
// revocation lists of path, in place of any c had: PEM ("X509 CRL"
// blocks, one per authority or more) or a single DER list; "" for none.
// Each list must be signed by one of the authorities, roots or
// intermediates; a list past its next update is still used (NextUpdate
// says when one is due), since an old list still names what it revoked.
// Indirect lists (revoking for another issuer) are not supported: their
// entries are taken as the signer's.
func (c *ClientCerts) WithRevocations(path string) (*ClientCerts, error) {
	out := &ClientCerts{roots: c.roots, intermediates: c.intermediates, authorities: c.authorities}
	if path == "" {
		return out, nil
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
	out.revoked = map[string]map[string]bool{}
	for i, der := range ders {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("%s: revocation list %d: %w", path, i+1, err)
		}
		if !c.signed(crl) {
			return nil, fmt.Errorf("%s: revocation list %d (issuer %s) is not signed by an authority of client_ca "+
				"(as read at start: a changed client_ca takes a restart)", path, i+1, crl.Issuer)
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
		out.lists++
	}
	return out, nil
}

// Revocations counts the revocation lists loaded and the certificates
// they revoke.
func (c *ClientCerts) Revocations() (lists, revoked int) {
	for _, serials := range c.revoked {
		revoked += len(serials)
	}
	return c.lists, revoked
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
// certificate naming no valid user, or more than one, is refused rather
// than taken for someone.
func fromCertificate(certs *ClientCerts, chain []*x509.Certificate) (Identity, *refusal) {
	leaf := chain[0]
	who := "client certificate of " + strconv.Quote(leaf.Subject.CommonName) + " (serial " + leaf.SerialNumber.String() + ")"
	refuse := func(why, msg string) (Identity, *refusal) {
		return Identity{}, &refusal{code: http.StatusForbidden, reason: who + " refused: " + why, msg: msg, warn: true}
	}
	if len(chain) > maxClientChain {
		return refuse(fmt.Sprintf("%d certificates sent, at most %d taken", len(chain), maxClientChain),
			"your client certificate is refused: the browser sent a chain of too many certificates")
	}
	opts := x509.VerifyOptions{
		Roots:         certs.roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range certs.intermediates {
		opts.Intermediates.AddCert(c)
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	verified, err := leaf.Verify(opts)
	if err != nil {
		return refuse(err.Error(), "your client certificate is refused: "+certificateProblem(err, leaf))
	}
	// Any revoked certificate on any chain refuses: the leaf is on
	// every one, and an authority revoked no longer vouches for anyone,
	// an intermediate taken for an anchor included. A self-signed root
	// is not checked: no list can revoke it.
	for _, vc := range verified {
		for _, c := range vc {
			if bytes.Equal(c.RawIssuer, c.RawSubject) || !certs.isRevoked(c) {
				continue
			}
			what := "it has been revoked"
			if c != leaf {
				what = "the authority that issued it (" + c.Subject.String() + ") has been revoked"
			}
			return refuse("revoked (serial "+c.SerialNumber.String()+" of "+c.Issuer.String()+")",
				"your client certificate is refused: "+what)
		}
	}
	user := strings.TrimSpace(leaf.Subject.CommonName)
	if !validIdentity(user) || commonNames(leaf) != 1 {
		return refuse("no single valid common name",
			"your client certificate names no user: its subject needs one common name (CN)")
	}
	var groups []string
	for _, g := range leaf.Subject.Organization {
		if g = strings.TrimSpace(g); validIdentity(g) {
			groups = append(groups, g)
		}
	}
	return Identity{User: user, Groups: groups, Method: "certificate"}, nil
}

// commonNames counts the common name attributes of c's subject: with
// more than one, which names the user depends on who reads it.
func commonNames(c *x509.Certificate) int {
	n := 0
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oidCommonName) {
			n++
		}
	}
	return n
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// certificateProblem says why a client certificate did not verify, in
// words for its holder.
func certificateProblem(err error, leaf *x509.Certificate) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		c := invalid.Cert
		if c == nil {
			c = leaf
		}
		dates := "valid from " + c.NotBefore.UTC().Format(time.DateOnly) + " to " + c.NotAfter.UTC().Format(time.DateOnly) + ", not now"
		if c != leaf {
			return "the authority that issued it (" + c.Subject.String() + ") is " + dates
		}
		return "it is " + dates
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return "it is not for client authentication"
	case errors.As(err, &unknown):
		return "no authority this gateway trusts signed it"
	}
	return "it does not verify"
}
