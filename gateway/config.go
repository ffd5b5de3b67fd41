package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"telgate/telnet"
)

// Config is the gateway's configuration file. The documented shape of
// listen and targets is a contract; the other sections are optional:
//
//	listen: 127.0.0.1:8080          # optional; the -listen flag wins
//	targets:
//	  - name: lab                   # what ?target= names
//	    address: 10.0.0.5:23        # host:port; port 23 when omitted
//	    description: Lab console server
//	    term: vt220                 # optional; overrides the browser's type
//	    enter: crlf                 # optional; crnul (default) or crlf
//	    allow_users: [alice]        # optional; who may open it
//	    allow_groups: [netops]
//	    record: true                # optional; record sessions (see recording)
//	tls: {cert: cert.pem, key: key.pem}
//	auth:
//	  users_file: users.yaml        # bcrypt password hashes, HTTP Basic
//	  proxy_header: X-Forwarded-User
//	  proxy_groups_header: X-Forwarded-Groups
//	  trusted_proxies: [127.0.0.1/32]
//	http:
//	  allowed_origins: [https://portal.example.com]
//	  frame_ancestors: [https://portal.example.com]
//	limits: {max_sessions: 1000, idle_timeout: 30m, ...}
//	recording: {dir: /var/lib/telgate, max_bytes: 10485760, input: false}
//	adhoc:
//	  - hosts: ["*.lab.example.com", 10.20.0.0/16]
//	    ports: "23,2000-2099"
//	    allow_groups: [netops]
type Config struct {
	Listen    string          `yaml:"listen"`
	TLS       TLSConfig       `yaml:"tls"`
	Auth      AuthConfig      `yaml:"auth"`
	HTTP      HTTPConfig      `yaml:"http"`
	Limits    Limits          `yaml:"limits"`
	Recording RecordingConfig `yaml:"recording"`
	Adhoc     []AdhocRule     `yaml:"adhoc"`
	Targets   []Target        `yaml:"-"`
}

// TLSConfig names the certificate and key to serve HTTPS with.
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// AuthConfig says how users are authenticated. With neither a users file
// nor a proxy header, nobody is.
type AuthConfig struct {
	// UsersFile is a YAML file of users with bcrypt password hashes,
	// checked with HTTP Basic authentication.
	UsersFile string `yaml:"users_file"`
	// ProxyHeader names a header carrying the user's name, set by an
	// authenticating reverse proxy; honoured only from TrustedProxies.
	ProxyHeader string `yaml:"proxy_header"`
	// ProxyGroupsHeader names a header carrying the user's groups,
	// separated by commas.
	ProxyGroupsHeader string `yaml:"proxy_groups_header"`
	// TrustedProxies lists the addresses (IPs or CIDRs) of the reverse
	// proxies in front of telgate: from them X-Forwarded-For, -Proto and
	// -Host are believed, and the proxy headers above. It may be set
	// without ProxyHeader, for a proxy that only terminates TLS.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// HTTPConfig holds browser-facing HTTP policy.
type HTTPConfig struct {
	// AllowedOrigins lists origins, besides the page's own, that may open
	// WebSockets (a portal that embeds the console, say).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// FrameAncestors lists origins that may embed the page in a frame;
	// empty means none may.
	FrameAncestors []string `yaml:"frame_ancestors"`
}

// Limits bound what clients may use. Zero values mean the defaults
// (DefaultLimits); -1 (any negative duration) means no limit.
//
// The session counts and the connect rate are checked by Gateway.Admit;
// the connect rate is a token bucket per client (its address, or its
// IPv6 prefix: see ClientIPv6Prefix): ConnectBurst sessions at once, then
// ConnectRate a second, and -1 for either turns it off. DialTimeout
// bounds connecting to a host (and an ad-hoc name's lookup); IdleTimeout
// closes a session with no traffic either way (a message still being
// written to the browser is traffic); MaxDuration closes a session that
// long after it started; the browser is pinged every PingInterval and
// taken for gone after two intervals without an answer (-1: no pings, no
// such check); MaxMessageSize bounds one WebSocket message from the
// browser; MaxSubnegotiation bounds one subnegotiation from a host (a
// longer one is discarded).
//
// ClientIPv6Prefix is the prefix length by which IPv6 clients are told
// apart for the per-client session count and the connect rate: 128 (the
// default) counts each address alone; 64 counts a network's /64 as one
// client, which stops one host from escaping the limits by cycling
// through its privacy addresses, but also counts everyone on a shared
// office subnet together.
type Limits struct {
	MaxSessions          int           `yaml:"max_sessions"`
	MaxSessionsPerUser   int           `yaml:"max_sessions_per_user"`
	MaxSessionsPerClient int           `yaml:"max_sessions_per_client"`
	ConnectRate          float64       `yaml:"connect_rate"`  // new sessions per second per client address
	ConnectBurst         int           `yaml:"connect_burst"` // and the burst above that rate
	DialTimeout          time.Duration `yaml:"dial_timeout"`
	IdleTimeout          time.Duration `yaml:"idle_timeout"`
	MaxDuration          time.Duration `yaml:"max_duration"`
	PingInterval         time.Duration `yaml:"ping_interval"`
	MaxMessageSize       int64         `yaml:"max_message_size"`
	MaxSubnegotiation    int           `yaml:"max_subnegotiation"`
	ClientIPv6Prefix     int           `yaml:"client_ipv6_prefix"`
}

// DefaultLimits returns the limits of a configuration that sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxSessions:          1000,
		MaxSessionsPerUser:   20,
		MaxSessionsPerClient: 50,
		ConnectRate:          2,
		ConnectBurst:         20,
		DialTimeout:          DefaultDialTimeout,
		IdleTimeout:          -1,
		MaxDuration:          -1,
		PingInterval:         DefaultPingInterval,
		MaxMessageSize:       DefaultMaxMessageSize,
		MaxSubnegotiation:    telnet.DefaultMaxSubnegotiation,
		ClientIPv6Prefix:     128,
	}
}

