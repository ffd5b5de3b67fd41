package gateway

import (
	"net/url"
	"strings"
)

// LetsEncrypt is the directory of Let's Encrypt's production authority,
// ACMEConfig.Directory's default.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// check refuses an ACME configuration that could not get a certificate;
// withCert says tls has a cert and key too.
func (a *ACMEConfig) check(withCert bool) error {
	if withCert {
		return at("tls", "acme")("tls: acme or cert and key, not both")
	}
	if len(a.Domains) == 0 {
		return at("tls", "acme")("tls: acme: domains: list the names to get a certificate for")
	}
	for i, d := range a.Domains {
		if !validDomain(d) {
			return at("tls", "acme", "domains", i)("tls: acme: domains: %q is not a DNS name (no wildcards: TLS-ALPN-01 cannot prove them)", d)
		}
	}
	if a.Cache == "" {
		return at("tls", "acme")("tls: acme: cache: name a directory to keep the account key and certificates in")
	}
	if a.CA != "" && a.Directory == "" {
		return at("tls", "acme", "ca")("tls: acme: ca is for a private authority: give its directory")
	}
	if a.Directory != "" {
		if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
			return at("tls", "acme", "directory")("tls: acme: directory: want an https URL")
		}
	}
	if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \t\r\n<>")) {
		return at("tls", "acme", "email")("tls: acme: email %q is not an address", a.Email)
	}
	return nil
}

// validDomain reports whether s is a DNS name a certificate can be
// issued for by TLS-ALPN-01: labels of letters, digits and hyphens, at
// least one dot, no wildcard, no IP address.
func validDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	allDigits := true
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allDigits = false
			case c >= '0' && c <= '9':
			default:
				return false
			}
		}
	}
	return !allDigits
}
