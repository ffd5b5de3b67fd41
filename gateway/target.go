package gateway

import (
	"fmt"
	"net"
	"regexp"
	"strconv"

	"telgate/telnet"
)

// A Target is a telnet host the gateway may connect browsers to. Only
// configured targets can be reached: the gateway is never an open proxy.
type Target struct {
	// Name is what a browser asks for with ?target=.
	Name string
	// Address is host:port of the telnet server.
	Address string
	// Description is shown to users next to the name.
	Description string
	// Term, when set, is the terminal type sent to the host in place of
	// the browser's.
	Term string
	// Enter is what the terminal's Enter key (a bare CR) becomes on the
	// wire while our side does not send in BINARY mode.
	Enter telnet.LineEnding
	// AllowUsers and AllowGroups say who may open the target. Both empty
	// means every authenticated user (or everyone, without
	// authentication).
	AllowUsers  []string
	AllowGroups []string
	// Record records the target's sessions (see RecordingConfig).
	Record bool
}

// Allows reports whether a user with the given groups may open the
// target.
func (t Target) Allows(user string, groups []string) bool {
	if len(t.AllowUsers) == 0 && len(t.AllowGroups) == 0 {
		return true
	}
	for _, u := range t.AllowUsers {
		if u == user {
			return true
		}
	}
	for _, g := range t.AllowGroups {
		for _, have := range groups {
			if g == have {
				return true
			}
		}
	}
	return false
}

var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NormalizeAddress checks a host[:port] address and returns it as
// host:port, with port 23 when none is given.
func NormalizeAddress(addr string) (string, error) {
	if addr == "" {
		return "", fmt.Errorf("empty address")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: the whole string is the host (an IPv6 literal
		// may come in brackets).
		host, port = addr, strconv.Itoa(telnet.TelnetPort)
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		if _, _, err2 := net.SplitHostPort(net.JoinHostPort(host, port)); err2 != nil {
			return "", fmt.Errorf("bad address %q: %w", addr, err)
		}
	}
	if host == "" {
		return "", fmt.Errorf("bad address %q: no host", addr)
	}
	for _, c := range host {
		if c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' {
			return "", fmt.Errorf("bad address %q: invalid host", addr)
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("bad address %q: port must be 1..65535", addr)
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// ValidTerminalType reports whether s can be sent as a terminal type: 1 to
// 40 printable ASCII characters (RFC 1091).
func ValidTerminalType(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
