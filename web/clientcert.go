package web

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// fromCertificate verifies a client's certificate chain (the leaf first,
// as the handshake received it) and reads its identity: the subject's
// common name is the user, its organizations the groups. A certificate
// naming no valid user is refused rather than taken for an anonymous one.
func (a *authenticator) fromCertificate(chain []*x509.Certificate) (Identity, *refusal) {
	leaf := chain[0]
	who := "client certificate of " + strconv.Quote(leaf.Subject.CommonName) + " (serial " + leaf.SerialNumber.String() + ")"
	opts := x509.VerifyOptions{
		Roots:         a.auth.ClientCAs,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return Identity{}, &refusal{code: http.StatusForbidden, reason: who + " refused: " + err.Error(),
			msg: "your client certificate is refused: " + certificateProblem(err, leaf)}
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
