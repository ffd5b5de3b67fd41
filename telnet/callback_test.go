package telnet_test

import (
	"bytes"
	"strings"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

var rfc854Commands = []byte{telnet.AO, telnet.AYT, telnet.BRK, telnet.EC, telnet.EL, telnet.GA, telnet.IP, telnet.NOP}

// test_IAC_commands: each command without option, alone and inside 10 or
// 100 bytes of data, reaches the callback with NOOPT, and only the two
// bytes of the command leave the data.
func TestIACCommands(t *testing.T) {
	check := func(t *testing.T, input []byte) {
		t.Helper()
		tn := serve(t, func(c *telnettest.Conn) { c.Send(input) })
		tr := traceCommands(tn)
		txt, err := tn.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := tr.commands()
		if len(seen) == 0 {
			t.Fatalf("%q: no command reached the callback", input)
		}
		for i := 0; i < len(seen); i += 2 {
			if bytes.IndexByte(rfc854Commands, seen[i]) < 0 || seen[i+1] != telnet.NOOPT {
				t.Errorf("%q: callback got %s", input, names(seen))
			}
		}
		if len(txt)+len(seen) != len(input) {
			t.Errorf("%q: %d bytes of data and %d of commands from %d bytes", input, len(txt), len(seen), len(input))
		}
		tn.Close()
	}
	for _, cmd := range rfc854Commands {
		t.Run(telnet.CommandName(cmd), func(t *testing.T) {
			check(t, []byte{telnet.IAC, cmd})
			check(t, seq(strings.Repeat("x", 100), telnet.IAC, cmd, strings.Repeat("y", 100)))
			check(t, seq(strings.Repeat("x", 10), telnet.IAC, cmd, strings.Repeat("y", 10)))
		})
	}
	var all []byte
	for _, cmd := range rfc854Commands {
		all = append(all, telnet.IAC, cmd)
	}
	t.Run("all", func(t *testing.T) { check(t, all) })
}

// test_SB_commands: the payloads reach the callback at SE through
// ReadSBData, IAC IAC undoubled, and ReadSBData is empty afterwards.
func TestSBCommands(t *testing.T) {
	const iac, sb, se = telnet.IAC, telnet.SB, telnet.SE
	send := seq(
		iac, sb, iac, se,
		iac, sb, iac, iac, iac, se,
		iac, sb, iac, iac, "aa", iac, se,
		iac, sb, "bb", iac, iac, iac, se,
		iac, sb, "cc", iac, iac, "dd", iac, se,
	)
	tn := serve(t, func(c *telnettest.Conn) { c.Send(send) })
	tr := traceCommands(tn)
	txt, err := tn.ReadAll()
	if len(txt) != 0 || err != nil {
		t.Errorf("ReadAll = %q, %v; want nothing", txt, err)
	}
	want := seq(iac, iac, "aabb", iac, "cc", iac, "dd")
	if got := bytes.Join(tr.payloads(), nil); !bytes.Equal(got, want) {
		t.Errorf("subnegotiation data %q, want %q", got, want)
	}
	if got := tn.ReadSBData(); len(got) != 0 {
		t.Errorf("ReadSBData afterwards = %q", got)
	}
	wantCalls := bytes.Repeat([]byte{sb, 0, se, 0}, 5)
	if got := tr.commands(); !bytes.Equal(got, wantCalls) {
		t.Errorf("callback got %s, want %s", names(got), names(wantCalls))
	}
}

// Every command reaches the callback: negotiations with their option, SB
// and SE, DM, EOR, and unknown ones; payloads are kept whole, NUL included.
func TestCallbackGetsEveryCommand(t *testing.T) {
	const iac = telnet.IAC
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq("a", iac, telnet.DO, telnet.NAWS, "b", iac, telnet.WILL, 0,
			iac, telnet.DONT, 200, iac, telnet.WONT, telnet.ECHO, iac, telnet.DM,
			iac, telnet.EOR_CMD, iac, 88, "c"))
		c.SendSubnegotiation(telnet.NAWS, []byte{0, 80, 0, 24})
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{106, 0, iac})
		c.Send([]byte("d"))
	})
	tr := traceCommands(tn)
	txt, err := tn.ReadAll()
	if string(txt) != "abcd" || err != nil {
		t.Errorf("ReadAll = %q, %v; want abcd", txt, err)
	}
	want := []byte{telnet.DO, telnet.NAWS, telnet.WILL, 0, telnet.DONT, 200, telnet.WONT, telnet.ECHO,
		telnet.DM, 0, telnet.EOR_CMD, 0, 88, 0, telnet.SB, 0, telnet.SE, 0, telnet.SB, 0, telnet.SE, 0}
	if got := tr.commands(); !bytes.Equal(got, want) {
		t.Errorf("callback got %s,\nwant %s", names(got), names(want))
	}
	p := tr.payloads()
	if len(p) != 2 || !bytes.Equal(p[0], []byte{telnet.NAWS, 0, 80, 0, 24}) ||
		!bytes.Equal(p[1], []byte{telnet.COM_PORT_OPTION, 106, 0, iac}) {
		t.Errorf("payloads %q", p)
	}
}

