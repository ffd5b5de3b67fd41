package telnet_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
)

// The differential test runs random telnet streams, cut into random
// chunks, through this package and through CPython's telnetlib (the
// behavioural reference, driven by testdata/telnetlib_ref.py with a stub
// socket) and compares what each made of them: the cooked data, every
// call of the option callback in order, the subnegotiation payloads read
// at each SE, the bytes sent and the debug lines.
//
// Where the package differs from telnetlib on purpose (doc.go), the
// streams either avoid the difference or the test asserts it:
//
//   - telnetlib drops every NUL and DC1: the main streams have neither
//     except in CR NUL pairs, whose NUL both drop; another family has them
//     anywhere, and there the package's output, with NUL and DC1 removed,
//     must be telnetlib's.
//   - A command inside a subnegotiation ends it here: the main streams
//     have none; another family has them, and there the package must
//     behave as telnetlib does on the stream where the broken
//     subnegotiation is replaced by a plain command.
//   - With no callback telnetlib answers DONT and WONT, which the package
//     does not: its replies must be telnetlib's without those.
//   - Callback timing (which data is cooked when the callback runs) is not
//     observed.

var diffSeed = flag.Uint64("telnetlib.seed", 1, "seed of the differential test's random streams")

// pyCase and pyResult are the JSON of testdata/telnetlib_ref.py.
type pyCase struct {
	Chunks   []string `json:"chunks"`
	Callback bool     `json:"callback"`
	Debug    bool     `json:"debug"`
}

type pyResult struct {
	Cooked string    `json:"cooked"`
	Trace  [][2]byte `json:"trace"`
	SB     []string  `json:"sb"`
	Writes string    `json:"writes"`
	Debug  []string  `json:"debug"`
}

// diffResult is a run's result in either implementation, in comparable
// form (byte strings, not hex).
type diffResult struct {
	Cooked string
	Trace  [][2]byte
	SB     []string
	Writes string
	Debug  []string
}

func (r diffResult) String() string {
	return fmt.Sprintf("cooked %q\n  trace %v\n  sb %q\n  writes % x\n  debug %q", clipText(r.Cooked), r.Trace, r.SB, r.Writes, r.Debug)
}

func fromPy(p pyResult) (diffResult, error) {
	r := diffResult{Trace: p.Trace, Debug: p.Debug}
	c, err := hex.DecodeString(p.Cooked)
	if err != nil {
		return r, err
	}
	r.Cooked = string(c)
	w, err := hex.DecodeString(p.Writes)
	if err != nil {
		return r, err
	}
	r.Writes = string(w)
	for _, s := range p.SB {
		b, err := hex.DecodeString(s)
		if err != nil {
			return r, err
		}
		r.SB = append(r.SB, string(b))
	}
	return r, nil
}

// requireTelnetlib skips the test unless python3 with telnetlib runs.
func requireTelnetlib(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: the differential test needs CPython with telnetlib (3.12 or older)")
	}
	if out, err := exec.Command("python3", "-W", "ignore", "-c", "import telnetlib").CombinedOutput(); err != nil {
		t.Skipf("python3 has no telnetlib module (removed in Python 3.13): %v: %s", err, bytes.TrimSpace(out))
	}
}

