package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// Raw speaks plain TCP to the host rather than telnet: every byte
	// passes both ways as it is, nothing is negotiated (no window size,
	// no terminal type) and no telnet command can be sent; for a console
	// server's raw port, or a virtual machine's serial console.
	Raw bool
	// Enter is what the terminal's Enter key (a bare CR) becomes on the
	// wire while our side does not send in BINARY mode. For a Raw host
	// it is telnet.RawCR (a serial console's Enter) or telnet.CRLF; the
	// zero value, telnet.CRNUL, means RawCR there, since the NUL would
	// reach the device as a byte of its own.
	Enter telnet.LineEnding
	// Backspace is the byte that DEL (127, what the terminal's Backspace
	// key sends) becomes on the wire: 0 leaves DEL as it is; BS (8,
	// Ctrl-H) is what much network equipment and many older hosts take
	// as erase. It stands for the key, as a terminal's Backspace setting
	// does, so it holds in BINARY mode too (console servers that relay a
	// serial port often ask for BINARY).
	Backspace byte
	// LineDelay, when positive, paces input: a line ending reaches the
	// host at least this long after the one before it, and what follows
	// a line ending waits until then, for consoles that lose characters
	// when lines arrive faster than they handle them (a router's
	// configuration pasted over a 9600-baud serial line). Typed keys go
	// at once unless a paste is still being sent ahead of them or a line
	// ending went within the delay; Ctrl-C and the Interrupt command drop
	// a paste being sent and go at once (see pacer).
	LineDelay time.Duration
	// Charset, when set, is the host's character set, which is not
	// UTF-8: its output is converted to UTF-8 for the browser, and the
	// browser's input to it (see Charset). nil passes every byte as it
	// is, which suits hosts that speak UTF-8.
	Charset *Charset
	// AllowUsers and AllowGroups say who may open the target. Both empty
	// means every authenticated user (or everyone, without
	// authentication).
	AllowUsers  []string
	AllowGroups []string
	// Record records the target's sessions (see RecordingConfig).
	Record bool
	// Size, when set, is the window size the host is told and the page's
	// terminal takes, whatever the browser's window: for equipment whose
	// output assumes 80 or 132 columns. Zero follows the browser's window.
	Size WindowSize
	// Banner, when set, is a notice the page shows above the terminal of
	// the target's sessions ("Production: changes need a ticket"), and
	// Color ("#c0392b", see ValidColor) marks its top bar: so that a
	// console that matters is not taken for another.
	Banner string
	Color  string
	// WatchOnly keeps the keyboard of the target's shared sessions with
	// their users: a viewer watches and is never handed it (see
	// handOver), where only the user logged in may type into a console.
	WatchOnly bool
	// Serial, when set, offers the host RFC 2217's COM-PORT-OPTION, for
	// an access server in front of a serial port (ser2net's
	// telnet(rfc2217), a console server): once the host agrees, the
	// settings it holds are made, and the page shows the port's settings
	// and modem lines and may change them. Nil offers nothing.
	Serial *SerialSettings
	// Power, when set, lets the target's users (those it allows) power-
	// cycle the device behind it through an HTTP API (see PowerHook).
	Power *PowerHook
	// Login, when set, logs the target's sessions in to the host with
	// an account of the target's (see Login).
	Login *Login

	// byName is set on a host opened by name (AdhocTarget), whose
	// AllowUsers and AllowGroups are its rule's.
	byName bool
}

// enter is what Enter becomes on the wire (see Enter).
func (t Target) enter() telnet.LineEnding {
	if t.Raw && t.Enter == telnet.CRNUL {
		return telnet.RawCR
	}
	return t.Enter
}

// maxBanner bounds a target's banner, in bytes.
const maxBanner = 500

var colorPattern = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// ValidColor reports whether s is a color a target may have: #RGB or
// #RRGGBB.
func ValidColor(s string) bool { return colorPattern.MatchString(s) }

// checkLook checks the banner and color of a target or an ad-hoc rule,
// and names the key at fault.
func checkLook(banner, color string) (key string, err error) {
	if err := checkBanner(banner); err != nil {
		return "banner", err
	}
	if color != "" && !ValidColor(color) {
		return "color", fmt.Errorf("color %q: want #RGB or #RRGGBB", color)
	}
	return "", nil
}

