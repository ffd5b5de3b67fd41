package telnet_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"telgate/telnet"
)

// decEvent is an event as a test records it: with a copy of the
// subnegotiation payload for SE events.
type decEvent struct {
	telnet.Event
	SB string
}

func (e decEvent) String() string {
	s := fmt.Sprintf("%s(%d,%d)", e.Event, e.Cmd, e.Opt)
	if e.Overflow {
		s += "[overflow]"
	}
	if e.Cmd == telnet.SE {
		s += fmt.Sprintf("%q", e.SB)
	}
	return s
}

// decResult is everything a decoder produced from a stream.
type decResult struct {
	Data   string
	Events []decEvent

	followBinary bool // record sets Binary as WILL and WONT BINARY say
}

func (r decResult) equal(o decResult) bool {
	if r.Data != o.Data || len(r.Events) != len(o.Events) {
		return false
	}
	for i := range r.Events {
		if r.Events[i] != o.Events[i] {
			return false
		}
	}
	return true
}

func (r decResult) String() string {
	return fmt.Sprintf("data %q events %v", r.Data, r.Events)
}

// decodeInto feeds one chunk to d, the way a caller of Decode does:
// Decode again with the rest after every event until the chunk is
// consumed.
func decodeInto(d *telnet.Decoder, r *decResult, dst []byte, src []byte) []byte {
	for {
		out, n, ev, ok := d.Decode(dst, src)
		dst = out
		if n < 0 || n > len(src) {
			panic(fmt.Sprintf("Decode consumed %d of %d bytes", n, len(src)))
		}
		if !ok {
			if n != len(src) {
				panic(fmt.Sprintf("Decode returned ok=false after %d of %d bytes", n, len(src)))
			}
			return dst
		}
		r.record(d, ev)
		src = src[n:]
	}
}

// record notes an event, with the subnegotiation it ends.
func (r *decResult) record(d *telnet.Decoder, ev telnet.Event) {
	e := decEvent{Event: ev}
	if ev.Cmd == telnet.SE {
		e.SB = string(d.Subnegotiation())
	}
	r.Events = append(r.Events, e)
	if r.followBinary && ev.Opt == telnet.BINARY && (ev.Cmd == telnet.WILL || ev.Cmd == telnet.WONT) {
		d.Binary = ev.Cmd == telnet.WILL
	}
}

// decodeWay is how a test hands chunks to a decoder.
type decodeWay int

const (
	byDecode        decodeWay = iota // Decode, appending to one buffer
	byDecodeInPlace                  // Decode over each chunk's own bytes, as Read does
	byChunk                          // the read path's decodeChunk, in place
	byChunkGeneric                   // decodeChunk without its assembly scan
	byDecodeGeneric                  // byDecodeInPlace without the assembly scan
)

func (w decodeWay) String() string {
	return [...]string{"Decode", "Decode in place", "decodeChunk", "decodeChunk without assembly", "Decode in place without assembly"}[w]
}

// decodeChunks decodes chunks in order with a fresh decoder configured by
// setup. A nil chunk stands for the end of a connection: the decoder is
// Reset there.
func decodeChunks(setup func(*telnet.Decoder), chunks [][]byte) decResult {
	return decodeChunksBy(byDecode, setup, chunks)
}

// decodeChunksBy is decodeChunks the given way. In place, the cooked data
// overwrites the chunk it comes from.
func decodeChunksBy(way decodeWay, setup func(*telnet.Decoder), chunks [][]byte) decResult {
	var d telnet.Decoder
	if setup != nil {
		setup(&d)
	}
	return decodeWith(way, &d, &decResult{}, chunks)
}

// decodeFollowingBinary is decodeChunksBy with a decoder that turns
// Binary on at WILL BINARY and off at WONT BINARY as soon as it reports
// them, as a Telnet does when its callback agrees to the peer's binary
// mode: the mode changes between two commands of one chunk.
func decodeFollowingBinary(way decodeWay, chunks [][]byte) decResult {
	var d telnet.Decoder
	return decodeWith(way, &d, &decResult{followBinary: true}, chunks)
}

