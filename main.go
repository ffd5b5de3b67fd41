// Command telgate is a web-based telnet gateway: it serves a page with a
// terminal (xterm.js) and bridges each browser over a WebSocket to a telnet
// host, forwarding the browser's window size (NAWS) and terminal type
// (TTYPE).
//
// Usage:
//
//	telgate                          serve the built-in demo host
//	telgate -target host:port        serve one telnet host
//	telgate -config telgate.yaml     serve the configured targets
//	telgate -hash-password           read a password on standard input and
//	                                 print its bcrypt hash for a users file
//	telgate -check-config -config telgate.yaml
//	                                 check a configuration as a start would,
//	                                 serve nothing
//
// Flags:
//
//	-listen addr          where to serve HTTP (default 127.0.0.1:8080), or
//	                      unix:PATH for a UNIX socket
//	-target host:port     serve one telnet host (port 23 when omitted)
//	-config file          serve what a YAML file configures; SIGHUP
//	                      reloads its targets, ad-hoc rules, users,
//	                      revocation lists and operators
//	-base-path path       serve the page and its routes under a path
//	-tls-cert file        serve HTTPS with this certificate (PEM, chain first)
//	-tls-key file         and this private key
//	-metrics-listen addr  serve /metrics (and /healthz, /readyz) here,
//	                      without authentication, instead of on -listen
//	-insecure-no-auth     allow serving a non-loopback address without
//	                      authentication
//	-check-config         with -config: check it as a start would, exit
//	-log-level level      debug, info, warn or error (default info)
//	-log-format fmt       auto, console or json (default auto: console on a
//	                      terminal, JSON otherwise)
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/term"

	"telgate/demo"
	"telgate/gateway"
	"telgate/web"
)

const defaultListen = "127.0.0.1:8080"

// shutdownTimeout bounds how long the gateway waits for sessions to end
// after SIGINT or SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status: 0 after a clean
// shutdown, 1 when serving failed, 2 for bad flags or configuration.
// Only -hash-password reads stdin.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// settings are what the flags and the configuration file decide together.
type settings struct {
	addr         string
	targets      []gateway.Target
	cfg          *gateway.Config // nil without -config
	auth         web.Auth
	trusted      []netip.Prefix
	tls          *tls.Config
	acme         *autocert.Manager // when an ACME authority issues the certificate
	checkOnly    bool              // -check-config: nothing is made on disk
	insecure     bool
	metricsAddr  string
	certFlag     string
	keyFlag      string
	configDir    string
	listenIsFlag bool
	basePath     string // as gateway.ParseBasePath returns it
}

