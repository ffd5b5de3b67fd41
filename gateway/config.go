package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
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
//	listen: 127.0.0.1:8080          # optional; or unix:PATH; the -listen flag wins
//	targets:
//	  - name: lab                   # what ?target= names
//	    address: 10.0.0.5:23        # host:port; port 23 when omitted
//	    description: Lab console server
//	    term: vt220                 # optional; overrides the browser's type
//	    enter: crlf                 # optional; crnul (default) or crlf
//	    backspace: bs               # optional; del (default) or bs
//	    line_delay: 50ms            # optional; pace pasted lines (up to 10s)
//	    charset: cp437              # optional; the host's, if not UTF-8
//	    allow_users: [alice]        # optional; who may open it
//	    allow_groups: [netops]
//	    record: true                # optional; record sessions (see recording)
//	tls: {cert: cert.pem, key: key.pem}
//	auth:
//	  users_file: users.yaml        # bcrypt password hashes, HTTP Basic
//	  proxy_header: X-Forwarded-User
//	  proxy_groups_header: X-Forwarded-Groups
//	  trusted_proxies: [127.0.0.1/32]
//	  client_ca: clients-ca.pem     # client certificates (needs tls)
//	  client_crl: clients.crl       # optional; their revocations
//	http:
//	  base_path: /console/          # optional; serve the page under it
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
	// ACME, in Cert and Key's stead, has an ACME certificate authority
	// (RFC 8555: Let's Encrypt, or a private one) issue and renew the
	// certificate.
	ACME *ACMEConfig `yaml:"acme"`
}

// ACMEConfig says where telgate gets its certificate from an ACME
// certificate authority. The authority checks that telgate answers for
// each name with the TLS-ALPN-01 challenge (RFC 8737), on port 443 of
// the names' address: telgate must be reachable there, not behind a
// proxy that terminates TLS. Writing it accepts the authority's terms
// of service.
type ACMEConfig struct {
	// Domains are the names certificates are issued for; only they are
	// served.
	Domains []string `yaml:"domains"`
	// Email is given to the authority, which writes to it about expiry
	// and problems; optional.
	Email string `yaml:"email"`
	// Directory is the authority's directory URL; Let's Encrypt's when
	// empty.
	Directory string `yaml:"directory"`
	// Cache is the directory the account key and the certificates are
	// kept in (relative to the configuration file's), so that a restart
	// does not ask again.
	Cache string `yaml:"cache"`
	// CA names a PEM file of the certificates the authority's own HTTPS
	// must verify against, in place of the system's: for a private
	// authority.
	CA string `yaml:"ca"`
}

// AuthConfig says how users are authenticated. With no users file, proxy
// header or client CA, nobody is.
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
	// ClientCA is a PEM file of the certificate authorities whose client
	// certificates identify users: the subject's common name is the
	// user, its organizations the groups. It needs telgate's own TLS:
	// the browser sends its certificate in the handshake.
	ClientCA string `yaml:"client_ca"`
	// ClientCRL is a file of the revocation lists of ClientCA's
	// authorities (PEM, or one list in DER): a certificate on one is
	// refused. It is read again on each reload.
	ClientCRL string `yaml:"client_crl"`
	// OperatorUsers and OperatorGroups name the operators, who see and
	// may end every session in the session list (other users their
	// own).
	OperatorUsers  []string `yaml:"operator_users"`
	OperatorGroups []string `yaml:"operator_groups"`
}

// Enabled reports whether the section authenticates anyone.
func (a AuthConfig) Enabled() bool {
	return a.UsersFile != "" || a.ProxyHeader != "" || a.ClientCA != ""
}

// HTTPConfig holds browser-facing HTTP policy.
type HTTPConfig struct {
	// BasePath is the path the page and its API are served under, for a
	// reverse proxy that forwards a prefix of its own ("/console/")
	// without removing it. Empty means the root. A proxy that removes its
	// prefix needs none: every URL the page asks for is relative to its
	// own. See ParseBasePath.
	BasePath string `yaml:"base_path"`
	// AllowedOrigins lists origins, besides the page's own, that may open
	// WebSockets (a portal that embeds the console, say).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// FrameAncestors lists origins that may embed the page in a frame;
	// empty means none may.
	FrameAncestors []string `yaml:"frame_ancestors"`
}

