package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// noRate is Limits without a connect rate limit, for tests that open
// many sessions.
func noRate(l Limits) Limits {
	l.ConnectRate = -1
	return l
}

func TestLimitsDefaultsAndNoLimit(t *testing.T) {
	g, err := New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}}})
	if err != nil {
		t.Fatal(err)
	}
	if g.limits != DefaultLimits() {
		t.Errorf("zero Limits became %+v, want DefaultLimits", g.limits)
	}
	g, err = New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}},
		Limits: Limits{MaxSessions: -1, MaxSessionsPerUser: -1, MaxSessionsPerClient: -1, ConnectRate: -1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*DefaultLimits().MaxSessionsPerClient; i++ {
		if _, err := g.Admit("192.0.2.1", "alice"); err != nil {
			t.Fatalf("admission %d with no limits: %v", i, err)
		}
	}
}

// sessionLimitCase opens sessions until the limit refuses one, checks the
// refusal, frees a slot and checks that the gateway serves again.
func TestSessionLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits Limits
		query  func(i int) string // the i-th session's extra query
		other  string             // a session the limit does not touch
		want   string
	}{
		{"total", Limits{MaxSessions: 2},
			func(i int) string { return fmt.Sprintf("client=192.0.2.%d&user=u%d", i+1, i) }, "", "gateway is full"},
		{"per user", Limits{MaxSessionsPerUser: 2},
			func(i int) string { return fmt.Sprintf("client=192.0.2.%d&user=alice", i+1) }, "user=bob", "for this user"},
		{"per client", Limits{MaxSessionsPerClient: 2},
			func(i int) string { return fmt.Sprintf("client=192.0.2.7&user=u%d", i) }, "client=192.0.2.8", "from this address"},
		{"per client, IPv4 in IPv6", Limits{MaxSessionsPerClient: 2},
			func(i int) string {
				return []string{"client=192.0.2.7", "client=::ffff:192.0.2.7", "client=192.0.2.7"}[i]
			}, "client=2001:db8::7", "from this address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := echoHost(t)
			tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}, Limits: noRate(tc.limits)})
			var open []*browser
			for i := 0; i < 2; i++ {
				b := tg.open("target=lab&" + tc.query(i))
				b.ExpectStatus("connected")
				open = append(open, b)
			}
			b, code, body := tg.tryOpen("target=lab&" + tc.query(2))
			if b != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, tc.want) {
				t.Fatalf("third session: HTTP %d %q, want 503 %q", code, body, tc.want)
			}
			if tc.other != "" {
				o := tg.open("target=lab&" + tc.other)
				o.ExpectStatus("connected")
				_ = o.Conn.Close()
				waitFor(t, "other session to end", func() bool { return tg.gw.Active() == 2 })
			}
			// A slot comes back when a session ends.
			_ = open[0].Conn.Close()
			waitFor(t, "slot to be released", func() bool { return tg.gw.Active() == 1 })
			b = tg.open("target=lab&" + tc.query(2))
			b.ExpectStatus("connected")
			b.WaitOutput([]byte("$ "))
			b.Input("again")
			b.WaitOutput([]byte("again"))
		})
	}
}

func TestTicketReleaseIsIdempotent(t *testing.T) {
	g, err := New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}},
		Limits: Limits{MaxSessions: 1, ConnectRate: -1}})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		tk, err := g.Admit("192.0.2.1", "alice")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := g.Admit("192.0.2.2", "bob"); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("second admission: %v, want ErrTooManySessions", err)
		}
		if g.Ready() == nil {
			t.Error("Ready while full")
		}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); tk.Release() }()
		}
		wg.Wait()
		tk.Release()
		if g.adm.total != 0 || len(g.adm.perUser) != 0 || len(g.adm.perClient) != 0 {
			t.Fatalf("after releases: total %d, users %v, clients %v", g.adm.total, g.adm.perUser, g.adm.perClient)
		}
		if err := g.Ready(); err != nil {
			t.Errorf("Ready after release: %v", err)
		}
	}
	var nilTicket *Ticket
	nilTicket.Release()
	(&Ticket{}).Release()
}

// IPv6 clients are told apart by address, or by the prefix the
// configuration asks for: then one host cycling through its privacy
// addresses is still one client.
func TestClientIPv6Prefix(t *testing.T) {
	for _, tc := range []struct {
		addr string
		bits int
		want string
	}{
		{"192.0.2.7", 64, "192.0.2.7"},
		{"[::ffff:192.0.2.7]:443", 64, "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", 128, "2001:db8:1:2:aaaa::1"},
		{"[fe80::1%eth0]:8080", 128, "fe80::1"},
		{"2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", 48, "2001:db8:1::/48"},
		{"not an address", 64, "not an address"},
	} {
		if got := clientKey(tc.addr, tc.bits); got != tc.want {
			t.Errorf("clientKey(%q, %d) = %q, want %q", tc.addr, tc.bits, got, tc.want)
		}
	}
	for _, tc := range []struct {
		bits      int
		secondErr error
	}{{0, nil}, {64, ErrTooManySessions}} {
		g, err := New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}},
			Limits: Limits{MaxSessionsPerClient: 1, ConnectRate: -1, ClientIPv6Prefix: tc.bits}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Admit("2001:db8::1", ""); err != nil {
			t.Fatalf("prefix %d, first address: %v", tc.bits, err)
		}
		if _, err := g.Admit("2001:db8::2", ""); !errors.Is(err, tc.secondErr) {
			t.Errorf("prefix %d, second address of the /64: %v, want %v", tc.bits, err, tc.secondErr)
		}
	}
}