// runContext is run, ending (like SIGINT or SIGTERM) when ctx ends.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("telgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "`address` to serve HTTP on: host:port, or unix:PATH for a UNIX socket")
	target := fs.String("target", "", "serve one telnet target at `host:port`")
	configPath := fs.String("config", "", "read targets from this YAML `file`")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	logFormat := fs.String("log-format", "auto", "log `format`: auto, console or json")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM); wins over the config's tls")
	tlsKey := fs.String("tls-key", "", "the certificate's private key `file` (PEM)")
	metricsListen := fs.String("metrics-listen", "", "serve /metrics, /healthz and /readyz on this `address`, without authentication, instead of on -listen")
	basePath := fs.String("base-path", "", "serve the page under this URL `path` (/console/) for a reverse proxy that keeps its prefix; wins over the config's http.base_path")
	insecure := fs.Bool("insecure-no-auth", false, "allow serving a non-loopback address without authentication")
	hashPassword := fs.Bool("hash-password", false, "read a password on standard input, print its bcrypt hash for a users file and exit")
	checkConfig := fs.Bool("check-config", false, "check the -config file and what it names as a start would, print what it serves and exit, serving nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telgate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *hashPassword {
		return runHashPassword(stdin, stdout, stderr)
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "telgate: "+format+"\n", a...)
		return 2
	}
	s := settings{addr: *listen, insecure: *insecure, metricsAddr: *metricsListen,
		certFlag: *tlsCert, keyFlag: *tlsKey}
	fs.Visit(func(f *flag.Flag) { s.listenIsFlag = s.listenIsFlag || f.Name == "listen" })

	switch {
	case *target != "" && *configPath != "":
		return fail("-target and -config cannot be used together")
	case *configPath != "":
		cfg, err := gateway.LoadConfig(*configPath)
		if err != nil {
			return fail("%v", err)
		}
		s.cfg, s.targets, s.configDir = cfg, cfg.Targets, filepath.Dir(*configPath)
		if cfg.Listen != "" && !s.listenIsFlag {
			s.addr = cfg.Listen
			// A socket's path is the configuration file's, as its other
			// paths are.
			if path, ok := strings.CutPrefix(s.addr, unixScheme); ok && !strings.HasPrefix(path, "@") {
				s.addr = unixScheme + s.resolve(path)
			}
		}
		s.basePath = cfg.HTTP.BasePath
	case *target != "":
		a, err := gateway.NormalizeAddress(*target)
		if err != nil {
			return fail("-target: %v", err)
		}
		s.targets = []gateway.Target{{Name: "default", Address: a, Description: "telnet host"}}
	}
	if *basePath != "" {
		s.basePath = *basePath
	}
	if s.basePath, err = gateway.ParseBasePath(s.basePath); err != nil {
		return fail("-base-path: %v", err)
	}
	if *checkConfig && *configPath == "" {
		return fail("-check-config checks a -config file: give one")
	}
	s.checkOnly = *checkConfig
	if err := s.loadSecurity(); err != nil {
		return fail("%v", err)
	}
	if *checkConfig {
		return s.check(*configPath, log, stdout, stderr)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	tcpLn, err := openListener(s.addr)
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 1
	}
	// Both listeners are opened before anything is served: a UNIX
	// socket's is made under a umask of its own (see listenUnix).
	var mln net.Listener
	if s.metricsAddr != "" {
		if mln, err = openListener(s.metricsAddr); err != nil {
			tcpLn.Close()
			fmt.Fprintf(stderr, "telgate: -metrics-listen: %v\n", err)
			return 1
		}
		defer mln.Close()
	}
	var ln net.Listener = loopbackListener{newFDListener(tcpLn, log, s.tls == nil)}
	defer ln.Close()
	if code := s.checkExposure(ln.Addr(), log, stderr); code != 0 {
		return code
	}

	if *target == "" && *configPath == "" {
		host, err := demo.Listen("127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "telgate: %v\n", err)
			return 1
		}
		defer host.Close()
		s.targets = []gateway.Target{{Name: "demo", Address: host.Addr(), Description: "Built-in demo host"}}
		log.Info().Str("address", host.Addr()).Msg("demo host started")
	}
	gopts := s.gatewayOptions(log)
	gw, err := gateway.New(gopts)
	if err != nil {
		return fail("%v", err)
	}
	if gopts.Recording.Dir != "" {
		log.Info().Str("dir", gopts.Recording.Dir).Msg("recordings are kept here, for the targets and rules that record")
	}
	if c := s.auth.ClientCerts; c != nil {
		lists, revoked := c.Revocations()
		log.Info().Int("revocation_lists", lists).Int("revoked", revoked).
			Msg("client certificates identify users (auth: client_ca)")
		warnStaleRevocations(c, log)
	}
	if s.auth.Users != nil && s.tls == nil && !isLoopback(ln.Addr()) {
		log.Warn().Msg("HTTP Basic authentication without TLS: passwords cross the network in the clear " +
			"unless a TLS-terminating proxy is in front (see -tls-cert)")
	}

	hopts := web.Options{Gateway: gw, Log: log, Auth: s.auth, TrustedProxies: s.trusted,
		Metrics: s.metricsAddr == "", BasePath: s.basePath}
	if s.cfg != nil {
		hopts.AllowedOrigins = s.cfg.HTTP.AllowedOrigins
		hopts.FrameAncestors = s.cfg.HTTP.FrameAncestors
	}
	handler := web.NewHandler(hopts)
	rl := &reloader{path: *configPath, running: s.cfg, certs: s.auth.ClientCerts, applied: s.auth.ClientCerts, gw: gw, handler: handler, log: log}
	rl.watch(ctx)
	srv := newServer(handler, log)
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
		srv.TLSConfig = s.tls
		ln = tls.NewListener(ln, s.tls)
	}
	httpServers := []*http.Server{srv}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()

	if mln != nil {
		msrv := newServer(web.NewMetricsHandler(gw), log)
		httpServers = append(httpServers, msrv)
		go func() { served <- msrv.Serve(mln) }()
		log.Info().Str("url", listenURL(mln, "http", "/metrics")).Msg("serving metrics")
		if !isLoopback(mln.Addr()) {
			log.Warn().Str("listen", mln.Addr().String()).
				Msg("metrics are served without authentication: keep -metrics-listen on a network only monitoring reaches")
		}
	}

	url := listenURL(ln, scheme, s.basePath)
	fmt.Fprintf(stdout, "telgate: serving %d target(s) at %s\n", len(s.targets), url)
	log.Info().Str("url", url).Int("targets", len(s.targets)).
		Bool("auth", s.auth.Enabled()).Bool("tls", s.tls != nil).Msg("listening")
	if s.acme != nil {
		// Now that the authority can reach the listener.
		go s.fetchCertificates(ctx, log)
	}

	code := 0
	select {
	case err := <-served:
		log.Error().Err(err).Msg("serving failed")
		code = 1
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// The HTTP servers and the sessions stop side by side: an HTTP
	// connection that has not sent its request yet (a browser's
	// preconnect) holds a server's Shutdown for up to five seconds, and
	// the sessions must be told why meanwhile, not after.
	var servers sync.WaitGroup
	for _, srv := range httpServers {
		servers.Go(func() {
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				log.Warn().Err(err).Msg("http shutdown")
			}
		})
	}
	if err := gw.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Int("sessions", gw.Active()).Msg("shutdown incomplete at exit")
	}
	servers.Wait()
	log.Info().Msg("stopped")
	return code
}

