package gateway

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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
  - name: core-sw.1
    address: core-sw
  - name: v6
    address: "[::1]:2323"
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9090" {
		t.Errorf("listen %q", cfg.Listen)
	}
	want := []Target{
		{Name: "lab", Address: "10.0.0.5:23", Description: "Lab console server", Term: "vt220", Enter: telnet.CRLF},
		{Name: "core-sw.1", Address: "core-sw:23"},
		{Name: "v6", Address: "[::1]:2323"},
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

func TestParseConfigRefusesWithFileLineAndReason(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"targets:\n  - name: a\n    address: h\n    adress: x\n", `c.yaml:4: unknown key "adress"`},
		{"listen: x\nport: 3\ntargets: []\n", `c.yaml:2: unknown key "port"`},
		{"targets:\n  - name: a\n    address: h\n  - name: a\n    address: g\n", `c.yaml:4: duplicate target name "a" (first at line 2)`},
		{"targets:\n  - name: a\n    address: h:0\n", `c.yaml:2: target "a": bad address "h:0": port must be 1..65535`},
		{"targets:\n  - name: a\n    address: http://h/\n", `c.yaml:2: target "a": bad address`},
		{"targets:\n  - name: a\n", `c.yaml:2: target "a": empty address`},
		{"targets:\n  - name: ../x\n    address: h\n", `c.yaml:2: target name "../x"`},
		{"targets:\n  - name: a\n    address: h\n    enter: lf\n", `c.yaml:2: target "a": enter "lf": want crnul or crlf`},
		{"targets:\n  - name: a\n    address: h\n    term: \"a b\"\n", `c.yaml:2: target "a": term "a b"`},
		{"targets: []\n", "c.yaml: no targets configured"},
		{"tls: {cert: a.pem}\ntargets: [{name: a, address: h}]\n", "c.yaml: tls: cert and key go together"},
		{"auth: {proxy_header: X-User}\ntargets: [{name: a, address: h}]\n", "c.yaml: auth: proxy_header needs trusted_proxies"},
		{"auth: {proxy_header: X-User, trusted_proxies: [10.0.0.0/33]}\ntargets: [{name: a, address: h}]\n", `c.yaml: auth: trusted_proxies: "10.0.0.0/33"`},
		{"auth: {proxy_groups_header: X-Groups, trusted_proxies: [10.0.0.1]}\ntargets: [{name: a, address: h}]\n", "c.yaml: auth: proxy_groups_header needs proxy_header"},
		{"auth: {trusted_proxies: [10.0.0.0/33]}\ntargets: [{name: a, address: h}]\n", `c.yaml: auth: trusted_proxies: "10.0.0.0/33"`},
		{"http: {allowed_origins: [portal.example]}\ntargets: [{name: a, address: h}]\n", `c.yaml: http: "portal.example" is not an origin`},
		{"limits: {max_sessions: -5}\ntargets: [{name: a, address: h}]\n", "c.yaml: limits: max_sessions: -5"},
		{"limits: {idle_timeout: soon}\ntargets: [{name: a, address: h}]\n", "c.yaml:1:"},
		{"limits: {idle_timeout: 30}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: duration 30 needs a unit, as in 30s or 30m"},
		{"limits: {idle_timeout: -1}\ntargets: [{name: a, address: h}]\n", "c.yaml:1: duration -1 needs a unit, as in -1s or -1m"},
		{"limits: {client_ipv6_prefix: 16}\ntargets: [{name: a, address: h}]\n", "c.yaml: limits: client_ipv6_prefix: 16"},
		{"targets: [{name: a, address: h, record: true}]\n", "c.yaml: recording: a target has record: true but recording has no dir"},
		{"adhoc: [{hosts: [\"*\"]}]\n", `c.yaml: adhoc[0]: hosts: "*"`},
		{"adhoc: [{hosts: [10.0.0.0/8], ports: \"23,99-20\"}]\n", `c.yaml: adhoc[0]: ports: "99-20"`},
		{"", "c.yaml: empty file"},
		{"targets:\n  - name: a\n   address: h\n", "c.yaml:1: did not find expected"},
	} {
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

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"host":          "host:23",
		"host:2323":     "host:2323",
		"10.0.0.1":      "10.0.0.1:23",
		"[fe80::1]:23":  "[fe80::1]:23",
		"[::1]":         "[::1]:23",
		"console.lab:7": "console.lab:7",
	} {
		got, err := NormalizeAddress(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ":23", "h:x", "h:65536", "a b:23", "user@h:23", "h/x"} {
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
		cfg.HTTP.AllowedOrigins[0] != "https://portal.example.com" || !cfg.Recording.Input || len(cfg.Adhoc) != 1 {
		t.Errorf("config %+v", cfg)
	}
	lab := cfg.Targets[0]
	if !lab.Record || !lab.Allows("alice", nil) || !lab.Allows("bob", []string{"netops"}) || lab.Allows("bob", []string{"sales"}) {
		t.Errorf("target %+v", lab)
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
