package gateway

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telgate/telnet/telnettest"
)

// The session list shows a user their own sessions and an operator every
// one, with who, where to and how much; a session is ended from it by its
// user or an operator only, its browser told why.
func TestSessionListAndEnd(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}}})
	alice := tg.open("target=lab&user=alice")
	alice.ExpectStatus("connected")
	alice.WaitOutput([]byte("$ "))
	alice.Input("hello")
	alice.WaitOutput([]byte("hello"))
	bob := tg.open("target=lab&user=bob&resumable=1")
	bob.ExpectStatus("connected")
	token := share(t, bob)
	v, _ := watch(t, tg, token, "carol")
	expectViewers(t, bob, "carol")

	// Input and output are counted once their writes return, which may
	// be after the host, or the browser, has them.
	waitFor(t, "alice's bytes to be counted", func() bool {
		s := tg.gw.Sessions("alice", false)
		return len(s) == 1 && s[0].BytesIn == 5 && s[0].BytesOut == int64(len("$ hello"))
	})
	own := tg.gw.Sessions("alice", false)
	if len(own) != 1 || own[0].User != "alice" || own[0].Target != "lab" || own[0].Address == "" ||
		own[0].BytesIn != 5 || own[0].BytesOut != int64(len("$ hello")) || own[0].Shared || own[0].Away || len(own[0].ID) < 16 {
		t.Fatalf("alice's sessions %+v: want her one session on lab, 5 bytes in, 7 out", own)
	}
	all := tg.gw.Sessions("alice", true)
	if len(all) != 2 || all[0].User != "alice" || all[1].User != "bob" || !all[1].Shared ||
		len(all[1].Viewers) != 1 || all[1].Viewers[0] != "carol" || all[1].Typing != "" {
		t.Fatalf("every session %+v: want alice's then bob's, shared with carol", all)
	}
	bob.Control(`{"type":"hand-over","viewer":1}`)
	expectTyping(t, v, true)
	if all := tg.gw.Sessions("bob", false); len(all) != 1 || all[0].Typing != "carol" {
		t.Fatalf("bob's sessions %+v: want carol typing", all)
	}

	if err := tg.gw.EndSession(all[1].ID, "alice", false, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("alice ending bob's session: %v, want ErrNoSession", err)
	}
	if err := tg.gw.EndSession(all[1].ID, "dave", true, "dave"); err != nil {
		t.Fatalf("an operator ending bob's session: %v", err)
	}
	bob.ExpectClosed(ReasonEnded)
	v.ExpectClosed(ReasonEnded)
	if err := tg.gw.EndSession(own[0].ID, "alice", false, "alice"); err != nil {
		t.Fatalf("alice ending her own session: %v", err)
	}
	alice.ExpectClosed(ReasonEnded)
	tg.waitIdle()
	if ended := tg.log.entries("session ended from the session list"); len(ended) != 2 || ended[0]["by"] != "dave" {
		t.Errorf("log lines %v: want two, the first by dave", ended)
	}
	if err := tg.gw.EndSession(own[0].ID, "alice", false, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("ending an ended session: %v, want ErrNoSession", err)
	}
}

// A session still dialling its host is ended from the list too: the dial
// is cut short and the browser told why.
func TestEndSessionWhileDialling(t *testing.T) {
	dialling := make(chan struct{}, 1)
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "slow", Address: "192.0.2.1:23"}},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialling <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	b := tg.open("target=slow&user=alice")
	within(t, dialling)
	list := tg.gw.Sessions("alice", false)
	if len(list) != 1 {
		t.Fatalf("sessions %+v, want the one dialling", list)
	}
	if err := tg.gw.EndSession(list[0].ID, "alice", false, "alice"); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	b.ExpectClosed(ReasonEnded)
	tg.waitIdle()
}

// A session whose browser is away, waiting to be resumed, is listed as
// such and ended from the list.
func TestEndSessionWhileAway(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}}})
	b, _ := openResumable(t, tg, "target=lab&user=alice")
	b.WaitOutput([]byte("$ "))
	dropConnection(t, tg, b)
	list := tg.gw.Sessions("alice", false)
	if len(list) != 1 || !list[0].Away {
		t.Fatalf("sessions %+v, want one away", list)
	}
	if err := tg.gw.EndSession(list[0].ID, "alice", false, "alice"); err != nil {
		t.Fatal(err)
	}
	tg.waitIdle()
	if e := tg.log.entries("session end"); len(e) != 1 || e[0]["reason"] != ReasonEnded {
		t.Errorf("session end %v, want one, %q", e, ReasonEnded)
	}
}

