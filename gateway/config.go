package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"telgate/telnet"
)

// Config is the gateway's configuration file:
//
//	listen: 127.0.0.1:8080          # optional; the -listen flag wins
//	targets:
//	  - name: lab                   # what ?target= names
//	    address: 10.0.0.5:23        # host:port; port 23 when omitted
//	    description: Lab console server
//	    term: vt220                 # optional; overrides the browser's type
//	    enter: crlf                 # optional; crnul (default) or crlf
type Config struct {
	Listen  string
	Targets []Target
}

// ConfigError is a problem in a configuration file, with where it is.
type ConfigError struct {
	File string
	Line int // 0 when not known
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// LoadConfig reads and checks a configuration file. An unknown key, a
// duplicate or invalid name, a bad address, terminal type or enter mode
// are refused with the file, line and reason.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, data)
}

type rawConfig struct {
	Listen  string      `yaml:"listen"`
	Targets []rawTarget `yaml:"targets"`
}

type rawTarget struct {
	Name        string `yaml:"name"`
	Address     string `yaml:"address"`
	Description string `yaml:"description"`
	Term        string `yaml:"term"`
	Enter       string `yaml:"enter"`
}

// lineOf finds the line of each target, for errors.
type lineOf struct {
	Targets []yaml.Node `yaml:"targets"`
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a YAML decoding error into a ConfigError with its line.
func yamlError(name string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if errors.Is(err, io.EOF) {
		return &ConfigError{File: name, Msg: "empty file"}
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if f := unknownField.FindStringSubmatch(text); f != nil {
			text = fmt.Sprintf("unknown key %q", f[1])
		}
		return &ConfigError{File: name, Line: line, Msg: text}
	}
	return &ConfigError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

var unknownField = regexp.MustCompile(`^field (\S+) not found in type`)

// ParseConfig parses configuration data; name is used in errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	fail := func(line int, format string, args ...any) error {
		return &ConfigError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlError(name, err)
	}
	var lines lineOf
	_ = yaml.Unmarshal(data, &lines)
	cfg := &Config{Listen: raw.Listen}
	seen := map[string]int{}
	for i, rt := range raw.Targets {
		line := 0
		if i < len(lines.Targets) {
			line = lines.Targets[i].Line
		}
		if !targetName.MatchString(rt.Name) {
			return nil, fail(line, "target name %q: want 1-64 letters, digits, '.', '_' or '-'", rt.Name)
		}
		if prev, dup := seen[rt.Name]; dup {
			return nil, fail(line, "duplicate target name %q (first at line %d)", rt.Name, prev)
		}
		seen[rt.Name] = line
		addr, err := NormalizeAddress(rt.Address)
		if err != nil {
			return nil, fail(line, "target %q: %v", rt.Name, err)
		}
		if rt.Term != "" && !ValidTerminalType(rt.Term) {
			return nil, fail(line, "target %q: term %q: want 1-40 printable ASCII characters", rt.Name, rt.Term)
		}
		if rt.Enter == "cr" {
			return nil, fail(line, "target %q: enter %q: want crnul or crlf", rt.Name, rt.Enter)
		}
		enter, err := telnet.ParseLineEnding(rt.Enter)
		if err != nil {
			return nil, fail(line, "target %q: enter %q: want crnul or crlf", rt.Name, rt.Enter)
		}
		cfg.Targets = append(cfg.Targets, Target{
			Name: rt.Name, Address: addr, Description: rt.Description,
			Term: rt.Term, Enter: enter,
		})
	}
	if len(cfg.Targets) == 0 {
		return nil, fail(0, "no targets configured")
	}
	return cfg, nil
}