// Limits bound what clients may use. Zero values mean the defaults
// (DefaultLimits); -1 (any negative duration) means no limit. A
// configuration file leaves a value out for its default: ParseConfig
// refuses an explicit 0 where 0 would say something else (no sessions,
// or no limit as other tools read it), which is all but idle_timeout and
// max_duration, whose 0s means none as their default does.
//
// The session counts and the connect rate are checked by Gateway.Admit;
// the connect rate is a token bucket per client (its address, or its
// IPv6 prefix: see ClientIPv6Prefix): ConnectBurst sessions at once, then
// ConnectRate a second, and -1 for either turns it off. DialTimeout
// bounds connecting to a host (and an ad-hoc name's lookup); IdleTimeout
// closes a session with no traffic either way (a message still being
// written to the browser is traffic); MaxDuration closes a session that
// long after it started (the browser is warned before either: see
// warningLead); the browser is pinged every PingInterval, and
// the page taken for gone after two intervals without an answer (-1: no
// pings, no such check; see keepalive); MaxMessageSize bounds one WebSocket message from the
// browser; MaxSubnegotiation bounds one subnegotiation from a host (a
// longer one is discarded); ResumeGrace is how long a session whose
// browser's connection died waits for the browser to resume it, for a
// browser that asked to be able to (see Gateway.Resume; -1: not at all);
// MaxViewers bounds the viewers of one shared session (see Gateway.Watch;
// -1: sessions cannot be shared).
// ParseConfig refuses a connect rate that is not
// a finite number, and positive durations too short to be meant
// (minDialTimeout and the like).
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
	ResumeGrace          time.Duration `yaml:"resume_grace"`
	MaxViewers           int           `yaml:"max_viewers"`
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
		ResumeGrace:          DefaultResumeGrace,
		MaxViewers:           DefaultMaxViewers,
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
		ResumeGrace:          orDefault(l.ResumeGrace, d.ResumeGrace),
		MaxViewers:           orDefault(l.MaxViewers, d.MaxViewers),
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
// allows (see RecordingConfig); Protocol, Enter, Backspace, LineDelay,
// Charset, Banner, Color, WatchOnly and Serial are as a target's protocol,
// enter, backspace, line_delay, charset, banner, color, watch_only and serial,
// for the hosts the rule allows. AdhocTarget documents the rules in full.
type AdhocRule struct {
	Hosts       []string      `yaml:"hosts"`
	Ports       string        `yaml:"ports"`
	AllowUsers  []string      `yaml:"allow_users"`
	AllowGroups []string      `yaml:"allow_groups"`
	Record      bool          `yaml:"record"`
	Protocol    string        `yaml:"protocol"`
	Enter       string        `yaml:"enter"`
	Backspace   string        `yaml:"backspace"`
	LineDelay   time.Duration `yaml:"line_delay"`
	Charset     string        `yaml:"charset"`
	Banner      string        `yaml:"banner"`
	Color       string        `yaml:"color"`
	WatchOnly   bool          `yaml:"watch_only"`
	Serial      SerialConfig  `yaml:"serial"`
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
// duplicate or invalid name, a second YAML document, or a value that is
// malformed or could not work as meant (an address, terminal type, enter
// or backspace mode, line delay, character set, base path, origin, CIDR, host pattern, port range
// or limit, an allow list naming no one) is refused with the file, line
// (where known) and reason.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(path, data)
	if err != nil {
		return nil, err
	}
	// The files a target names, read with the configuration so that a
	// reload reads them again.
	for _, t := range cfg.Targets {
		var err error
		if l := t.Login; l != nil && l.PasswordFile != "" {
			if err = l.readPassword(filepath.Dir(path)); err == nil {
				err = l.checkCharset(t.Charset)
			}
		}
		if p := t.Power; err == nil && p != nil && p.CA != "" {
			err = p.readCA(filepath.Dir(path))
		}
		if err != nil {
			return nil, &ConfigError{File: path, Msg: fmt.Sprintf("target %q: %v", t.Name, err)}
		}
	}
	return cfg, nil
}

// readNamedFile reads a file a configuration in dir names: name, when
// absolute, or dir joined with it; it returns the file's path too.
func readNamedFile(dir, name string) (path string, data []byte, err error) {
	path = name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err = os.ReadFile(path)
	return path, data, err
}

