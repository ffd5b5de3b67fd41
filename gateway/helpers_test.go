package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/gateway/gatewaytest"
	"telgate/telnet/telnettest"
)

// These tests run the gateway behind a small HTTP handler of their own
// (admission, ad-hoc hosts, upgrade, Serve: what package web does), with a
// gorilla client in the browser's place and scripted hosts behind it.

const waitLimit = 5 * time.Second

// logBuffer collects the gateway's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// entries returns the log lines whose message is msg, decoded.
func (l *logBuffer) entries(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

type testGateway struct {
	t   testing.TB
	gw  *Gateway
	srv *httptest.Server
	log *logBuffer
}

// newTestGateway serves a gateway with opts on a loopback port. The
// handler takes ?target=, ?host= (ad-hoc), ?user=, ?group=, ?client= (the
// client address to admit, else the peer's), ?cols=, ?rows=, ?term=,
// ?resumable=1; or ?resume= and ?received= (and ?user=) for a resume; or
// ?watch= (and ?user=, ?group=) to watch a shared session.
func newTestGateway(t testing.TB, opts Options) *testGateway {
	t.Helper()
	tg := &testGateway{t: t, log: &logBuffer{}}
	opts.Log = zerolog.New(tg.log)
	gw, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tg.gw = gw
	upgrader := websocket.Upgrader{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("resume") {
			if err := gw.CheckResume(q.Get("resume"), q.Get("user")); err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			received, _ := strconv.ParseInt(q.Get("received"), 10, 64)
			if ws, err := upgrader.Upgrade(w, r, nil); err == nil {
				gw.Resume(ws, q.Get("resume"), q.Get("user"), received, r.RemoteAddr)
			}
			return
		}
		if q.Has("watch") {
			if err := gw.CheckWatch(q.Get("watch"), q.Get("user"), q["group"]); err != nil {
				code := http.StatusNotFound
				if errors.Is(err, ErrNotAllowed) {
					code = http.StatusForbidden
				}
				http.Error(w, err.Error(), code)
				return
			}
			client, _, _ := net.SplitHostPort(r.RemoteAddr)
			ticket, err := gw.Admit(client, q.Get("user"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			if ws, err := upgrader.Upgrade(w, r, nil); err == nil {
				gw.Watch(ws, WatchRequest{Token: q.Get("watch"), User: q.Get("user"), Groups: q["group"],
					Remote: r.RemoteAddr, Ticket: ticket})
			} else {
				ticket.Release()
			}
			return
		}
		var target Target
		if h := q.Get("host"); h != "" {
			var err error
			if target, err = gw.AdhocTarget(r.Context(), h, q.Get("user"), q["group"]); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		} else {
			var ok bool
			if target, ok = gw.Target(q.Get("target")); !ok {
				http.Error(w, "unknown target", http.StatusNotFound)
				return
			}
		}
		client := q.Get("client")
		if client == "" {
			client, _, _ = net.SplitHostPort(r.RemoteAddr)
		}
		ticket, err := gw.Admit(client, q.Get("user"))
		switch {
		case errors.Is(err, ErrRateLimited):
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		cols, _ := ParseWindow(q.Get("cols"), 80)
		rows, _ := ParseWindow(q.Get("rows"), 24)
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			ticket.Release()
			return
		}
		gw.Serve(ws, Request{Target: target, Cols: cols, Rows: rows, Term: q.Get("term"),
			Remote: r.RemoteAddr, User: q.Get("user"), Groups: q["group"], Ticket: ticket,
			Resumable: q.Get("resumable") == "1"})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		tg.srv.Close()
	})
	return tg
}

// recordedLab serves one target, lab, at addr, recorded with its
// input into a fresh directory, which it returns.
func recordedLab(t testing.TB, addr string) (*testGateway, string) {
	t.Helper()
	dir := t.TempDir()
	return newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: addr, Record: true}},
		Recording: RecordingConfig{Dir: dir, Input: true},
	}), dir
}

func (tg *testGateway) url(query string) string {
	return "ws" + strings.TrimPrefix(tg.srv.URL, "http") + "/ws?" + query
}

// tryOpen opens a WebSocket; on a refusal it returns the HTTP status and
// body.
func (tg *testGateway) tryOpen(query string) (*browser, int, string) {
	ws, resp, err := websocket.DefaultDialer.Dial(tg.url(query), nil)
	if err != nil {
		if resp == nil {
			tg.t.Fatalf("dial %s: %v", query, err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		return nil, resp.StatusCode, strings.TrimSpace(body.String())
	}
	return gatewaytest.Start(tg.t, ws), http.StatusSwitchingProtocols, ""
}

// open opens a WebSocket, failing the test when it is refused.
func (tg *testGateway) open(query string) *browser {
	tg.t.Helper()
	b, code, body := tg.tryOpen(query)
	if b == nil {
		tg.t.Fatalf("open %s: HTTP %d %s", query, code, body)
	}
	return b
}

// waitIdle waits until no session runs.
func (tg *testGateway) waitIdle() {
	tg.t.Helper()
	waitFor(tg.t, "sessions to end", func() bool { return tg.gw.Active() == 0 })
	tg.gw.recordings.Wait() // written out after their sessions
}

// browser is the WebSocket client in the browser's place.
type browser = gatewaytest.Browser

// waitFor polls cond until it holds, failing after waitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// echoHost is a host that prompts, then echoes each piece of data until
// the client closes.
func echoHost(t testing.TB) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		echoData(c)
	})
}

// echoData sends back each piece of data c is sent until the client
// closes.
func echoData(c *telnettest.Conn) {
	for {
		ev, err := c.ReadEvent()
		if err != nil {
			return
		}
		if ev.IsData() {
			c.Send(ev.Data)
		}
	}
}

// checkServing proves the gateway still serves: a session to an echo host
// answers.
func (tg *testGateway) checkServing(target string) {
	tg.t.Helper()
	b := tg.open("target=" + target + "&client=192.0.2.250")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	b.Input("still here")
	b.WaitOutput([]byte("still here"))
	_ = b.Conn.Close()
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
