// Package web is telgate's HTTP side: the terminal page and its assets,
// the target list, health checks, authentication and authorization,
// response headers, and the WebSocket upgrade that hands each browser to
// the gateway. It never parses telnet.
//
// Routes:
//
//	GET /              the terminal page
//	GET /static/...    its scripts, styles and the vendored xterm.js
//	GET /api/targets   {"targets":[{"name":...,"description":...,"color":...}],"adhoc":true,"sessions":true,"recordings":true}
//	GET /healthz       200 "ok" while serving
//	GET /readyz        200 while new sessions are accepted, else 503
//	GET /metrics       the gateway's metrics, when Options.Metrics is set
//	GET /ws            WebSocket protocol v1 (see package gateway)
//	GET /api/check     what /ws would answer to the same query, taking nothing
//	GET /api/sessions  the user's running sessions, an operator's every one
//	POST /api/sessions/{id}/end   ends one of them
//	GET /api/recordings           the recorded sessions (operators only)
//	GET /api/recordings/{name}    one recording, asciicast v2 (?download=1 to save it)
//
// With authentication configured every route but /healthz and /readyz
// needs it.
//
// With Options.BasePath set ("/console/", say) every route but /healthz
// and /readyz is served under it instead (/console/, /console/ws, ...),
// the root and the base path without its last slash redirect to it, and
// the session cookie is scoped to it. The page asks for every URL
// relative to its own, so it works under a base path, and equally behind
// a reverse proxy that strips a prefix of its own.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/gateway"
	"telgate/static"
)

// Options configure a Handler. The zero value of every field but Gateway
// is the behaviour of telgate without configuration: no authentication,
// same-origin WebSockets only, no framing.
type Options struct {
	Gateway *gateway.Gateway
	Log     zerolog.Logger

	// Auth says how users are authenticated; its zero value means they
	// are not.
	Auth Auth
	// TrustedProxies are the reverse proxies whose identity headers and
	// X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host are
	// believed. From any other peer those headers are ignored.
	TrustedProxies []netip.Prefix
	// AllowedOrigins lists origins (scheme://host[:port]), besides the
	// page's own, whose pages may open WebSockets.
	AllowedOrigins []string
	// FrameAncestors lists origins that may show the page in a frame;
	// empty means none may.
	FrameAncestors []string
	// Metrics serves the gateway's metrics at /metrics, behind the same
	// authentication as the page.
	Metrics bool
	// BasePath is the path the routes are served under, as
	// gateway.ParseBasePath takes it; empty means the root.
	BasePath string
}

// defaultFrameAncestors is the CSP frame-ancestors source list when no
// origin may frame the page.
const defaultFrameAncestors = "'none'"

// contentSecurityPolicy allows the page's own scripts and styles only.
// xterm.js sets style attributes and injects <style> elements, hence
// 'unsafe-inline' for styles; scripts get no such exception.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors "

// hstsHeader is sent on every response served over TLS.
const hstsHeader = "max-age=31536000"

// adhocResolveTimeout bounds the name resolution of an ad-hoc host.
const adhocResolveTimeout = 10 * time.Second

// maxHostParam bounds ?host=: a 253-byte name, brackets and a port.
const maxHostParam = 270

// A Handler serves every route.
type Handler struct{ h *handler }

// NewHandler returns the HTTP handler serving every route.
func NewHandler(opts Options) *Handler { return &Handler{newHandler(opts)} }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.root.ServeHTTP(w, r) }

// SetUsers replaces the users of a users file (Auth.Users) for the
// requests that follow: a new user may log in, a removed one or one whose
// password changed may not, and each user's groups are the new ones.
// Sessions already running go on. A handler made without a users file
// takes none, and one made with it cannot be left without: turning
// authentication on or off takes a new handler.
func (h *Handler) SetUsers(u *Users) error {
	if (u == nil) != (h.h.opts.Auth.Users == nil) {
		return errors.New("web: the users file can be replaced, not added or taken away")
	}
	h.h.auth.users.Store(u)
	return nil
}