func decodeWith(way decodeWay, d *telnet.Decoder, r *decResult, chunks [][]byte) decResult {
	telnet.SetGenericScan(d, way == byChunkGeneric || way == byDecodeGeneric)
	var data []byte
	for _, c := range chunks {
		if c == nil {
			d.Reset()
			continue
		}
		if way == byDecode {
			data = decodeInto(d, r, data, c)
			continue
		}
		buf := append([]byte(nil), c...)
		var out []byte
		switch way {
		case byChunk, byChunkGeneric:
			out = telnet.DecodeChunk(d, buf[:0], buf, func(ev telnet.Event) { r.record(d, ev) })
		default:
			out = decodeInto(d, r, buf[:0], buf)
		}
		if len(out) > 0 && &out[0] != &buf[0] {
			panic(way.String() + " moved the data out of place")
		}
		data = append(data, out...)
	}
	r.Data = string(data)
	return *r
}

// splits returns the ways the tests cut a stream: whole, in two at every
// offset (empty halves included), byte by byte, and, for short streams, in
// three at every pair of offsets.
func allSplits(s []byte) [][][]byte {
	var out [][][]byte
	out = append(out, [][]byte{s})
	for k := 0; k <= len(s); k++ {
		out = append(out, [][]byte{s[:k:k], s[k:]})
	}
	bytewise := make([][]byte, 0, len(s))
	for k := range s {
		bytewise = append(bytewise, s[k:k+1:k+1])
	}
	out = append(out, bytewise)
	if len(s) <= 80 {
		for i := 1; i < len(s); i++ {
			for j := i + 1; j < len(s); j++ {
				out = append(out, [][]byte{s[:i:i], s[i:j:j], s[j:]})
			}
		}
	}
	return out
}

// segmentSplits returns every chunking of a list of segments separated by
// Reset (nil): each segment is split every way in turn while the others
// stay whole.
func segmentSplits(segs [][]byte) [][][]byte {
	whole := func() [][]byte {
		var out [][]byte
		for i, s := range segs {
			if i > 0 {
				out = append(out, nil)
			}
			out = append(out, s)
		}
		return out
	}
	all := [][][]byte{whole()}
	for i := range segs {
		for _, sp := range allSplits(segs[i]) {
			var out [][]byte
			for j, s := range segs {
				if j > 0 {
					out = append(out, nil)
				}
				if j == i {
					for _, c := range sp {
						if c == nil {
							c = []byte{}
						}
						out = append(out, c)
					}
				} else {
					out = append(out, s)
				}
			}
			all = append(all, out)
		}
	}
	return all
}

// Shorthands for building vectors.
func tbytes(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		default:
			panic(fmt.Sprintf("tbytes: %T", p))
		}
	}
	return b
}

func cmdEv(cmd byte) decEvent { return decEvent{Event: telnet.Event{Cmd: cmd, Opt: telnet.NOOPT}} }
func negEv(cmd, opt byte) decEvent {
	return decEvent{Event: telnet.Event{Cmd: cmd, Opt: opt}}
}
func sbBeginEv() decEvent             { return cmdEv(telnet.SB) }
func sbEndEv(p string) decEvent       { e := cmdEv(telnet.SE); e.SB = p; return e }
func sbOverflowEv() decEvent          { e := cmdEv(telnet.SE); e.Overflow = true; return e }
func evList(e ...decEvent) []decEvent { return e }

type decoderCase struct {
	name string
	// segs are fed in order with a Reset between each two (the end of a
	// connection in the middle of the stream).
	segs   [][]byte
	binary bool
	max    int
	want   decResult
}

func oneSeg(s []byte) [][]byte { return [][]byte{s} }

