package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/gateway"
	"telgate/gateway/gatewaytest"
	"telgate/telnet"
	"telgate/telnet/telnettest"
	"telgate/web"
)

// These tests drive the real HTTP handler in process, with a WebSocket
// client in the browser's place and a scripted telnet host behind it.

const waitLimit = 5 * time.Second

// gatewayFor serves the handler on a loopback port with the given targets.
func gatewayFor(t *testing.T, targets []gateway.Target, tweak ...func(*gateway.Options)) (*httptest.Server, *gateway.Gateway) {
	t.Helper()
	opts := gateway.Options{Targets: targets, Log: zerolog.Nop()}
	for _, f := range tweak {
		f(&opts)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewHandler(web.Options{Gateway: gw, Log: zerolog.Nop()}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return srv, gw
}

// hostTarget names a scripted host "lab".
func hostTarget(host *telnettest.Server) []gateway.Target {
	return []gateway.Target{{Name: "lab", Address: host.Addr(), Description: "scripted host"}}
}

// browser is the WebSocket client in the browser's place.
type browser = gatewaytest.Browser

func wsURL(srv *httptest.Server, query string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?" + query
}

func openBrowser(t *testing.T, srv *httptest.Server, query string) *browser {
	t.Helper()
	return gatewaytest.Dial(t, wsURL(srv, query), nil)
}

// acceptTerminal plays a host that asks for the window size and terminal
// type the way inetutils-telnetd does, and returns what it got.
func acceptTerminal(c *telnettest.Conn) (naws []byte, term string) {
	c.Negotiate(telnet.DO, telnet.TTYPE)
	c.ExpectNegotiation(telnet.WILL, telnet.TTYPE)
	c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND})
	payload := c.ExpectSubnegotiation(telnet.TTYPE)
	c.Negotiate(telnet.DO, telnet.NAWS)
	c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
	naws = c.ExpectSubnegotiation(telnet.NAWS)
	return naws, string(payload[1:])
}

func TestWindowSizeAndTerminalTypeReachTheHost(t *testing.T) {
	type got struct {
		naws, resized []byte
		term          string
	}
	results := make(chan got, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		var g got
		g.naws, g.term = acceptTerminal(c)
		c.SendString("ready\r\n")
		g.resized = c.ExpectSubnegotiation(telnet.NAWS)
		results <- g
		c.ExpectEOF()
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab&cols=111&rows=37&term=vt220")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("ready\r\n"))
	b.Control(`{"type":"resize","cols":132,"rows":5000}`)
	g := within(t, results)
	if want := []byte{0, 111, 0, 37}; !bytes.Equal(g.naws, want) {
		t.Errorf("NAWS at connect = % x, want % x", g.naws, want)
	}
	if g.term != "vt220" {
		t.Errorf("TTYPE IS %q, want the browser's vt220", g.term)
	}
	if want := []byte{0, 132, 0x03, 0xe8}; !bytes.Equal(g.resized, want) {
		t.Errorf("NAWS after resize = % x, want % x (rows clamped to 1000)", g.resized, want)
	}
}

func TestWindowDimensionOf255IsDoubledOnTheWire(t *testing.T) {
	done := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		defer close(done)
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.Expect([]byte{telnet.IAC, telnet.WILL, telnet.NAWS,
			telnet.IAC, telnet.SB, telnet.NAWS, 0, 255, 255, 0, 255, 255, telnet.IAC, telnet.SE})
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab&cols=255&rows=255")
	b.ExpectStatus("connected")
	within(t, done)
}

func TestTargetTermOverridesTheBrowsers(t *testing.T) {
	terms := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		_, term := acceptTerminal(c)
		terms <- term
	})
	targets := hostTarget(host)
	targets[0].Term = "vt100"
	srv, _ := gatewayFor(t, targets)
	b := openBrowser(t, srv, "target=lab&term=xterm")
	b.ExpectStatus("connected")
	if got := within(t, terms); got != "vt100" {
		t.Errorf("TTYPE IS %q, want the target's vt100", got)
	}
}