// With a callback set the package answers nothing itself.
func TestCallbackSilencesDefault(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq(telnet.IAC, telnet.DO, telnet.ECHO, telnet.IAC, telnet.WILL, telnet.SGA, "go"))
		c.ExpectString("end")
	})
	traceCommands(tn)
	if _, err := tn.ReadUntil([]byte("go"), wait); err != nil {
		t.Fatal(err)
	}
	tn.Write([]byte("end"))
}

// An SE that ends no subnegotiation reaches the callback with an empty
// payload, not the last one again.
func TestStraySE(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendSubnegotiation(telnet.TTYPE, []byte{telnet.SubSEND})
		c.Send([]byte{telnet.IAC, telnet.SE})
	})
	tr := traceCommands(tn)
	tn.ReadAll()
	p := tr.payloads()
	if len(p) != 2 || !bytes.Equal(p[0], []byte{telnet.TTYPE, telnet.SubSEND}) || len(p[1]) != 0 {
		t.Errorf("payloads at SE: %q; want TTYPE SEND, then nothing", p)
	}
}

// A command inside a subnegotiation ends it without SE (the payload is
// dropped) and is handled; the data after it is intact (B9).
func TestCommandInsideSubnegotiation(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq(telnet.IAC, telnet.SB, 201, "abc", telnet.IAC, telnet.GA, "prompt> "))
	})
	tr := traceCommands(tn)
	if txt, err := tn.ReadAll(); string(txt) != "prompt> " || err != nil {
		t.Errorf("ReadAll = %q, %v", txt, err)
	}
	want := []byte{telnet.SB, 0, telnet.GA, 0}
	if got := tr.commands(); !bytes.Equal(got, want) {
		t.Errorf("callback got %s, want %s", names(got), names(want))
	}
}

// A subnegotiation over the limit is dropped whole, without SE, and
// nothing of it leaks into the data (B12).
func TestSubnegotiationOverflow(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.SendSubnegotiation(201, bytes.Repeat([]byte{'x', telnet.IAC}, 20))
		c.SendSubnegotiation(201, []byte("fits"))
		c.SendString("OK")
	})
	tn.SetMaxSubnegotiation(8)
	tr := traceCommands(tn)
	if txt, err := tn.ReadAll(); string(txt) != "OK" || err != nil {
		t.Errorf("ReadAll = %q, %v; want OK", txt, err)
	}
	want := []byte{telnet.SB, 0, telnet.SB, 0, telnet.SE, 0}
	if got := tr.commands(); !bytes.Equal(got, want) {
		t.Errorf("callback got %s, want %s", names(got), names(want))
	}
	if p := tr.payloads(); len(p) != 1 || string(p[0]) != "\xc9fits" {
		t.Errorf("payloads %q", p)
	}
}

// The default negotiation refuses: DO gets WONT, WILL gets DONT, and
// DONT and WONT for options that are off get no answer (B15).
func TestDefaultNegotiation(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DONT, telnet.ECHO)
		c.Negotiate(telnet.WONT, telnet.SGA)
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.Negotiate(telnet.DO, telnet.TM)
		c.SendString("go")
		c.ExpectNegotiation(telnet.WONT, telnet.NAWS)
		c.ExpectNegotiation(telnet.DONT, telnet.ECHO)
		c.ExpectNegotiation(telnet.WONT, telnet.TM)
		c.ExpectData("end")
		c.ExpectEOF()
	})
	if _, err := tn.ReadUntil([]byte("go"), wait); err != nil {
		t.Fatal(err)
	}
	tn.Write([]byte("end"))
}

// B17: a peer that reflects every command it gets, forever. The exchange
// runs in rounds; it must die out instead of looping.
func TestReflectingPeerDefault(t *testing.T) {
	counts := reflectRounds(t, nil, []byte{
		telnet.DO, telnet.ECHO, telnet.WILL, telnet.SGA, telnet.DONT, telnet.NAWS, telnet.WONT, telnet.TTYPE,
		telnet.DO, telnet.TM,
	})
	if counts[0] != 3 || counts[len(counts)-1] != 0 || counts[len(counts)-2] != 0 {
		t.Errorf("commands per round %v, want the 3 refusals, then silence", counts)
	}
}