// SetClientCerts replaces the client certificates' authorities and
// revocations (Auth.ClientCerts) for the requests that follow: a
// certificate revoked since is refused from the next request. A handler
// made without client certificates takes none, and one made with them
// cannot be left without.
func (h *Handler) SetClientCerts(c *ClientCerts) error {
	if (c == nil) != (h.h.opts.Auth.ClientCerts == nil) {
		return errors.New("web: client certificates can be replaced, not added or taken away")
	}
	h.h.auth.certs.Store(c)
	return nil
}

// SetOperators replaces the operators (Auth.OperatorUsers and
// OperatorGroups) for the requests that follow. Without authentication
// there can be none.
func (h *Handler) SetOperators(users, groups []string) error {
	if len(users)+len(groups) > 0 && !h.h.opts.Auth.Enabled() {
		return errors.New("web: operators need authentication")
	}
	h.h.operators.Store(&operators{slices.Clone(users), slices.Clone(groups)})
	return nil
}

// operator reports whether id is an operator's.
func (h *handler) operator(id Identity) bool { return h.operators.Load().is(id) }

func newHandler(opts Options) *handler {
	h := &handler{opts: opts, proxies: proxies(opts.TrustedProxies),
		allowed: map[string]bool{}, allowedHosts: map[string]bool{}}
	h.operators.Store(&operators{slices.Clone(opts.Auth.OperatorUsers), slices.Clone(opts.Auth.OperatorGroups)})
	for _, o := range opts.AllowedOrigins {
		if n, ok := normalOrigin(o); ok {
			h.allowed[n] = true
			_, host, _, _ := parseOrigin(n)
			h.allowedHosts[host] = true
		}
	}
	// Only well-formed origins reach the policy, in their normal form, so
	// that nothing else can be written into the header.
	var ancestors []string
	for _, o := range opts.FrameAncestors {
		if n, ok := normalOrigin(o); ok {
			ancestors = append(ancestors, n)
		}
	}
	h.framed = len(ancestors) > 0
	h.csp = contentSecurityPolicy + defaultFrameAncestors
	if h.framed {
		h.csp = contentSecurityPolicy + strings.Join(ancestors, " ")
	}
	h.auth = newAuthenticator(opts.Auth, h.proxies.trusted)
	h.noteServedHosts()
	h.admit = opts.Gateway.Admit
	// The origin was checked before authentication; checked again by the
	// upgrader in case the route is ever reached another way.
	h.upgrader = opts.Gateway.NewUpgrader(h.originAllowed)

	app := http.NewServeMux()
	assets := static.Files()
	app.HandleFunc("GET /{$}", h.page)
	app.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	app.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "favicon.svg")
	})
	app.HandleFunc("GET /api/targets", h.targets)
	app.HandleFunc("GET /ws", h.websocket)
	app.HandleFunc("GET /api/check", h.check)
	app.HandleFunc("GET /api/sessions", h.sessionList)
	app.HandleFunc("POST /api/sessions/{id}/end", h.endSession)
	app.HandleFunc("GET /api/recordings", h.recordingList)
	app.HandleFunc("GET /api/recordings/{name}", h.recording)
	if opts.Metrics {
		app.Handle("GET /metrics", opts.Gateway.MetricsHandler())
	}

	// The page's own URLs are relative to it, so it must be asked for at
	// a path ending in "/": the same holds for the static directory.
	app.Handle("GET /static", relativeRedirect("static/"))

	root := http.NewServeMux()
	addProbes(root, opts.Gateway)
	base, err := gateway.ParseBasePath(opts.BasePath)
	if err != nil {
		opts.Log.Error().Err(err).Msg("base path refused: serving at the root")
	}
	h.base = base
	if h.base != "/" {
		bare := strings.TrimSuffix(h.base, "/")
		root.Handle(h.base, http.StripPrefix(bare, h.authenticate(app)))
		// Relative, like the page's own URLs, so that they hold behind
		// a proxy that maps another prefix onto this one.
		root.Handle("GET "+bare, relativeRedirect(bare[strings.LastIndexByte(bare, '/')+1:]+"/"))
		root.Handle("GET /{$}", relativeRedirect(h.base[1:]))
	} else {
		root.Handle("/", h.authenticate(app))
	}
	h.root = h.headers(root)
	return h
}