type rawConfig struct {
	Config  `yaml:",inline"`
	Targets []rawTarget `yaml:"targets"`
}

type rawTarget struct {
	Name        string        `yaml:"name"`
	Address     string        `yaml:"address"`
	Description string        `yaml:"description"`
	Term        string        `yaml:"term"`
	Size        string        `yaml:"size"`
	Protocol    string        `yaml:"protocol"`
	Enter       string        `yaml:"enter"`
	Backspace   string        `yaml:"backspace"`
	LineDelay   time.Duration `yaml:"line_delay"`
	Charset     string        `yaml:"charset"`
	AllowUsers  []string      `yaml:"allow_users"`
	AllowGroups []string      `yaml:"allow_groups"`
	Record      bool          `yaml:"record"`
	Banner      string        `yaml:"banner"`
	Color       string        `yaml:"color"`
	WatchOnly   bool          `yaml:"watch_only"`
	Serial      SerialConfig  `yaml:"serial"`
	Power       *PowerHook    `yaml:"power"`
	Login       *Login        `yaml:"login"`
}

var yamlLine = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)

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
		// A value written where settings go (login: hunter2) is not
		// quoted back: it may be a secret, now in a log.
		if scalarForMapping.MatchString(text) {
			text = "a single value where settings (key: value lines) go"
		}
		return &ConfigError{File: name, Line: line, Msg: text}
	}
	return &ConfigError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

var (
	unknownField     = regexp.MustCompile(`^field (\S+) not found in type`)
	unitlessDuration = regexp.MustCompile("^cannot unmarshal !!(?:int|float) `([-+0-9.eE]+)` into time.Duration")
	scalarForMapping = regexp.MustCompile("(?s)^cannot unmarshal \\S+ `.*` into (?:gateway\\.|map\\[|struct)")
)

// LaterYAMLDocument reads the rest of dec's stream after its first
// document and returns the line of the first later document that holds
// something (0 when none does: a trailing --- or a document of comments
// drops nothing), or the syntax error that stopped it.
func LaterYAMLDocument(dec *yaml.Decoder) (line int, err error) {
	for {
		var next yaml.Node
		switch err := dec.Decode(&next); {
		case errors.Is(err, io.EOF):
			return 0, nil
		case err != nil:
			return 0, err
		case len(next.Content) > 0 && !emptyNode(next.Content[0]):
			return next.Line, nil
		}
	}
}

// emptyNode reports whether n is what a document of comments alone
// decodes to: a null written as nothing.
func emptyNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == ""
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
		return nil, YAMLError(name, err)
	}
	// Only the first document was decoded: whatever follows a "---"
	// would be dropped without a word.
	if line, err := LaterYAMLDocument(dec); err != nil {
		return nil, YAMLError(name, err)
	} else if line > 0 {
		return nil, fail(line, "a second YAML document (after ---): a configuration is one document; remove the --- or join the two")
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc)
	cfg := &raw.Config
	seen := map[string]int{}
	for i, rt := range raw.Targets {
		line := lineAt(&doc, "targets", i)
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
		t, err := parseKeys(rt.Protocol, rt.Enter, rt.Backspace, rt.LineDelay, rt.Charset)
		if err != nil {
			return nil, fail(line, "target %q: %v", rt.Name, err)
		}
		if rt.Size != "" {
			if t.Size, err = ParseWindowSize(rt.Size); err != nil {
				return nil, fail(line, "target %q: %v", rt.Name, err)
			}
		}
		if _, err := checkLook(rt.Banner, rt.Color); err != nil {
			return nil, fail(line, "target %q: %v", rt.Name, err)
		}
		t.Banner, t.Color, t.WatchOnly = rt.Banner, rt.Color, rt.WatchOnly
		if t.Serial = rt.Serial.target(); t.Serial != nil && t.Raw {
			return nil, fail(line, "target %q: %v", rt.Name, errSerialRaw)
		}
		if rt.Power != nil {
			if err := rt.Power.check(); err != nil {
				return nil, fail(line, "target %q: %v", rt.Name, err)
			}
			t.Power = rt.Power
		}
		if rt.Login != nil {
			if rt.Login.Password != "" && rt.Login.PasswordFile != "" {
				return nil, fail(lineAt(&doc, "targets", i, "login"), "target %q: login: give password or password_file, not both", rt.Name)
			}
			if _, err := rt.Login.compile(""); err != nil {
				return nil, fail(lineAt(&doc, "targets", i, "login"), "target %q: %v", rt.Name, err)
			}
			if err := rt.Login.checkCharset(t.Charset); err != nil {
				return nil, fail(lineAt(&doc, "targets", i, "login"), "target %q: %v", rt.Name, err)
			}
			t.Login = rt.Login
		}
		t.Name, t.Address, t.Description, t.Term = rt.Name, addr, rt.Description, rt.Term
		t.AllowUsers, t.AllowGroups, t.Record = rt.AllowUsers, rt.AllowGroups, rt.Record
		cfg.Targets = append(cfg.Targets, t)
	}
	if len(cfg.Targets) == 0 && len(cfg.Adhoc) == 0 {
		return nil, fail(0, "no targets configured")
	}
	err := cfg.check()
	if err == nil {
		err = cfg.checkWritten(&doc)
	}
	if err != nil {
		line := 0
		var fe *fieldError
		if errors.As(err, &fe) {
			line = lineAt(&doc, fe.path...)
		}
		return nil, &ConfigError{File: name, Line: line, Msg: err.Error()}
	}
	return cfg, nil
}