func TestTerminalTypeDefaultsToXterm256color(t *testing.T) {
	terms := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		_, term := acceptTerminal(c)
		terms <- term
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	openBrowser(t, srv, "target=lab").ExpectStatus("connected")
	if got := within(t, terms); got != "xterm-256color" {
		t.Errorf("TTYPE IS %q, want xterm-256color", got)
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestEveryByteValuePassesHostToBrowser(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send(telnet.AppendEscaped(nil, allBytes()))
		c.SendString("END")
		c.ExpectEOF()
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	out := b.WaitOutput([]byte("END"))
	if want := append(allBytes(), "END"...); !bytes.Equal(out, want) {
		t.Errorf("browser got % x\nwant % x", out, want)
	}
}

func TestEveryByteValuePassesBrowserToHost(t *testing.T) {
	for _, tc := range []struct {
		name      string
		binary    bool // the host asks us to send in BINARY mode
		enter     telnet.LineEnding
		backspace byte
		want      []byte // what the host decodes
	}{
		// CR (13) is followed by 14, so it is a lone CR: Enter.
		{"nvt crnul", false, telnet.CRNUL, 0, allBytes()},
		{"nvt crlf", false, telnet.CRLF, 0, bytes.Replace(allBytes(), []byte{13}, []byte{13, 10}, 1)},
		// DEL (127) is what the Backspace key sends.
		{"nvt backspace bs", false, telnet.CRLF, gateway.BS,
			bytes.Replace(bytes.Replace(allBytes(), []byte{13}, []byte{13, 10}, 1), []byte{127}, []byte{8}, 1)},
		{"binary", true, telnet.CRNUL, 0, allBytes()},
		// Backspace stands for the key: BINARY mode does not change it.
		{"binary backspace bs", true, telnet.CRLF, gateway.BS, bytes.Replace(allBytes(), []byte{127}, []byte{8}, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := make(chan []byte, 1)
			host := telnettest.NewServer(t, func(c *telnettest.Conn) {
				if tc.binary {
					c.Negotiate(telnet.DO, telnet.BINARY)
					c.ExpectNegotiation(telnet.WILL, telnet.BINARY)
					c.SetBinary(true)
				}
				c.SendString("go\r\n")
				wire := tc.want
				if !tc.binary && tc.enter == telnet.CRNUL {
					wire = bytes.Replace(wire, []byte{13}, []byte{13, 0}, 1)
				}
				wire = telnet.AppendEscaped(nil, wire)
				c.Expect(wire)
				raw <- wire
			})
			targets := hostTarget(host)
			targets[0].Enter = tc.enter
			targets[0].Backspace = tc.backspace
			srv, _ := gatewayFor(t, targets)
			b := openBrowser(t, srv, "target=lab")
			b.ExpectStatus("connected")
			b.WaitOutput([]byte("go\r\n"))
			b.Input(string(allBytes()))
			within(t, raw)
		})
	}
}

func TestUTF8PassesBothWays(t *testing.T) {
	const text = "Grüße, こんにちは, ☃ — 😀"
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString(text + "\r\n")
		c.ExpectData(text)
		c.SendString("ok\r\n")
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte(text + "\r\n"))
	b.Input(text)
	b.WaitOutput([]byte("ok\r\n"))
}

func TestToolbarCommandsReachTheHostAsIACCommands(t *testing.T) {
	names := []string{"break", "interrupt", "abort-output", "are-you-there",
		"erase-char", "erase-line", "go-ahead", "nop"}
	want := []byte{telnet.BRK, telnet.IP, telnet.AO, telnet.AYT, telnet.EC, telnet.EL, telnet.GA, telnet.NOP}
	done := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		defer close(done)
		c.SendString("$ ")
		for _, cmd := range want {
			c.ExpectCommand(cmd)
		}
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	for _, n := range names {
		b.Control(`{"type":"command","name":"` + n + `"}`)
	}
	within(t, done)
}

func TestHostCloseClosesTheBrowser(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("bye\r\n")
	})
	srv, gw := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	reason, ce := b.WaitClose()
	if reason != gateway.ReasonHostClosed {
		t.Errorf("closed reason %q, want %q", reason, gateway.ReasonHostClosed)
	}
	if ce.Code != websocket.CloseNormalClosure {
		t.Errorf("close code %d, want %d", ce.Code, websocket.CloseNormalClosure)
	}
	if !bytes.Equal(b.Output, []byte("bye\r\n")) {
		t.Errorf("output %q, want everything the host sent before closing", b.Output)
	}
	waitFor(t, "no session left", func() bool { return gw.Active() == 0 })
}

