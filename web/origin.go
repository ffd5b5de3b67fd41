package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// proxies holds the trusted reverse proxies: only from them are the
// identity headers and X-Forwarded-For, -Proto and -Host believed.
type proxies []netip.Prefix

func (p proxies) trusted(a netip.Addr) bool {
	// A link-local peer comes with its interface (fe80::1%eth0) and is
	// contained in no prefix: the same address on another link is
	// another host. The configuration refuses link-local proxies.
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the TCP peer of a request.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// clientAddr is the client's address: the peer's, or, when the peer is a
// trusted proxy, the nearest address in X-Forwarded-For that is not a
// trusted proxy (addresses further left were written by the client and
// prove nothing).
func (p proxies) clientAddr(r *http.Request, peer netip.Addr) netip.Addr {
	if !p.trusted(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := forwardedAddr(hops[i])
		if !ok {
			break
		}
		client = a.Unmap()
		if !p.trusted(client) {
			break
		}
	}
	return client
}

// forwardedAddr parses one X-Forwarded-For entry: an IP address, or an
// IPv4 address or bracketed IPv6 address with a port, which some proxies
// write (Azure Application Gateway: 203.0.113.7:51234,
// [2001:db8::7]:51234); the port is dropped. ok is false for anything
// else.
func forwardedAddr(entry string) (a netip.Addr, ok bool) {
	entry = strings.TrimSpace(entry)
	if a, err := netip.ParseAddr(entry); err == nil {
		return a, true
	}
	ap, err := netip.ParseAddrPort(entry)
	return ap.Addr(), err == nil
}

// requestOrigin is the scheme and host the browser used to reach us: the
// connection's own, or what a trusted proxy says in X-Forwarded-Proto and
// X-Forwarded-Host. known is false when a plain-HTTP request did not come
// through a proxy that said which scheme the browser used: a
// TLS-terminating proxy may then be in front.
func (p proxies) requestOrigin(r *http.Request, peer netip.Addr) (scheme, host string, known bool) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		return "https", host, true
	}
	if p.trusted(peer) {
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
		switch strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))) {
		case "https":
			return "https", host, true
		case "http":
			return "http", host, true
		}
	}
	return scheme, host, false
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// defaultPort returns the port of scheme when none is written.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// splitHost splits "host[:port]" into a lower-case host name (brackets
// removed from IPv6 literals, a trailing dot dropped) and its port ("" when
// none).
func splitHost(hostport string) (host, port string, ok bool) {
	if hostport == "" {
		return "", "", false
	}
	host = hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
		if p == "" {
			return "", "", false
		}
	} else if strings.HasPrefix(hostport, "[") {
		if !strings.HasSuffix(hostport, "]") {
			return "", "", false
		}
		host = hostport[1 : len(hostport)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !validHostName(host) {
		return "", "", false
	}
	if port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return "", "", false
			}
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", "", false
		}
		port = strconv.Itoa(n)
	}
	return host, port, true
}

// validHostName accepts an IP address (IPv6 without brackets or zone) or a
// DNS name in ASCII (international names come in punycode).
func validHostName(h string) bool {
	if h == "" {
		return false
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// fixedHost reports whether a host name, as splitHost returns it, is one
// that no DNS answer decides: an IP address literal, localhost, or a name
// under .localhost, which browsers resolve to loopback themselves. A DNS
// rebinding attack needs a name whose answers the attacker controls.
func fixedHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// parseOrigin splits an http or https origin into its lower-case scheme
// and host and its port (the scheme's default when none is written).
func parseOrigin(origin string) (scheme, host, port string, ok bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", "", "", false
	}
	scheme = strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "", "", false
	}
	host, port, ok = splitHost(u.Host)
	if !ok {
		return "", "", "", false
	}
	if port == "" {
		port = defaultPort(scheme)
	}
	return scheme, host, port, true
}

// normalOrigin puts an origin in the form origins are compared in:
// lower-case scheme and host, the port written only when it is not the
// scheme's default. ok is false for anything but an http or https origin.
func normalOrigin(origin string) (string, bool) {
	scheme, host, port, ok := parseOrigin(origin)
	if !ok {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != defaultPort(scheme) {
		return fmt.Sprintf("%s://%s:%s", scheme, host, port), true
	}
	return scheme + "://" + host, true
}

// sameOrigin reports whether the Origin a browser sent is the origin of
// the request: same scheme, host (any case) and port.
//
// When a plain-HTTP request's scheme is not known (no trusted proxy said
// it), an https Origin is also taken as ours: a TLS-terminating proxy that
// keeps the Host header is in front. An http Origin is never taken for an
// HTTPS request.
func sameOrigin(origin, scheme, reqHost string, known bool) bool {
	oScheme, oHost, oPort, ok := parseOrigin(origin)
	if !ok {
		return false
	}
	rHost, rPort, ok := splitHost(reqHost)
	if !ok || rHost != oHost {
		return false
	}
	if known || oScheme == scheme {
		if oScheme != scheme {
			return false
		}
		if rPort == "" {
			rPort = defaultPort(scheme)
		}
		return oPort == rPort
	}
	// A plain-HTTP request with an https Origin and no word from a
	// proxy: the proxy's port is the Origin's, and the Host header has it
	// when it is not the default.
	if rPort == "" {
		return oPort == "443"
	}
	return oPort == rPort
}
