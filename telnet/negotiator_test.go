package telnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

var terminalPolicy = telnet.Policy{
	Local:  telnet.NewOptionSet(telnet.NAWS, telnet.TTYPE, telnet.SGA, telnet.BINARY),
	Remote: telnet.NewOptionSet(telnet.ECHO, telnet.SGA, telnet.BINARY),
}

// changeLog records a Negotiator's OnChange calls as "SGA local on".
type changeLog struct {
	mu  sync.Mutex
	log []string
}

func (l *changeLog) record(_ *telnet.Telnet, opt byte, local, enabled bool) {
	side, state := "remote", "off"
	if local {
		side = "local"
	}
	if enabled {
		state = "on"
	}
	l.mu.Lock()
	l.log = append(l.log, telnet.OptionName(opt)+" "+side+" "+state)
	l.mu.Unlock()
}

func (l *changeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.log, ", ")
}

// negotiate sets a Negotiator with policy p as tn's callback.
func negotiate(tn *telnet.Telnet, p telnet.Policy) (*telnet.Negotiator, *changeLog) {
	n := telnet.NewNegotiator(p)
	log := &changeLog{}
	n.OnChange(log.record)
	tn.SetOptionNegotiationCallback(n.Callback)
	return n, log
}

// syncTM is the host's way to know the client has answered everything
// before: replies are sent in order, so the answer to DO TM comes last.
func syncTM(c *telnettest.Conn) {
	c.Negotiate(telnet.DO, telnet.TM)
	c.ExpectNegotiation(telnet.WONT, telnet.TM)
}

func readUntil(t *testing.T, tn *telnet.Telnet, s string) {
	t.Helper()
	if got, err := tn.ReadUntil([]byte(s), wait); err != nil || !bytes.HasSuffix(got, []byte(s)) {
		t.Fatalf("ReadUntil(%q) = %q, %v", s, got, err)
	}
}

// The policy decides; an option in the state asked for gets no answer.
func TestNegotiatorPolicy(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.SGA)
		c.ExpectNegotiation(telnet.WILL, telnet.SGA)
		c.Negotiate(telnet.DO, telnet.ECHO)
		c.ExpectNegotiation(telnet.WONT, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.Negotiate(telnet.WILL, 200)
		c.ExpectNegotiation(telnet.DONT, 200)
		c.Negotiate(telnet.DO, 200)
		c.ExpectNegotiation(telnet.WONT, 200)
		c.SendString("on\n")
		c.ExpectData("checked\n")
		c.Negotiate(telnet.DONT, telnet.SGA)
		c.ExpectNegotiation(telnet.WONT, telnet.SGA)
		c.Negotiate(telnet.WONT, telnet.ECHO)
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.DONT, telnet.NAWS) // already off: no answer
		c.Negotiate(telnet.WONT, 201)
		syncTM(c)
		c.SendString("done\n")
	})
	n, log := negotiate(tn, terminalPolicy)
	readUntil(t, tn, "on\n")
	if !n.Local(telnet.SGA) || !n.Remote(telnet.ECHO) || n.Local(telnet.ECHO) || n.Remote(200) {
		t.Errorf("Local(SGA), Remote(ECHO), Local(ECHO), Remote(200) = %v %v %v %v; want true true false false",
			n.Local(telnet.SGA), n.Remote(telnet.ECHO), n.Local(telnet.ECHO), n.Remote(200))
	}
	tn.Write([]byte("checked\n"))
	readUntil(t, tn, "done\n")
	if n.Local(telnet.SGA) || n.Remote(telnet.ECHO) {
		t.Error("SGA or ECHO still on after DONT/WONT")
	}
	if got, want := log.String(), "SGA local on, ECHO remote on, SGA local off, ECHO remote off"; got != want {
		t.Errorf("OnChange: %s\nwant      %s", got, want)
	}
}

// B14: every DO TIMING-MARK is answered, WILL when the policy has TM.
func TestNegotiatorTimingMark(t *testing.T) {
	for _, accept := range []bool{false, true} {
		t.Run(fmt.Sprint("accept=", accept), func(t *testing.T) {
			answer := byte(telnet.WONT)
			if accept {
				answer = telnet.WILL
			}
			tn := serve(t, func(c *telnettest.Conn) {
				c.Negotiate(telnet.DO, telnet.TM)
				c.Negotiate(telnet.DO, telnet.TM)
				c.Negotiate(telnet.DONT, telnet.TM)
				c.Negotiate(telnet.DO, telnet.TM)
				c.ExpectNegotiation(answer, telnet.TM)
				c.ExpectNegotiation(answer, telnet.TM)
				c.ExpectNegotiation(answer, telnet.TM)
				c.SendString("done\n")
				c.ExpectData("bye")
			})
			p := terminalPolicy
			if accept {
				p.Local.Add(telnet.TM)
			}
			negotiate(tn, p)
			readUntil(t, tn, "done\n")
			tn.Write([]byte("bye"))
		})
	}
}