// runTelnetlib runs the cases through CPython's telnetlib.
func runTelnetlib(t *testing.T, cases []pyCase) []diffResult {
	t.Helper()
	in, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-W", "ignore", "testdata/telnetlib_ref.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("telnetlib_ref.py: %v\n%s", err, stderr.Bytes())
	}
	var res struct {
		Results []pyResult `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("telnetlib_ref.py output: %v", err)
	}
	if len(res.Results) != len(cases) {
		t.Fatalf("telnetlib_ref.py returned %d results for %d cases", len(res.Results), len(cases))
	}
	rs := make([]diffResult, len(cases))
	for i, p := range res.Results {
		if rs[i], err = fromPy(p); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	return rs
}

// chunkConn is a net.Conn whose reads return prepared chunks, one per
// Read, then io.EOF, and whose writes are recorded.
type chunkConn struct {
	chunks [][]byte

	mu     sync.Mutex
	writes []byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if n < len(c.chunks[0]) {
		c.chunks[0] = c.chunks[0][n:]
	} else {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, p...)
	c.mu.Unlock()
	return len(p), nil
}

func (c *chunkConn) Close() error                     { return nil }
func (c *chunkConn) LocalAddr() net.Addr              { return nil }
func (c *chunkConn) RemoteAddr() net.Addr             { return nil }
func (c *chunkConn) SetDeadline(time.Time) error      { return nil }
func (c *chunkConn) SetReadDeadline(time.Time) error  { return nil }
func (c *chunkConn) SetWriteDeadline(time.Time) error { return nil }

var debugPrefix = regexp.MustCompile(`^Telnet\([^)]*\): `)

// runPackage runs one case through this package, as telnetlib_ref.py does
// through telnetlib.
func runPackage(t *testing.T, c pyCase) diffResult {
	t.Helper()
	conn := &chunkConn{}
	for _, h := range c.Chunks {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		conn.chunks = append(conn.chunks, b)
	}
	tn := telnet.NewConn(conn)
	defer tn.Close()
	var r diffResult
	if c.Callback {
		tn.SetOptionNegotiationCallback(func(tn *telnet.Telnet, cmd, opt byte) {
			r.Trace = append(r.Trace, [2]byte{cmd, opt})
			if cmd == telnet.SE {
				r.SB = append(r.SB, string(tn.ReadSBData()))
			}
		})
	}
	var debug bytes.Buffer
	if c.Debug {
		tn.SetDebugLevel(1)
		tn.SetDebugOutput(&debug)
	}
	data, err := tn.ReadAll()
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	r.Cooked = string(data)
	// A write from outside the callback goes out after every queued
	// reply, so once it returns all replies are on the wire.
	if err := tn.WriteRaw(nil); err != nil {
		t.Fatalf("WriteRaw: %v", err)
	}
	conn.mu.Lock()
	r.Writes = string(conn.writes)
	conn.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSuffix(debug.String(), "\n"), "\n") {
		line = debugPrefix.ReplaceAllString(line, "")
		if line == "" || strings.HasPrefix(line, "recv ") {
			continue
		}
		r.Debug = append(r.Debug, line)
	}
	return r
}

// streamGen makes random telnet streams.
type streamGen struct {
	r *rand.Rand
	// nulls allows NUL and DC1 anywhere in data and payloads.
	nulls bool
}

// textByte returns a data byte: mostly printable, sometimes a control or
// a high byte (0xF0..0xFE are command values, data here), never IAC, and
// never NUL or DC1 unless g.nulls.
func (g *streamGen) textByte() byte {
	for {
		var c byte
		switch x := g.r.IntN(20); {
		case x < 14:
			c = byte(0x20 + g.r.IntN(0x5f))
		case x < 16:
			c = "\r\n\t\b\x07\x1b"[g.r.IntN(6)]
		case x < 18:
			c = byte(0x80 + g.r.IntN(0x7f))
		case x < 19:
			c = byte(0xf0 + g.r.IntN(15))
		default:
			c = byte(g.r.IntN(0x20))
		}
		if !g.nulls && (c == 0 || c == 0x11) {
			continue
		}
		return c
	}
}

func (g *streamGen) text(b []byte, n int) []byte {
	for range n {
		b = append(b, g.textByte())
	}
	return b
}

// payload appends an escaped subnegotiation option and payload, or
// sometimes nothing (IAC SB IAC SE).
func (g *streamGen) payload(b []byte) []byte {
	if g.r.IntN(25) == 0 {
		return b
	}
	n := g.r.IntN(12)
	if g.r.IntN(20) == 0 {
		n = 100 + g.r.IntN(200)
	}
	p := make([]byte, 0, n+1)
	p = append(p, g.option())
	for range n {
		switch g.r.IntN(8) {
		case 0:
			p = append(p, telnet.IAC)
		case 1:
			p = append(p, telnet.SE)
		default:
			p = append(p, g.textByte())
		}
	}
	return telnet.AppendEscaped(b, p)
}

// option returns an option byte: a known option most of the time.
func (g *streamGen) option() byte {
	for {
		var c byte
		if g.r.IntN(4) == 0 {
			c = byte(g.r.IntN(256))
		} else {
			c = []byte{telnet.BINARY, telnet.ECHO, telnet.SGA, telnet.TM, telnet.TTYPE, telnet.NAWS,
				telnet.LINEMODE, telnet.NEW_ENVIRON, telnet.CHARSET, telnet.COM_PORT_OPTION, 201, telnet.EXOPL}[g.r.IntN(12)]
		}
		// The option of a subnegotiation is payload: telnetlib drops it
		// when it is NUL or DC1.
		if !g.nulls && (c == 0 || c == 0x11) {
			continue
		}
		return c
	}
}

// command returns a two-byte command's second byte: anything but IAC,
// SB and the four verbs, nor marker (IAC for none).
func (g *streamGen) command(marker byte) byte {
	for {
		var c byte
		if g.r.IntN(3) == 0 {
			c = byte(g.r.IntN(256))
		} else {
			c = byte(telnet.EOR_CMD + g.r.IntN(11)) // EOR_CMD, SE, NOP .. GA
		}
		if c >= telnet.SB || c == marker {
			continue
		}
		return c
	}
}

// token appends one random element of a stream to b, and to ref. With
// broken, a subnegotiation may be left open (cut is then true) for the
// caller to end with a command; ref gets IAC marker in place of its IAC SB
// opt payload, so that ref is the stream telnetlib must treat as the
// package treats b.
func (g *streamGen) token(b, ref []byte, broken bool, marker byte) (_, _ []byte, cut bool) {
	start := len(b)
	switch x := g.r.IntN(100); {
	case x < 35:
		b = g.text(b, 1+g.r.IntN(30))
	case x < 42:
		b = append(b, '\r', 0)
	case x < 47:
		b = append(b, '\r', '\n')
	case x < 55:
		b = append(b, telnet.IAC, telnet.IAC)
	case x < 65:
		b = append(b, telnet.IAC, g.command(marker))
	case x < 80:
		// The option of a negotiation is never dropped, NUL or not.
		verb := []byte{telnet.DO, telnet.DONT, telnet.WILL, telnet.WONT}[g.r.IntN(4)]
		opt := g.option()
		if g.r.IntN(10) == 0 {
			opt = []byte{0, 0x11}[g.r.IntN(2)]
		}
		b = append(b, telnet.IAC, verb, opt)
	case x < 97 || !broken:
		b = append(b, telnet.IAC, telnet.SB)
		b = g.payload(b)
		b = append(b, telnet.IAC, telnet.SE)
	default:
		// A subnegotiation cut short by the next command.
		b = append(b, telnet.IAC, telnet.SB)
		b = g.payload(b)
		ref = append(ref, telnet.IAC, marker)
		return b, ref, true
	}
	ref = append(ref, b[start:]...)
	return b, ref, false
}

// stream returns a stream of n tokens, possibly cut short at the end, and
// the reference stream for telnetlib (the same unless broken).
func (g *streamGen) stream(n int, broken bool, marker byte) (b, ref []byte) {
	for range n {
		var cut bool
		b, ref, cut = g.token(b, ref, broken, marker)
		if cut {
			// The next token must be a command that ends the
			// subnegotiation: a two-byte command, a negotiation or
			// another subnegotiation.
			start := len(b)
			switch g.r.IntN(3) {
			case 0:
				c := g.command(marker)
				for c == telnet.SE { // IAC SE would end it properly
					c = g.command(marker)
				}
				b = append(b, telnet.IAC, c)
			case 1:
				b = append(b, telnet.IAC, telnet.WILL, g.option())
			default:
				b = append(b, telnet.IAC, telnet.SB)
				b = g.payload(b)
				b = append(b, telnet.IAC, telnet.SE)
			}
			ref = append(ref, b[start:]...)
		}
	}
	if !broken && g.r.IntN(4) == 0 {
		// End the stream in the middle of a sequence.
		tails := [][]byte{
			{telnet.IAC},
			{telnet.IAC, telnet.DO},
			{telnet.IAC, telnet.SB},
			{telnet.IAC, telnet.SB, telnet.TTYPE, 'x', 'y'},
			{telnet.IAC, telnet.SB, telnet.NAWS, telnet.IAC},
			{'\r'},
		}
		tail := tails[g.r.IntN(len(tails))]
		b = append(b, tail...)
		ref = append(ref, tail...)
	}
	return b, ref
}

// chunks cuts a stream at random: sizes mostly small, sometimes one byte
// each, sometimes whole, sometimes longer than telnetlib's 50-byte recv.
func (g *streamGen) chunks(b []byte) []string {
	var out []string
	mode := g.r.IntN(10)
	for len(b) > 0 {
		var n int
		switch {
		case mode == 0:
			n = 1
		case mode == 1:
			n = len(b)
		case mode < 4:
			n = 1 + g.r.IntN(120)
		default:
			n = 1 + g.r.IntN(12)
		}
		n = min(n, len(b))
		out = append(out, hex.EncodeToString(b[:n]))
		b = b[n:]
	}
	return out
}

func joinChunks(chunks []string) []byte {
	var b []byte
	for _, h := range chunks {
		x, _ := hex.DecodeString(h)
		b = append(b, x...)
	}
	return b
}

func equalTrace(a, b [][2]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func reportDiff(t *testing.T, what string, c pyCase, got, want diffResult) {
	t.Helper()
	t.Errorf("%s: stream % x\n  chunks %q\n  callback=%v\npackage:\n  %s\ntelnetlib:\n  %s",
		what, joinChunks(c.Chunks), c.Chunks, c.Callback, got, want)
}

// dropNULDC1 removes what telnetlib removes from data and payloads.
func dropNULDC1(s string) string {
	return strings.NewReplacer("\x00", "", "\x11", "").Replace(s)
}

func TestDifferentialTelnetlib(t *testing.T) {
	requireTelnetlib(t)
	seed := *diffSeed
	t.Logf("seed %d (-telnetlib.seed)", seed)

	type family struct {
		name  string
		cases []pyCase
		refs  []pyCase // what telnetlib runs, when not cases
	}
	const marker = 0x80 // a command no generated stream contains
	var fams []*family

	// Streams both must treat alike, with the callback recording.
	g := &streamGen{r: rand.New(rand.NewPCG(seed, 1))}
	same := &family{name: "callback"}
	for i := range 400 {
		b, _ := g.stream(1+i%40, false, telnet.IAC)
		same.cases = append(same.cases, pyCase{Chunks: g.chunks(b), Callback: true, Debug: i%2 == 0})
	}
	fams = append(fams, same)

	// The same without callback: default replies and debug lines.
	nocb := &family{name: "default"}
	for i := range 200 {
		b, _ := g.stream(1+i%30, false, telnet.IAC)
		nocb.cases = append(nocb.cases, pyCase{Chunks: g.chunks(b), Debug: true})
	}
	fams = append(fams, nocb)

	// NUL and DC1 anywhere.
	gn := &streamGen{r: rand.New(rand.NewPCG(seed, 2)), nulls: true}
	nuls := &family{name: "NUL and DC1"}
	for i := range 200 {
		b, _ := gn.stream(1+i%30, false, telnet.IAC)
		nuls.cases = append(nuls.cases, pyCase{Chunks: gn.chunks(b), Callback: true})
	}
	fams = append(fams, nuls)

	// Subnegotiations broken by a command.
	gb := &streamGen{r: rand.New(rand.NewPCG(seed, 3))}
	broken := &family{name: "command inside SB"}
	for i := range 200 {
		b, ref := gb.stream(2+i%30, true, marker)
		broken.cases = append(broken.cases, pyCase{Chunks: gb.chunks(b), Callback: true})
		broken.refs = append(broken.refs, pyCase{Chunks: gb.chunks(ref), Callback: true})
	}
	fams = append(fams, broken)

	var all []pyCase
	for _, f := range fams {
		if f.refs != nil {
			all = append(all, f.refs...)
		} else {
			all = append(all, f.cases...)
		}
	}
	py := runTelnetlib(t, all)

	k := 0
	for _, f := range fams {
		t.Run(f.name, func(t *testing.T) {
			failures := 0
			for i, c := range f.cases {
				want := py[k+i]
				got := runPackage(t, c)
				ok := true
				switch f {
				case same:
					ok = got.Cooked == want.Cooked && equalTrace(got.Trace, want.Trace) &&
						equalStrings(got.SB, want.SB) && got.Writes == want.Writes &&
						equalStrings(got.Debug, want.Debug)
				case nocb:
					// telnetlib also answers DONT and WONT; the
					// package does not. Its debug lines name each
					// negotiation, in the order of its replies.
					var expect []byte
					replies := []byte(want.Writes)
					for _, line := range want.Debug {
						var verb string
						var opt int
						if n, _ := fmt.Sscanf(line, "IAC %s %d", &verb, &opt); n != 2 {
							continue
						}
						if len(replies) < 3 {
							t.Fatalf("telnetlib sent fewer replies than its debug lines say: %q", want.Writes)
						}
						if verb == "DO" || verb == "WILL" {
							expect = append(expect, replies[:3]...)
						}
						replies = replies[3:]
					}
					ok = got.Cooked == want.Cooked && got.Writes == string(expect) &&
						equalStrings(got.Debug, want.Debug) && got.Trace == nil
				case nuls:
					var sbs []string
					for _, s := range got.SB {
						sbs = append(sbs, dropNULDC1(s))
					}
					ok = dropNULDC1(got.Cooked) == want.Cooked && equalTrace(got.Trace, want.Trace) &&
						equalStrings(sbs, want.SB)
					// And the package's own output is the model's.
					stream := joinChunks(c.Chunks)
					m := newRefDecoder(false, 0)
					for _, x := range stream {
						m.feed(x)
					}
					if mr := m.result(); mr.Data != got.Cooked {
						t.Errorf("stream % x: package cooked %q, model %q", stream, got.Cooked, mr.Data)
					}
				case broken:
					// telnetlib ran the stream with each broken
					// subnegotiation replaced by IAC marker: the
					// package must report SB where telnetlib reported
					// the marker, and otherwise agree.
					w := want
					w.Trace = nil
					for _, e := range want.Trace {
						if e[0] == marker {
							e[0] = telnet.SB
						}
						w.Trace = append(w.Trace, e)
					}
					want = w
					ok = got.Cooked == want.Cooked && equalTrace(got.Trace, want.Trace) &&
						equalStrings(got.SB, want.SB)
				}
				if !ok {
					if f.refs != nil {
						t.Logf("telnetlib ran: stream % x\n  chunks %q", joinChunks(f.refs[i].Chunks), f.refs[i].Chunks)
					}
					reportDiff(t, f.name, c, got, want)
					if failures++; failures >= 5 {
						t.Fatal("too many differences")
					}
				}
			}
		})
		k += len(f.cases)
	}
}

// TestDifferentialDocumented runs fixed streams that show each documented
// difference through both and asserts it.
func TestDifferentialDocumented(t *testing.T) {
	requireTelnetlib(t)
	long := strings.Repeat("z", telnet.DefaultMaxSubnegotiation+10)
	cases := []struct {
		name   string
		c      pyCase
		check  func(got, want diffResult) error
		stream []byte
	}{
		{
			name:   "NUL and DC1 are data here",
			stream: tbytes("a\x00b\x11c\r\x00d", telnet.IAC, telnet.SB, telnet.NAWS, 0, 80, 0, 24, telnet.IAC, telnet.SE),
			check: func(got, want diffResult) error {
				if got.Cooked != "a\x00b\x11c\rd" || want.Cooked != "abc\rd" {
					return errors.New("cooked")
				}
				if !equalStrings(got.SB, []string{"\x1f\x00P\x00\x18"}) || !equalStrings(want.SB, []string{"\x1fP\x18"}) {
					return errors.New("payload")
				}
				return nil
			},
		},
		{
			name:   "command inside SB ends it",
			stream: tbytes("a", telnet.IAC, telnet.SB, telnet.TTYPE, "lost", telnet.IAC, telnet.NOP, "b", telnet.IAC, telnet.SE, "c"),
			check: func(got, want diffResult) error {
				// Here: SB, NOP, then a stray SE with no payload; the
				// data after NOP is data.
				if got.Cooked != "abc" || !equalTrace(got.Trace, [][2]byte{{telnet.SB, 0}, {telnet.NOP, 0}, {telnet.SE, 0}}) ||
					!equalStrings(got.SB, []string{""}) {
					return errors.New("package")
				}
				// telnetlib stays in the subnegotiation: "b" is payload.
				if want.Cooked != "ac" || !equalStrings(want.SB, []string{"\x18lostb"}) {
					return errors.New("telnetlib")
				}
				return nil
			},
		},
		{
			name:   "unterminated SB does not swallow the session",
			stream: tbytes("x", telnet.IAC, telnet.SB, telnet.TTYPE, "hello", telnet.IAC, telnet.GA, "prompt> "),
			check: func(got, want diffResult) error {
				if got.Cooked != "xprompt> " || want.Cooked != "x" {
					return errors.New("cooked")
				}
				return nil
			},
		},
		{
			name:   "SB over the cap is not reported",
			stream: tbytes("a", telnet.IAC, telnet.SB, 201, long, telnet.IAC, telnet.SE, "b"),
			check: func(got, want diffResult) error {
				if got.Cooked != "ab" || want.Cooked != "ab" {
					return errors.New("cooked")
				}
				if !equalTrace(got.Trace, [][2]byte{{telnet.SB, 0}}) || len(got.SB) != 0 {
					return errors.New("package reported the SB")
				}
				if len(want.SB) != 1 || len(want.SB[0]) != 1+len(long) {
					return errors.New("telnetlib")
				}
				return nil
			},
		},
		{
			name:   "no answer to DONT and WONT",
			c:      pyCase{Debug: true},
			stream: tbytes(telnet.IAC, telnet.DONT, telnet.ECHO, telnet.IAC, telnet.WONT, telnet.ECHO, telnet.IAC, telnet.DO, telnet.NAWS),
			check: func(got, want diffResult) error {
				if got.Writes != string(tbytes(telnet.IAC, telnet.WONT, telnet.NAWS)) {
					return errors.New("package")
				}
				if want.Writes != string(tbytes(telnet.IAC, telnet.WONT, telnet.ECHO, telnet.IAC, telnet.DONT, telnet.ECHO, telnet.IAC, telnet.WONT, telnet.NAWS)) {
					return errors.New("telnetlib")
				}
				return nil
			},
		},
	}
	var in []pyCase
	for i := range cases {
		c := &cases[i]
		if !c.c.Debug {
			c.c.Callback = true
		}
		for off := 0; off < len(c.stream); off += 40 {
			c.c.Chunks = append(c.c.Chunks, hex.EncodeToString(c.stream[off:min(off+40, len(c.stream))]))
		}
		in = append(in, c.c)
	}
	py := runTelnetlib(t, in)
	for i, c := range cases {
		got := runPackage(t, c.c)
		if err := c.check(got, py[i]); err != nil {
			t.Errorf("%s: %v differs from what doc.go says:\npackage:\n  %s\ntelnetlib:\n  %s", c.name, err, got, py[i])
		}
	}
}
