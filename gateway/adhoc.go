package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// alwaysRefused lists the addresses no rule can allow.
var alwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("ff00::/8"),
}

// guarded lists the ranges a rule must name explicitly, most specific
// first.
var guarded = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata
	netip.MustParsePrefix("100.100.100.200/32"), // cloud metadata
	netip.MustParsePrefix("fd00:ec2::254/128"),  // cloud metadata
	netip.MustParsePrefix("fd20:ce::254/128"),   // cloud metadata
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64: where it embeds IPv4 is the network's choice
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("::1/128"),            // loopback
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// ipv4Compatible holds the IPv4-compatible IPv6 addresses (::a.b.c.d),
// deprecated since RFC 4291 and, where a kernel still tunnels them
// (sit), a way to an IPv4 address the rules never see: refused, except
// :: and ::1, which have their own entries.
var ipv4Compatible = netip.MustParsePrefix("::/96")

// adhocRule is an AdhocRule ready to match.
type adhocRule struct {
	names    map[string]bool
	suffixes []string // ".lab.example.com" for "*.lab.example.com"
	prefixes []netip.Prefix
	ports    []PortRange
	who      Target // AllowUsers and AllowGroups
	record   bool
	keys     Target // Raw, Enter, Backspace, LineDelay, Charset, Banner, Color, WatchOnly and Serial
}