// A fieldError is an error of check about the value at path: keys of
// mappings (strings) and indexes of sequences (ints), as in "auth",
// "trusted_proxies", 0. ParseConfig turns the path into a line.
type fieldError struct {
	path []any
	msg  string
}

func (e *fieldError) Error() string { return e.msg }

// at returns a fieldError for the value at path.
func at(path ...any) func(format string, args ...any) error {
	return func(format string, args ...any) error {
		return &fieldError{path: path, msg: fmt.Sprintf(format, args...)}
	}
}

// lineAt returns the line of the value at path in a parsed document (of
// its key, for a value in a mapping), or of as much of the path as the
// document has; 0 when it has none of it.
func lineAt(doc *yaml.Node, path ...any) int {
	_, line := nodeAt(doc, path...)
	return line
}

// written reports whether the document has the value at path: whether a
// key was written, whatever its value (null included).
func written(doc *yaml.Node, path ...any) bool {
	n, _ := nodeAt(doc, path...)
	return n != nil
}

// nodeAt returns the value at path in a parsed document (nil when the
// document does not have the whole path) and the line of as much of the
// path as it has, as lineAt. Keys merged in with << are found too.
func nodeAt(doc *yaml.Node, path ...any) (*yaml.Node, int) {
	n, line := resolve(doc), 0
	for _, step := range path {
		var next *yaml.Node
		nextLine := 0
		switch step := step.(type) {
		case string:
			if key, value := mappingValue(n, step); key != nil {
				next, nextLine = value, key.Line
			}
		case int:
			if n != nil && n.Kind == yaml.SequenceNode && step < len(n.Content) {
				next = n.Content[step]
				nextLine = next.Line
			}
		}
		if next == nil {
			return nil, line
		}
		n, line = resolve(next), nextLine
	}
	return n, line
}

// mappingValue returns the key and value nodes of key in a mapping node,
// looking in the mappings merged into it (<<) when it has no such key of
// its own, as the decoder does; nils when there is none.
func mappingValue(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].ShortTag() != "!!merge" {
			return n.Content[i], n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].ShortTag() != "!!merge" {
			continue
		}
		merged := resolve(n.Content[i+1])
		from := []*yaml.Node{merged}
		if merged != nil && merged.Kind == yaml.SequenceNode {
			from = merged.Content
		}
		for _, m := range from {
			if k, v := mappingValue(resolve(m), key); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// resolve returns the content of a document node and what an alias
// stands for; nil for an empty document.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			n = nil
		}
	}
	return n
}