// decoderCases holds the bug-table vectors (Bn) and the protocol rules
// (C-n, P-n) that concern decoding, with the result this package defines.
func decoderCases() []decoderCase {
	cs := []decoderCase{
		{name: "plain", segs: oneSeg(tbytes("hello, world\r\n")), want: decResult{Data: "hello, world\r\n"}},
		{name: "empty", segs: oneSeg(tbytes()), want: decResult{}},

		// B8, B36, C-12: IAC IAC is one 255 data byte.
		{name: "B8 IAC IAC twice", segs: oneSeg(tbytes(telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, 0xe4)), want: decResult{Data: "\xff\xff\xe4"}},
		{name: "B36 Hello IAC IAC World", segs: oneSeg(tbytes("Hello ", telnet.IAC, telnet.IAC, "World")), want: decResult{Data: "Hello \xffWorld"}},
		{name: "IAC IAC at end", segs: oneSeg(tbytes("x", telnet.IAC, telnet.IAC)), want: decResult{Data: "x\xff"}},
		{name: "IAC IAC IAC NOP", segs: oneSeg(tbytes(telnet.IAC, telnet.IAC, telnet.IAC, telnet.NOP, "z")), want: decResult{Data: "\xffz", Events: evList(cmdEv(telnet.NOP))}},

		// B3: data before a command that ends the segment.
		{name: "B3 hello WILL ECHO", segs: oneSeg(tbytes("hello", telnet.IAC, telnet.WILL, telnet.ECHO)), want: decResult{Data: "hello", Events: evList(negEv(telnet.WILL, telnet.ECHO))}},

		// B13: CR before a command or before IAC IAC.
		{name: "B13 CR GA", segs: oneSeg(tbytes("ab\r", telnet.IAC, telnet.GA, "cd")), want: decResult{Data: "ab\rcd", Events: evList(cmdEv(telnet.GA))}},
		{name: "B13 CR IAC IAC DO NAWS", segs: oneSeg(tbytes("\r", telnet.IAC, telnet.IAC, telnet.IAC, telnet.DO, telnet.NAWS)), want: decResult{Data: "\r\xff", Events: evList(negEv(telnet.DO, telnet.NAWS))}},

		// B23, B24.
		{name: "B23 NOP eats nothing", segs: oneSeg(tbytes("ab", telnet.IAC, telnet.NOP, "cd")), want: decResult{Data: "abcd", Events: evList(cmdEv(telnet.NOP))}},
		{name: "B23 empty SB", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, telnet.IAC, telnet.SE)), want: decResult{Events: evList(sbBeginEv(), sbEndEv(""))}},
		{name: "B24 prompt GA", segs: oneSeg(tbytes("prompt> ", telnet.IAC, telnet.GA)), want: decResult{Data: "prompt> ", Events: evList(cmdEv(telnet.GA))}},

		// Negotiations, including option bytes that are commands or NUL.
		{name: "negotiations", segs: oneSeg(tbytes(telnet.IAC, telnet.DO, telnet.TTYPE, "a", telnet.IAC, telnet.DONT, 0, telnet.IAC, telnet.WILL, 255, "b", telnet.IAC, telnet.WONT, telnet.SE)),
			want: decResult{Data: "ab", Events: evList(negEv(telnet.DO, telnet.TTYPE), negEv(telnet.DONT, 0), negEv(telnet.WILL, 255), negEv(telnet.WONT, telnet.SE))}},
		{name: "C-11 IAC NUL and IAC DC1 are commands", segs: oneSeg(tbytes("a", telnet.IAC, 0, "b", telnet.IAC, 0x11, "c")),
			want: decResult{Data: "abc", Events: evList(cmdEv(0), cmdEv(0x11))}},

		// B5, P-2: only IAC SE ends a subnegotiation; F0 in it is data.
		{name: "B5 F0 in GMCP payload", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 201, `Core.Hello {"x":"😀"}`, telnet.IAC, telnet.SE, "after")),
			want: decResult{Data: "after", Events: evList(sbBeginEv(), sbEndEv("\xc9Core.Hello {\"x\":\"😀\"}"))}},
		{name: "P-2 bare SE byte in SB", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, telnet.SE, telnet.SE, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x18\xf0\xf0"))}},

		// B10, C-10: escaped IAC and NUL bytes stay in the payload.
		{name: "B10 NAWS with IAC IAC", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 0x1f, 0, telnet.IAC, telnet.IAC, 0, 0x18, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x1f\x00\xff\x00\x18"))}},
		{name: "NAWS 255x255", segs: oneSeg(telnet.AppendNAWS(nil, 255, 255)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x1f\x00\xff\x00\xff"))}},
		{name: "NEW-ENVIRON with NUL and DC1", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 39, 1, 0, "USER", 0x11, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("'\x01\x00USER\x11"))}},

		// C-25: CPython's test_SB_commands frames.
		{name: "C-25 SB frames", segs: oneSeg(tbytes(
			telnet.IAC, telnet.SB, telnet.IAC, telnet.SE,
			telnet.IAC, telnet.SB, telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE,
			telnet.IAC, telnet.SB, telnet.IAC, telnet.IAC, "aa", telnet.IAC, telnet.SE,
			telnet.IAC, telnet.SB, "bb", telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE,
			telnet.IAC, telnet.SB, "cc", telnet.IAC, telnet.IAC, "dd", telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(
				sbBeginEv(), sbEndEv(""),
				sbBeginEv(), sbEndEv("\xff"),
				sbBeginEv(), sbEndEv("\xffaa"),
				sbBeginEv(), sbEndEv("bb\xff"),
				sbBeginEv(), sbEndEv("cc\xffdd"))}},

		// B19: an unsolicited COM-PORT notification before every line.
		{name: "B19 COM-PORT notify", segs: oneSeg(tbytes(
			telnet.IAC, telnet.SB, 44, 106, 96, telnet.IAC, telnet.SE, "line 1\r\n",
			telnet.IAC, telnet.SB, 44, 106, 96, telnet.IAC, telnet.SE, "line 2\r\n")),
			want: decResult{Data: "line 1\r\nline 2\r\n", Events: evList(
				sbBeginEv(), sbEndEv("\x2c\x6a\x60"), sbBeginEv(), sbEndEv("\x2c\x6a\x60"))}},

		// B6, B31: frames between text; the splits cut them everywhere.
		{name: "B6 frames between text", segs: oneSeg(tbytes(
			"login: ", telnet.IAC, telnet.DO, telnet.TTYPE, telnet.IAC, telnet.SB, telnet.TTYPE, telnet.SubSEND, telnet.IAC, telnet.SE,
			"x", telnet.IAC, telnet.SB, telnet.NAWS, 0, 80, 0, 24, telnet.IAC, telnet.SE, telnet.IAC, telnet.GA)),
			want: decResult{Data: "login: x", Events: evList(
				negEv(telnet.DO, telnet.TTYPE), sbBeginEv(), sbEndEv("\x18\x01"), sbBeginEv(), sbEndEv("\x1f\x00P\x00\x18"), cmdEv(telnet.GA))}},

		// B9 and the documented rule: a command inside an SB ends it.
		{name: "B9 unterminated SB then GA", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 201, "abc", telnet.IAC, telnet.GA, "prompt>")),
			want: decResult{Data: "prompt>", Events: evList(sbBeginEv(), cmdEv(telnet.GA))}},
		{name: "negotiation inside SB", segs: oneSeg(tbytes("a", telnet.IAC, telnet.SB, 24, "xyz", telnet.IAC, telnet.WILL, telnet.ECHO, "b")),
			want: decResult{Data: "ab", Events: evList(sbBeginEv(), negEv(telnet.WILL, telnet.ECHO))}},
		{name: "SB inside SB", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, "lost", telnet.IAC, telnet.SB, 31, 0, 80, 0, 24, telnet.IAC, telnet.SE, "ok")),
			want: decResult{Data: "ok", Events: evList(sbBeginEv(), sbBeginEv(), sbEndEv("\x1f\x00P\x00\x18"))}},
		{name: "IAC IAC then command inside SB", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, telnet.IAC, telnet.IAC, telnet.IAC, telnet.NOP, "z")),
			want: decResult{Data: "z", Events: evList(sbBeginEv(), cmdEv(telnet.NOP))}},

		// C-16: SE outside a subnegotiation is an event with no payload,
		// also right after a subnegotiation whose payload it must not
		// repeat.
		{name: "SE without SB", segs: oneSeg(tbytes("a", telnet.IAC, telnet.SE, "b")),
			want: decResult{Data: "ab", Events: evList(sbEndEv(""))}},
		{name: "SE twice", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, 0, "VT100", telnet.IAC, telnet.SE, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x18\x00VT100"), sbEndEv(""))}},

		// C-26: every two-byte command, alone and between data.
		{name: "B1 commands between data", segs: oneSeg(func() []byte {
			var b []byte
			for _, c := range []byte{telnet.DM, telnet.NOP, telnet.AYT, telnet.BRK, telnet.IP, telnet.AO, telnet.EC, telnet.EL, telnet.EOR_CMD, telnet.GA, 88} {
				b = append(b, "ab"...)
				b = append(b, telnet.IAC, c)
				b = append(b, "cd"...)
			}
			return b
		}()), want: decResult{Data: strings.Repeat("abcd", 11), Events: evList(
			cmdEv(telnet.DM), cmdEv(telnet.NOP), cmdEv(telnet.AYT), cmdEv(telnet.BRK), cmdEv(telnet.IP), cmdEv(telnet.AO),
			cmdEv(telnet.EC), cmdEv(telnet.EL), cmdEv(telnet.EOR_CMD), cmdEv(telnet.GA), cmdEv(88))}},
		{name: "C-26 commands surrounded by 100 bytes", segs: oneSeg(tbytes(strings.Repeat("x", 100), telnet.IAC, telnet.AYT, strings.Repeat("y", 100))),
			want: decResult{Data: strings.Repeat("x", 100) + strings.Repeat("y", 100), Events: evList(cmdEv(telnet.AYT))}},

		// B27, P-7: CR NUL.
		{name: "B27 NUL and DC1 kept", segs: oneSeg(tbytes("a\x00b\x11c\x00")), want: decResult{Data: "a\x00b\x11c\x00"}},
		{name: "CR NUL", segs: oneSeg(tbytes("a\r\x00b")), want: decResult{Data: "a\rb"}},
		{name: "CR LF", segs: oneSeg(tbytes("a\r\nb\r\n")), want: decResult{Data: "a\r\nb\r\n"}},
		{name: "only the NUL after CR", segs: oneSeg(tbytes("\x00\r\x00\x00\r\r\x00\r")), want: decResult{Data: "\x00\r\x00\r\r\r"}},
		{name: "CR NUL at end", segs: oneSeg(tbytes("ab\r\x00")), want: decResult{Data: "ab\r"}},
		{name: "CR NUL in binary", binary: true, segs: oneSeg(tbytes("a\r\x00b\r\x00")), want: decResult{Data: "a\r\x00b\r\x00"}},
		{name: "Cisco prompt", segs: oneSeg(tbytes("\r\x00HOST#")), want: decResult{Data: "\rHOST#"}},
		{name: "CR command NUL", segs: oneSeg(tbytes("a\r", telnet.IAC, telnet.NOP, "\x00b")),
			want: decResult{Data: "a\rb", Events: evList(cmdEv(telnet.NOP))}},
		{name: "CR SB NUL", segs: oneSeg(tbytes("a\r", telnet.IAC, telnet.SB, 24, 0, telnet.IAC, telnet.SE, "\x00b")),
			want: decResult{Data: "a\rb", Events: evList(sbBeginEv(), sbEndEv("\x18\x00"))}},
		{name: "CR IAC IAC NUL", segs: oneSeg(tbytes("\r", telnet.IAC, telnet.IAC, "\x00")), want: decResult{Data: "\r\xff\x00"}},
		{name: "CR NUL inside SB is payload", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, "\r\x00", telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x18\r\x00"))}},

		// B7: truncated SBs, then the end of the connection.
		{name: "B7 IAC SB IAC EOF", segs: [][]byte{tbytes(telnet.IAC, telnet.SB, telnet.IAC), tbytes("ok")},
			want: decResult{Data: "ok", Events: evList(sbBeginEv())}},
		{name: "B7 IAC SB EOF", segs: [][]byte{tbytes(telnet.IAC, telnet.SB), tbytes("ok")},
			want: decResult{Data: "ok", Events: evList(sbBeginEv())}},
		{name: "B7 IAC SB TTYPE EOF", segs: [][]byte{tbytes(telnet.IAC, telnet.SB, 24), tbytes(telnet.SE, "ok")},
			want: decResult{Data: "\xf0ok", Events: evList(sbBeginEv())}},
		{name: "B7 SB with option IAC", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\xff"))}},

		// Reset in the middle of every kind of sequence.
		{name: "EOF after IAC", segs: [][]byte{tbytes("ab", telnet.IAC), tbytes(telnet.NOP, "cd")}, want: decResult{Data: "ab\xf1cd"}},
		{name: "EOF after IAC DO", segs: [][]byte{tbytes(telnet.IAC, telnet.DO), tbytes("x")}, want: decResult{Data: "x"}},
		{name: "EOF after IAC in SB", segs: [][]byte{tbytes(telnet.IAC, telnet.SB, 24, "abc", telnet.IAC), tbytes(telnet.SE, "def", telnet.IAC, telnet.SE)},
			want: decResult{Data: "\xf0def", Events: evList(sbBeginEv(), sbEndEv(""))}},
		{name: "EOF after CR", segs: [][]byte{tbytes("a\r"), tbytes("\x00b")}, want: decResult{Data: "a\r\x00b"}},
	}

	// B1: each command between "ab" and "cd".
	for _, c := range []byte{0xf2, 0xf1, 0xf6, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xef} {
		cs = append(cs, decoderCase{
			name: "B1 " + telnet.CommandName(c),
			segs: oneSeg(tbytes("ab", telnet.IAC, c, "cd")),
			want: decResult{Data: "abcd", Events: evList(cmdEv(c))},
		})
	}

	// B11, B12: SBs over the cap, escaped or not, then data.
	long := bytes.Repeat([]byte{telnet.IAC, telnet.IAC}, 10000)
	cs = append(cs,
		decoderCase{name: "B11 endless IAC IAC in SB", max: 64,
			segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 201, long, telnet.IAC, telnet.SE, "OK")),
			want: decResult{Data: "OK", Events: evList(sbBeginEv(), sbOverflowEv())}},
		decoderCase{name: "B12 20 KB SB over a 16 KiB cap", max: 16 << 10,
			segs: oneSeg(tbytes("a", telnet.IAC, telnet.SB, 201, strings.Repeat("x", 20000), telnet.IAC, telnet.SE, "OK")),
			want: decResult{Data: "aOK", Events: evList(sbBeginEv(), sbOverflowEv())}},
		decoderCase{name: "SB at the cap", max: 4,
			segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, "abc", telnet.IAC, telnet.SE, telnet.IAC, telnet.SB, 24, "abcd", telnet.IAC, telnet.SE, telnet.IAC, telnet.SB, 24, "ab", telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE)),
			want: decResult{Events: evList(sbBeginEv(), sbEndEv("\x18abc"), sbBeginEv(), sbOverflowEv(), sbBeginEv(), sbEndEv("\x18ab\xff"))}},
		decoderCase{name: "escaped IAC counts toward the cap", max: 3,
			segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE, "z")),
			want: decResult{Data: "z", Events: evList(sbBeginEv(), sbOverflowEv())}},
		decoderCase{name: "overflowed SB ended by a command", max: 4,
			segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, "toolong", telnet.IAC, telnet.NOP, "z", telnet.IAC, telnet.SB, 24, "ok", telnet.IAC, telnet.SE)),
			want: decResult{Data: "z", Events: evList(sbBeginEv(), cmdEv(telnet.NOP), sbBeginEv(), sbEndEv("\x18ok"))}},
		decoderCase{name: "default cap", segs: oneSeg(tbytes(telnet.IAC, telnet.SB, 24, strings.Repeat("y", telnet.DefaultMaxSubnegotiation-1), telnet.IAC, telnet.SE,
			telnet.IAC, telnet.SB, 24, strings.Repeat("y", telnet.DefaultMaxSubnegotiation), telnet.IAC, telnet.SE, "tail")),
			want: decResult{Data: "tail", Events: evList(sbBeginEv(), sbEndEv("\x18"+strings.Repeat("y", telnet.DefaultMaxSubnegotiation-1)), sbBeginEv(), sbOverflowEv())}},
	)
	return cs
}

