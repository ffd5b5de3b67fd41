package gateway

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"telgate/telnet"
)

func TestParseConfigAcceptsTheDocumentedShape(t *testing.T) {
	cfg, err := ParseConfig("telgate.yaml", []byte(`
listen: 127.0.0.1:9090
targets:
  - name: lab
    address: 10.0.0.5:23
    description: Lab console server
    term: vt220
    enter: crlf
    banner: "Production: changes need a ticket ✓"
    color: "#c0392b"
    watch_only: true
  - name: core-sw.1
    address: core-sw
    backspace: bs
    line_delay: 50ms
    charset: cp437
  - name: v6
    address: "[::1]:2323"
    backspace: del
  - name: serial
    address: console-server:7001
    protocol: raw
    size: 80x24
  - name: serial-crlf
    address: console-server:7002
    protocol: raw
    enter: crlf
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9090" {
		t.Errorf("listen %q", cfg.Listen)
	}
	want := []Target{
		{Name: "lab", Address: "10.0.0.5:23", Description: "Lab console server", Term: "vt220", Enter: telnet.CRLF,
			Banner: "Production: changes need a ticket ✓", Color: "#c0392b", WatchOnly: true},
		{Name: "core-sw.1", Address: "core-sw:23", Backspace: BS, LineDelay: 50 * time.Millisecond, Charset: mustCharset(t, "cp437")},
		{Name: "v6", Address: "[::1]:2323"},
		{Name: "serial", Address: "console-server:7001", Raw: true, Enter: telnet.RawCR, Size: WindowSize{80, 24}},
		{Name: "serial-crlf", Address: "console-server:7002", Raw: true, Enter: telnet.CRLF},
	}
	if len(cfg.Targets) != len(want) {
		t.Fatalf("targets %+v", cfg.Targets)
	}
	for i := range want {
		if !reflect.DeepEqual(cfg.Targets[i], want[i]) {
			t.Errorf("target %d = %+v, want %+v", i, cfg.Targets[i], want[i])
		}
	}
}

// refusals are configurations and the start of the error each must give.
type refusals []struct{ yaml, want string }

// check checks that each configuration gives a ConfigError starting with
// what it wants.
func (rs refusals) check(t *testing.T) {
	t.Helper()
	for _, tc := range rs {
		_, err := ParseConfig("c.yaml", []byte(tc.yaml))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%q: error %v, want a ConfigError", tc.yaml, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %q\nwant %q...", tc.yaml, err, tc.want)
		}
	}
}

func TestParseConfigRefusesWithFileLineAndReason(t *testing.T) {
	refusals{
		{"targets:\n  - name: a\n    address: h\n    adress: x\n", `c.yaml:4: unknown key "adress"`},
		{"listen: x\nport: 3\ntargets: []\n", `c.yaml:2: unknown key "port"`},
		{"targets:\n  - name: a\n    address: h\n  - name: a\n    address: g\n", `c.yaml:4: duplicate target name "a" (first at line 2)`},
		{"targets:\n  - name: a\n    address: h:0\n", `c.yaml:2: target "a": bad address "h:0": port must be 1..65535`},
		{"targets:\n  - name: a\n    address: http://h/\n", `c.yaml:2: target "a": bad address`},
		{"targets:\n  - name: a\n", `c.yaml:2: target "a": empty address`},
		{"targets:\n  - name: ../x\n    address: h\n", `c.yaml:2: target name "../x"`},
		{"targets:\n  - name: a\n    address: h\n    enter: lf\n", `c.yaml:2: target "a": enter "lf": want crnul or crlf`},
		{"targets:\n  - name: a\n    address: h\n    backspace: ctrl-h\n", `c.yaml:2: target "a": backspace "ctrl-h": want del or bs`},
		{"targets:\n  - name: a\n    address: h\n    line_delay: 50s\n", `c.yaml:2: target "a": line_delay 50s: want 0s to 10s`},
		{"targets:\n  - name: a\n    address: h\n    line_delay: -1ms\n", `c.yaml:2: target "a": line_delay -1ms: want 0s to 10s`},
		{"targets:\n  - name: a\n    address: h\n    line_delay: 50\n", `c.yaml:4: duration 50 needs a unit, as in 50s or 50m`},
		{"targets:\n  - name: a\n    address: h\n    term: \"a b\"\n", `c.yaml:2: target "a": term "a b"`},
		{"targets: []\n", "c.yaml: no targets configured"},
		{"tls: {cert: a.pem}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: tls: cert and key go together"},
		{"auth: {proxy_header: X-User}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: auth: proxy_header needs trusted_proxies"},
		{"auth: {proxy_header: X-User, trusted_proxies: [10.0.0.0/33]}\ntargets: [{name: a, address: h}]\n", `c.yaml:1: auth: trusted_proxies: "10.0.0.0/33"`},
		{"auth: {proxy_groups_header: X-Groups, trusted_proxies: [10.0.0.1]}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: auth: proxy_groups_header needs proxy_header"},
		{"auth:\n  client_crl: revoked.pem\ntargets: [{name: a, address: h}]\n", "c.yaml:2: auth: client_crl needs client_ca"},
		{"targets:\n  - name: a\n    address: h\n    power: {url: \"ftp://pdu/x\"}\n", "c.yaml:2: target \"a\": power: url: want http://HOST/... or https://HOST/..."},
		{"targets:\n  - name: a\n    address: h\n    power: {method: POST}\n", "c.yaml:2: target \"a\": power: url is missing"},
		{"targets:\n  - name: a\n    address: h\n    power: {url: \"https://pdu/x\", verb: POST}\n", "c.yaml:4: unknown key \"verb\""},
		{"auth: {trusted_proxies: [10.0.0.0/33]}\ntargets: [{name: a, address: h}]\n", `c.yaml:1: auth: trusted_proxies: "10.0.0.0/33"`},
		{"auth: {trusted_proxies: [10.0.0.1, 'fe80::1%eth0']}\ntargets: [{name: a, address: h}]\n", `c.yaml:1: auth: trusted_proxies: "fe80::1%eth0" is link-local`},
		{"auth: {trusted_proxies: ['fe80::/64']}\ntargets: [{name: a, address: h}]\n", `c.yaml:1: auth: trusted_proxies: "fe80::/64" is link-local`},
		{"http: {allowed_origins: [portal.example]}\ntargets: [{name: a, address: h}]\n", `c.yaml:1: http: allowed_origins: "portal.example" is not an origin`},
		{"limits: {max_sessions: -5}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: limits: max_sessions: -5"},
		{"limits: {idle_timeout: soon}\ntargets: [{name: a, address: h}]\n", "c.yaml:1:"},
		{"limits: {idle_timeout: 30}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: duration 30 needs a unit, as in 30s or 30m"},
		{"limits: {idle_timeout: -1}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: duration -1 needs a unit, as in -1s or -1m"},
		{"limits: {client_ipv6_prefix: 16}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: limits: client_ipv6_prefix: 16"},
		{"targets: [{name: a, address: h, record: true}]\n", "c.yaml:1: recording: a target has record: true but recording has no dir"},
		{"adhoc: [{hosts: [\"*\"]}]\n", `c.yaml:1: adhoc[0]: hosts: "*"`},
		{"adhoc: [{hosts: [10.0.0.0/8], ports: \"23,99-20\"}]\n", `c.yaml:1: adhoc[0]: ports: "99-20"`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    enter: cr\n", `c.yaml:2: adhoc[0]: enter "cr": want crnul or crlf`},
		{"targets:\n  - name: a\n    address: h\n    protocol: ssh\n", `c.yaml:2: target "a": protocol "ssh": want telnet or raw`},
		{"targets:\n  - name: a\n    address: h\n    size: 80*24\n", `c.yaml:2: target "a": size "80*24": want COLSxROWS, as in 80x24, each from 1 to 1000`},
		{"targets:\n  - name: a\n    address: h\n    protocol: raw\n    enter: crnul\n", `c.yaml:2: target "a": enter "crnul": want cr or crlf for a raw host`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    protocol: raw\n    enter: lf\n", `c.yaml:2: adhoc[0]: enter "lf": want cr or crlf for a raw host`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    line_delay: 1m\n", `c.yaml:2: adhoc[0]: line_delay 1m0s: want 0s to 10s`},
		{"", "c.yaml: empty file"},
		{"targets:\n  - name: a\n   address: h\n", "c.yaml:1: did not find expected"},
	}.check(t)
}

// Values that were once taken and then ignored, or worse, are refused with
// the line of the value and what is wrong with it.
func TestParseConfigRefusesValuesThatWouldNotWork(t *testing.T) {
	const target = "targets:\n  - name: a\n    address: h\n"
	refusals{
		// A target address neither host[:port], an IPv6 address nor
		// [IPv6]:port.
		{"targets:\n  - name: a\n    address: 'a:b:c'\n", `c.yaml:2: target "a": bad address "a:b:c": not host:port, nor an IPv6 address`},
		{"targets:\n  - name: a\n    address: '10.0.0.5:23:'\n", `c.yaml:2: target "a": bad address "10.0.0.5:23:": not host:port`},
		{"targets:\n  - name: a\n    address: '[h]:23'\n", `c.yaml:2: target "a": bad address "[h]:23": brackets hold an IPv6 address`},
		{"targets:\n  - name: a\n    address: 10.0.5\n", `c.yaml:2: target "a": bad address "10.0.5": "10.0.5" is not an IP address`},
		// A color a style sheet would take otherwise, or not at all; a
		// banner that would not show as one line.
		{target + "    color: red\n", `c.yaml:2: target "a": color "red": want #RGB or #RRGGBB`},
		{target + "    color: '#12345'\n", `c.yaml:2: target "a": color "#12345": want #RGB or #RRGGBB`},
		{target + "    color: '#fff; background: url(x)'\n", `c.yaml:2: target "a": color`},
		{target + "    banner: \"two\\nlines\"\n", `c.yaml:2: target "a": banner: want text on one line`},
		{target + "    banner: " + strings.Repeat("x", 501) + "\n", `c.yaml:2: target "a": banner: 501 bytes, want at most 500`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    color: blue\n", `c.yaml:3: adhoc[0]: color "blue": want #RGB or #RRGGBB`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    banner: \"a\\tb\"\n", `c.yaml:3: adhoc[0]: banner: want text on one line`},
		// Origins the web layer would drop.
		{"http:\n  allowed_origins:\n    - https://portal.example.com\n    - http://a:99999\n" + target,
			`c.yaml:4: http: allowed_origins: "http://a:99999" is not an origin: port 99999 is not in 1..65535`},
		{"http:\n  frame_ancestors: ['http://a:0']\n" + target, `c.yaml:2: http: frame_ancestors: "http://a:0" is not an origin: port 0`},
		{"http: {allowed_origins: ['http://[1:2:3]']}\n" + target, `c.yaml:1: http: allowed_origins: "http://[1:2:3]" is not an origin: [1:2:3] is not an IPv6 address`},
		{"http: {allowed_origins: ['http://a..b']}\n" + target, `c.yaml:1: http: allowed_origins: "http://a..b" is not an origin: a..b is not a host name`},
		{"http: {allowed_origins: ['http://10.0.0']}\n" + target, `c.yaml:1: http: allowed_origins: "http://10.0.0" is not an origin: 10.0.0 is neither a host name nor an IPv4 address`},
		{"http: {allowed_origins: ['http://010.0.0.1:8080']}\n" + target, `c.yaml:1: http: allowed_origins: "http://010.0.0.1:8080" is not an origin: 010.0.0.1 is neither`},
		{"http: {frame_ancestors: ['https://portal.0x1f']}\n" + target, `c.yaml:1: http: frame_ancestors: "https://portal.0x1f" is not an origin: portal.0x1f is neither`},
		{"http: {allowed_origins: ['http://1.2.3.4.5']}\n" + target, `c.yaml:1: http: allowed_origins: "http://1.2.3.4.5" is not an origin: 1.2.3.4.5 is neither`},
		// A character set unknown, or one that would garble telnet.
		{target + "    charset: klingon\n", `c.yaml:2: target "a": charset "klingon": not a character set this build knows`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    charset: utf-16\n" + target, `c.yaml:2: adhoc[0]: charset "utf-16": it does not keep ASCII`},
		// A base path a browser or proxy would rewrite.
		{"http:\n  base_path: /a/../b\n" + target, `c.yaml:2: http: base_path: "/a/../b" has a ".." segment`},
		{"http: {base_path: '/a b/'}\n" + target, `c.yaml:1: http: base_path: "/a b/": ' ' is not allowed`},
		{"http: {base_path: '/a//b'}\n" + target, `c.yaml:1: http: base_path: "/a//b" has an empty segment`},
		{"http: {base_path: '/a?b'}\n" + target, `c.yaml:1: http: base_path: "/a?b": '?' is not allowed`},
		{"http: {base_path: '/a%2fb'}\n" + target, `c.yaml:1: http: base_path: "/a%2fb": '%' is not allowed`},
		// A connect rate that is not a number turned rate limiting off.
		{target + "limits:\n  connect_rate: .nan\n", "c.yaml:5: limits: connect_rate: NaN (want a number of sessions a second, or -1 for none)"},
		{target + "limits:\n  connect_rate: .inf\n", "c.yaml:5: limits: connect_rate: +Inf"},
		{target + "limits:\n  connect_rate: -.inf\n", "c.yaml:5: limits: connect_rate: -Inf"},
		{target + "limits:\n  connect_rate: -2\n", "c.yaml:5: limits: connect_rate: -2"},
		// IPv4-mapped CIDRs shorter than the mapped range.
		{"adhoc:\n  - hosts: ['::ffff:10.0.0.0/80']\n", `c.yaml:2: adhoc[0]: hosts: "::ffff:10.0.0.0/80": an IPv4-mapped CIDR needs a length of at least /96`},
		{"auth: {trusted_proxies: ['::ffff:0.0.0.0/64']}\n" + target, `c.yaml:1: auth: trusted_proxies: "::ffff:0.0.0.0/64": an IPv4-mapped CIDR`},
		// Ad-hoc host patterns that can never match what a user types.
		{"adhoc:\n  - hosts:\n      - 10.1.0.0/16\n      - 10.20.0\n", `c.yaml:4: adhoc[0]: hosts: "10.20.0" is not an IP address: for a network write a CIDR, as in 10.20.0.0/24`},
		{"adhoc: [{hosts: ['010.0.0.1']}]\n", `c.yaml:1: adhoc[0]: hosts: "010.0.0.1" is not an IP address (four numbers from 0 to 255, without leading zeros)`},
		{"adhoc: [{hosts: [console.lab.2]}]\n", `c.yaml:1: adhoc[0]: hosts: "console.lab.2" is not a host name`},
		{"adhoc: [{hosts: ['*.10.20']}]\n", `c.yaml:1: adhoc[0]: hosts: "*.10.20" is not a host name`},
		{"adhoc: [{hosts: ['con!sole']}]\n", `c.yaml:1: adhoc[0]: hosts: "con!sole" is not a host name`},
		// Durations too short to be meant.
		{target + "limits:\n  idle_timeout: 30m\n  ping_interval: 1ns\n", "c.yaml:6: limits: ping_interval: 1ns is too short (at least 1s, or -1s for none)"},
		{target + "limits: {ping_interval: 999ms}\n", "c.yaml:4: limits: ping_interval: 999ms is too short"},
		{target + "limits: {max_subnegotiation: 8}\n", "c.yaml:4: limits: max_subnegotiation: 8 is too small (at least 64)"},
		{target + "limits: {max_viewers: -2}\n", "c.yaml:4: limits: max_viewers: -2 (want a count, or -1 for none)"},
		{target + "recording: {dir: /tmp, max_bytes: 300}\n", "c.yaml:4: recording: max_bytes: 300 is too small (at least 65536)"},
		{target + "limits: {dial_timeout: 10ms}\n", "c.yaml:4: limits: dial_timeout: 10ms is too short (at least 100ms, or -1s for none)"},
		{target + "limits: {idle_timeout: 30ms}\n", "c.yaml:4: limits: idle_timeout: 30ms is too short (at least 1s"},
		{target + "limits: {max_duration: 12ms}\n", "c.yaml:4: limits: max_duration: 12ms is too short (at least 1s"},
	}.check(t)
}

// The bounds themselves, and what means the default or none, are taken.
func TestParseConfigTakesValuesAtTheBounds(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte(`
auth: {trusted_proxies: ['::ffff:10.0.0.0/104', '::ffff:10.9.9.9', '::ffff:0:0/96']}
http:
  allowed_origins: ['http://a:1', 'https://a:65535', 'https://[::1]:8443', 'http://Portal.Example.COM.', 'http://10.0.0.1:8080', 'https://lab7.example.net', 'https://a.b1']
limits:
  connect_rate: 0.001
  dial_timeout: 100ms
  idle_timeout: 1s
  max_duration: 1s
  ping_interval: 1s
adhoc:
  - hosts: ['::ffff:10.20.0.0/112', 10.0.0.1, '*.lab.example.com', console_1.example.com]
    enter: crlf
    backspace: bs
    line_delay: 10s
targets:
  - {name: a, address: h}
  - {name: b, address: '::1'}
  - {name: c, address: 'fe80::1%eth0'}
  - {name: d, address: '[fe80::1%eth0]:2323'}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets[3].Address; got != "[fe80::1%eth0]:2323" {
		t.Errorf("address %q", got)
	}
	for _, in := range []string{"connect_rate: -1", "dial_timeout: -1s", "ping_interval: -1s", "idle_timeout: 0s", "max_duration: -1h", "max_viewers: -1"} {
		if _, err := ParseConfig("c.yaml", []byte("limits: {"+in+"}\ntargets: [{name: a, address: h}]\n")); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}

// An IPv4-mapped address or CIDR is taken as the IPv4 one: addresses are
// compared in IPv4 form, so the mapped form would never match.
func TestParsePrefixTakesIPv4MappedAsIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"::ffff:10.0.0.0/104":  "10.0.0.0/8",
		"::ffff:10.1.2.0/120":  "10.1.2.0/24",
		"::ffff:0.0.0.0/96":    "0.0.0.0/0",
		"::ffff:10.9.9.9":      "10.9.9.9/32",
		"::ffff:10.9.9.9/128":  "10.9.9.9/32",
		"10.0.0.0/8":           "10.0.0.0/8",
		"2001:db8::/32":        "2001:db8::/32",
		"::ffff:10.0.0.0/95":   "",
		"::ffff:10.0.0.0/1000": "",
		"::ffff:10.1.2.3/120":  "",
	} {
		got, err := ParsePrefix(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want an error", in, got)
			}
			continue
		}
		if err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// A CIDR with host bits set (10.0.0.5/8) is refused: it was taken for
// its whole network, silently wider than the one address it may have
// meant.
func TestParsePrefixRefusesHostBits(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5/8":          `"10.0.0.5/8" has host bits set: write 10.0.0.0/8 for the network or 10.0.0.5 for the one address`,
		"192.168.1.1/24":      `"192.168.1.1/24" has host bits set: write 192.168.1.0/24 for the network or 192.168.1.1 for the one address`,
		"2001:db8::1/64":      `"2001:db8::1/64" has host bits set: write 2001:db8::/64 for the network or 2001:db8::1 for the one address`,
		"::ffff:10.0.0.5/104": `"::ffff:10.0.0.5/104" has host bits set: write 10.0.0.0/8 for the network or 10.0.0.5 for the one address`,
	} {
		got, err := ParsePrefix(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want the error %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"10.0.0.5/32": "10.0.0.5/32", "10.0.0.5": "10.0.0.5/32", "0.0.0.0/0": "0.0.0.0/0", "2001:db8::/64": "2001:db8::/64"} {
		if got, err := ParsePrefix(in); err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	const target = "targets:\n  - name: a\n    address: h\n"
	refusals{
		{"auth:\n  trusted_proxies:\n    - 127.0.0.1\n    - 10.0.0.5/8\n" + target,
			`c.yaml:4: auth: trusted_proxies: "10.0.0.5/8" has host bits set: write 10.0.0.0/8 for the network or 10.0.0.5 for the one address`},
		{"adhoc:\n  - hosts: [console.lab.example.com]\n  - hosts:\n      - 10.20.0.1/16\n",
			`c.yaml:4: adhoc[1]: hosts: "10.20.0.1/16" has host bits set: write 10.20.0.0/16 for the network or 10.20.0.1 for the one address`},
	}.check(t)
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"host":          "host:23",
		"host:2323":     "host:2323",
		"10.0.0.1":      "10.0.0.1:23",
		"[fe80::1]:23":  "[fe80::1]:23",
		"[::1]":         "[::1]:23",
		"console.lab:7": "console.lab:7",
		"::1":           "[::1]:23",
		"2001:db8::1":   "[2001:db8::1]:23",
		"fe80::1%eth0":  "[fe80::1%eth0]:23",
		"[::1]:0023":    "[::1]:23",
		"1.2.3.4:65535": "1.2.3.4:65535",
	} {
		got, err := NormalizeAddress(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ":23", "h:x", "h:65536", "a b:23", "user@h:23", "h/x",
		"a:b:c", "10.0.0.5:23:", "h:23:", "1:2:3:4:5:6:7:8:9", "[h]:23", "[10.0.0.1]", "[::1]x", "[::1]:",
		"[::1", "[::1]:65536", "h:+23", "h:-1", "h:", "10.0.0", "10.0.0:23", "010.0.0.1", "1.2.3.4.5", "a]b"} {
		if got, err := NormalizeAddress(in); err == nil {
			t.Errorf("NormalizeAddress(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseConfigReadsEveryOptionalSection(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte(`
listen: 0.0.0.0:8443
tls: {cert: cert.pem, key: key.pem}
auth:
  users_file: users.yaml
  proxy_header: X-Forwarded-User
  proxy_groups_header: X-Forwarded-Groups
  trusted_proxies: [127.0.0.1, 10.0.0.0/8]
http:
  base_path: /console
  allowed_origins: [https://portal.example.com]
  frame_ancestors: ["https://portal.example.com:8443"]
limits: {max_sessions: 9000, idle_timeout: 30m, connect_rate: -1, max_message_size: 65536, client_ipv6_prefix: 64}
recording: {dir: /var/lib/telgate, max_bytes: 1048576, input: true}
adhoc:
  - hosts: ["*.lab.example.com", 10.20.0.0/16]
    ports: "23,2000-2099"
    allow_groups: [netops]
targets:
  - name: lab
    address: 10.0.0.5
    allow_users: [alice]
    allow_groups: [netops]
    record: true
`))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits.WithDefaults()
	if l.MaxSessions != 9000 || l.IdleTimeout != 30*time.Minute || l.ConnectRate != -1 ||
		l.MaxMessageSize != 65536 || l.MaxSessionsPerUser != DefaultLimits().MaxSessionsPerUser || l.ClientIPv6Prefix != 64 {
		t.Errorf("limits %+v", l)
	}
	if cfg.TLS.Cert != "cert.pem" || cfg.Auth.ProxyHeader != "X-Forwarded-User" || len(cfg.Auth.TrustedProxies) != 2 ||
		cfg.HTTP.AllowedOrigins[0] != "https://portal.example.com" || cfg.HTTP.BasePath != "/console" || !cfg.Recording.Input || len(cfg.Adhoc) != 1 {
		t.Errorf("config %+v", cfg)
	}
	lab := cfg.Targets[0]
	if !lab.Record || !lab.Allows("alice", nil) || !lab.Allows("bob", []string{"netops"}) || lab.Allows("bob", []string{"sales"}) {
		t.Errorf("target %+v", lab)
	}
}

func TestParseBasePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"console":           "/console/",
		"/console":          "/console/",
		"/console/":         "/console/",
		"/tools/lab-1.a_b~": "/tools/lab-1.a_b~/",
	} {
		if got, err := ParseBasePath(in); err != nil || got != want {
			t.Errorf("ParseBasePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"/..", "/./a", "/a//b", "/a b", "/a?b", "/a#b", "/a%20b", "healthz", "/readyz/", "/ä", "/{x}", "/a\x00b", "/" + strings.Repeat("a", maxBasePath)} {
		if got, err := ParseBasePath(in); err == nil {
			t.Errorf("ParseBasePath(%q) = %q, want an error", in, got)
		}
	}
}

// A reverse proxy that only terminates TLS is trusted for X-Forwarded-For
// and the like without carrying the user's name.
func TestParseConfigTakesTrustedProxiesWithoutProxyHeader(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("auth: {users_file: u.yaml, trusted_proxies: [127.0.0.1]}\ntargets: [{name: a, address: h}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auth.TrustedProxies; len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("trusted_proxies %q", got)
	}
}

func TestLineAt(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("# comment\nbase: &b {x: 1}\nauth:\n  trusted_proxies:\n    - 10.0.0.1\n    - 10.0.0.2\nlimits: *b\n"), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []any
		want int
	}{
		{[]any{"auth", "trusted_proxies", 1}, 6},
		{[]any{"auth", "trusted_proxies", 2}, 4},
		{[]any{"auth", "proxy_header"}, 3},
		{[]any{"limits", "x"}, 2},
		{[]any{"tls"}, 0},
		{[]any{"auth", 0}, 3},
	} {
		if got := lineAt(&doc, tc.path...); got != tc.want {
			t.Errorf("lineAt(%v) = %d, want %d", tc.path, got, tc.want)
		}
	}
	if got := lineAt(&yaml.Node{Kind: yaml.DocumentNode}, "a"); got != 0 {
		t.Errorf("empty document: %d", got)
	}
}

// An allow_users or allow_groups written but listing no one ([], or every
// entry commented out, which YAML reads as null) was read as no
// restriction: the target, or the ad-hoc rule, was open to every user.
// Now it is refused at the key's line; a list left out still opens to
// every user.
func TestParseConfigRefusesAllowListsNamingNoOne(t *testing.T) {
	const auth = "auth: {users_file: users.yaml}\n"
	refusals{
		{auth + "targets:\n  - name: core\n    address: h\n    allow_users:\n      # - alice\n",
			`c.yaml:5: target "core": allow_users lists nobody: remove the key to open the target to every user, or list users`},
		{auth + "targets:\n  - name: core\n    address: h\n    allow_users: []\n    allow_groups: []\n",
			`c.yaml:5: target "core": allow_users lists nobody: remove the key to open the target to every user, or list users`},
		{auth + "targets:\n  - {name: a, address: h}\n  - name: core\n    address: h\n    allow_groups: ~\n",
			`c.yaml:6: target "core": allow_groups lists no group: remove the key to open the target to every user, or list groups`},
		// Beside a list that names someone, an empty one does not open
		// the target, but it does not say what it was written for either.
		{auth + "targets:\n  - name: core\n    address: h\n    allow_users: [alice]\n    allow_groups: []\n",
			`c.yaml:6: target "core": allow_groups lists no group: list groups, or remove the key`},
		// Merged in from an anchor.
		{auth + "targets:\n  - name: core\n    address: h\n    <<: [{record: false}, {allow_users: []}]\n",
			`c.yaml:5: target "core": allow_users lists nobody`},
		{auth + "adhoc:\n  - hosts: [10.20.0.0/16]\n    allow_groups:\n      # - netops\n",
			`c.yaml:4: adhoc[0]: allow_groups lists no group: remove the key to open the rule's hosts to every user, or list groups`},
		{auth + "adhoc:\n  - hosts: [10.20.0.0/16]\n    allow_groups: [netops]\n  - hosts: [10.30.0.0/16]\n    allow_users: []\n",
			`c.yaml:6: adhoc[1]: allow_users lists nobody: remove the key to open the rule's hosts to every user, or list users`},
	}.check(t)
	cfg, err := ParseConfig("c.yaml", []byte(auth+"targets:\n  - name: open\n    address: h\n  - name: closed\n    address: h\n    allow_users: [alice]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Targets[0].Allows("mallory", nil) || cfg.Targets[1].Allows("mallory", nil) || !cfg.Targets[1].Allows("alice", nil) {
		t.Errorf("targets %+v", cfg.Targets)
	}
}

// An explicit 0 in limits silently became the default (max_sessions: 0
// gave 1000, connect_burst: 0 gave 20), though the README says only a
// missing value takes the default and -1 means none. Now it is refused
// where 0 says something else; idle_timeout and max_duration take 0s,
// which means none as their default does, and a key with no value is
// left out.
func TestParseConfigRefusesAnExplicitZeroLimit(t *testing.T) {
	const target = "targets:\n  - name: a\n    address: h\n"
	refusals{
		{target + "limits:\n  max_sessions: 5\n  max_sessions_per_user: 0\n", "c.yaml:6: limits: max_sessions_per_user: 0 would refuse every session: leave it out for the default (20), or -1 for none"},
		{target + "limits: {max_sessions: 0}\n", "c.yaml:4: limits: max_sessions: 0 would refuse every session: leave it out for the default (1000), or -1 for none"},
		{target + "limits: {max_sessions_per_client: 0}\n", "c.yaml:4: limits: max_sessions_per_client: 0 would refuse every session: leave it out for the default (50), or -1 for none"},
		{target + "limits: {connect_rate: 0.0}\n", "c.yaml:4: limits: connect_rate: 0 would let a client open connect_burst sessions and never another: leave it out for the default (2), or -1 for none"},
		{target + "limits: {connect_burst: 0}\n", "c.yaml:4: limits: connect_burst: 0 would refuse every session: leave it out for the default (20), or -1 for none"},
		{target + "limits: {dial_timeout: 0s}\n", "c.yaml:4: limits: dial_timeout: 0s would give up on every host at once: leave it out for the default (10s), or -1s for none"},
		{target + "limits: {ping_interval: 0m}\n", "c.yaml:4: limits: ping_interval: 0s would ping without pause: leave it out for the default (30s), or -1s for no pings"},
		{target + "limits: {max_message_size: 0}\n", "c.yaml:4: limits: max_message_size: 0 would refuse every message from the browser: leave it out for the default (262144), or -1 for none"},
		{target + "limits: {max_subnegotiation: 0}\n", "c.yaml:4: limits: max_subnegotiation: 0 would drop every subnegotiation from a host: leave it out for the default (65536), or -1 for none"},
		{target + "limits: {max_viewers: 0}\n", "c.yaml:4: limits: max_viewers: 0 would let sessions be shared with nobody: leave it out for the default (10), or -1 to turn sharing off"},
		{target + "limits: {client_ipv6_prefix: 0}\n", "c.yaml:4: limits: client_ipv6_prefix: 0 would count every IPv6 client as one: leave it out for the default (128), or a prefix length from 32 to 128"},
	}.check(t)
	cfg, err := ParseConfig("c.yaml", []byte(target+"limits:\n  max_sessions:\n  idle_timeout: 0s\n  max_duration: 0s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits.WithDefaults(); l != DefaultLimits() {
		t.Errorf("limits %+v, want the defaults", l)
	}
}

// Only the first YAML document was decoded: a second one, after ---, was
// dropped without a word, with whatever auth or limits it held.
func TestParseConfigRefusesASecondDocument(t *testing.T) {
	const target = "targets:\n  - name: a\n    address: h\n"
	refusals{
		{target + "---\nauth:\n  users_file: users.yaml\n", "c.yaml:4: a second YAML document (after ---): a configuration is one document"},
		{"---\n" + target + "...\n---\nlimits: {max_sessions: 5}\n", "c.yaml:6: a second YAML document"},
		{target + "---\n# nothing\n---\nlimits: {max_sessions: 5}\n", "c.yaml:6: a second YAML document"},
		{target + "---\nauth: [\n", "c.yaml:5: did not find expected node content"},
	}.check(t)
	// A document that holds nothing drops nothing.
	for _, in := range []string{"---\n" + target, target + "...\n", "---\n" + target + "...\n",
		target + "---\n", target + "--- # the end\n# nothing more\n", target + "---\n# nothing\n"} {
		if _, err := ParseConfig("c.yaml", []byte(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// A browser writes an IPv6 origin in its canonical form, and package web
// compares origins as text (in lower case), so an allowed origin or frame
// ancestor written otherwise never matched. It is refused with the form
// to write; an IPv4-mapped one with the IPv4 origin.
func TestParseConfigRefusesIPv6OriginsNotAsABrowserWritesThem(t *testing.T) {
	const target = "targets:\n  - name: a\n    address: h\n"
	refusals{
		{"http:\n  allowed_origins:\n    - https://[::1]\n    - 'http://[2001:db8:0:0::1]:8080'\n" + target,
			`c.yaml:4: http: allowed_origins: "http://[2001:db8:0:0::1]:8080" would never match: a browser writes this origin http://[2001:db8::1]:8080`},
		{"http: {allowed_origins: ['http://[2001:0DB8::1]']}\n" + target,
			`c.yaml:1: http: allowed_origins: "http://[2001:0DB8::1]" would never match: a browser writes this origin http://[2001:db8::1]`},
		{"http: {frame_ancestors: ['https://[2001:db8:0:0:1:0:0:1]']}\n" + target,
			`c.yaml:1: http: frame_ancestors: "https://[2001:db8:0:0:1:0:0:1]" would never match: a browser writes this origin https://[2001:db8::1:0:0:1]`},
		{"http: {allowed_origins: ['http://[::ffff:10.0.0.1]:8080']}\n" + target,
			`c.yaml:1: http: allowed_origins: "http://[::ffff:10.0.0.1]:8080" would never match: a browser writes this origin http://[::ffff:a00:1]:8080`},
		{"http: {frame_ancestors: ['http://[0:0:0:0:0:ffff:a00:1]']}\n" + target,
			`c.yaml:1: http: frame_ancestors: "http://[0:0:0:0:0:ffff:a00:1]" would never match: a browser writes this origin http://[::ffff:a00:1]`},
	}.check(t)
	for _, o := range []string{"http://[::ffff:a00:1]:8080", "http://[::ffff:0:0]", "http://[::1]", "https://[2001:db8::1]:8443", "http://[2001:DB8::1]", "http://[fe80::1]", "http://[::102:304]", "http://[2001:db8::1:0:0:1]"} {
		if err := checkOrigin(o); err != nil {
			t.Errorf("checkOrigin(%q): %v", o, err)
		}
	}
}

func TestParseConfigReadsSerial(t *testing.T) {
	cfg, err := ParseConfig("telgate.yaml", []byte(`
targets:
  - {name: off, address: h, serial: false}
  - {name: on, address: h, serial: true}
  - {name: set, address: h, serial: "9600 8N1"}
  - {name: all, address: h, serial: "rtscts 7e1.5 115200"}
  - {name: speed, address: h, serial: 57600}
adhoc:
  - {hosts: [10.0.0.0/8], ports: "2000-2099", serial: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []*SerialSettings{nil, {}, {Baud: 9600, Data: 8, Parity: "none", Stop: "1"},
		{Baud: 115200, Data: 7, Parity: "even", Stop: "1.5", Flow: "rtscts"}, {Baud: 57600}}
	for i, w := range want {
		if got := cfg.Targets[i].Serial; !reflect.DeepEqual(got, w) {
			t.Errorf("target %s: serial %+v, want %+v", cfg.Targets[i].Name, got, w)
		}
	}
	if s := (SerialSettings{Baud: 115200, Data: 7, Parity: "even", Stop: "1.5", Flow: "rtscts"}).String(); s != "115200 7E1.5 rtscts" {
		t.Errorf("String() = %q", s)
	}
	refusals{
		{"targets:\n  - name: a\n    address: h\n    serial: 96OO\n", `c.yaml:4: serial "96OO": "96OO": want a speed (9600), a format`},
		{"targets:\n  - name: a\n    address: h\n    serial: 10\n", `c.yaml:4: serial "10": speed "10": want one, from 50 to 20000000`},
		{"targets:\n  - name: a\n    address: h\n    serial: 9600 4800\n", `c.yaml:4: serial "9600 4800": speed "4800": want one`},
		{"targets:\n  - name: a\n    address: h\n    serial: 8N3\n", `c.yaml:4: serial "8N3": "8N3": want a speed`},
		{"targets:\n  - name: a\n    address: h\n    serial: 8N1 7E1\n", `c.yaml:4: serial "8N1 7E1": "7E1": want a speed`},
		{"targets:\n  - name: a\n    address: h\n    serial: none xonxoff\n", `c.yaml:4: serial "none xonxoff": two flow controls`},
		{"targets:\n  - name: a\n    address: h\n    serial: [9600]\n", `c.yaml:4: serial: want true, false or the port's settings`},
		{"targets:\n  - name: a\n    address: h\n    protocol: raw\n    serial: true\n", `c.yaml:2: target "a": serial: RFC 2217 is a telnet option, and protocol raw speaks no telnet`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    protocol: raw\n    serial: true\n", `c.yaml:4: adhoc[0]: serial: RFC 2217 is a telnet option`},
	}.check(t)
}

func TestParseConfigReadsPower(t *testing.T) {
	cfg, err := ParseConfig("telgate.yaml", []byte(`
targets:
  - name: board
    address: h
    power:
      url: https://pdu.lab.test/outlets/7/cycle
      method: PUT
      headers: {Authorization: "Bearer t"}
      body: '{"action":"cycle"}'
      allow_groups: [labadmin]
  - {name: plain, address: h}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &PowerHook{URL: "https://pdu.lab.test/outlets/7/cycle", Method: "PUT",
		Headers: map[string]string{"Authorization": "Bearer t"}, Body: `{"action":"cycle"}`, AllowGroups: []string{"labadmin"}}
	if got := cfg.Targets[0].Power; !reflect.DeepEqual(got, want) {
		t.Errorf("power %+v, want %+v", got, want)
	}
	if cfg.Targets[1].Power != nil {
		t.Errorf("a target without power has %+v", cfg.Targets[1].Power)
	}
}

func TestParseConfigACME(t *testing.T) {
	const target = "targets:\n  - {name: a, address: h}\n"
	cfg, err := ParseConfig("c.yaml", []byte("tls:\n  acme:\n    domains: [console.example.com]\n    email: ops@example.com\n    cache: acme\n"+target))
	if err != nil {
		t.Fatal(err)
	}
	want := ACMEConfig{Domains: []string{"console.example.com"}, Email: "ops@example.com", Cache: "acme"}
	if a := cfg.TLS.ACME; a == nil || !reflect.DeepEqual(*a, want) {
		t.Errorf("acme %+v, want %+v", a, want)
	}
	refusals{
		{"tls:\n  cert: c.pem\n  key: k.pem\n  acme: {domains: [a.example.com], cache: acme}\n" + target, "c.yaml:4: tls: acme or cert and key, not both"},
		{"tls:\n  acme: {cache: acme}\n" + target, "c.yaml:2: tls: acme: domains: list the names"},
		{"tls:\n  acme:\n    domains: [a.example.com, \"*.example.com\"]\n    cache: acme\n" + target, `c.yaml:3: tls: acme: domains: "*.example.com" is not a DNS name`},
		{"tls:\n  acme: {domains: [10.0.0.1], cache: acme}\n" + target, `c.yaml:2: tls: acme: domains: "10.0.0.1" is not a DNS name`},
		{"tls:\n  acme: {domains: [a.example.com]}\n" + target, "c.yaml:2: tls: acme: cache: name a directory"},
		{"tls:\n  acme:\n    domains: [a.example.com]\n    cache: acme\n    directory: http://ca.example.com/dir\n" + target, "c.yaml:5: tls: acme: directory: want an https URL"},
		{"tls:\n  acme:\n    domains: [a.example.com]\n    cache: acme\n    email: ops\n" + target, `c.yaml:5: tls: acme: email "ops" is not an address`},
		{"tls:\n  acme:\n    # domains: [a.example.com]\n" + target, "c.yaml:2: tls: acme: domains: list the names"},
		{"tls:\n  acme: {domains: [a.example.com], cache: acme, ca: roots.pem}\n" + target, "c.yaml:2: tls: acme: ca is for a private authority"},
	}.check(t)
}
