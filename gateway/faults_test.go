package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// faultDial dials loopback as usual, except the addresses in faults,
// which fail with the error given.
func faultDial(faults map[string]error) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err, ok := faults[addr]; ok {
			return nil, err
		}
		return d.DialContext(ctx, network, addr)
	}
}

// blackHoleDial is a dial to addr that never answers: it waits for the
// context, as a SYN sent into the void does.
func blackHoleDial(addr string) func(ctx context.Context, network, a string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != addr {
			return d.DialContext(ctx, network, a)
		}
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
}

// A shutdown while a target's name is being looked up is a shutdown
// (1001), not a failed lookup: Go's resolver reports the cancellation as
// a DNSError.
func TestShutdownDuringALookupIsAShutdown(t *testing.T) {
	asked := make(chan struct{}, 16)
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-ctx.Done() // a DNS server that does not answer
		return nil, ctx.Err()
	}}
	d := &net.Dialer{Resolver: resolver}
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "byname", Address: "console.slow-dns.test:23"}},
		Limits:  noRate(Limits{}),
		Dial:    d.DialContext,
	})
	b := tg.open("target=byname")
	select {
	case <-asked:
	case <-time.After(waitLimit):
		t.Fatal("the name was never looked up")
	}
	go func() { _ = tg.gw.Shutdown(context.Background()) }()
	reason, ce := b.WaitClose()
	if reason != ReasonShutdown || ce.Code != websocket.CloseGoingAway {
		t.Errorf("closed with %q, close code %d; want %q, %d", reason, ce.Code, ReasonShutdown, websocket.CloseGoingAway)
	}
}

// Each fault at dial time gives its reason, and the gateway goes on
// serving.
func TestDialFaultsAreReported(t *testing.T) {
	host := echoHost(t)
	unreach := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
	netUnreach := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	noHost := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "gone.example", IsNotFound: true}}
	dnsDown := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "x.example"}}
	// The kernel gives up connecting after about two minutes, which a
	// dial_timeout of -1 or longer lets happen.
	kernelTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}
	tg := newTestGateway(t, Options{
		Targets: []Target{
			{Name: "refused", Address: closedPort(t)},
			{Name: "unreachable", Address: "192.0.2.1:23"},
			{Name: "net-unreachable", Address: "192.0.2.2:23"},
			{Name: "gone", Address: "gone.example:23"},
			{Name: "dns-down", Address: "x.example:23"},
			{Name: "syn-timeout", Address: "192.0.2.3:23"},
			{Name: "lab", Address: host.Addr()},
		},
		Limits: noRate(Limits{}),
		Dial: faultDial(map[string]error{
			"192.0.2.1:23": unreach, "192.0.2.2:23": netUnreach,
			"gone.example:23": noHost, "x.example:23": dnsDown,
			"192.0.2.3:23": kernelTimeout,
		}),
	})
	for target, want := range map[string]string{
		"refused":         ReasonRefused,
		"unreachable":     ReasonHostUnreach,
		"net-unreachable": ReasonNetUnreach,
		"gone":            ReasonNoSuchHost,
		"dns-down":        ReasonLookupFailed,
		"syn-timeout":     ReasonDialTimeout,
	} {
		b := tg.open("target=" + target)
		b.ExpectClosed(want)
		tg.checkServing("lab")
	}
}

func TestHostResetMidStream(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("partial output")
		c.ExpectData("seen")
		nc := c.NetConn().(*net.TCPConn)
		_ = nc.SetLinger(0) // close sends RST
		_ = nc.Close()
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "reset", Address: host.Addr()}, {Name: "lab", Address: echo.Addr()}}})
	b := tg.open("target=reset")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("partial output"))
	b.Input("seen")
	b.ExpectClosed(ReasonHostReset)
	tg.checkServing("lab")
}

func TestHostFloodIsRelayedWhileOthersAreServed(t *testing.T) {
	const total = 16 << 20
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		for sent := 0; sent < total; sent += len(chunk) {
			c.Send(chunk)
		}
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "flood", Address: host.Addr()}, {Name: "lab", Address: echo.Addr()}}})
	b := tg.open("target=flood")
	b.ExpectStatus("connected")
	got := 0
	served := false
	for {
		f := b.Next()
		if f.Err != nil || f.Type == websocket.TextMessage {
			break
		}
		for i, c := range f.Data {
			if c != chunk[(got+i)%len(chunk)] {
				t.Fatalf("byte %d: %q, want %q", got+i, c, chunk[(got+i)%len(chunk)])
			}
		}
		got += len(f.Data)
		if !served && got > total/4 {
			// Mid-flood, another user is served at once.
			tg.checkServing("lab")
			served = true
		}
	}
	if got != total {
		t.Fatalf("got %d bytes, want %d", got, total)
	}
}