// A session ending for another reason is not ended from the list: the
// list says so rather than log an end that did not happen.
func TestEndSessionAlreadyEnding(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}}})
	b := tg.open("target=lab&user=alice")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	id := tg.gw.Sessions("alice", false)[0].ID
	tg.gw.mu.Lock()
	for s := range tg.gw.sessions {
		s.stop(ReasonIdle)
	}
	tg.gw.mu.Unlock()
	if err := tg.gw.EndSession(id, "alice", false, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("ending a session ending for another reason: %v, want ErrNoSession", err)
	}
	b.ExpectClosed(ReasonIdle)
	tg.waitIdle()
	if n := len(tg.log.entries("session ended from the session list")); n != 0 {
		t.Errorf("%d lines of an end from the list", n)
	}
}

// The list and ends from it while sessions start, run and end (for
// -race).
func TestSessionListWhileSessionsComeAndGo(t *testing.T) {
	var tg *testGateway
	t.Cleanup(func() { // last: after the host's, which waits for its connections
		if t.Failed() && tg != nil {
			t.Logf("log:\n%s", tg.log)
		}
	})
	// A host that waits for as long as a session may be held for a
	// resume on a busy machine: what is tested is the list, not its
	// timing.
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SetTimeout(10 * time.Second)
		c.SendString("$ ")
		c.ExpectEOF()
	})
	tg = newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{ConnectRate: -1, MaxSessionsPerClient: -1}})
	stop := make(chan struct{})
	ended := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				ended <- n
				return
			default:
			}
			for _, s := range tg.gw.Sessions("", true) {
				if tg.gw.EndSession(s.ID, "", true, "op") == nil {
					n++
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	opened := 0
	for range 30 {
		if b, _, _ := tg.tryOpen("target=lab&user=alice&resumable=1"); b != nil {
			opened++
			_ = b.Conn.Close()
		}
	}
	close(stop)
	t.Logf("%d sessions ended from the list", <-ended)
	// A session starts on the gateway's side after the upgrade the
	// browser saw: every one has started before the last are ended.
	waitFor(t, "every session to start", func() bool { return len(tg.log.entries("session start")) == opened })
	// The browsers went without a word: what is left waits to be
	// resumed, and ends from the list.
	waitFor(t, "every session to end from the list", func() bool {
		for _, s := range tg.gw.Sessions("", true) {
			_ = tg.gw.EndSession(s.ID, "", true, "op")
		}
		return tg.gw.Active() == 0
	})
	tg.waitIdle()
}

// closeTracked is a host connection that says whether it was closed.
type closeTracked struct {
	net.Conn
	closed atomic.Bool
}

func (c *closeTracked) Close() error { c.closed.Store(true); return c.Conn.Close() }

// Sessions ended from the list (as by a shutdown) while dialling, while
// connected or while held for a resume close their host connections
// before they end: a context closes Done before it runs its AfterFuncs,
// and a session waiting for its browser could see the first and end
// before the second closed the connection, or never close it.
func TestEndedSessionsCloseTheirHostConnections(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SetTimeout(time.Minute)
		c.SendString("$ ")
		c.ExpectEOF()
	})
	var mu sync.Mutex
	var conns []*closeTracked
	var d net.Dialer
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}},
		Limits: Limits{ConnectRate: -1, MaxSessionsPerClient: -1},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := &closeTracked{Conn: c}
			mu.Lock()
			conns = append(conns, tc)
			mu.Unlock()
			return tc, nil
		}})
	opened := 0
	for round := 0; round < 15; round++ {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, s := range tg.gw.Sessions("", true) {
					_ = tg.gw.EndSession(s.ID, "", true, "op")
				}
			}
		}()
		for range 10 {
			if b, _, _ := tg.tryOpen("target=lab&resumable=1"); b != nil {
				opened++
				_ = b.Conn.Close() // without a word: the session waits for a resume
			}
		}
		close(stop)
		<-done
		waitFor(t, "every session to start", func() bool { return len(tg.log.entries("session start")) == opened })
		waitFor(t, "every session to end from the list", func() bool {
			for _, s := range tg.gw.Sessions("", true) {
				_ = tg.gw.EndSession(s.ID, "", true, "op")
			}
			return tg.gw.Active() == 0
		})
		mu.Lock()
		for i, c := range conns {
			if !c.closed.Load() {
				t.Fatalf("round %d: host connection %d of %d still open after its session ended", round, i+1, len(conns))
			}
		}
		mu.Unlock()
	}
}