func TestDecoderVectors(t *testing.T) {
	for _, tc := range decoderCases() {
		t.Run(tc.name, func(t *testing.T) {
			setup := func(d *telnet.Decoder) {
				d.Binary = tc.binary
				d.MaxSubnegotiation = tc.max
			}
			total := 0
			for _, s := range tc.segs {
				total += len(s)
			}
			chunkings := segmentSplits(tc.segs)
			if total > 1000 {
				// Long vectors: whole, byte by byte and a spread of cuts.
				chunkings = chunkings[:1]
				for i, s := range tc.segs {
					for _, k := range []int{0, 1, 2, 3, 4, len(s) / 3, len(s) / 2, len(s) - 4, len(s) - 3, len(s) - 2, len(s) - 1, len(s)} {
						if k < 0 || k > len(s) {
							continue
						}
						var c [][]byte
						for j, x := range tc.segs {
							if j > 0 {
								c = append(c, nil)
							}
							if j == i {
								c = append(c, x[:k:k], x[k:])
							} else {
								c = append(c, x)
							}
						}
						chunkings = append(chunkings, c)
					}
					var bw [][]byte
					for j, x := range tc.segs {
						if j > 0 {
							bw = append(bw, nil)
						}
						for k := range x {
							bw = append(bw, x[k:k+1:k+1])
						}
					}
					chunkings = append(chunkings, bw)
				}
			}
			for _, chunks := range chunkings {
				got := decodeChunks(setup, chunks)
				if !got.equal(tc.want) {
					t.Fatalf("chunks %s:\n got %s\nwant %s", showChunks(chunks), clipText(got.String()), clipText(tc.want.String()))
				}
				for _, way := range []decodeWay{byDecodeInPlace, byDecodeGeneric, byChunk, byChunkGeneric} {
					if got := decodeChunksBy(way, setup, chunks); !got.equal(tc.want) {
						t.Fatalf("%s, chunks %s:\n got %s\nwant %s", way, showChunks(chunks), clipText(got.String()), clipText(tc.want.String()))
					}
				}
			}
		})
	}
}