// A host that floods negotiation while reading none of the answers is cut
// off once the answers back up; others are served meanwhile.
func TestNegotiationFloodFromAHostThatDoesNotRead(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		flood := []byte(strings.Repeat(string([]byte{telnet.IAC, telnet.DO, 99}), 20000))
		_ = c.NetConn().SetWriteDeadline(time.Now().Add(30 * time.Second))
		for {
			if _, err := c.NetConn().Write(flood); err != nil {
				return // the gateway gave up on us
			}
		}
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "flood", Address: host.Addr()}, {Name: "lab", Address: echo.Addr()}}})
	b := tg.open("target=flood")
	b.Wait = 30 * time.Second // megabytes of commands to decode first
	b.ExpectStatus("connected")
	tg.checkServing("lab")
	b.ExpectClosed(ReasonHostStalled)
}

// A host that accepts and then says nothing, answering no negotiation,
// holds its session only until the idle timeout.
func TestSilentHostMeetsTheIdleTimeout(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.TTYPE)
		c.ExpectNegotiation(telnet.WILL, telnet.TTYPE)
		// ...and never asks for the type, never says anything again.
		c.SetTimeout(time.Minute)
		c.ExpectEOF()
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "silent", Address: host.Addr()}, {Name: "lab", Address: echo.Addr()}},
		Limits: Limits{IdleTimeout: 300 * time.Millisecond}})
	b := tg.open("target=silent")
	b.ExpectStatus("connected")
	tg.checkServing("lab")
	b.ExpectClosed(ReasonIdle)
}

// The page's keepalive is answered and is not activity: a session whose
// page pings on while nothing else happens still meets the idle timeout.
func TestPingsAreAnsweredAndAreNotActivity(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{IdleTimeout: 500 * time.Millisecond}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	start := time.Now()
	for {
		// No failure when the send comes too late: the session may
		// have just ended, and then its closed message is next.
		_ = b.Conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
		f := b.Next()
		if f.Err != nil {
			t.Fatalf("after %v of pings: %v", time.Since(start), f.Err)
		}
		if f.Type != websocket.TextMessage {
			continue
		}
		var m struct{ Type, Reason string }
		_ = json.Unmarshal(f.Data, &m)
		if m.Type == "closed" {
			if m.Reason != ReasonIdle {
				t.Errorf("closed %q, want %q", m.Reason, ReasonIdle)
			}
			return
		}
		if m.Type != "pong" && m.Type != "warning" {
			t.Fatalf("answer to a ping: %s", f.Data)
		}
		if time.Since(start) > waitLimit {
			t.Fatal("pings kept an idle session open")
		}
	}
}

// Every ping is answered, also one that comes as the pong before it is
// being written (one pong may answer several pings sent together).
func TestEveryPingIsAnswered(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	for range 200 {
		b.Control(`{"type":"ping"}`)
		b.ExpectStatus("pong")
	}
}

// A ping is answered without holding up what the browser sends after
// it: while the relay waits to write to a browser that reads no more, a
// Ctrl-C typed after a ping still reaches the host at once.
func TestPingDoesNotHoldUpInput(t *testing.T) {
	got := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		nc := c.NetConn()
		go func() {
			chunk := []byte(strings.Repeat("z", 64<<10))
			_ = nc.SetWriteDeadline(time.Now().Add(waitLimit))
			for {
				if _, err := nc.Write(chunk); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			if bytes.IndexByte(buf[:n], 0x03) >= 0 {
				close(got)
				return
			}
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, WriteTimeout: waitLimit})
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ == websocket.TextMessage && bytes.Contains(data, []byte(`"connected"`)) {
			break
		}
	}
	// This browser reads no more: the relay soon waits in a write.
	waitForGoroutineIn(t, "gateway.(*session).relayHost")
	waitForGoroutineIn(t, "internal/poll.(*pollDesc).waitWrite")
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte{0x03}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(waitLimit):
		t.Error("the Ctrl-C sent after a ping never reached the host")
	}
}

// Input sent after a window size reaches the host after it.
func TestInputFollowsTheWindowSizeSentBeforeIt(t *testing.T) {
	results := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		c.ExpectSubnegotiation(telnet.NAWS)
		c.SendString("ready")
		first := ""
		for {
			ev, err := c.ReadEvent()
			if err != nil {
				return // the browser has gone
			}
			switch {
			case first != "":
			case ev.IsData():
				first = "data"
				results <- first
			case ev.Cmd == telnet.SB && ev.Opt == telnet.NAWS:
				first = "naws"
				results <- first
			}
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, Limits: noRate(Limits{})})
	const sessions = 40
	for i := range sessions {
		b := tg.open("target=lab")
		b.WaitOutput([]byte("ready"))
		b.Control(`{"type":"resize","cols":100,"rows":30}`)
		b.Input("x")
		if first := <-results; first != "naws" {
			t.Fatalf("session %d: the input sent after a resize reached the host before its window size", i)
		}
		_ = b.Conn.Close()
	}
}