// gatewayOptions are the gateway's options as the settings give them.
func (s *settings) gatewayOptions(log zerolog.Logger) gateway.Options {
	gopts := gateway.Options{Targets: s.targets, Log: log}
	if s.cfg != nil {
		gopts.Limits, gopts.Adhoc, gopts.Recording = s.cfg.Limits, s.cfg.Adhoc, s.cfg.Recording
		gopts.Recording.Dir = s.resolve(gopts.Recording.Dir)
	}
	return gopts
}

// check is -check-config: the checks of a start past loadSecurity's,
// without listening (the address is resolved, not bound) or serving. It
// returns the exit status: 0 and a line on stdout when the configuration
// would start, 2 and why on stderr when not.
func (s *settings) check(path string, log zerolog.Logger, stdout, stderr io.Writer) int {
	var addr net.Addr
	if p, ok := strings.CutPrefix(s.addr, unixScheme); ok {
		addr = &net.UnixAddr{Name: p, Net: "unix"}
	} else {
		a, err := net.ResolveTCPAddr("tcp", s.addr)
		if err != nil {
			fmt.Fprintf(stderr, "telgate: listen %s: %v\n", s.addr, err)
			return 2
		}
		addr = a
	}
	if code := s.checkExposure(addr, log, stderr); code != 0 {
		return code
	}
	gw, err := gateway.New(s.gatewayOptions(log))
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 2
	}
	_ = gw.Shutdown(context.Background())
	fmt.Fprintf(stdout, "telgate: %s: ok: %d target(s), %d ad-hoc rule(s), on %s\n", path, len(s.cfg.Targets), len(s.cfg.Adhoc), s.addr)
	return 0
}

// newServer returns an HTTP/1.1 server for h. WebSockets need HTTP/1.1:
// HTTP/2 is not offered, in clear or over TLS.
func newServer(h http.Handler, log zerolog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures and the like, at debug level.
		ErrorLog: stdlog.New(debugWriter{log}, "", 0),
	}
}

// debugWriter logs what net/http reports about connections at debug
// level.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// resolve makes a path from the configuration file relative to the
// file's directory.
func (s *settings) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || s.configDir == "" {
		return p
	}
	return filepath.Join(s.configDir, p)
}

