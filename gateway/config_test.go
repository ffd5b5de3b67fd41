package gateway

import (
	"errors"
	"strings"
	"testing"

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
		if cfg.Targets[i] != want[i] {
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