// check validates the optional sections. Its errors are fieldErrors where
// a value is to blame.
func (c *Config) check() error {
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return at("tls")("tls: cert and key go together")
	}
	if a := c.TLS.ACME; a != nil {
		if err := a.check(c.TLS.Cert != ""); err != nil {
			return err
		}
	}
	if c.Auth.ClientCA == "" && c.Auth.ClientCRL != "" {
		return at("auth", "client_crl")("auth: client_crl needs client_ca")
	}
	if c.Auth.ProxyHeader == "" && c.Auth.ProxyGroupsHeader != "" {
		return at("auth", "proxy_groups_header")("auth: proxy_groups_header needs proxy_header")
	}
	if c.Auth.ProxyHeader != "" && len(c.Auth.TrustedProxies) == 0 {
		return at("auth", "proxy_header")("auth: proxy_header needs trusted_proxies: the addresses of the proxies allowed to set it")
	}
	for i, p := range c.Auth.TrustedProxies {
		pre, err := ParsePrefix(p)
		if err == nil && pre.Bits() >= linkLocal6.Bits() && linkLocal6.Contains(pre.Addr()) {
			err = fmt.Errorf("%q is link-local: such an address is the proxy's only with its interface (fe80::1%%eth0), which a list of addresses cannot say; list the proxy's global or unique-local address", p)
		}
		if err != nil {
			return at("auth", "trusted_proxies", i)("auth: trusted_proxies: %v", err)
		}
	}
	if _, err := ParseBasePath(c.HTTP.BasePath); err != nil {
		return at("http", "base_path")("http: base_path: %v", err)
	}
	for _, list := range []struct {
		key     string
		origins []string
	}{{"allowed_origins", c.HTTP.AllowedOrigins}, {"frame_ancestors", c.HTTP.FrameAncestors}} {
		for i, o := range list.origins {
			if err := checkOrigin(o); err != nil {
				return at("http", list.key, i)("http: %s: %v", list.key, err)
			}
		}
	}
	if err := c.Limits.check(); err != nil {
		return err
	}
	if c.Recording.MaxBytes < 0 {
		return at("recording", "max_bytes")("recording: max_bytes must not be negative")
	}
	// Below this the header and the closing marker alone could pass
	// the cap, and no output would be recorded.
	if m := c.Recording.MaxBytes; m > 0 && m < minRecordingMaxBytes {
		return at("recording", "max_bytes")("recording: max_bytes: %d is too small (at least %d)", m, minRecordingMaxBytes)
	}
	if c.Recording.Dir == "" {
		for i, t := range c.Targets {
			if t.Record {
				return at("targets", i, "record")("recording: a target has record: true but recording has no dir")
			}
		}
		for i, r := range c.Adhoc {
			if r.Record {
				return at("adhoc", i, "record")("recording: adhoc[%d] has record: true but recording has no dir", i)
			}
		}
	}
	for i, r := range c.Adhoc {
		if len(r.Hosts) == 0 {
			return at("adhoc", i)("adhoc[%d]: no hosts", i)
		}
		if _, err := ParsePorts(r.Ports); err != nil {
			return at("adhoc", i, "ports")("adhoc[%d]: ports: %v", i, err)
		}
		keys, err := parseKeys(r.Protocol, r.Enter, r.Backspace, r.LineDelay, r.Charset)
		if err != nil {
			return at("adhoc", i)("adhoc[%d]: %v", i, err)
		}
		if keys.Raw && r.Serial.On {
			return at("adhoc", i, "serial")("adhoc[%d]: %v", i, errSerialRaw)
		}
		if key, err := checkLook(r.Banner, r.Color); err != nil {
			return at("adhoc", i, key)("adhoc[%d]: %v", i, err)
		}
		for j, h := range r.Hosts {
			if err := checkHostPattern(h); err != nil {
				return at("adhoc", i, "hosts", j)("adhoc[%d]: hosts: %v", i, err)
			}
		}
	}
	return nil
}

// checkWritten refuses values that decode the same as a key left out,
// which only the document tells apart: an allow list written but listing
// no one (read as no restriction, it would open the target or rule to
// every user) and an explicit 0 in limits where the default would take
// its place though 0 says something else.
func (c *Config) checkWritten(doc *yaml.Node) error {
	// Every key under it commented out, acme reads as null: the
	// certificate would silently not be asked for, and nothing served
	// over TLS.
	if c.TLS.ACME == nil && written(doc, "tls", "acme") {
		return at("tls", "acme")("tls: acme: domains: list the names to get a certificate for")
	}
	for i, t := range c.Targets {
		if err := checkAllowLists(doc, []any{"targets", i}, fmt.Sprintf("target %q", t.Name), "the target", t.AllowUsers, t.AllowGroups); err != nil {
			return err
		}
	}
	for i, r := range c.Adhoc {
		if err := checkAllowLists(doc, []any{"adhoc", i}, fmt.Sprintf("adhoc[%d]", i), "the rule's hosts", r.AllowUsers, r.AllowGroups); err != nil {
			return err
		}
	}
	return c.Limits.checkZeros(doc)
}