// loadSecurity reads the users file, the proxy settings and the TLS
// certificate, and checks that allow lists have someone to allow.
func (s *settings) loadSecurity() error {
	if (s.certFlag == "") != (s.keyFlag == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	certFile, keyFile := s.certFlag, s.keyFlag
	if s.cfg != nil {
		a := s.cfg.Auth
		if a.UsersFile != "" {
			users, err := web.LoadUsers(s.resolve(a.UsersFile))
			if err != nil {
				return err
			}
			s.auth.Users = users
		}
		s.auth.ProxyHeader, s.auth.ProxyGroupsHeader = a.ProxyHeader, a.ProxyGroupsHeader
		s.auth.OperatorUsers, s.auth.OperatorGroups = a.OperatorUsers, a.OperatorGroups
		for _, p := range a.TrustedProxies {
			pre, err := gateway.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("auth: trusted_proxies: %v", err)
			}
			s.trusted = append(s.trusted, pre)
		}
		if certFile == "" {
			certFile, keyFile = s.resolve(s.cfg.TLS.Cert), s.resolve(s.cfg.TLS.Key)
		}
		if err := checkAllowLists(s.cfg, a.Enabled()); err != nil {
			return err
		}
	}
	if a := s.acmeConfig(); a != nil && certFile == "" {
		if err := s.loadACME(a); err != nil {
			return err
		}
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("tls: %v", err)
		}
		s.tls = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		}
	}
	if s.cfg != nil && s.cfg.Auth.ClientCA != "" {
		if s.tls == nil {
			return errors.New("auth: client_ca needs telgate's own TLS (tls: cert and key, or -tls-cert and -tls-key): " +
				"the browser sends its certificate in the TLS handshake; behind a proxy that terminates TLS use its header (proxy_header)")
		}
		certs, err := loadClientCerts(s.cfg, s.resolve, nil)
		if err != nil {
			return err
		}
		// Asked for, neither required nor verified in the handshake: the
		// web handler verifies it and says what is wrong (expired, not
		// ours) on a page where a failed handshake says nothing, and a
		// browser without one still reaches /healthz and the users
		// file's login. ClientCAs names the authorities to the browser.
		s.auth.ClientCerts = certs
		s.tls.ClientAuth, s.tls.ClientCAs = tls.RequestClientCert, certs.Pool()
	}
	return nil
}

// loadClientCerts reads cfg's client_ca, or takes running's authorities
// when not nil (they change only with a restart), and its client_crl.
func loadClientCerts(cfg *gateway.Config, resolve func(string) string, running *web.ClientCerts) (*web.ClientCerts, error) {
	certs := running
	if certs == nil {
		var err error
		if certs, err = web.LoadClientCAs(resolve(cfg.Auth.ClientCA)); err != nil {
			return nil, fmt.Errorf("auth: client_ca: %w", err)
		}
	}
	certs, err := certs.WithRevocations(resolve(cfg.Auth.ClientCRL))
	if err != nil {
		return nil, fmt.Errorf("auth: client_crl: %w", err)
	}
	return certs, nil
}

// warnStaleRevocations warns when a revocation list loaded is past the
// time its authority said a newer one would be out: certificates revoked
// since are still let in.
func warnStaleRevocations(certs *web.ClientCerts, log zerolog.Logger) {
	if next := certs.NextUpdate(); !next.IsZero() && time.Now().After(next) {
		log.Warn().Time("next_update", next).
			Msg("auth: client_crl is past its next update: load a newer list (and reload) to refuse certificates revoked since")
	}
}

// checkExposure refuses a listen address other machines can reach when
// nobody is authenticated, unless -insecure-no-auth says so; it returns an
// exit status, 0 to go on.
func (s *settings) checkExposure(addr net.Addr, log zerolog.Logger, stderr io.Writer) int {
	if s.auth.Enabled() {
		if s.insecure {
			log.Warn().Msg("-insecure-no-auth has no effect: authentication is configured")
		}
		return 0
	}
	if isLoopback(addr) {
		if s.insecure {
			log.Warn().Str("listen", addr.String()).Msg("authentication is off (-insecure-no-auth)")
		}
		return 0
	}
	if !s.insecure {
		fmt.Fprintf(stderr, "telgate: refusing to serve %s without authentication: anyone who reaches it "+
			"could open every target. Configure auth (users_file, proxy_header or client_ca) in the -config file, "+
			"listen on a loopback address, or pass -insecure-no-auth to accept the risk.\n", s.addr)
		return 2
	}
	log.Warn().Str("listen", addr.String()).
		Msg("authentication is off on a non-loopback address (-insecure-no-auth): anyone who reaches it can open every target")
	return 0
}