func TestBrowserCloseClosesTheHost(t *testing.T) {
	gone := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectEOF()
		close(gone)
	})
	srv, gw := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	_ = b.Conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = b.Conn.Close()
	within(t, gone)
	waitFor(t, "no session left", func() bool { return gw.Active() == 0 })
}

func TestUnreachableHostIsReportedToTheBrowser(t *testing.T) {
	srv, _ := gatewayFor(t, []gateway.Target{{Name: "dead", Address: closedPort(t)}})
	b := openBrowser(t, srv, "target=dead")
	reason, _ := b.WaitClose()
	if reason != "connection refused" {
		t.Errorf("reason %q, want connection refused", reason)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	host := telnettest.NewServer(t, func(*telnettest.Conn) {})
	addr := host.Addr()
	host.Close()
	return addr
}

func TestBadRequestsAreRefusedBeforeTheUpgrade(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {})
	srv, _ := gatewayFor(t, append(hostTarget(host), gateway.Target{Name: "other", Address: host.Addr()}))
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"target=nope", http.StatusNotFound},
		{"", http.StatusNotFound}, // two targets: one must be named
		{"target=lab&cols=wide", http.StatusBadRequest},
		{"target=lab&rows=1e3", http.StatusBadRequest},
		{"target=lab&term=" + url.QueryEscape("x\x1b[2J"), http.StatusBadRequest},
		{"target=lab&term=" + strings.Repeat("x", 41), http.StatusBadRequest},
	} {
		_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv, tc.query), nil)
		if err == nil {
			t.Errorf("%q: upgraded, want HTTP %d", tc.query, tc.code)
			continue
		}
		if resp == nil || resp.StatusCode != tc.code {
			t.Errorf("%q: got %v, want HTTP %d", tc.query, resp, tc.code)
		}
	}
}

func TestCrossOriginUpgradeIsForbidden(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {})
	srv, _ := gatewayFor(t, hostTarget(host))
	hdr := http.Header{"Origin": {"https://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv, "target=lab"), hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: err %v, response %v; want 403", err, resp)
	}
}

func TestMalformedControlMessagesAreAnsweredNotFatal(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectData("still here")
		c.SendString("ok")
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	for _, msg := range []string{
		`{"type":"resize","cols":"x","rows":3}`,
		`{"type":"resize"}`,
		`{"type":"command","name":"reboot"}`,
		`{"type":"launch"}`,
		`[1,2,3]`,
		`{not json`,
		"\xff\xfe",
	} {
		b.Control(msg)
		if m := b.ExpectStatus("error"); m["message"] == "" {
			t.Errorf("%q: error without a message", msg)
		}
	}
	b.Input("still here")
	b.WaitOutput([]byte("ok"))
}

func TestOversizedMessageClosesWithMessageTooBig(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectEOF()
	})
	srv, _ := gatewayFor(t, hostTarget(host), func(o *gateway.Options) { o.Limits.MaxMessageSize = 1024 })
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	b.Input(string(make([]byte, 4096)))
	_, ce := b.WaitClose()
	if ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want %d (message too big)", ce.Code, websocket.CloseMessageTooBig)
	}
}