// checkAllowLists refuses an allow_users or allow_groups written at path
// (a target or an ad-hoc rule, what) but listing no one: both lists empty
// mean every user may open what, not no user.
func checkAllowLists(doc *yaml.Node, path []any, what, opens string, users, groups []string) error {
	for _, l := range []struct {
		key, none, entries string
		list, other        []string
	}{
		{"allow_users", "nobody", "users", users, groups},
		{"allow_groups", "no group", "groups", groups, users},
	} {
		keyPath := append(append([]any{}, path...), l.key)
		if len(l.list) > 0 || !written(doc, keyPath...) {
			continue
		}
		if len(l.other) > 0 {
			return at(keyPath...)("%s: %s lists %s: list %s, or remove the key", what, l.key, l.none, l.entries)
		}
		return at(keyPath...)("%s: %s lists %s: remove the key to open %s to every user, or list %s", what, l.key, l.none, opens, l.entries)
	}
	return nil
}

// checkZeros refuses an explicit 0 in limits that the default would take
// the place of although 0 says something else of its own (no sessions at
// all, or no limit, as other tools read it). 0s for idle_timeout and
// max_duration is taken: it means none, as their default does.
func (l Limits) checkZeros(doc *yaml.Node) error {
	d := DefaultLimits()
	none := "or -1 for none"
	for _, v := range []struct {
		key    string
		zero   bool
		value  any
		would  string
		def    any
		orElse string
	}{
		{"max_sessions", l.MaxSessions == 0, 0, "refuse every session", d.MaxSessions, none},
		{"max_sessions_per_user", l.MaxSessionsPerUser == 0, 0, "refuse every session", d.MaxSessionsPerUser, none},
		{"max_sessions_per_client", l.MaxSessionsPerClient == 0, 0, "refuse every session", d.MaxSessionsPerClient, none},
		{"connect_rate", l.ConnectRate == 0, 0, "let a client open connect_burst sessions and never another", d.ConnectRate, none},
		{"connect_burst", l.ConnectBurst == 0, 0, "refuse every session", d.ConnectBurst, none},
		{"dial_timeout", l.DialTimeout == 0, time.Duration(0), "give up on every host at once", d.DialTimeout, "or -1s for none"},
		{"ping_interval", l.PingInterval == 0, time.Duration(0), "ping without pause", d.PingInterval, "or -1s for no pings"},
		{"resume_grace", l.ResumeGrace == 0, time.Duration(0), "end a session at once when its browser's connection dies", d.ResumeGrace, "or -1s for none"},
		{"max_message_size", l.MaxMessageSize == 0, 0, "refuse every message from the browser", d.MaxMessageSize, none},
		{"max_subnegotiation", l.MaxSubnegotiation == 0, 0, "drop every subnegotiation from a host", d.MaxSubnegotiation, none},
		{"client_ipv6_prefix", l.ClientIPv6Prefix == 0, 0, "count every IPv6 client as one", d.ClientIPv6Prefix, "or a prefix length from 32 to 128"},
		{"max_viewers", l.MaxViewers == 0, 0, "let sessions be shared with nobody", d.MaxViewers, "or -1 to turn sharing off"},
	} {
		// A key written with no value (null) is left out.
		if n, _ := nodeAt(doc, "limits", v.key); v.zero && n != nil && n.ShortTag() != "!!null" {
			return at("limits", v.key)("limits: %s: %v would %s: leave it out for the default (%v), %s", v.key, v.value, v.would, v.def, v.orElse)
		}
	}
	return nil
}