// Check says what Admit would refuse, and spends neither a slot nor the
// client's connect rate doing so.
func TestCheckTellsWithoutTaking(t *testing.T) {
	g, err := New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}},
		Limits: Limits{MaxSessions: 1, ConnectRate: 1.0 / 3600, ConnectBurst: 2}})
	if err != nil {
		t.Fatal(err)
	}
	const client = "192.0.2.1"
	if err := g.Check(client, "alice"); err != nil {
		t.Fatalf("Check on a fresh gateway: %v", err)
	}
	first, err := g.Admit(client, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := g.Check(client, "alice"); !errors.Is(err, ErrTooManySessions) {
			t.Fatalf("Check %d while full: %v, want ErrTooManySessions", i, err)
		}
	}
	first.Release()
	if err := g.Check(client, "alice"); err != nil {
		t.Fatalf("Check with a slot free and a token left: %v", err)
	}
	second, err := g.Admit(client, "alice")
	if err != nil {
		t.Fatalf("the second session (the checks spent no token): %v", err)
	}
	second.Release()
	err = g.Check(client, "alice")
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ra) || ra.RetryAfter() <= 0 {
		t.Fatalf("Check with the burst spent: %v, want ErrRateLimited with a retry time", err)
	}
	if _, err := g.Admit(client, "alice"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Admit with the burst spent: %v", err)
	}
}

func TestConnectRateLimit(t *testing.T) {
	a := newAdmission(Limits{MaxSessions: -1, MaxSessionsPerUser: -1, MaxSessionsPerClient: -1, ConnectRate: 2, ConnectBurst: 3})
	now := time.Unix(1_000_000, 0)
	for i := 0; i < 3; i++ {
		if _, err := a.admit("192.0.2.1", "", now); err != nil {
			t.Fatalf("burst admission %d: %v", i, err)
		}
	}
	_, err := a.admit("192.0.2.1", "", now)
	var ra interface{ RetryAfter() time.Duration }
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ra) || ra.RetryAfter() != 500*time.Millisecond {
		t.Fatalf("past the burst: %v, want ErrRateLimited with RetryAfter 500ms", err)
	}
	if _, err := a.admit("192.0.2.2", "", now); err != nil {
		t.Fatalf("another client: %v", err)
	}
	if _, err := a.admit("192.0.2.1", "", now.Add(499*time.Millisecond)); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("before a token is back: %v", err)
	}
	// That refusal took no token: one is back 500ms after the first
	// refusal's time.
	if _, err := a.admit("192.0.2.1", "", now.Add(500*time.Millisecond)); err != nil {
		t.Fatalf("a token later: %v", err)
	}
}

func TestConnectRateLimitThroughTheGateway(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{ConnectRate: 0.001, ConnectBurst: 2}})
	for i := 0; i < 2; i++ {
		b := tg.open("target=lab&client=192.0.2.1")
		b.ExpectStatus("connected")
		_ = b.Conn.Close()
	}
	if b, code, body := tg.tryOpen("target=lab&client=192.0.2.1"); b != nil || code != http.StatusTooManyRequests {
		t.Fatalf("third session in a row: HTTP %d %q, want 429", code, body)
	}
	tg.checkServing("lab")
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	a := newAdmission(Limits{MaxSessions: -1, MaxSessionsPerUser: -1, MaxSessionsPerClient: -1, ConnectRate: 1, ConnectBurst: 5})
	a.maxRates = 500
	now := time.Unix(1_000_000, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// A flood from 100,000 addresses, each opening and closing a session.
	for i := 0; i < 100_000; i++ {
		ip := fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff)
		release, err := a.admit(ip, "", now)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		release()
		if n := len(a.rates); n > a.maxRates || a.lru.Len() != n {
			t.Fatalf("after %d clients: %d entries (list %d), cap %d", i+1, n, a.lru.Len(), a.maxRates)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Errorf("heap grew %d bytes after the flood", grew)
	}
	if len(a.perClient) != 0 {
		t.Errorf("%d client counts left", len(a.perClient))
	}
	// A client that keeps coming back stays limited while the others
	// flood...
	for i := 0; i < 5; i++ {
		_, _ = a.admit("192.0.2.1", "", now)
	}
	if _, err := a.admit("192.0.2.1", "", now); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("busy client: %v", err)
	}
	// ...and once every bucket has filled up again, the entries go.
	later := now.Add(10 * time.Second)
	if _, err := a.admit("192.0.2.9", "", later); err != nil {
		t.Fatal(err)
	}
	if n := a.rateClients(); n != 1 {
		t.Errorf("%d entries after everyone went idle, want 1", n)
	}
}