func showChunks(chunks [][]byte) string {
	var parts []string
	for _, c := range chunks {
		if c == nil {
			parts = append(parts, "<reset>")
			continue
		}
		parts = append(parts, clipText(fmt.Sprintf("% x", c)))
	}
	return "[" + strings.Join(parts, " | ") + "]"
}

func clipText(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("...(%d more)", len(s)-300)
	}
	return s
}

// The model of fuzz_test.go must agree with every vector, split or not.
func TestDecoderVectorsModel(t *testing.T) {
	for _, tc := range decoderCases() {
		m := newRefDecoder(tc.binary, tc.max)
		for i, s := range tc.segs {
			if i > 0 {
				m.reset()
			}
			for _, c := range s {
				m.feed(c)
			}
		}
		if got := m.result(); !got.equal(tc.want) {
			t.Errorf("%s: model\n got %s\nwant %s", tc.name, clipText(got.String()), clipText(tc.want.String()))
		}
	}
}

func TestDecoderAppendsToDst(t *testing.T) {
	var d telnet.Decoder
	dst := []byte("prefix:")
	out, n, e, ok := d.Decode(dst, tbytes("ab", telnet.IAC, telnet.IAC, "c", telnet.IAC, telnet.NOP, "rest"))
	if string(out) != "prefix:ab\xffc" || n != 7 || !ok || e.Cmd != telnet.NOP || e.Opt != telnet.NOOPT {
		t.Fatalf("Decode = %q, %d, %v, %v", out, n, e, ok)
	}
	out, n, _, ok = d.Decode(out, tbytes("rest"))
	if string(out) != "prefix:ab\xffcrest" || n != 4 || ok {
		t.Fatalf("Decode = %q, %d, %v", out, n, ok)
	}
}