// The shortest durations the limits take, below which a value is a slip
// (30ms for 30m) or harms the gateway. Negative values (none) are not
// bound by them, nor 0 (the default; see checkZeros).
const (
	// A connection across a LAN and a name's lookup take a few
	// milliseconds; under 100ms even those fail now and then.
	minDialTimeout = 100 * time.Millisecond
	// The idle timer is re-armed every interval while output is being
	// written, so a tiny one spins; under a second it closes sessions
	// between keystrokes.
	minIdleTimeout = time.Second
	// Under a second every session ends before it has begun.
	minMaxDuration = time.Second
	// Each ping re-arms the timer for the next: a tiny interval is a
	// busy ping loop, and under a second a browser on a slow link is
	// taken for gone after two intervals.
	minPingInterval = time.Second
	// A browser notices a dead connection and opens another in a
	// second or two at best.
	minResumeGrace = 5 * time.Second
)

// minRecordingMaxBytes is the least recording.max_bytes a config may set.
const minRecordingMaxBytes = 64 << 10

// linkLocal6 is IPv6's link-local prefix.
var linkLocal6 = netip.MustParsePrefix("fe80::/10")

// minSubnegotiation is the least max_subnegotiation a config may set.
const minSubnegotiation = 64

// check validates the limits.
func (l Limits) check() error {
	for _, v := range []struct {
		key string
		n   int64
	}{
		{"max_sessions", int64(l.MaxSessions)},
		{"max_sessions_per_user", int64(l.MaxSessionsPerUser)},
		{"max_sessions_per_client", int64(l.MaxSessionsPerClient)},
		{"connect_burst", int64(l.ConnectBurst)},
		{"max_message_size", l.MaxMessageSize},
		{"max_subnegotiation", int64(l.MaxSubnegotiation)},
		{"max_viewers", int64(l.MaxViewers)},
	} {
		if v.n < -1 {
			return at("limits", v.key)("limits: %s: %d (want a count, or -1 for none)", v.key, v.n)
		}
	}
	if r := l.ConnectRate; math.IsNaN(r) || math.IsInf(r, 0) || r < 0 && r != -1 {
		return at("limits", "connect_rate")("limits: connect_rate: %v (want a number of sessions a second, or -1 for none)", r)
	}
	for _, v := range []struct {
		key      string
		d, least time.Duration
	}{
		{"dial_timeout", l.DialTimeout, minDialTimeout},
		{"idle_timeout", l.IdleTimeout, minIdleTimeout},
		{"max_duration", l.MaxDuration, minMaxDuration},
		{"ping_interval", l.PingInterval, minPingInterval},
		{"resume_grace", l.ResumeGrace, minResumeGrace},
	} {
		if v.d > 0 && v.d < v.least {
			return at("limits", v.key)("limits: %s: %v is too short (at least %v, or -1s for none)", v.key, v.d, v.least)
		}
	}
	if p := l.ClientIPv6Prefix; p != 0 && (p < 32 || p > 128) {
		return at("limits", "client_ipv6_prefix")("limits: client_ipv6_prefix: %d (want a prefix length from 32 to 128)", p)
	}
	if l.MaxMessageSize > 0 && l.MaxMessageSize < 1024 {
		return at("limits", "max_message_size")("limits: max_message_size: %d is too small (at least 1024)", l.MaxMessageSize)
	}
	// A host's subnegotiations longer than the limit are dropped
	// unread: below a few dozen bytes that would silently take its
	// NEW-ENVIRON or CHARSET requests.
	if l.MaxSubnegotiation > 0 && l.MaxSubnegotiation < minSubnegotiation {
		return at("limits", "max_subnegotiation")("limits: max_subnegotiation: %d is too small (at least %d)", l.MaxSubnegotiation, minSubnegotiation)
	}
	return nil
}

// ParsePrefix parses an IP address or CIDR into a prefix. Addresses are
// compared in IPv4 form when they are IPv4-mapped IPv6 ones, so a mapped
// address or CIDR (::ffff:10.0.0.0/104) is taken in IPv4 form too
// (10.0.0.0/8); a mapped CIDR shorter than /96, which would hold more
// than IPv4 addresses, is refused. So is a CIDR with host bits set
// (10.0.0.5/8): it may mean the network or the one address, and taking
// it for the network widened it silently.
func ParsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q: an IPv4-mapped CIDR needs a length of at least /96 (better, write the IPv4 form, as in 10.0.0.0/8)", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set: write %s for the network or %s for the one address", s, m, p.Addr())
		}
		return p, nil
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
// domain: a name that can match a name typed by a user (checkHostName).
func checkHostPattern(h string) error {
	if _, err := ParsePrefix(h); err == nil {
		return nil
	} else if strings.Contains(h, ":") || strings.Contains(h, "/") {
		return err
	}
	if looksNumeric(h) {
		return notIPv4(h, true)
	}
	if _, err := checkHostName(strings.TrimPrefix(h, "*.")); err != nil {
		return fmt.Errorf("%q is not a host name, *.domain, IP address or CIDR", h)
	}
	return nil
}

