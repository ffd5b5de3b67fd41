package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"

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
	Targets []yaml.Node `yaml:"targets"`
}

type rawTarget struct {
	Name        string `yaml:"name"`
	Address     string `yaml:"address"`
	Description string `yaml:"description"`
	Term        string `yaml:"term"`
	Enter       string `yaml:"enter"`
}

// ParseConfig parses configuration data; name is used in errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	fail := func(line int, format string, args ...any) error {
		return &ConfigError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return nil, &ConfigError{File: name, Msg: te.Errors[0]}
		}
		if err.Error() == "EOF" {
			return nil, fail(0, "empty file")
		}
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	cfg := &Config{Listen: raw.Listen}
	seen := map[string]int{}
	for _, node := range raw.Targets {
		var rt rawTarget
		if err := node.Decode(&rt); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) && len(te.Errors) > 0 {
				return nil, &ConfigError{File: name, Msg: te.Errors[0]}
			}
			return nil, fail(node.Line, "%v", err)
		}
		if !targetName.MatchString(rt.Name) {
			return nil, fail(node.Line, "target name %q: want 1-64 letters, digits, '.', '_' or '-'", rt.Name)
		}
		if prev, dup := seen[rt.Name]; dup {
			return nil, fail(node.Line, "duplicate target name %q (first at line %d)", rt.Name, prev)
		}
		seen[rt.Name] = node.Line
		addr, err := NormalizeAddress(rt.Address)
		if err != nil {
			return nil, fail(node.Line, "target %q: %v", rt.Name, err)
		}
		if rt.Term != "" && !ValidTerminalType(rt.Term) {
			return nil, fail(node.Line, "target %q: term %q: want 1-40 printable ASCII characters", rt.Name, rt.Term)
		}
		if rt.Enter == "cr" {
			return nil, fail(node.Line, "target %q: enter %q: want crnul or crlf", rt.Name, rt.Enter)
		}
		enter, err := telnet.ParseLineEnding(rt.Enter)
		if err != nil {
			return nil, fail(node.Line, "target %q: enter %q: want crnul or crlf", rt.Name, rt.Enter)
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