// B16: DO NAWS is answered once, WILL NAWS and the size; a second DO is
// ignored, and a resize sends the size alone.
func TestNegotiatorNAWS(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		if got := c.ExpectSubnegotiation(telnet.NAWS); !bytes.Equal(got, []byte{0, 80, 0, 24}) {
			t.Errorf("host: NAWS %v, want 80x24", got)
		}
		c.Negotiate(telnet.DO, telnet.NAWS)
		syncTM(c)
		c.SendString("resize\n")
		if got := c.ExpectSubnegotiation(telnet.NAWS); !bytes.Equal(got, []byte{0, 132, 0, 50}) {
			t.Errorf("host: NAWS %v, want 132x50", got)
		}
		syncTM(c)
		c.SendString("done\n")
	})
	n, log := negotiate(tn, terminalPolicy)
	n.SetWindowSize(tn, 80, 24)
	readUntil(t, tn, "resize\n")
	n.SetWindowSize(tn, 132, 50)
	readUntil(t, tn, "done\n")
	if got := log.String(); got != "NAWS local on" {
		t.Errorf("OnChange: %s", got)
	}
}

// B21: no NAWS subnegotiation before the host sends DO NAWS, however often
// the window is resized; then the latest size at once.
func TestNegotiatorNAWSWaitsForDO(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("resized\n")
		c.ExpectString("typed") // raw: nothing came before
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		if got := c.ExpectSubnegotiation(telnet.NAWS); !bytes.Equal(got, []byte{0, 100, 0, 30}) {
			t.Errorf("host: NAWS %v, want 100x30", got)
		}
		c.SendString("done\n")
	})
	n, _ := negotiate(tn, terminalPolicy)
	n.SetWindowSize(tn, 80, 24)
	n.SetWindowSize(tn, 90, 25)
	readUntil(t, tn, "resized\n")
	n.SetWindowSize(tn, 100, 30)
	tn.Write([]byte("typed"))
	readUntil(t, tn, "done\n")
}

// P-1: a 255x255 window doubles every 255 of the NAWS frame.
func TestNegotiatorNAWS255(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		c.Expect([]byte{0xFF, 0xFA, 0x1F, 0x00, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xF0})
		c.SendString("done\n")
	})
	n, _ := negotiate(tn, terminalPolicy)
	n.SetWindowSize(tn, 255, 255)
	readUntil(t, tn, "done\n")
}

func TestAppendNAWS(t *testing.T) {
	cases := []struct {
		cols, rows int
		want       []byte
	}{
		{255, 255, []byte{0xFF, 0xFA, 0x1F, 0x00, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xF0}},
		{65535, 24, []byte{0xFF, 0xFA, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x18, 0xFF, 0xF0}},
		{0, 0, []byte{0xFF, 0xFA, 0x1F, 0, 0, 0, 0, 0xFF, 0xF0}},
		{70000, -5, []byte{0xFF, 0xFA, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0xFF, 0xF0}},
		{80, 24, []byte{0xFF, 0xFA, 0x1F, 0, 80, 0, 24, 0xFF, 0xF0}},
	}
	for _, c := range cases {
		if got := telnet.AppendNAWS([]byte("x"), c.cols, c.rows); !bytes.Equal(got, append([]byte("x"), c.want...)) {
			t.Errorf("AppendNAWS(%d, %d) = % x, want % x", c.cols, c.rows, got[1:], c.want)
		}
	}
	if cols, rows, ok := telnet.ParseNAWS([]byte{telnet.NAWS, 1, 0, 0, 255}); cols != 256 || rows != 255 || !ok {
		t.Errorf("ParseNAWS = %d, %d, %v", cols, rows, ok)
	}
	if _, _, ok := telnet.ParseNAWS([]byte{telnet.NAWS, 1, 0, 0}); ok {
		t.Error("ParseNAWS accepted a short payload")
	}
}