func compileAdhoc(rules []AdhocRule) ([]adhocRule, error) {
	var out []adhocRule
	for i, r := range rules {
		c := adhocRule{names: map[string]bool{}, record: r.Record,
			who: Target{AllowUsers: r.AllowUsers, AllowGroups: r.AllowGroups}}
		if len(r.Hosts) == 0 {
			return nil, fmt.Errorf("adhoc[%d]: no hosts", i)
		}
		ports, err := ParsePorts(r.Ports)
		if err != nil {
			return nil, fmt.Errorf("adhoc[%d]: ports: %v", i, err)
		}
		c.ports = ports
		if c.keys, err = parseKeys(r.Protocol, r.Enter, r.Backspace, r.LineDelay, r.Charset); err != nil {
			return nil, fmt.Errorf("adhoc[%d]: %v", i, err)
		}
		if _, err := checkLook(r.Banner, r.Color); err != nil {
			return nil, fmt.Errorf("adhoc[%d]: %v", i, err)
		}
		c.keys.Banner, c.keys.Color, c.keys.WatchOnly = r.Banner, r.Color, r.WatchOnly
		if c.keys.Serial = r.Serial.target(); c.keys.Serial != nil && c.keys.Raw {
			return nil, fmt.Errorf("adhoc[%d]: %v", i, errSerialRaw)
		}
		for _, h := range r.Hosts {
			if err := checkHostPattern(h); err != nil {
				return nil, fmt.Errorf("adhoc[%d]: hosts: %v", i, err)
			}
			if p, err := ParsePrefix(h); err == nil {
				c.prefixes = append(c.prefixes, p)
				continue
			}
			name := strings.TrimSuffix(strings.ToLower(h), ".")
			if suffix, ok := strings.CutPrefix(name, "*."); ok {
				c.suffixes = append(c.suffixes, "."+suffix)
			} else {
				c.names[name] = true
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func (r *adhocRule) allowsPort(port int) bool {
	for _, p := range r.ports {
		if port >= p.Lo && port <= p.Hi {
			return true
		}
	}
	return false
}

func (r *adhocRule) matchesName(name string) bool {
	if name == "" {
		return false
	}
	if r.names[name] {
		return true
	}
	for _, s := range r.suffixes {
		if len(name) > len(s) && strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func (r *adhocRule) contains(a netip.Addr) bool {
	for _, p := range r.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// verdict is what a rule says of one address.
type verdict int

const (
	skip    verdict = iota // not allowed by this rule, but no sign of mischief
	allow                  //
	refused                // refused or guarded: the whole name is refused
)

// judge says what rule r says of address a; nameOK tells whether the
// host was a name matching one of r's name patterns, own holds the
// gateway's own addresses.
func (r *adhocRule) judge(a netip.Addr, nameOK bool, own []netip.Addr) verdict {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || isRefused(a) {
		return refused
	}
	if nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if isRefused(v4) || guardOf(v4).IsValid() || slices.Contains(own, v4) {
			return refused
		}
	}
	if slices.Contains(own, a) {
		// The gateway's own address reaches the services it runs
		// (a metrics listener, say): only a rule naming that very
		// address allows it, whatever range it is in.
		for _, p := range r.prefixes {
			if p.Bits() == a.BitLen() && p.Addr() == a {
				return allow
			}
		}
		return refused
	}
	if g := guardOf(a); g.IsValid() {
		for _, p := range r.prefixes {
			if p.Contains(a) && p.Bits() >= g.Bits() {
				return allow
			}
		}
		return refused
	}
	if nameOK || r.contains(a) {
		return allow
	}
	return skip
}

// ownAddrs returns the addresses of this machine's interfaces, loopback
// aside (guarded already), as the ad-hoc rules compare them.
func ownAddrs() []netip.Addr {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var own []netip.Addr
	for _, ia := range ifaddrs {
		if n, ok := ia.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(n.IP); ok && !a.Unmap().IsLoopback() {
				own = append(own, a.Unmap())
			}
		}
	}
	return own
}

func isRefused(a netip.Addr) bool {
	if a.IsUnspecified() || a.IsMulticast() {
		return true
	}
	if ipv4Compatible.Contains(a) && a != netip.IPv6Loopback() {
		return true
	}
	for _, p := range alwaysRefused {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// guardOf returns the most specific guarded range holding a, or the zero
// Prefix.
func guardOf(a netip.Addr) netip.Prefix {
	for _, p := range guarded {
		if p.Contains(a) {
			return p
		}
	}
	return netip.Prefix{}
}

// pick returns the first address rule r allows, or false when it allows
// none or refuses one of them.
func (r *adhocRule) pick(addrs []netip.Addr, nameOK bool, own []netip.Addr) (netip.Addr, bool) {
	var first netip.Addr
	for _, a := range addrs {
		switch r.judge(a, nameOK, own) {
		case refused:
			return netip.Addr{}, false
		case allow:
			if !first.IsValid() {
				first = a.Unmap().WithZone("")
			}
		}
	}
	return first, first.IsValid()
}

// adhocError is an error about an ad-hoc host, safe to show the user: it
// says nothing the user did not type. It wraps ErrNotAllowed.
type adhocError struct{ msg string }

func (e *adhocError) Error() string        { return e.msg }
func (e *adhocError) Is(target error) bool { return target == ErrNotAllowed }

func notAllowed(format string, args ...any) error {
	return &adhocError{msg: fmt.Sprintf(format, args...)}
}

// AdhocTarget checks a host:port a user asked for against the ad-hoc
// rules, resolves it once and returns a Target whose Address is the
// checked IP address, so that DNS cannot change it between check and
// dial. Its Name is the host:port asked for (the host in lower case, port
// 23 when none was given); Record, Banner and Color come from the rule
// that allowed it.
//
// A rule allows a host a user names (?host=host:port) when the user is in
// its allow_users or allow_groups (both empty: everyone), the port is in
// its ports, and the host passes its hosts:
//
//   - A name pattern ("console1.lab.example.com", or "*.lab.example.com"
//     for every name under that domain, at any depth, but not the domain
//     itself) allows a name, and with it whatever address the name
//     resolves to, except the refused and guarded ones below: the DNS of
//     the pattern's domain is trusted, not that of others. A name pattern
//     does not allow an IP address typed as such.
//   - An IP address or CIDR allows the addresses in it, typed as such or
//     resolved from any name.
//   - Refused always: unspecified addresses (0.0.0.0/8, ::), multicast,
//     the IPv4 broadcast address, IPv4-compatible IPv6 addresses
//     (::a.b.c.d, deprecated) and NAT64 addresses (64:ff9b::/96)
//     embedding any refused or guarded IPv4 address.
//   - Guarded: loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16,
//     fe80::/10), cloud metadata addresses (169.254.169.254,
//     fd00:ec2::254, fd20:ce::254, 100.100.100.200) and local-use NAT64
//     (64:ff9b:1::/48, which may embed any of them) are refused unless
//     the rule lists a CIDR inside the guarded range that holds the
//     address:
//     169.254.0.0/16 allows link-local addresses but not 169.254.169.254,
//     which only 169.254.169.254 itself allows; 0.0.0.0/0 allows none of
//     them. The gateway's own addresses (its interfaces', when the
//     rules were made: at start or at a reload) are refused unless the
//     rule lists that very address.
//
// Every address a name resolves to is checked (IPv4-mapped IPv6 addresses
// as IPv4). A name resolving to an address its rule refuses or guards is
// refused whole, even when it has other addresses. A resolved address
// merely outside a rule's CIDRs is skipped when the name matches no name
// pattern of that rule; the name is refused when no address remains.
// Otherwise the first allowed address, in the resolver's order, is
// dialled. Rules are tried in order and the first that allows the host
// wins.
//
// A name is looked up only when some rule for the user and port could
// allow it (a name pattern matches, or the rule lists addresses); the
// lookup is bounded by the dial timeout. Every error has a message fit
// for the user, naming nothing the user did not type. It wraps
// ErrNotAllowed for a malformed host:port, a host no rule allows and a
// name that does not exist; context.DeadlineExceeded when the lookup
// timed out; neither when the lookup failed otherwise.
func (g *Gateway) AdhocTarget(ctx context.Context, hostport, user string, groups []string) (Target, error) {
	t, err := g.adhocTarget(ctx, hostport, user, groups)
	g.metrics.adhoc(err)
	return t, err
}

func (g *Gateway) adhocTarget(ctx context.Context, hostport, user string, groups []string) (Target, error) {
	cat := g.cat.Load()
	if len(cat.adhoc) == 0 {
		return Target{}, notAllowed("opening hosts by name is not enabled")
	}
	name, ip, port, err := parseAdhocHostport(hostport)
	if err != nil {
		return Target{}, &adhocError{msg: err.Error()}
	}
	shown := name
	if ip.IsValid() {
		shown = ip.String()
	}
	display := net.JoinHostPort(shown, strconv.Itoa(port))

	var rules []*adhocRule
	forUser := false
	for i := range cat.adhoc {
		r := &cat.adhoc[i]
		if !r.who.Allows(user, groups) {
			continue
		}
		forUser = true
		if r.allowsPort(port) {
			rules = append(rules, r)
		}
	}
	switch {
	case !forUser:
		return Target{}, notAllowed("you may not open hosts by name")
	case len(rules) == 0:
		return Target{}, notAllowed("port %d is not allowed", port)
	}

	addrs := []netip.Addr{ip}
	if !ip.IsValid() {
		// Resolve only a name some rule may allow: the gateway does
		// not look up arbitrary names for anyone who asks.
		worth, byPattern := false, false
		for _, r := range rules {
			byPattern = byPattern || r.matchesName(name)
			worth = worth || byPattern || len(r.prefixes) > 0
		}
		if !worth {
			return Target{}, notAllowed("%s is not allowed", display)
		}
		if d := g.limits.DialTimeout; d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		addrs, err = g.opts.Resolver.LookupNetIP(ctx, "ip", lookupName(name, byPattern))
		if err != nil || len(addrs) == 0 {
			return Target{}, lookupError(name, err)
		}
	}
	for _, r := range rules {
		if a, ok := r.pick(addrs, r.matchesName(name), cat.ownAddrs); ok {
			return Target{
				Name:        display,
				Address:     netip.AddrPortFrom(a, uint16(port)).String(),
				Description: "host opened by name",
				Raw:         r.keys.Raw,
				Enter:       r.keys.Enter,
				Backspace:   r.keys.Backspace,
				LineDelay:   r.keys.LineDelay,
				Charset:     r.keys.Charset,
				Banner:      r.keys.Banner,
				Color:       r.keys.Color,
				WatchOnly:   r.keys.WatchOnly,
				Serial:      r.keys.Serial,
				// Who may open it: whom the rule allows.
				AllowUsers:  r.who.AllowUsers,
				AllowGroups: r.who.AllowGroups,
				Record:      r.record,
				byName:      true,
			}, nil
		}
	}
	return Target{}, notAllowed("%s is not allowed", display)
}

// lookupName is the name to look up for name. One a name pattern
// allows is looked up as an absolute name: as a relative one the
// resolver would also try it under its search domains (after the name
// itself is not found, or before it under Kubernetes' ndots:5), and the
// DNS of another zone (one where any user may add a record, as in Active
// Directory) could then answer for a name the pattern's zone does not
// have. A name of one label (a pattern that names it means it relative)
// and an mDNS name (host.local) are left as they are. A name only a CIDR
// may allow is looked up as typed: its address is what is checked.
func lookupName(name string, byPattern bool) string {
	dots := strings.Count(name, ".")
	if !byPattern || dots == 0 || dots == 1 && strings.HasSuffix(name, ".local") {
		return name
	}
	return name + "."
}

// lookupError is the error for a name that did not resolve.
func lookupError(name string, err error) error {
	var dnsErr *net.DNSError
	switch {
	case err == nil, errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return notAllowed("no such host %q", name)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return fmt.Errorf("looking up %q timed out: %w", name, context.DeadlineExceeded)
	}
	return fmt.Errorf("could not look up %q", name)
}

// parseAdhocHostport parses what a user typed: a host name, an IPv4
// address or a bracketed IPv6 address, with an optional :port (23 when
// none). A name comes back in lower case without a trailing dot; an
// address comes back as ip, with name empty.
func parseAdhocHostport(s string) (name string, ip netip.Addr, port int, err error) {
	bad := func(why string) (string, netip.Addr, int, error) {
		return "", netip.Addr{}, 0, fmt.Errorf("%q is not a host[:port]: %s", truncate(s, 80), why)
	}
	if s == "" {
		return bad("empty")
	}
	if len(s) > 300 {
		return bad("too long")
	}
	host, portStr, hasPort := s, "", false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ]")
		}
		host, portStr = s[1:end], s[end+1:]
		if portStr != "" {
			if portStr, hasPort = strings.CutPrefix(portStr, ":"); !hasPort {
				return bad("unexpected text after ]")
			}
		}
		a, perr := netip.ParseAddr(host)
		if perr != nil || !a.Is6() || a.Zone() != "" {
			return bad("not an IPv6 address in brackets")
		}
		ip = a
	} else {
		switch strings.Count(s, ":") {
		case 0:
		case 1:
			host, portStr, hasPort = strings.Cut(s, ":")
		default:
			return bad("write an IPv6 address in brackets, as [2001:db8::1]:23")
		}
		if a, perr := netip.ParseAddr(host); perr == nil {
			ip = a
		} else if name, err = checkHostName(host); err != nil {
			return bad(err.Error())
		}
	}
	port = 23
	if hasPort {
		port = 0
		if len(portStr) >= 1 && len(portStr) <= 5 {
			port = -1
			if strings.Trim(portStr, "0123456789") == "" {
				port, _ = strconv.Atoi(portStr)
			}
		}
		if port < 1 || port > 65535 {
			return bad("port must be 1..65535")
		}
	}
	if ip.IsValid() {
		ip = ip.Unmap()
	}
	return name, ip, port, nil
}

// checkHostName checks a DNS name: labels of letters, digits, '-' and
// '_', 1 to 63 characters, 253 in all, the last one not all digits (so
// "127.1" is not taken for a name). It returns the name in lower case
// without a trailing dot.
func checkHostName(h string) (string, error) {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", errors.New("no host")
	}
	if len(h) > 253 {
		return "", errors.New("host name too long")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", errors.New("bad host name")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", errors.New("bad host name")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", errors.New("bad host name")
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return "", errors.New("not an IP address, and not a host name")
	}
	return strings.ToLower(h), nil
}

// looksNumeric reports whether h is made of digits and dots only, as an
// IPv4 address is: such a host is not taken for a name.
func looksNumeric(h string) bool {
	return h != "" && strings.Trim(h, "0123456789.") == ""
}

// notIPv4 is the error for h, numeric (looksNumeric) but not an IPv4
// address, as 10.20.0 or 010.0.0.1. With network, it tells how to write
// the network that a short one seems to mean (10.20.0.0/24).
func notIPv4(h string, network bool) error {
	parts := strings.Split(h, ".")
	if network && len(parts) < 4 {
		for _, p := range parts {
			if n, err := strconv.Atoi(p); err != nil || n > 255 || strconv.Itoa(n) != p {
				network = false
			}
		}
		if network {
			full := h + strings.Repeat(".0", 4-len(parts))
			return fmt.Errorf("%q is not an IP address: for a network write a CIDR, as in %s/%d", h, full, 8*len(parts))
		}
	}
	return fmt.Errorf("%q is not an IP address (four numbers from 0 to 255, without leading zeros)", h)
}