func TestHostSendingGarbage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 256<<10)
	rng.Read(garbage)
	// Plenty of IAC and half commands; then a subnegotiation that never
	// ends, swallowing the rest up to its cap.
	for i := 0; i < len(garbage); i += 97 {
		garbage[i] = telnet.IAC
	}
	garbage = append(garbage, telnet.IAC, telnet.SB, telnet.TTYPE)
	garbage = append(garbage, make([]byte, 128<<10)...)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send(garbage)
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "garbage", Address: host.Addr()}, {Name: "lab", Address: echo.Addr()}}})
	b := tg.open("target=garbage")
	b.ExpectStatus("connected")
	b.ExpectClosed(ReasonHostClosed)
	if len(b.Output) == 0 || len(b.Output) > len(garbage) {
		t.Errorf("%d bytes of output from %d of garbage", len(b.Output), len(garbage))
	}
	tg.checkServing("lab")
}

// A page that vanishes without a close frame (it sent its keepalive
// ping, then stops reading and answering pings) is noticed and its
// telnet connection closed.
func TestVanishedBrowserIsNoticed(t *testing.T) {
	hostSawEOF := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectEOF()
		close(hostSawEOF)
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}, {Name: "echo", Address: echo.Addr()}},
		Limits: Limits{PingInterval: 50 * time.Millisecond}, WriteTimeout: 200 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hostSawEOF:
	case <-time.After(waitLimit):
		t.Fatal("the host's connection was not closed")
	}
	tg.waitIdle()
	tg.checkServing("echo")
	waitFor(t, "the session's end in the log", func() bool {
		for _, e := range tg.log.entries("session end") {
			if e["target"] == "lab" {
				return e["reason"] == ReasonBrowserLost
			}
		}
		return false
	})
}

// A client that is not the page (a script that reads only when it
// expects output, a load generator holding idle sessions) is not taken
// for gone while its connection lives, although it answers pings only
// when it reads: long after a page that stopped answering would have
// been, it types and reads the answer, twice.
func TestClientThatReadsOnlyWhenItExpectsOutputIsKept(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectData("x")
		c.SendString("first")
		c.ExpectData("y")
		c.SendString("second")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{PingInterval: 50 * time.Millisecond}, WriteTimeout: 200 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// It reads (answering the pings queued meanwhile, as gorilla does
	// while reading) only until the output it expects.
	readUntil := func(want string) {
		t.Helper()
		var out []byte
		for !bytes.Contains(out, []byte(want)) {
			_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
			typ, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %q: %v; output %q", want, err, out)
			}
			if typ == websocket.BinaryMessage {
				out = append(out, data...)
			}
		}
	}
	input := func(p string) {
		t.Helper()
		if err := ws.WriteMessage(websocket.BinaryMessage, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing to wait for but time: five times the 300 ms after which a
	// page that stopped answering would be taken for gone.
	time.Sleep(1500 * time.Millisecond)
	readUntil("$ ")
	input("x")
	readUntil("first")
	time.Sleep(1500 * time.Millisecond)
	input("y")
	readUntil("second")
	_ = ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	tg.waitIdle()
	if n := len(tg.log.entries("session end")); n != 1 {
		t.Fatalf("%d sessions ended, want 1", n)
	}
	if e := tg.log.entries("session end")[0]; e["reason"] != ReasonBrowserClosed {
		t.Errorf("the session ended %q, want %q", e["reason"], ReasonBrowserClosed)
	}
}

// A browser that closes while output streams ends its session "closed by
// browser". gorilla answers the close on the reading goroutine, so the
// relay's next write fails with ErrCloseSent, often before the read that
// returns the close has given the session its reason; that write failure
// must not be taken for a lost connection. The race is a matter of
// timing, so many sessions are tried (without the fix, a few in a
// hundred ended "browser connection lost" under -race).
func TestBrowserCloseDuringOutputIsClosedByBrowser(t *testing.T) {
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		for {
			if _, err := c.NetConn().Write(chunk); err != nil {
				return
			}
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "flood", Address: host.Addr()}}, Limits: noRate(Limits{})})
	const sessions = 100
	for i := range sessions {
		ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=flood"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
		for range 3 {
			if _, _, err := ws.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		}
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
		// Reading on until the session has ended, so that no reset
		// from this side can be what fails the relay's write.
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		waitFor(t, "the session's end", func() bool { return len(tg.log.entries("session end")) == i+1 })
		ws.Close()
	}
	wrong := map[string]int{}
	for _, e := range tg.log.entries("session end") {
		if r := e["reason"].(string); r != ReasonBrowserClosed {
			wrong[r]++
		}
	}
	if len(wrong) > 0 {
		t.Errorf("of %d sessions the browser closed, these ended with another reason: %v", sessions, wrong)
	}
}

