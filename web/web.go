// Package web is telgate's HTTP side: the terminal page and its assets,
// the target list, health checks, response headers, and the WebSocket
// upgrade that hands each browser to the gateway. It never parses telnet.
//
// Routes:
//
//	GET /              the terminal page
//	GET /static/...    its scripts, styles and the vendored xterm.js
//	GET /api/targets   {"targets":[{"name":...,"description":...}]}
//	GET /healthz       200 "ok" while serving
//	GET /ws            WebSocket protocol v1 (see package gateway)
package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/gateway"
	"telgate/static"
)

// Options configure a Handler.
type Options struct {
	Gateway *gateway.Gateway
	Log     zerolog.Logger
}

// contentSecurityPolicy allows the page's own scripts and styles only.
// xterm.js sets style attributes and injects <style> elements, hence
// 'unsafe-inline' for styles; scripts get no such exception.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// NewHandler returns the HTTP handler serving every route.
func NewHandler(opts Options) http.Handler {
	h := &handler{opts: opts}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 32 << 10,
		// Buffers are shared between sessions and held only while a
		// message is being written.
		WriteBufferPool: &sync.Pool{},
	}
	mux := http.NewServeMux()
	assets := static.Files()
	mux.HandleFunc("GET /{$}", h.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "favicon.svg")
	})
	mux.HandleFunc("GET /api/targets", h.targets)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /ws", h.websocket)
	return securityHeaders(mux)
}

type handler struct {
	opts     Options
	upgrader websocket.Upgrader
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
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
}

func (h *handler) targets(w http.ResponseWriter, r *http.Request) {
	list := []targetInfo{}
	for _, t := range h.opts.Gateway.Targets() {
		list = append(list, targetInfo{Name: t.Name, Description: t.Description})
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": list})
}

func (h *handler) websocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target, ok := h.opts.Gateway.Target(q.Get("target"))
	if !ok {
		msg := "unknown target"
		if q.Get("target") == "" {
			msg = "no target given"
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": msg})
		return
	}
	cols, err := gateway.ParseWindow(q.Get("cols"), 80)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cols: " + err.Error()})
		return
	}
	rows, err := gateway.ParseWindow(q.Get("rows"), 24)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "rows: " + err.Error()})
		return
	}
	term := q.Get("term")
	if term != "" && !gateway.ValidTerminalType(term) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "term: want 1-40 printable ASCII characters"})
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered (403 for a cross-origin request,
		// 400 for a malformed handshake).
		h.opts.Log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket upgrade refused")
		return
	}
	h.opts.Gateway.Serve(ws, gateway.Request{
		Target: target, Cols: cols, Rows: rows, Term: term, Remote: r.RemoteAddr,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