// originPattern is the shape of an origin: http or https, a name or a
// bracketed IPv6 address, and a port.
var originPattern = regexp.MustCompile(`^https?://(?:([A-Za-z0-9.-]+)|\[([0-9A-Fa-f:.]+)\])(?::([0-9]{1,5}))?$`)

// maxBasePath bounds http.base_path.
const maxBasePath = 200

// ParseBasePath checks a path to serve the page under and returns it in
// the form package web takes: "/" for the root (also for ""), otherwise
// with a leading and a trailing slash ("console" and "/console" give
// "/console/"). Its segments are letters, digits, '-', '.', '_' and '~',
// none of them "." or "..": nothing a browser or proxy would escape or
// rewrite, so the path the browser asks for is the path as written.
func ParseBasePath(p string) (string, error) {
	if len(p) > maxBasePath {
		return "", fmt.Errorf("%d bytes is too long (at most %d)", len(p), maxBasePath)
	}
	trimmed := strings.Trim(p, "/")
	switch trimmed {
	case "":
		return "/", nil
	case "healthz", "readyz":
		return "", fmt.Errorf("%q is where the probes are served", p)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		switch {
		case seg == "":
			return "", fmt.Errorf("%q has an empty segment (//)", p)
		case seg == "." || seg == "..":
			return "", fmt.Errorf("%q has a %q segment", p, seg)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return "", fmt.Errorf("%q: %q is not allowed in a path segment (letters, digits, '-', '.', '_' and '~' are)", p, r)
			}
		}
	}
	return "/" + trimmed + "/", nil
}

// checkOrigin accepts what package web takes for an origin
// (scheme://host[:port]); web drops anything else without a word.
func checkOrigin(o string) error {
	m := originPattern.FindStringSubmatch(o)
	if m == nil {
		return fmt.Errorf("%q is not an origin (scheme://host[:port])", o)
	}
	name, ip, port := m[1], m[2], m[3]
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is6() {
			return fmt.Errorf("%q is not an origin: [%s] is not an IPv6 address", o, ip)
		}
		// A browser writes an IPv6 host in its one canonical form (RFC
		// 5952, lower case; an IPv4-mapped one in hexadecimal), and
		// package web compares origins as text, so another form never
		// matches.
		c := a.String()
		if a.Is4In6() {
			// Go writes the last 32 bits as an IPv4 address, a
			// browser in hexadecimal like the rest.
			b := a.As16()
			c = fmt.Sprintf("::ffff:%x:%x", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15]))
		}
		if c != strings.ToLower(ip) {
			return fmt.Errorf("%q would never match: a browser writes this origin %s", o,
				strings.Replace(o, "["+ip+"]", "["+c+"]", 1))
		}
	}
	if name != "" {
		labels := strings.Split(strings.TrimSuffix(name, "."), ".")
		for _, label := range labels {
			if label == "" || len(label) > 63 {
				return fmt.Errorf("%q is not an origin: %s is not a host name", o, name)
			}
		}
		// A browser reads a host whose last label is a number as an
		// IPv4 address (10.0.0 as 10.0.0.0, 010.0.0.1 as 8.0.0.1) and
		// sends that in Origin, which this one would never equal.
		if last := strings.ToLower(labels[len(labels)-1]); strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
			if a, err := netip.ParseAddr(strings.TrimSuffix(name, ".")); err != nil || !a.Is4() {
				return fmt.Errorf("%q is not an origin: %s is neither a host name nor an IPv4 address in dotted decimal", o, name)
			}
		}
	}
	if port != "" {
		if p, _ := strconv.Atoi(port); p < 1 || p > 65535 {
			return fmt.Errorf("%q is not an origin: port %s is not in 1..65535", o, port)
		}
	}
	return nil
}