// stuckNAWSHost is a dial function whose host, over net.Pipe (nothing
// is buffered), enables NAWS, reads until it has the first window size,
// says "ready" and then reads nothing more.
func stuckNAWSHost(t *testing.T) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, h := net.Pipe()
		t.Cleanup(func() { h.Close() })
		go func() {
			_, _ = h.Write([]byte{telnet.IAC, telnet.DO, telnet.NAWS})
			var got []byte
			buf := make([]byte, 256)
			for !bytes.Contains(got, []byte{telnet.IAC, telnet.SE}) {
				n, err := h.Read(buf)
				if err != nil {
					return
				}
				got = append(got, buf[:n]...)
			}
			_, _ = h.Write([]byte("ready"))
		}()
		return c, nil
	}
}

// waitForGoroutineIn waits until some goroutine's stack shows fn.
func waitForGoroutineIn(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	waitFor(t, "a goroutine in "+fn, func() bool {
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn)
	})
}

// The browser resizes by itself, so a resize waiting for a host that
// reads nothing must not keep its next messages unread: its close ends
// the session at once.
func TestBrowserCloseWhileAResizeWaitsForTheHost(t *testing.T) {
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "stuck", Address: "stuck.test:23"}},
		Limits:  noRate(Limits{}),
		Dial:    stuckNAWSHost(t),
	})
	b := tg.open("target=stuck")
	b.WaitOutput([]byte("ready"))
	b.Control(`{"type":"resize","cols":100,"rows":30}`)
	waitForGoroutineIn(t, "telnet.(*output).waitSent")
	_ = b.Conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	waitFor(t, "the session's end", func() bool { return len(tg.log.entries("session end")) == 1 })
	if r := tg.log.entries("session end")[0]["reason"]; r != ReasonBrowserClosed {
		t.Errorf("the session ended %q, want %q", r, ReasonBrowserClosed)
	}
}

// A browser that is there but stops reading holds the host back; once a
// write to it takes longer than WriteTimeout, the session ends.
func TestBrowserThatStopsReading(t *testing.T) {
	chunk := []byte(strings.Repeat("z", 64<<10))
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		_ = c.NetConn().SetWriteDeadline(time.Now().Add(waitLimit))
		for {
			if _, err := c.NetConn().Write(chunk); err != nil {
				return
			}
		}
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		WriteTimeout: 200 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// The upgrade completes before the session starts: wait for its end
	// in the log, not for the gateway to look idle.
	waitFor(t, "the session to end", func() bool { return len(tg.log.entries("session end")) > 0 })
	e := tg.log.entries("session end")
	if len(e) != 1 || e[0]["reason"] != ReasonBrowserStalled {
		t.Errorf("session end %v, want reason %q", e, ReasonBrowserStalled)
	}
	// The frame that could not be written was given back.
	if n := tg.gw.frames.big.Load(); n != 0 {
		t.Errorf("%d bytes of big frame buffers still in use after the session", n)
	}
}

// A browser that answers every ping is not taken for gone while the
// gateway itself is stuck writing its input to a host that does not read
// (a long paste into a slow console): time spent waiting for the host is
// not the browser's silence.
func TestBrowserIsNotLostWhileTheHostHoldsItsInput(t *testing.T) {
	const paste = 48 << 20
	release := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		<-release
		if _, err := io.CopyN(io.Discard, c.NetConn(), paste); err != nil {
			t.Errorf("host: %v", err)
			return
		}
		c.SendString("pasted")
		c.ExpectData("x")
		c.SendString("still here")
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "slow", Address: host.Addr()}},
		Limits:       Limits{PingInterval: 300 * time.Millisecond, MaxMessageSize: 64 << 20},
		WriteTimeout: time.Second}) // not shorter: a loaded machine is slow to write a ping
	b := tg.open("target=slow")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	sent := make(chan error, 1)
	go func() { sent <- b.Conn.WriteMessage(websocket.BinaryMessage, make([]byte, paste)) }()
	// The browser's silence would be noticed after 2×300 ms + 1 s; the
	// host holds the paste for two and a half times that.
	time.Sleep(4 * time.Second)
	close(release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	b.WaitOutput([]byte("pasted"))
	b.Input("x")
	b.WaitOutput([]byte("still here"))
}