// isLoopback reports whether addr accepts connections from this machine
// only.
func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// runHashPassword reads a password and prints its bcrypt hash. On a
// terminal it asks twice without echo; otherwise it reads one line.
func runHashPassword(in io.Reader, stdout, stderr io.Writer) int {
	var password string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		p1, err := read("Password: ")
		if err != nil {
			fmt.Fprintf(stderr, "telgate: %v\n", err)
			return 1
		}
		p2, err := read("Again: ")
		if err != nil {
			fmt.Fprintf(stderr, "telgate: %v\n", err)
			return 1
		}
		if p1 != p2 {
			fmt.Fprintln(stderr, "telgate: the passwords differ")
			return 2
		}
		password = p1
	} else {
		line, err := bufio.NewReaderSize(in, 4096).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "telgate: reading the password: %v\n", err)
			return 1
		}
		password = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		fmt.Fprintf(stderr, "telgate: -hash-password: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, hash)
	return 0
}

// newLogger builds the zerolog logger: human-readable on a terminal, JSON
// otherwise, unless the format says which.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	// Only the four levels the help names: zerolog also takes
	// "disabled", "panic" or a number, and a slip there would silence
	// the warnings an operator most needs (no authentication, clear-text
	// passwords, recorded input).
	var lvl zerolog.Level
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
		lvl, _ = zerolog.ParseLevel(strings.ToLower(level))
	default:
		return zerolog.Logger{}, fmt.Errorf("-log-level: unknown level %q (want debug, info, warn or error)", level)
	}
	console := false
	switch format {
	case "auto":
		f, ok := w.(*os.File)
		console = ok && isatty.IsTerminal(f.Fd())
	case "console":
		console = true
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("-log-format: unknown format %q (want auto, console or json)", format)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// acmeConfig is the configuration's tls.acme, or nil.
func (s *settings) acmeConfig() *gateway.ACMEConfig {
	if s.cfg == nil {
		return nil
	}
	return s.cfg.TLS.ACME
}

// loadACME sets up the certificates an ACME authority issues: made when
// first asked for (fetchCertificates asks at start), kept in the cache
// directory, renewed a month before they expire. The handshake answers
// the authority's TLS-ALPN-01 challenge too.
func (s *settings) loadACME(a *gateway.ACMEConfig) error {
	client := &acme.Client{DirectoryURL: a.Directory, UserAgent: "telgate"}
	if client.DirectoryURL == "" {
		client.DirectoryURL = gateway.LetsEncrypt
	}
	if a.CA != "" {
		data, err := os.ReadFile(s.resolve(a.CA))
		if err != nil {
			return fmt.Errorf("tls: acme: ca: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(data) {
			return fmt.Errorf("tls: acme: ca %s: no PEM certificate in it", s.resolve(a.CA))
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: transport}
	}
	cache := s.resolve(a.Cache)
	// Not by -check-config, which may run as another user (root, a CI
	// job) and would leave the directory theirs.
	if !s.checkOnly {
		if err := os.MkdirAll(cache, 0o700); err != nil {
			return fmt.Errorf("tls: acme: cache: %w", err)
		}
	}
	s.acme = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cache),
		HostPolicy: autocert.HostWhitelist(a.Domains...),
		Client:     client,
		Email:      a.Email,
	}
	manager := s.acme
	s.tls = &tls.Config{
		// A client that names no server (a probe by IP address) gets
		// the first name's certificate, as it would a configured one.
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				named := *hello
				named.ServerName = a.Domains[0]
				hello = &named
			}
			return manager.GetCertificate(hello)
		},
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1", acme.ALPNProto},
	}
	return nil
}

// fetchCertificates has the ACME authority issue (or the cache give) the
// certificate of each name at start, rather than at a browser's first
// visit, and logs the outcome: an authority that refuses shows at once.
func (s *settings) fetchCertificates(ctx context.Context, log zerolog.Logger) {
	for _, name := range s.cfg.TLS.ACME.Domains {
		cert, err := s.acme.GetCertificate(&tls.ClientHelloInfo{ServerName: name,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error().Err(err).Str("domain", name).Msg("tls: acme: no certificate; browsers asking for this name are refused until the authority issues one")
			continue
		}
		ev := log.Info().Str("domain", name)
		if cert.Leaf != nil {
			ev = ev.Time("expires", cert.Leaf.NotAfter).Str("issuer", cert.Leaf.Issuer.CommonName)
		}
		ev.Msg("tls: acme: certificate ready")
	}
}