// reflectRounds connects to a host that opens with the given negotiations
// (cmd, opt pairs) and then sends back every negotiation it receives. In
// each round the client reads until the host's round marker and then
// writes its own; the host counts the negotiations of each round.
func reflectRounds(t *testing.T, setup func(tn *telnet.Telnet), opening []byte) []int {
	t.Helper()
	const rounds = 6
	result := make(chan []int, 1)
	tn := serve(t, func(c *telnettest.Conn) {
		counts := make([]int, rounds)
		defer func() { result <- counts }()
		for i := 0; i < len(opening); i += 2 {
			c.Negotiate(opening[i], opening[i+1])
		}
		c.SendString("round\n")
		for r := range rounds {
			for {
				ev, err := c.ReadEvent()
				if err != nil {
					t.Errorf("host: %v", err)
					return
				}
				if ev.IsData() {
					if string(ev.Data) != "ack\n" {
						t.Errorf("host: data %q", ev.Data)
					}
					break
				}
				if ev.Cmd == telnet.SB {
					continue
				}
				counts[r]++
				c.Negotiate(ev.Cmd, ev.Opt)
			}
			c.SendString("round\n")
		}
	})
	if setup != nil {
		setup(tn)
	}
	for range rounds {
		if _, err := tn.ReadUntil([]byte("round\n"), wait); err != nil {
			t.Fatal(err)
		}
		tn.Write([]byte("ack\n"))
	}
	if _, err := tn.ReadUntil([]byte("round\n"), wait); err != nil {
		t.Fatal(err)
	}
	return <-result
}

// A callback's panic loses nothing: the data before the command and the
// rest of the chunk it came in are what the next reads return, in
// order, whichever read the panic went through (one that decodes into
// the caller's buffer too).
func TestCallbackPanicLosesNoData(t *testing.T) {
	stream := []byte("before")
	stream = append(stream, telnet.IAC, telnet.NOP)
	stream = append(stream, "middle"...)
	stream = append(stream, telnet.IAC, telnet.NOP)
	stream = append(stream, "after"...)
	type failure struct{}
	reads := map[string]func(tn *telnet.Telnet) ([]byte, error){
		"ReadSome": func(tn *telnet.Telnet) ([]byte, error) { return tn.ReadSome() },
		"TryRead": func(tn *telnet.Telnet) ([]byte, error) {
			tn.WaitRead()
			buf := make([]byte, 64<<10)
			n, err := tn.TryRead(buf)
			return buf[:n], err
		},
		"ReadVeryEager": func(tn *telnet.Telnet) ([]byte, error) {
			tn.WaitRead()
			return tn.ReadVeryEager()
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			dialBoth(t, func(c *telnettest.Conn) {
				c.Send(stream) // one write: one chunk
				c.ExpectEOF()
			}, func(t *testing.T, tn *telnet.Telnet) {
				tn.SetOptionNegotiationCallback(func(_ *telnet.Telnet, cmd, _ byte) {
					if cmd == telnet.NOP {
						panic(failure{})
					}
				})
				var got []byte
				panics := 0
				for range 20 {
					if string(got) == "beforemiddleafter" {
						break
					}
					within(t, wait, name, func() { tn.Close() }, func() {
						defer func() {
							if r := recover(); r != nil {
								if _, ok := r.(failure); !ok {
									panic(r)
								}
								panics++
							}
						}()
						data, err := read(tn)
						if err != nil {
							t.Errorf("%s: %v, after %q", name, err, got)
						}
						got = append(got, data...)
					})
				}
				if string(got) != "beforemiddleafter" || panics != 2 {
					t.Errorf("read %q through %d panics; want every byte, through 2", got, panics)
				}
			})
		})
	}
}

// A read that recovers from a panic of the callback can go on reading:
// the chunk being decoded is given back to its source. A pump has two
// buffers, and three panics had left it none, so the next read waited
// for good while data was there.
func TestCallbackPanicLeavesTheReadUsable(t *testing.T) {
	const panics = 3
	dialBoth(t, func(c *telnettest.Conn) {
		for range panics {
			c.SendCommand(telnet.NOP)
			c.ExpectData("next")
		}
		c.SendString("after")
		c.ExpectEOF()
	}, func(t *testing.T, tn *telnet.Telnet) {
		type failure struct{}
		tn.SetOptionNegotiationCallback(func(_ *telnet.Telnet, cmd, _ byte) {
			if cmd == telnet.NOP {
				panic(failure{})
			}
		})
		readRecovered := func() (got []byte, panicked bool) {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(failure); !ok {
						panic(r)
					}
					panicked = true
				}
			}()
			got, _ = tn.ReadSome()
			return got, false
		}
		for i := range panics {
			within(t, wait, "ReadSome", func() { tn.Close() }, func() {
				if got, panicked := readRecovered(); !panicked {
					t.Errorf("read %d returned %q, want the callback's panic", i, got)
				}
			})
			if _, err := tn.Write([]byte("next")); err != nil {
				t.Fatal(err)
			}
		}
		within(t, wait, "ReadSome after the panics", func() { tn.Close() }, func() {
			if got, err := tn.ReadSome(); string(got) != "after" || err != nil {
				t.Errorf("ReadSome after the panics = %q, %v; want \"after\"", got, err)
			}
		})
	})
}