// Binary takes effect from the next byte decoded: after the event that
// turned it on, a pending CR no longer eats a NUL, and after it is turned
// off a NUL that follows a CR received in binary mode is kept.
func TestDecoderBinaryToggle(t *testing.T) {
	var d telnet.Decoder
	src := tbytes("a\r", telnet.IAC, telnet.WILL, telnet.BINARY, "\x00b\r", telnet.IAC, telnet.WONT, telnet.BINARY, "\x00c\r\x00")
	var dst []byte
	for len(src) > 0 {
		var n int
		var e telnet.Event
		var ok bool
		dst, n, e, ok = d.Decode(dst, src)
		src = src[n:]
		if ok && e.Opt == telnet.BINARY {
			d.Binary = e.Cmd == telnet.WILL
		}
	}
	if want := "a\r\x00b\r\x00c\r"; string(dst) != want {
		t.Fatalf("got %q, want %q", dst, want)
	}
}

func TestDecoderInSubnegotiation(t *testing.T) {
	var d telnet.Decoder
	steps := []struct {
		in   []byte
		want bool
	}{
		{tbytes("x"), false},
		{tbytes(telnet.IAC), false},
		{tbytes(telnet.SB), true},
		{tbytes(24, "ab"), true},
		{tbytes(telnet.IAC), true},
		{tbytes(telnet.IAC), true},
		{tbytes(telnet.IAC, telnet.SE), false},
		{tbytes(telnet.IAC, telnet.SB, 24), true},
	}
	for i, s := range steps {
		var r decResult
		decodeInto(&d, &r, nil, s.in)
		if got := d.InSubnegotiation(); got != s.want {
			t.Fatalf("step %d: InSubnegotiation = %v, want %v", i, got, s.want)
		}
	}
	d.Reset()
	if d.InSubnegotiation() {
		t.Fatal("InSubnegotiation after Reset")
	}
}