// TTYPE: each SEND gets the next type, the last repeated to mark the end
// of the list, then the first again (P-11); SEND before WILL TTYPE and IS
// from the host get nothing.
func TestNegotiatorTTYPE(t *testing.T) {
	send := func(c *telnettest.Conn) { c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND}) }
	expectIs := func(c *telnettest.Conn, name string) {
		if got := c.ExpectSubnegotiation(telnet.TTYPE); string(got) != "\x00"+name {
			t.Errorf("host: TTYPE %q, want IS %s", got, name)
		}
	}
	tn := serve(t, func(c *telnettest.Conn) {
		send(c) // not enabled yet
		c.SendSubnegotiation(telnet.TTYPE, []byte("\x00XTERM"))
		syncTM(c)
		c.Negotiate(telnet.DO, telnet.TTYPE)
		c.ExpectNegotiation(telnet.WILL, telnet.TTYPE)
		for _, name := range []string{"XTERM-256COLOR", "VT100", "VT100", "XTERM-256COLOR", "VT100", "VT100", "XTERM-256COLOR"} {
			send(c)
			expectIs(c, name)
		}
		c.SendString("done\n")
	})
	n, _ := negotiate(tn, terminalPolicy)
	n.SetTerminalTypes("XTERM-256COLOR", "VT100")
	readUntil(t, tn, "done\n")

	tn = serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.TTYPE)
		c.ExpectNegotiation(telnet.WILL, telnet.TTYPE)
		send(c)
		expectIs(c, "UNKNOWN")
		send(c)
		expectIs(c, "UNKNOWN")
		c.SendString("done\n")
	})
	negotiate(tn, terminalPolicy)
	readUntil(t, tn, "done\n")
}

// BINARY from the host turns off CR NUL handling for what it sends, and
// back on when it leaves binary mode, whoever asks for it.
func TestNegotiatorBinary(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendString("1\r\x00.")
		c.Negotiate(telnet.WILL, telnet.BINARY)
		c.ExpectNegotiation(telnet.DO, telnet.BINARY)
		c.SendString("2\r\x00.")
		c.Negotiate(telnet.WONT, telnet.BINARY)
		c.ExpectNegotiation(telnet.DONT, telnet.BINARY)
		c.SendString("3\r\x00.")
		c.Negotiate(telnet.WILL, telnet.BINARY)
		c.ExpectNegotiation(telnet.DO, telnet.BINARY)
		c.SendString("4\r\x00.")
		c.ExpectNegotiation(telnet.DONT, telnet.BINARY) // the client asks
		c.Negotiate(telnet.WONT, telnet.BINARY)
		c.SendString("5\r\x00.")
	})
	n, log := negotiate(tn, terminalPolicy)
	var got []byte
	for _, want := range []string{"1\r.", "2\r\x00.", "3\r.", "4\r\x00."} {
		b, err := tn.ReadUntil([]byte("."), wait)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
		if string(b) != want {
			t.Errorf("ReadUntil = %q, want %q", b, want)
		}
	}
	if err := n.DisableRemote(tn, telnet.BINARY); err != nil {
		t.Fatal(err)
	}
	if b, err := tn.ReadAll(); string(b) != "5\r." || err != nil {
		t.Errorf("after the client's DONT BINARY: ReadAll = %q, %v; want %q", b, err, "5\r.")
	}
	want := "BINARY remote on, BINARY remote off, BINARY remote on, BINARY remote off"
	if got := log.String(); got != want {
		t.Errorf("OnChange: %s\nwant      %s", got, want)
	}
}

// B18: once an option is settled, asking for it again gets no answer.
func TestNegotiatorSettled(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.WILL, telnet.SGA)
		c.ExpectNegotiation(telnet.DO, telnet.SGA)
		c.Negotiate(telnet.DO, telnet.SGA)
		c.ExpectNegotiation(telnet.WILL, telnet.SGA)
		c.Negotiate(telnet.DO, telnet.SGA)
		c.Negotiate(telnet.WILL, telnet.SGA)
		syncTM(c)
		c.SendString("done\n")
	})
	negotiate(tn, terminalPolicy)
	readUntil(t, tn, "done\n")
}

// B17 with the Negotiator: against a host that reflects everything the
// exchange dies out too.
func TestReflectingPeerNegotiator(t *testing.T) {
	var log *changeLog
	counts := reflectRounds(t, func(tn *telnet.Telnet) {
		n, l := negotiate(tn, terminalPolicy)
		log = l
		if err := n.EnableLocal(tn, telnet.NAWS); err != nil {
			t.Error(err)
		}
		if err := n.EnableRemote(tn, telnet.ECHO); err != nil {
			t.Error(err)
		}
	}, []byte{
		telnet.DO, telnet.SGA, telnet.WILL, telnet.SGA, telnet.DO, telnet.ECHO, telnet.WILL, 200,
		telnet.DO, telnet.TM, telnet.DONT, telnet.BINARY,
	})
	total := 0
	for _, c := range counts {
		total += c
	}
	if counts[len(counts)-1] != 0 || counts[len(counts)-2] != 0 || total > 20 {
		t.Errorf("commands per round %v: the exchange does not die out", counts)
	}
	if log.String() == "" {
		t.Error("no option was enabled")
	}
}