func TestShutdownTellsEveryBrowserWhy(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectEOF()
	})
	srv, gw := gatewayFor(t, hostTarget(host))
	b1 := openBrowser(t, srv, "target=lab")
	b2 := openBrowser(t, srv, "target=lab")
	for _, b := range []*browser{b1, b2} {
		b.ExpectStatus("connected")
		b.WaitOutput([]byte("$ "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*browser{b1, b2} {
		reason, ce := b.WaitClose()
		if reason != gateway.ReasonShutdown || ce.Code != websocket.CloseGoingAway {
			t.Errorf("got reason %q code %d, want %q and %d", reason, ce.Code, gateway.ReasonShutdown, websocket.CloseGoingAway)
		}
	}
}

func TestSlowBrowserHoldsBackTheHostAndLosesNothing(t *testing.T) {
	const total = 32 << 20
	blocked := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		nc := c.NetConn()
		chunk := bytes.Repeat([]byte("0123456789abcde\n"), 4096)
		sent := 0
		// While the browser does not read, the host must end up blocked.
		_ = nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		for sent < total {
			n, err := nc.Write(chunk)
			sent += n
			if err != nil {
				close(blocked)
				break
			}
		}
		if sent >= total {
			t.Errorf("host wrote all %d bytes to a browser that does not read", total)
			return
		}
		_ = nc.SetWriteDeadline(time.Time{})
		// A timed-out write may have sent part of the chunk: finish it.
		rest := chunk[sent%len(chunk):]
		if _, err := nc.Write(rest); err != nil {
			t.Error(err)
			return
		}
		sent += len(rest)
		for ; sent < total; sent += len(chunk) {
			if _, err := nc.Write(chunk); err != nil {
				t.Error(err)
				return
			}
		}
		c.SendString("END")
		c.ExpectEOF()
	})
	srv, _ := gatewayFor(t, hostTarget(host))
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv, "target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	select {
	case <-blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("host never blocked")
	}
	// The stream is the pattern repeated to total bytes, then "END".
	pattern := bytes.Repeat([]byte("0123456789abcde\n"), 4096)
	expected := func(i int) byte {
		if i < total {
			return pattern[i%len(pattern)]
		}
		return "END"[i-total]
	}
	got := 0
	for got < total+3 {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		for _, c := range data {
			if got >= total+3 || c != expected(got) {
				t.Fatalf("stream corrupted at byte %d", got)
			}
			got++
		}
	}
}

func TestSessionsLeaveNoGoroutineBehind(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectEOF()
	})
	// 21 sessions in a row from one address: more than the default
	// connect burst.
	srv, gw := gatewayFor(t, hostTarget(host), func(o *gateway.Options) { o.Limits.ConnectRate = -1 })
	// Warm up the HTTP server and client pools.
	b := openBrowser(t, srv, "target=lab")
	b.ExpectStatus("connected")
	_ = b.Conn.Close()
	waitFor(t, "warm-up session to end", func() bool { return gw.Active() == 0 })
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		b := openBrowser(t, srv, "target=lab")
		b.ExpectStatus("connected")
		b.WaitOutput([]byte("$ "))
		_ = b.Conn.Close()
	}
	waitFor(t, "sessions to end", func() bool { return gw.Active() == 0 })
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestTargetsAreListedWithoutAddresses(t *testing.T) {
	srv, _ := gatewayFor(t, []gateway.Target{
		{Name: "lab", Address: "10.1.2.3:23", Description: "Lab console"},
		{Name: "core", Address: "core-sw.internal:2323"},
	})
	resp, err := http.Get(srv.URL + "/api/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Targets []map[string]string `json:"targets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(body)
	if len(body.Targets) != 2 || body.Targets[0]["name"] != "lab" || body.Targets[0]["description"] != "Lab console" {
		t.Errorf("targets = %s", raw)
	}
	if regexp.MustCompile(`10\.1\.2\.3|core-sw`).Match(raw) {
		t.Errorf("target list leaks an address: %s", raw)
	}
}

func TestPageAndHealthAreServedWithSecurityHeaders(t *testing.T) {
	srv, _ := gatewayFor(t, []gateway.Target{{Name: "lab", Address: "127.0.0.1:23"}})
	for path, want := range map[string]string{
		"/":                             "<html",
		"/healthz":                      "ok",
		"/static/app.js":                "WebSocket",
		"/static/vendor/xterm/xterm.js": "Terminal",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), want) {
			t.Errorf("%s: %d, body without %q", path, resp.StatusCode, want)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
}

// waitFor polls cond until it holds, failing after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// within waits for a value from ch, failing the test after waitLimit: a
// scripted host that fails ends without sending.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out after %v waiting for the host", waitLimit)
	}
	var zero T
	return zero
}