// Reset keeps the configuration.
func TestDecoderResetKeepsSettings(t *testing.T) {
	d := telnet.Decoder{Binary: true, MaxSubnegotiation: 2}
	var r decResult
	decodeInto(&d, &r, nil, tbytes(telnet.IAC, telnet.SB, 24, "abc"))
	d.Reset()
	if !d.Binary || d.MaxSubnegotiation != 2 {
		t.Fatalf("Reset changed settings: %+v", d)
	}
	r = decResult{}
	out := decodeInto(&d, &r, nil, tbytes("\r\x00", telnet.IAC, telnet.SB, 24, "a", telnet.IAC, telnet.SE, telnet.IAC, telnet.SB, 24, "ab", telnet.IAC, telnet.SE))
	r.Data = string(out)
	want := decResult{Data: "\r\x00", Events: evList(sbBeginEv(), sbEndEv("\x18a"), sbBeginEv(), sbOverflowEv())}
	if !r.equal(want) {
		t.Fatalf("got %s, want %s", r, want)
	}
}

// The subnegotiation buffer stays bounded by the cap however long the
// payload, escaped or not.
func TestDecoderSubnegotiationMemoryBounded(t *testing.T) {
	d := telnet.Decoder{MaxSubnegotiation: 1024}
	var r decResult
	decodeInto(&d, &r, nil, tbytes(telnet.IAC, telnet.SB, 201))
	chunk := bytes.Repeat([]byte{telnet.IAC, telnet.IAC, 'x'}, 1000)
	for i := 0; i < 1000; i++ {
		decodeInto(&d, &r, nil, chunk)
		if c := cap(d.Subnegotiation()); c > 4096 {
			t.Fatalf("subnegotiation buffer grew to %d bytes", c)
		}
	}
}