// WithDefaults returns l with every zero field set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	return Limits{
		MaxSessions:          orDefault(l.MaxSessions, d.MaxSessions),
		MaxSessionsPerUser:   orDefault(l.MaxSessionsPerUser, d.MaxSessionsPerUser),
		MaxSessionsPerClient: orDefault(l.MaxSessionsPerClient, d.MaxSessionsPerClient),
		ConnectRate:          orDefault(l.ConnectRate, d.ConnectRate),
		ConnectBurst:         orDefault(l.ConnectBurst, d.ConnectBurst),
		DialTimeout:          orDefault(l.DialTimeout, d.DialTimeout),
		IdleTimeout:          orDefault(l.IdleTimeout, d.IdleTimeout),
		MaxDuration:          orDefault(l.MaxDuration, d.MaxDuration),
		PingInterval:         orDefault(l.PingInterval, d.PingInterval),
		MaxMessageSize:       orDefault(l.MaxMessageSize, d.MaxMessageSize),
		MaxSubnegotiation:    orDefault(l.MaxSubnegotiation, d.MaxSubnegotiation),
		ClientIPv6Prefix:     orDefault(l.ClientIPv6Prefix, d.ClientIPv6Prefix),
	}
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// RecordingConfig says where and how sessions of targets with record set
// are recorded, in asciinema's asciicast v2 format, one file per session.
type RecordingConfig struct {
	Dir      string `yaml:"dir"`
	MaxBytes int64  `yaml:"max_bytes"` // per file; 0 means DefaultRecordingMaxBytes
	// Input records what users type too. It captures passwords.
	Input bool `yaml:"input"`
}

// AdhocRule lets users open hosts they name (?host=host:port) when the
// host matches Hosts (name patterns with a leading "*." wildcard, IP
// addresses or CIDRs) and the port is in Ports ("23,2000-2099"; default
// 23). Names are resolved once and the address checked and dialled, so DNS
// cannot rebind; link-local and cloud metadata addresses are refused
// unless a CIDR lists them explicitly. Record records the sessions it
// allows (see RecordingConfig). AdhocTarget documents the rules in full.
type AdhocRule struct {
	Hosts       []string `yaml:"hosts"`
	Ports       string   `yaml:"ports"`
	AllowUsers  []string `yaml:"allow_users"`
	AllowGroups []string `yaml:"allow_groups"`
	Record      bool     `yaml:"record"`
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
	Config  `yaml:",inline"`
	Targets []rawTarget `yaml:"targets"`
}

type rawTarget struct {
	Name        string   `yaml:"name"`
	Address     string   `yaml:"address"`
	Description string   `yaml:"description"`
	Term        string   `yaml:"term"`
	Enter       string   `yaml:"enter"`
	AllowUsers  []string `yaml:"allow_users"`
	AllowGroups []string `yaml:"allow_groups"`
	Record      bool     `yaml:"record"`
}

// lineOf finds the line of each target, for errors.
type lineOf struct {
	Targets []yaml.Node `yaml:"targets"`
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// YAMLError turns an error of the YAML decoder into a ConfigError for
// the file name, with the line where the decoder gave one. The users file
// (package web) reports its errors with it too.
func YAMLError(name string, err error) error {
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
		if d := unitlessDuration.FindStringSubmatch(text); d != nil {
			text = fmt.Sprintf("duration %s needs a unit, as in %ss or %sm", d[1], d[1], d[1])
		}
		return &ConfigError{File: name, Line: line, Msg: text}
	}
	return &ConfigError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

var (
	unknownField     = regexp.MustCompile(`^field (\S+) not found in type`)
	unitlessDuration = regexp.MustCompile("^cannot unmarshal !!(?:int|float) `([-+0-9.eE]+)` into time.Duration")
)

// ParseConfig parses configuration data; name is used in errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	fail := func(line int, format string, args ...any) error {
		return &ConfigError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, YAMLError(name, err)
	}
	var lines lineOf
	_ = yaml.Unmarshal(data, &lines)
	cfg := &raw.Config
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
			AllowUsers: rt.AllowUsers, AllowGroups: rt.AllowGroups, Record: rt.Record,
		})
	}
	if len(cfg.Targets) == 0 && len(cfg.Adhoc) == 0 {
		return nil, fail(0, "no targets configured")
	}
	if err := cfg.check(); err != nil {
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	return cfg, nil
}