// Requests by the client follow RFC 1143: one request at a time, a
// reversal queued while one is pending, errors for nonsense, and OnChange
// when the host confirms.
func TestNegotiatorRequests(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.SendString("1\n")
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.WONT, telnet.ECHO)
		c.SendString("2\n")
		// Enable, then a queued disable before the answer comes.
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.WONT, telnet.ECHO)
		c.SendString("3\n")
		// The host refuses.
		c.ExpectNegotiation(telnet.WILL, telnet.LINEMODE)
		c.Negotiate(telnet.DONT, telnet.LINEMODE)
		c.SendString("4\n")
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		c.Negotiate(telnet.DO, telnet.NAWS)
		if got := c.ExpectSubnegotiation(telnet.NAWS); !bytes.Equal(got, []byte{0, 80, 0, 24}) {
			t.Errorf("host: NAWS %v", got)
		}
		c.SendString("5\n")
	})
	n, log := negotiate(tn, terminalPolicy)
	n.SetWindowSize(tn, 80, 24)
	must(t, n.EnableRemote(tn, telnet.ECHO))
	if err := n.EnableRemote(tn, telnet.ECHO); err == nil {
		t.Error("a second EnableRemote while negotiating succeeded")
	}
	readUntil(t, tn, "1\n")
	if !n.Remote(telnet.ECHO) {
		t.Error("ECHO not on after WILL ECHO")
	}
	must(t, n.EnableRemote(tn, telnet.ECHO)) // already on: nothing sent
	must(t, n.DisableRemote(tn, telnet.ECHO))
	readUntil(t, tn, "2\n")
	if n.Remote(telnet.ECHO) {
		t.Error("ECHO on after WONT ECHO")
	}
	must(t, n.EnableRemote(tn, telnet.ECHO))
	must(t, n.DisableRemote(tn, telnet.ECHO)) // queued
	if err := n.DisableRemote(tn, telnet.ECHO); err == nil {
		t.Error("a second queued DisableRemote succeeded")
	}
	readUntil(t, tn, "3\n")
	must(t, n.EnableLocal(tn, telnet.LINEMODE))
	readUntil(t, tn, "4\n")
	if n.Local(telnet.LINEMODE) {
		t.Error("LINEMODE on after DONT")
	}
	must(t, n.EnableLocal(tn, telnet.NAWS))
	readUntil(t, tn, "5\n")
	want := "ECHO remote on, ECHO remote off, ECHO remote on, ECHO remote off, NAWS local on"
	if got := log.String(); got != want {
		t.Errorf("OnChange: %s\nwant      %s", got, want)
	}
}

// OnError hears of a host that answers DONT with WILL; OnOther gets the
// commands the Negotiator does not use, with subnegotiation payloads.
func TestNegotiatorOnErrorOnOther(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.SendString("on\n")
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO) // wrong: should be WONT
		c.Send([]byte{telnet.IAC, telnet.NOP, telnet.IAC, telnet.GA})
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{106, 0x60})
		c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND}) // the Negotiator's
		syncTM(c)
		c.SendString("done\n")
	})
	n, _ := negotiate(tn, terminalPolicy)
	var errs []error
	n.OnError(func(err error) { errs = append(errs, err) })
	var other []string
	n.OnOther(func(t *telnet.Telnet, cmd, opt byte) {
		s := telnet.NegotiationName(cmd, opt)
		if cmd == telnet.SE {
			s += fmt.Sprintf(" %q", t.ReadSBData())
		}
		other = append(other, s)
	})
	readUntil(t, tn, "on\n")
	must(t, n.DisableRemote(tn, telnet.ECHO))
	readUntil(t, tn, "done\n")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "DONT ECHO answered by WILL ECHO") {
		t.Errorf("OnError got %v", errs)
	}
	if got, want := strings.Join(other, ", "), `NOP, GA, SE ",j`+"`"+`"`; got != want {
		t.Errorf("OnOther got %s, want %s", got, want)
	}
}