func TestDecoderNoAllocs(t *testing.T) {
	src := bytes.Repeat(tbytes("some text\r\n", telnet.IAC, telnet.IAC, "x\r\x00", telnet.IAC, telnet.NOP, telnet.IAC, telnet.SB, 24, 0, "VT100", telnet.IAC, telnet.SE), 100)
	dst := make([]byte, 0, len(src))
	var d telnet.Decoder
	run := func() {
		dst = dst[:0]
		s := src
		for len(s) > 0 {
			var n int
			dst, n, _, _ = d.Decode(dst, s)
			s = s[n:]
		}
	}
	run() // grow the subnegotiation buffer
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Fatalf("Decode allocates %.1f times per run in steady state", a)
	}
}

// A CR that ends one chunk and a NUL that begins the next are a pair; the
// vectors' splits cover this everywhere, this states it plainly.
func TestDecoderCRNULAcrossChunks(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		binary bool
		want   string
	}{
		{[]string{"a\r", "\x00b"}, false, "a\rb"},
		{[]string{"a\r", "\x00\x00b"}, false, "a\r\x00b"},
		{[]string{"a\r", "", "\x00b"}, false, "a\rb"},
		{[]string{"a\r", "\r\x00"}, false, "a\r\r"},
		{[]string{"a\r", "\nb"}, false, "a\r\nb"},
		{[]string{"a\r", "\x00b"}, true, "a\r\x00b"},
	} {
		var chunks [][]byte
		for _, c := range tc.chunks {
			chunks = append(chunks, []byte(c))
		}
		got := decodeChunks(func(d *telnet.Decoder) { d.Binary = tc.binary }, chunks)
		if got.Data != tc.want || len(got.Events) != 0 {
			t.Errorf("%q binary=%v: got %s, want %q", tc.chunks, tc.binary, got, tc.want)
		}
	}
}

// A peer that sends nothing but CR NUL and NUL is decoded in one pass
// whatever the way: a scan that looked for IAC again after every NUL
// would take hours over these 4 MiB, not milliseconds.
func TestDecoderNULFlood(t *testing.T) {
	stream := bytes.Repeat([]byte("\r\x00x\x00"), 1<<20)
	want := strings.Repeat("\rx\x00", 1<<20)
	for _, way := range []decodeWay{byDecode, byDecodeInPlace, byDecodeGeneric, byChunk, byChunkGeneric} {
		got := decodeChunksBy(way, nil, [][]byte{stream})
		if got.Data != want || len(got.Events) != 0 {
			t.Errorf("%s: %d bytes and %d events, want %d bytes and none", way, len(got.Data), len(got.Events), len(want))
		}
	}
}