// check validates the optional sections.
func (c *Config) check() error {
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("tls: cert and key go together")
	}
	if c.Auth.ProxyHeader == "" && c.Auth.ProxyGroupsHeader != "" {
		return errors.New("auth: proxy_groups_header needs proxy_header")
	}
	if c.Auth.ProxyHeader != "" && len(c.Auth.TrustedProxies) == 0 {
		return errors.New("auth: proxy_header needs trusted_proxies: the addresses of the proxies allowed to set it")
	}
	for _, p := range c.Auth.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			return fmt.Errorf("auth: trusted_proxies: %v", err)
		}
	}
	for _, o := range append(append([]string(nil), c.HTTP.AllowedOrigins...), c.HTTP.FrameAncestors...) {
		if !validOrigin(o) {
			return fmt.Errorf("http: %q is not an origin (scheme://host[:port])", o)
		}
	}
	l := c.Limits
	for name, v := range map[string]int64{
		"max_sessions": int64(l.MaxSessions), "max_sessions_per_user": int64(l.MaxSessionsPerUser),
		"max_sessions_per_client": int64(l.MaxSessionsPerClient), "connect_burst": int64(l.ConnectBurst),
		"max_message_size": l.MaxMessageSize, "max_subnegotiation": int64(l.MaxSubnegotiation),
	} {
		if v < -1 {
			return fmt.Errorf("limits: %s: %d (want a count, or -1 for none)", name, v)
		}
	}
	if l.ConnectRate < 0 && l.ConnectRate != -1 {
		return fmt.Errorf("limits: connect_rate: %v (want a rate, or -1 for none)", l.ConnectRate)
	}
	if p := l.ClientIPv6Prefix; p != 0 && (p < 32 || p > 128) {
		return fmt.Errorf("limits: client_ipv6_prefix: %d (want a prefix length from 32 to 128)", p)
	}
	if l.MaxMessageSize > 0 && l.MaxMessageSize < 1024 {
		return fmt.Errorf("limits: max_message_size: %d is too small (at least 1024)", l.MaxMessageSize)
	}
	if c.Recording.MaxBytes < 0 {
		return errors.New("recording: max_bytes must not be negative")
	}
	recorded := false
	for _, t := range c.Targets {
		recorded = recorded || t.Record
	}
	if recorded && c.Recording.Dir == "" {
		return errors.New("recording: a target has record: true but recording has no dir")
	}
	for i, r := range c.Adhoc {
		if r.Record && c.Recording.Dir == "" {
			return fmt.Errorf("recording: adhoc[%d] has record: true but recording has no dir", i)
		}
	}
	for i, r := range c.Adhoc {
		if len(r.Hosts) == 0 {
			return fmt.Errorf("adhoc[%d]: no hosts", i)
		}
		if _, err := ParsePorts(r.Ports); err != nil {
			return fmt.Errorf("adhoc[%d]: ports: %v", i, err)
		}
		for _, h := range r.Hosts {
			if err := checkHostPattern(h); err != nil {
				return fmt.Errorf("adhoc[%d]: hosts: %v", i, err)
			}
		}
	}
	return nil
}

// ParsePrefix parses an IP address or CIDR into a prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// A PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi int }

// ParsePorts parses "23,2000-2099"; empty means port 23.
func ParsePorts(s string) ([]PortRange, error) {
	if strings.TrimSpace(s) == "" {
		return []PortRange{{telnet.TelnetPort, telnet.TelnetPort}}, nil
	}
	var out []PortRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return nil, fmt.Errorf("%q is not a port or port range in 1..65535", part)
		}
		out = append(out, PortRange{a, b})
	}
	return out, nil
}

// checkHostPattern accepts an IP, a CIDR, a host name, or "*." and a
// domain.
func checkHostPattern(h string) error {
	if _, err := ParsePrefix(h); err == nil {
		return nil
	}
	name := strings.TrimPrefix(h, "*.")
	if name == "" || strings.ContainsAny(name, "*/:@ ") || net.ParseIP(name) != nil {
		return fmt.Errorf("%q is not a host name, *.domain, IP address or CIDR", h)
	}
	return nil
}

var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

func validOrigin(o string) bool { return originPattern.MatchString(o) }