func TestIdleTimeoutClosesAQuietSession(t *testing.T) {
	quiet := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("login: ")
		c.ExpectEOF()
	})
	host := echoHost(t)
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "quiet", Address: quiet.Addr()}, {Name: "lab", Address: host.Addr()}},
		Limits:  Limits{IdleTimeout: 200 * time.Millisecond}})
	b := tg.open("target=quiet")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("login: "))
	b.ExpectClosed(ReasonIdle)
	tg.checkServing("lab")
}

func TestTrafficKeepsAnIdleTimerAway(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{IdleTimeout: time.Second}}) // not shorter: a loaded machine pauses
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	start := time.Now()
	for i := 0; time.Since(start) < 2500*time.Millisecond; i++ {
		msg := fmt.Sprintf("<%d>", i)
		b.Input(msg)
		b.WaitOutput([]byte(msg))
		time.Sleep(50 * time.Millisecond)
	}
	if tg.gw.Active() != 1 {
		t.Fatal("a session with traffic was closed as idle")
	}
}

func TestMaxDurationEndsASession(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{MaxDuration: 200 * time.Millisecond}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.ExpectClosed(ReasonMaxDuration)
	tg.checkServing("lab")
}

// A session is warned before it ends for being idle or for its time
// limit: a quarter of a short limit before. Typing after the idle
// warning keeps the session, and a later quiet spell is warned of again.
func TestSessionsAreWarnedBeforeTheyEnd(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{IdleTimeout: 800 * time.Millisecond}})
	warning := func(b *browser, reason string, lead float64) {
		t.Helper()
		st := b.ExpectStatus("warning")
		if in, _ := st["in"].(float64); st["reason"] != reason || in <= 0 || in > lead {
			t.Fatalf("warning %v, want %q within %vs", st, reason, lead)
		}
	}
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	warning(b, ReasonIdle, 0.2)
	b.Input("still here")
	b.WaitOutput([]byte("still here"))
	warning(b, ReasonIdle, 0.2)
	b.ExpectClosed(ReasonIdle)

	tg = newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{MaxDuration: 800 * time.Millisecond}})
	b = tg.open("target=lab")
	b.ExpectStatus("connected")
	warning(b, ReasonMaxDuration, 0.2)
	b.ExpectClosed(ReasonMaxDuration)
}

func TestMessageSizeLimit(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{MaxMessageSize: 1024}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	b.Input(strings.Repeat("x", 1024)) // at the limit: fine
	b.WaitOutput([]byte(strings.Repeat("x", 1024)))
	b.Input(strings.Repeat("y", 1025))
	_, ce := b.WaitClose()
	if ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want %d", ce.Code, websocket.CloseMessageTooBig)
	}
	tg.checkServing("lab")
}

func TestDialTimeout(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "black-hole", Address: "192.0.2.1:23"}, {Name: "lab", Address: host.Addr()}},
		Limits:  Limits{DialTimeout: 100 * time.Millisecond},
		Dial:    blackHoleDial("192.0.2.1:23"),
	})
	b := tg.open("target=black-hole")
	b.ExpectClosed(ReasonDialTimeout)
	tg.checkServing("lab")
}

func TestSubnegotiationCap(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.TTYPE)
		c.ExpectNegotiation(telnet.WILL, telnet.TTYPE)
		// Past the cap: discarded whole, not answered, not leaked.
		c.SendSubnegotiation(telnet.TTYPE, append([]byte{telnet.SubSEND}, strings.Repeat("J", 200)...))
		c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND})
		if got := c.ExpectSubnegotiation(telnet.TTYPE); string(got[1:]) != "vt100" {
			t.Errorf("TTYPE IS %q", got)
		}
		c.SendString("ok\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{MaxSubnegotiation: 100}})
	b := tg.open("target=lab&term=vt100")
	b.ExpectStatus("connected")
	if out := b.WaitOutput([]byte("ok\r\n")); string(out) != "ok\r\n" {
		t.Errorf("output %q", out)
	}
}

func TestReadyAndShutdown(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	if err := tg.gw.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	go func() { _ = tg.gw.Shutdown(t.Context()) }()
	b.ExpectClosed(ReasonShutdown)
	if err := tg.gw.Ready(); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Ready after Shutdown: %v", err)
	}
	if _, err := tg.gw.Admit("192.0.2.1", ""); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Admit after Shutdown: %v", err)
	}
}

// An upgrade admitted before a shutdown is refused on its HTTP handler's
// goroutine, which the HTTP server no longer tracks once the connection
// is hijacked: Shutdown waits for its Ticket, so that the process does
// not exit before that browser is told why.
func TestShutdownWaitsForAdmittedUpgrades(t *testing.T) {
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	ticket, err := tg.gw.Admit("192.0.2.1", "")
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- tg.gw.Shutdown(t.Context()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while an admitted upgrade was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	ticket.Release()
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