// checkBanner checks a target's banner: UTF-8 text of at most maxBanner
// bytes, on one line, without control characters.
func checkBanner(s string) error {
	switch {
	case len(s) > maxBanner:
		return fmt.Errorf("banner: %d bytes, want at most %d", len(s), maxBanner)
	case !utf8.ValidString(s):
		return errors.New("banner: not UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("banner: want text on one line, without control characters")
	}
	return nil
}

// A WindowSize is a terminal's size in columns and rows.
type WindowSize struct{ Cols, Rows int }

// ParseWindowSize parses a window size as a configuration writes it,
// "80x24", each dimension MinWindow to MaxWindow.
func ParseWindowSize(s string) (WindowSize, error) {
	c, r, ok := strings.Cut(s, "x")
	cols, err1 := strconv.Atoi(c)
	rows, err2 := strconv.Atoi(r)
	if !ok || err1 != nil || err2 != nil || cols < MinWindow || cols > MaxWindow || rows < MinWindow || rows > MaxWindow {
		return WindowSize{}, fmt.Errorf("size %q: want COLSxROWS, as in 80x24, each from %d to %d", s, MinWindow, MaxWindow)
	}
	return WindowSize{cols, rows}, nil
}

// BS is Target.Backspace for a host that takes Backspace as Ctrl-H.
const BS byte = 8

// del is what a terminal's Backspace key sends.
const del byte = 127

// mouseReport starts an X10 mouse report, whose coordinate bytes may be
// 127.
var mouseReport = []byte("\x1b[M")

// maxLineDelay bounds line_delay: more is a typo (50s for 50ms), and
// would hold a pasted screenful for an hour.
const maxLineDelay = 10 * time.Second

// parseKeys reads the protocol, enter, backspace, line_delay and charset
// of a target or an ad-hoc rule as a configuration writes them ("" for
// the defaults), and returns a Target with those fields set.
func parseKeys(protocol, enter, backspace string, lineDelay time.Duration, charset string) (Target, error) {
	var t Target
	switch protocol {
	case "", "telnet":
	case "raw":
		t.Raw = true
	default:
		return t, fmt.Errorf("protocol %q: want telnet or raw", protocol)
	}
	e, err := telnet.ParseLineEnding(enter)
	switch {
	case t.Raw && enter == "":
		e = telnet.RawCR
	case t.Raw && (err != nil || e == telnet.CRNUL):
		// The NUL would reach the device as a byte of its own.
		return t, fmt.Errorf("enter %q: want cr or crlf for a raw host", enter)
	case !t.Raw && (err != nil || e == telnet.RawCR):
		// A bare CR is not a telnet line ending (RFC 854).
		return t, fmt.Errorf("enter %q: want crnul or crlf", enter)
	}
	t.Enter = e
	switch backspace {
	case "", "del":
	case "bs":
		t.Backspace = BS
	default:
		return t, fmt.Errorf("backspace %q: want del or bs", backspace)
	}
	if lineDelay < 0 || lineDelay > maxLineDelay {
		return t, fmt.Errorf("line_delay %v: want 0s to %v", lineDelay, maxLineDelay)
	}
	t.LineDelay = lineDelay
	if t.Charset, err = LookupCharset(charset); err != nil {
		return t, err
	}
	return t, nil
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

// NormalizeAddress checks an address, as a target's address or the
// -target flag gives it, and returns it as host:port: a host name or
// IPv4 address with an optional :port, an IPv6 address alone, or an IPv6
// address in brackets with an optional :port. The port is 23 when none is
// given, and otherwise 1 to 65535.
func NormalizeAddress(addr string) (string, error) {
	if addr == "" {
		return "", fmt.Errorf("empty address")
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("bad address %q: %s", addr, fmt.Sprintf(format, args...))
	}
	host, port, hasPort := addr, "", false
	switch {
	case strings.HasPrefix(addr, "["):
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return "", bad("missing ]")
		}
		host = addr[1:end]
		if rest := addr[end+1:]; rest != "" {
			if port, hasPort = strings.CutPrefix(rest, ":"); !hasPort {
				return "", bad("unexpected text after ]")
			}
		}
		if !isIPv6(host) {
			return "", bad("brackets hold an IPv6 address, as in [2001:db8::1]:23")
		}
	case strings.Count(addr, ":") == 1:
		host, port, hasPort = strings.Cut(addr, ":")
	case strings.Count(addr, ":") > 1 && !isIPv6(addr):
		return "", bad("not host:port, nor an IPv6 address (with a port, write it in brackets, as in [2001:db8::1]:23)")
	}
	if host == "" {
		return "", bad("no host")
	}
	for _, c := range host {
		if c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' || c == ']' {
			return "", bad("invalid host")
		}
	}
	if looksNumeric(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return "", bad("%v", notIPv4(host, false))
		}
	}
	p := telnet.TelnetPort
	if hasPort {
		p = -1
		if port != "" && strings.Trim(port, "0123456789") == "" {
			p, _ = strconv.Atoi(port)
		}
		if p < 1 || p > 65535 {
			return "", bad("port must be 1..65535")
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// isIPv6 reports whether s is an IPv6 address (with or without a zone).
func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
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