// RFC 1143, WANTNO OPPOSITE: a host that answers our DONT with WILL while
// we have queued a DO leaves the option on, and that is still reported as
// the error it is.
func TestNegotiatorReportsWillAnsweringDontWithEnableQueued(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.SendString("1\n")
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.WILL, telnet.ECHO) // wrong: should be WONT
		c.SendString("2\n")
	})
	n, _ := negotiate(tn, terminalPolicy)
	var errs []error
	n.OnError(func(err error) { errs = append(errs, err) })
	must(t, n.EnableRemote(tn, telnet.ECHO))
	readUntil(t, tn, "1\n")
	must(t, n.DisableRemote(tn, telnet.ECHO))
	must(t, n.EnableRemote(tn, telnet.ECHO)) // queued behind the DONT
	readUntil(t, tn, "2\n")
	if !n.Remote(telnet.ECHO) {
		t.Error("ECHO off, want on (him=YES)")
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "DONT ECHO answered by WILL ECHO") {
		t.Errorf("OnError got %v", errs)
	}
}

// A request on a Telnet that is not connected (never opened, or closed)
// fails with ErrNotConnected, as SendNegotiation does, and leaves the
// option as it was: after Open the same request is sent, and after Close
// a second one fails the same way. A request before Open had returned nil
// and left the option waiting for the answer to a WILL that was never
// sent, so that after Open it failed "already negotiating"; and the
// writer of its frame raced with Open.
func TestNegotiatorRequestWhileNotConnected(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.ExpectEOF()
	})
	tn := telnet.New()
	n, _ := negotiate(tn, terminalPolicy)
	if err := n.EnableLocal(tn, telnet.NAWS); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("EnableLocal before Open: %v, want ErrNotConnected", err)
	}
	if err := n.EnableRemote(tn, telnet.ECHO); !errors.Is(err, telnet.ErrNotConnected) {
		t.Errorf("EnableRemote before Open: %v, want ErrNotConnected", err)
	}
	if err := tn.Open(srv.Host(), srv.Port(), wait); err != nil {
		t.Fatal(err)
	}
	if err := n.EnableLocal(tn, telnet.NAWS); err != nil {
		t.Errorf("EnableLocal after Open: %v", err)
	}
	if err := n.EnableRemote(tn, telnet.ECHO); err != nil {
		t.Errorf("EnableRemote after Open: %v", err)
	}
	tn.Close()
	for i := range 2 {
		if err := n.EnableRemote(tn, telnet.SGA); !errors.Is(err, telnet.ErrNotConnected) {
			t.Errorf("EnableRemote %d after Close: %v, want ErrNotConnected", i+1, err)
		}
	}
	srv.Close() // waits for the host's checks
}

// The Negotiator's frames reach the wire in the order of the state
// changes that decided them. The reader handles DO NAWS and DONT NAWS
// while four goroutines resize the window without pause: the host must
// never see SB NAWS while NAWS is off (RFC 1073), before the WILL NAWS
// or after the WONT NAWS. The frames had been queued after the lock was
// released, so a resize that saw NAWS on could queue its SB after the
// reader's WONT NAWS, or before its WILL NAWS.
func TestNegotiatorFramesFollowTheStateChanges(t *testing.T) {
	const d = time.Second
	tn := serve(t, func(c *telnettest.Conn) {
		on := false // NAWS as the client's frames say
		rounds := 0
		for start := time.Now(); time.Since(start) < d; rounds++ {
			for _, cmd := range []byte{telnet.DO, telnet.DONT} {
				c.Negotiate(cmd, telnet.NAWS)
				for answered := false; !answered; {
					ev, err := c.ReadEvent()
					if err != nil {
						t.Errorf("host: %v", err)
						return
					}
					switch {
					case ev.Cmd == telnet.SB && ev.Opt == telnet.NAWS:
						if !on {
							t.Errorf("host: SB NAWS while NAWS is off, in round %d", rounds)
							return
						}
					case ev.Cmd == telnet.WILL && ev.Opt == telnet.NAWS && cmd == telnet.DO:
						on, answered = true, true
					case ev.Cmd == telnet.WONT && ev.Opt == telnet.NAWS && cmd == telnet.DONT:
						on, answered = false, true
					default:
						t.Errorf("host: %v in answer to %s", ev, telnet.NegotiationName(cmd, telnet.NAWS))
						return
					}
				}
			}
		}
		t.Logf("%d rounds", rounds)
	})
	n := telnet.NewNegotiator(telnet.Policy{Local: telnet.NewOptionSet(telnet.NAWS)})
	n.SetWindowSize(tn, 80, 24)
	tn.SetOptionNegotiationCallback(n.Callback)
	stop := make(chan struct{})
	var resizers sync.WaitGroup
	for range 4 {
		resizers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n.SetWindowSize(tn, 80+i%50, 24)
			}
		})
	}
	tn.ReadAll() // until the host is done
	close(stop)
	tn.Close()
	resizers.Wait()
}