// relativeRedirect redirects to to, a path relative to the request's
// (no scheme, host or leading slash: never to another site), keeping the
// query (a link to ?host= or ?target=).
func relativeRedirect(to string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc := to
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	})
}

// NewMetricsHandler serves /metrics, /healthz and /readyz alone, without
// authentication, for a listener of its own that only monitoring reaches.
func NewMetricsHandler(gw *gateway.Gateway) http.Handler {
	mux := http.NewServeMux()
	addProbes(mux, gw)
	mux.Handle("GET /metrics", gw.MetricsHandler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

func addProbes(mux *http.ServeMux, gw *gateway.Gateway) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := gw.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

type handler struct {
	opts      Options
	operators atomic.Pointer[operators] // see SetOperators
	proxies   proxies
	allowed   map[string]bool // normalised AllowedOrigins
	csp       string
	framed    bool // some origins may frame the page
	auth      *authenticator
	admit     func(clientIP, user string) (*gateway.Ticket, error)
	upgrader  *websocket.Upgrader
	root      http.Handler
	base      string // the routes' path prefix: "/" or "/console/"

	// allowedHosts are the hosts of AllowedOrigins, which are served
	// without authentication too (see hostAllowed).
	allowedHosts map[string]bool

	proxyWarnedMu sync.Mutex
	proxyWarned   map[netip.Addr]bool // the peers noteUntrustedProxy has warned of
}

// maxProxyWarnings bounds how many peers noteUntrustedProxy warns of (and
// remembers).
const maxProxyWarnings = 16

// headers adds the security headers every response carries.
func (h *handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", h.csp)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !h.framed {
			// With frame ancestors configured, X-Frame-Options (which
			// cannot name several origins) would contradict the CSP in
			// browsers that prefer it.
			hdr.Set("X-Frame-Options", "DENY")
		}
		if scheme, _, _ := h.proxies.requestOrigin(r, peerAddr(r)); scheme == "https" {
			hdr.Set("Strict-Transport-Security", hstsHeader)
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate establishes the request's identity, refusing the request
// when it has none. Without authentication, a request for a host that DNS
// rebinding could point here is refused first (see hostAllowed); so is a
// WebSocket upgrade, or a request of the page's API (/api/check, which
// may look a host up, and /api/targets), from another origin, whoever
// sends it (see originAllowed).
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, ok := h.hostAllowed(r); !ok {
			h.refuse(w, r, Identity{}, &refusal{code: http.StatusForbidden,
				reason: "host " + printableLog(host) + " over plain HTTP without authentication: not an IP address, localhost or an allowed origin's host (DNS rebinding?)",
				msg: "host not allowed: without authentication, over plain HTTP telgate serves only IP addresses, localhost " +
					"(and names under .localhost) and the hosts of http.allowed_origins; add this name's origin there, or turn on auth or TLS"})
			return
		}
		if (r.URL.Path == "/ws" || strings.HasPrefix(r.URL.Path, "/api/")) && !h.originAllowed(r) {
			from := "from " + printableLog(r.Header.Get("Origin"))
			if len(r.Header.Values("Origin")) == 0 {
				from = "without Origin, Sec-Fetch-Site " + printableLog(strings.Join(r.Header.Values("Sec-Fetch-Site"), ", "))
			}
			h.refuse(w, r, Identity{}, &refusal{code: http.StatusForbidden,
				reason: "cross-origin " + r.URL.Path + " " + from,
				msg:    "origin not allowed"})
			return
		}
		peer := peerAddr(r)
		h.noteUntrustedProxy(r, peer)
		id, ref := h.auth.authenticate(r, peer, h.proxies.clientAddr(r, peer))
		if ref != nil {
			h.refuse(w, r, Identity{}, ref)
			return
		}
		scheme, _, _ := h.proxies.requestOrigin(r, peer)
		if c := h.auth.sessionCookie(r, id, scheme == "https"); c != nil {
			c.Path = h.base
			http.SetCookie(w, c)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// noteUntrustedProxy warns, once per peer, of a request that looks
// forwarded by a reverse proxy of the operator's own that
// trusted_proxies does not list: X-Forwarded-For from a loopback or
// private address. Behind such a proxy every user has the proxy's
// address, so the per-client session limit and connect rate count them
// all as one client, and an audit log cannot tell them apart; the page
// still works, which makes the cause hard to find. Public peers are not
// warned about: anyone can send the header. Once per peer, so that an
// unrelated private sender (an office's forward proxy) does not use up
// the warning, and for a bounded number of peers.
func (h *handler) noteUntrustedProxy(r *http.Request, peer netip.Addr) {
	if len(r.Header.Values("X-Forwarded-For")) == 0 ||
		!(peer.IsLoopback() || peer.IsPrivate()) || h.proxies.trusted(peer) {
		return
	}
	h.proxyWarnedMu.Lock()
	warn := !h.proxyWarned[peer] && len(h.proxyWarned) < maxProxyWarnings
	if warn {
		if h.proxyWarned == nil {
			h.proxyWarned = make(map[netip.Addr]bool)
		}
		h.proxyWarned[peer] = true
	}
	h.proxyWarnedMu.Unlock()
	if warn {
		h.opts.Log.Warn().Str("peer", peer.String()).
			Msg("X-Forwarded-For from a peer that trusted_proxies does not list is ignored: if the peer is an HTTP reverse proxy that sets that header itself, list it in auth.trusted_proxies, or every user behind it counts as one client for the per-client limits")
	}
}

// hostAllowed reports whether the host the browser asked for (the Host
// header, or a trusted proxy's X-Forwarded-Host) may be served, and
// returns that host. With authentication any host may: the browser sends
// a user's credentials only to the name they were given for. So may any
// host the browser reached over TLS (ours, or a trusted proxy's, by its
// X-Forwarded-Proto): a page that DNS re-points at telgate cannot get the
// browser through TLS to a name the certificate does not carry. Without
// either, only a host that no DNS answer decides (fixedHost) or the host
// of an allowed origin, which the operator vouches for, may. A page on an
// attacker's name that DNS re-points at telgate (DNS rebinding) sends that
// name as both Host and Origin, so the origin check alone cannot tell it
// from the page's own.
func (h *handler) hostAllowed(r *http.Request) (string, bool) {
	scheme, hostport, _ := h.proxies.requestOrigin(r, peerAddr(r))
	if h.opts.Auth.Enabled() || scheme == "https" {
		return hostport, true
	}
	host, _, ok := splitHost(hostport)
	return hostport, ok && (fixedHost(host) || h.allowedHosts[host])
}

// noteServedHosts logs, when authentication is off, which hosts
// hostAllowed serves, and how to serve another name: an operator whose
// users reach telgate by a name gets 403 "host not allowed" for it, and
// this line says why.
func (h *handler) noteServedHosts() {
	if h.opts.Auth.Enabled() {
		return
	}
	hosts := []string{"IP addresses", "localhost", "*.localhost"}
	for _, host := range slices.Sorted(maps.Keys(h.allowedHosts)) {
		if !fixedHost(host) {
			hosts = append(hosts, host)
		}
	}
	h.opts.Log.Info().Strs("hosts", hosts).
		Msg("authentication is off: over plain HTTP only these hosts are served (any host over TLS), against DNS rebinding; " +
			"to serve another name, add its origin to http.allowed_origins, or turn on auth or TLS")
}

// originAllowed reports whether a WebSocket upgrade, or a request of the
// page's API, may come from the request's Origin: the page's own origin,
// or one configured.
//
// A browser sends no Origin on a GET that is not in CORS mode, as another
// site's <img src> or fetch(url, {mode: "no-cors"}) is, nor on its own
// page's GET; it says which in Sec-Fetch-Site. Without Origin, a request
// is allowed when that header says it comes from the page's own origin
// ("same-origin") or from no page ("none": the address bar, a
// bookmark), or when there is no such header (no browser, or an old
// one). "cross-site" and "same-site" are refused: the configured origins
// may be on any site, and without Origin there is no telling which
// origin sent it.
func (h *handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if len(r.Header.Values("Origin")) != 0 {
			return false
		}
		for _, site := range r.Header.Values("Sec-Fetch-Site") {
			if site != "same-origin" && site != "none" {
				return false
			}
		}
		return true
	}
	if n, ok := normalOrigin(origin); ok && h.allowed[n] {
		return true
	}
	scheme, host, known := h.proxies.requestOrigin(r, peerAddr(r))
	return sameOrigin(origin, scheme, host, known)
}

// refuse answers a request that is not served and logs why, at debug
// level unless the refusal asks for a warning. Nothing from the
// Authorization header is logged.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, id Identity, ref *refusal) {
	peer := peerAddr(r)
	ev := h.opts.Log.Debug()
	if ref.warn {
		ev = h.opts.Log.Warn()
	}
	ev = ev.
		Int("status", ref.code).
		Str("remote", r.RemoteAddr).
		Str("client", h.proxies.clientAddr(r, peer).String()).
		Str("method", r.Method).
		Str("path", h.base+strings.TrimPrefix(r.URL.Path, "/")). // as asked for, base path and all
		Str("reason", ref.reason)
	if id.User != "" {
		ev = ev.Str("user", id.User)
	}
	ev.Msg("request refused")
	if ref.challenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="telgate", charset="UTF-8"`)
	}
	if ref.retryAfter > 0 {
		secs := int((ref.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	if r.URL.Path == "/ws" || strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, ref.code, map[string]string{"error": ref.msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(ref.code)
	_, _ = w.Write([]byte(ref.msg + "\n"))
}

// printableLog bounds a client-supplied value for the log.
func printableLog(s string) string {
	const limit = 200
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.QuoteToASCII(s)
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache")
	data, err := fs.ReadFile(static.Files(), "index.html")
	if err != nil {
		http.Error(w, "page missing from build", http.StatusInternalServerError)
		return
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(data)
}

type targetInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Color       string `json:"color,omitempty"` // see gateway.Target.Color
}

type targetList struct {
	Targets []targetInfo `json:"targets"`
	// Adhoc says the user may name hosts with ?host= (some rule may
	// allow them).
	Adhoc bool `json:"adhoc,omitempty"`
	// Sessions says the session list is served (see sessionList).
	Sessions bool `json:"sessions,omitempty"`
	// Recordings says the user may play the recordings back (see
	// recordingList).
	Recordings bool `json:"recordings,omitempty"`
}

// targets lists the targets the user may open.
func (h *handler) targets(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	list := targetList{Targets: []targetInfo{}, Adhoc: h.adhocFor(id), Sessions: h.sessionListRefusal(id) == nil,
		Recordings: h.recordingsRefusal(id) == nil}
	for _, t := range h.opts.Gateway.Targets() {
		if t.Allows(id.User, id.Groups) {
			list.Targets = append(list.Targets, targetInfo{Name: t.Name, Description: t.Description, Color: t.Color})
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// adhocFor reports whether some ad-hoc rule is open to the user.
func (h *handler) adhocFor(id Identity) bool {
	return h.opts.Gateway.AdhocOpenTo(id.User, id.Groups)
}

// A sessionRequest is what a /ws request asks for, checked.
type sessionRequest struct {
	target     gateway.Target
	cols, rows int
	term       string
	client     netip.Addr // the client, behind any trusted proxy
}

// parseSession checks a /ws (or /api/check) request's target or host,
// window size and terminal type, and whether the user may open it.
func (h *handler) parseSession(r *http.Request, id Identity) (sessionRequest, *refusal) {
	bad := func(code int, reason, msg string) (sessionRequest, *refusal) {
		return sessionRequest{}, &refusal{code: code, reason: reason, msg: msg}
	}
	q := r.URL.Query()
	byHost := q.Has("host")
	if byHost && q.Has("target") {
		return bad(http.StatusBadRequest, "both target and host", "give target or host, not both")
	}
	var sr sessionRequest
	if !byHost {
		var ok bool
		sr.target, ok = h.opts.Gateway.Target(q.Get("target"))
		if !ok {
			msg := "unknown target"
			if q.Get("target") == "" {
				msg = "no target given"
			}
			return bad(http.StatusNotFound, msg, msg)
		}
		if !sr.target.Allows(id.User, id.Groups) {
			return bad(http.StatusForbidden, "target "+sr.target.Name+" not allowed",
				"you are not allowed to open this target")
		}
	}
	var err error
	if sr.cols, err = gateway.ParseWindow(q.Get("cols"), 80); err != nil {
		return bad(http.StatusBadRequest, "bad cols", "cols: "+err.Error())
	}
	if sr.rows, err = gateway.ParseWindow(q.Get("rows"), 24); err != nil {
		return bad(http.StatusBadRequest, "bad rows", "rows: "+err.Error())
	}
	sr.term = q.Get("term")
	if sr.term != "" && !gateway.ValidTerminalType(sr.term) {
		return bad(http.StatusBadRequest, "bad term", "term: want 1-40 printable ASCII characters")
	}
	if byHost {
		var ref *refusal
		if sr.target, ref = h.adhocTarget(r.Context(), q.Get("host"), id); ref != nil {
			return sessionRequest{}, ref
		}
	}
	sr.client = h.proxies.clientAddr(r, peerAddr(r))
	return sr, nil
}

// admissionRefusal turns the gateway's refusal of a session into the
// HTTP answer: 429 with Retry-After for the connect rate, 503 for the
// rest; nil for nil.
func admissionRefusal(err error) *refusal {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gateway.ErrRateLimited):
		return &refusal{code: http.StatusTooManyRequests, reason: "session rate limit",
			msg: err.Error(), retryAfter: retryAfter(err)}
	case errors.Is(err, gateway.ErrTooManySessions):
		return &refusal{code: http.StatusServiceUnavailable, reason: "session limit",
			msg: err.Error(), retryAfter: retryAfter(err)}
	case errors.Is(err, gateway.ErrShuttingDown):
		return &refusal{code: http.StatusServiceUnavailable, reason: "shutting down", msg: "server shutting down"}
	}
	return &refusal{code: http.StatusServiceUnavailable, reason: "admission: " + err.Error(), msg: err.Error()}
}

func (h *handler) websocket(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if r.URL.Query().Has("resume") {
		h.resume(w, r, id)
		return
	}
	if r.URL.Query().Has("watch") {
		h.watch(w, r, id)
		return
	}
	sr, ref := h.parseSession(r, id)
	if ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	ws, ticket, ok := h.admitAndUpgrade(w, r, id, sr.client)
	if !ok {
		return
	}
	remote := remoteFor(r, sr.client)
	// The session runs on a goroutine of its own and this handler
	// returns: the connection is hijacked, so net/http is done with it,
	// and the goroutine that parsed the request, whose stack grew deep
	// in net/http, the handlers and the upgrade, ends instead of waiting
	// out the session with that stack.
	h.opts.Gateway.Start(ws, gateway.Request{
		Target: sr.target, Cols: sr.cols, Rows: sr.rows, Term: sr.term, Remote: remote,
		User: id.User, Groups: id.Groups, Ticket: ticket,
		Resumable: r.URL.Query().Get("resumable") == "1",
	})
}

// admitAndUpgrade takes a session slot for client and upgrades the
// request, or answers it (the refusal, or the upgrader's 400) and
// reports false.
func (h *handler) admitAndUpgrade(w http.ResponseWriter, r *http.Request, id Identity, client netip.Addr) (*websocket.Conn, *gateway.Ticket, bool) {
	ticket, err := h.admit(client.String(), id.User)
	if ref := admissionRefusal(err); ref != nil {
		h.refuse(w, r, id, ref)
		return nil, nil, false
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		ticket.Release()
		h.opts.Log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket upgrade failed")
		return nil, nil, false
	}
	return ws, ticket, true
}

// remoteFor is the browser's address for the logs: the connection's,
// and the client's behind a trusted proxy when that is another.
func remoteFor(r *http.Request, client netip.Addr) string {
	if client != peerAddr(r) {
		return client.String() + " via " + r.RemoteAddr
	}
	return r.RemoteAddr
}

// resumeRequest is a resume's query: ?resume=TOKEN&received=N.
type resumeRequest struct {
	token    string
	received int64
}

// maxResumeToken bounds ?resume=: tokens are 22 characters.
const maxResumeToken = 64

// parseResume reads a resume's query and checks that the session can be
// resumed by the user.
func (h *handler) parseResume(r *http.Request, id Identity) (resumeRequest, *refusal) {
	q := r.URL.Query()
	rr := resumeRequest{token: q.Get("resume")}
	if rr.token == "" || len(rr.token) > maxResumeToken {
		return rr, &refusal{code: http.StatusBadRequest, reason: "bad resume token", msg: "resume: bad token"}
	}
	var err error
	if rr.received, err = strconv.ParseInt(q.Get("received"), 10, 64); err != nil || rr.received < 0 {
		return rr, &refusal{code: http.StatusBadRequest, reason: "bad received", msg: "received: want the count of bytes received"}
	}
	err = h.opts.Gateway.CheckResume(rr.token, id.User)
	return rr, tokenRefusal("resume", "resume of a session that ended", err, gateway.ErrNoSession)
}

// tokenRefusal turns the gateway's check of a resume's or a watch's
// token into the HTTP answer: 404 when the session is gone (err wraps
// gone), 403 when it is not the user's to take; nil for nil.
func tokenRefusal(what, goneReason string, err, gone error) *refusal {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gone):
		return &refusal{code: http.StatusNotFound, reason: goneReason, msg: err.Error()}
	}
	return &refusal{code: http.StatusForbidden, reason: what + ": " + err.Error(), msg: err.Error()}
}

// resume hands a browser's new connection to the session it resumes.
// It takes no new session slot: the session holds its own.
func (h *handler) resume(w http.ResponseWriter, r *http.Request, id Identity) {
	rr, ref := h.parseResume(r, id)
	if ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.opts.Log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket upgrade failed")
		return
	}
	h.opts.Gateway.Resume(ws, rr.token, id.User, rr.received, remoteFor(r, h.proxies.clientAddr(r, peerAddr(r))))
}

// maxWatchToken bounds ?watch=: tokens are 22 characters.
const maxWatchToken = 64

// parseWatch checks a watch's query, ?watch=TOKEN: that the session is
// shared by that token and the user may watch it.
func (h *handler) parseWatch(r *http.Request, id Identity) (string, *refusal) {
	token := r.URL.Query().Get("watch")
	if token == "" || len(token) > maxWatchToken {
		return token, &refusal{code: http.StatusBadRequest, reason: "bad watch token", msg: "watch: bad token"}
	}
	err := h.opts.Gateway.CheckWatch(token, id.User, id.Groups)
	return token, tokenRefusal("watch", "watch of a session not shared", err, gateway.ErrNotShared)
}

// watch makes a browser's connection a viewer of a shared session. A
// viewer takes a session slot, as a session does: it holds a descriptor
// and buffers.
func (h *handler) watch(w http.ResponseWriter, r *http.Request, id Identity) {
	token, ref := h.parseWatch(r, id)
	if ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	client := h.proxies.clientAddr(r, peerAddr(r))
	ws, ticket, ok := h.admitAndUpgrade(w, r, id, client)
	if !ok {
		return
	}
	h.opts.Gateway.Watch(ws, gateway.WatchRequest{Token: token, User: id.User, Groups: id.Groups,
		Remote: remoteFor(r, client), Ticket: ticket})
}

// check answers what /ws would answer to the same query now, short of
// the upgrade: 200 with {"ok": true}, or the refusal /ws would give (a
// session limit before the connect rate: see gateway.Gateway.Check). It
// takes no session slot and spends none of the client's connect rate.
// Browsers do not tell a page why its WebSocket was refused; the page
// asks here.
func (h *handler) check(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	var ref *refusal
	switch q := r.URL.Query(); {
	case q.Has("resume"):
		_, ref = h.parseResume(r, id)
	case q.Has("watch"):
		if _, ref = h.parseWatch(r, id); ref == nil {
			ref = admissionRefusal(h.opts.Gateway.Check(h.proxies.clientAddr(r, peerAddr(r)).String(), id.User))
		}
	default:
		var sr sessionRequest
		if sr, ref = h.parseSession(r, id); ref == nil {
			ref = admissionRefusal(h.opts.Gateway.Check(sr.client.String(), id.User))
		}
	}
	if ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// sessionListRefusal refuses the session list where nobody is
// authenticated: every visitor would be the same anonymous user, who may
// see and end every session.
func (h *handler) sessionListRefusal(id Identity) *refusal {
	if id.Method != "" {
		return nil
	}
	return &refusal{code: http.StatusForbidden, reason: "session list without authentication",
		msg: "the session list needs authentication (auth: users_file, proxy_header or client_ca)"}
}

// sessionList answers GET /api/sessions: the running sessions the user
// may see, every one for an operator, with {"operator": true}.
func (h *handler) sessionList(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if ref := h.sessionListRefusal(id); ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	op := h.operator(id)
	list := h.opts.Gateway.Sessions(id.User, op)
	if !op {
		// Addresses reach operators only: /api/targets gives names
		// alone.
		for i := range list {
			list[i].Address = ""
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Operator bool                  `json:"operator"`
		Sessions []gateway.SessionInfo `json:"sessions"`
	}{op, list})
}

// endSession answers POST /api/sessions/{id}/end: it ends one of the
// user's sessions, or any for an operator (204), or answers 404.
func (h *handler) endSession(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if ref := h.sessionListRefusal(id); ref != nil {
		h.refuse(w, r, id, ref)
		return
	}
	sid := r.PathValue("id")
	if err := h.opts.Gateway.EndSession(sid, id.User, h.operator(id), id.User); err != nil {
		h.refuse(w, r, id, &refusal{code: http.StatusNotFound, reason: "end of session " + printableLog(sid) + ": " + err.Error(),
			msg: "no such session of yours: it has ended"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// adhocTarget checks ?host= against the ad-hoc rules. The gateway's
// refusals (ErrNotAllowed) carry messages fit for the user.
func (h *handler) adhocTarget(ctx context.Context, host string, id Identity) (gateway.Target, *refusal) {
	if host == "" || len(host) > maxHostParam || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return gateway.Target{}, &refusal{code: http.StatusBadRequest, reason: "bad host",
			msg: "host: want host[:port]"}
	}
	ctx, cancel := context.WithTimeout(ctx, adhocResolveTimeout)
	defer cancel()
	t, err := h.opts.Gateway.AdhocTarget(ctx, host, id.User, id.Groups)
	if err == nil {
		return t, nil
	}
	reason := "ad-hoc host " + printableLog(host) + ": " + err.Error()
	switch {
	case errors.Is(err, gateway.ErrNotAllowed):
		return gateway.Target{}, &refusal{code: http.StatusForbidden, reason: reason, msg: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return gateway.Target{}, &refusal{code: http.StatusGatewayTimeout, reason: reason,
			msg: "looking up the host timed out"}
	default:
		return gateway.Target{}, &refusal{code: http.StatusBadGateway, reason: reason,
			msg: "cannot open that host"}
	}
}

// retryAfter is how long a refused client should wait: what the error
// says when it says, else a second.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return ra.RetryAfter()
	}
	return time.Second
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
