package telnet_test

import (
	"bytes"
	"testing"

	"telgate/telnet"
)

// refDecoder is a reference model of the Decoder, written from its
// documentation and kept deliberately naive: one byte at a time, one state
// per position in a command.
//
//   - Outside commands a byte is data, except IAC, which starts one.
//   - IAC IAC is a 255 data byte.
//   - IAC DO, DONT, WILL or WONT takes the next byte as its option.
//   - IAC SB starts a subnegotiation: an SB event, then payload bytes
//     (IAC IAC is a 255 payload byte) up to IAC SE, which is an SE event
//     carrying the payload. IAC followed by anything else inside it ends
//     it with no SE event, and that byte is decoded as the command after
//     an IAC outside a subnegotiation.
//   - A payload longer than the cap is dropped: its SE event carries no
//     payload and the overflow flag.
//   - IAC SE outside a subnegotiation is an SE event with no payload.
//   - Every other IAC x is an event x.
//   - Unless binary, a NUL data byte whose previous data byte was CR is
//     dropped (commands in between do not count).
type refDecoder struct {
	binary bool
	limit  int

	state   int
	verb    byte
	lastCR  bool
	inSB    []byte
	tooLong bool

	data   []byte
	events []decEvent
}

const (
	refData = iota
	refIAC
	refOption
	refSB
	refSBIAC
)

func newRefDecoder(binary bool, limit int) *refDecoder {
	if limit <= 0 {
		limit = telnet.DefaultMaxSubnegotiation
	}
	return &refDecoder{binary: binary, limit: limit}
}

func (m *refDecoder) emit(e decEvent) { m.events = append(m.events, e) }

func (m *refDecoder) dataByte(c byte) {
	if m.binary {
		m.lastCR = false
		m.data = append(m.data, c)
		return
	}
	if c == 0 && m.lastCR {
		m.lastCR = false
		return
	}
	m.lastCR = c == '\r'
	m.data = append(m.data, c)
}

func (m *refDecoder) payloadByte(c byte) {
	if m.tooLong {
		return
	}
	if len(m.inSB) == m.limit {
		m.tooLong = true
		m.inSB = nil
		return
	}
	m.inSB = append(m.inSB, c)
}

func (m *refDecoder) feed(c byte) {
	switch m.state {
	case refData:
		if c == telnet.IAC {
			m.state = refIAC
		} else {
			m.dataByte(c)
		}
	case refIAC:
		m.command(c)
	case refOption:
		m.emit(decEvent{Event: telnet.Event{Cmd: m.verb, Opt: c}})
		m.state = refData
	case refSB:
		if c == telnet.IAC {
			m.state = refSBIAC
		} else {
			m.payloadByte(c)
		}
	case refSBIAC:
		switch c {
		case telnet.IAC:
			m.payloadByte(c)
			m.state = refSB
		case telnet.SE:
			e := decEvent{Event: telnet.Event{Cmd: telnet.SE, Opt: telnet.NOOPT}}
			if m.tooLong {
				e.Overflow = true
			} else {
				e.SB = string(m.inSB)
			}
			m.emit(e)
			m.inSB = nil
			m.state = refData
		default:
			m.inSB = nil
			m.command(c)
		}
	}
}

// command handles the byte after an IAC outside a subnegotiation.
func (m *refDecoder) command(c byte) {
	m.state = refData
	switch c {
	case telnet.IAC:
		m.dataByte(c)
	case telnet.DO, telnet.DONT, telnet.WILL, telnet.WONT:
		m.verb = c
		m.state = refOption
	case telnet.SB:
		m.inSB = nil
		m.tooLong = false
		m.emit(decEvent{Event: telnet.Event{Cmd: telnet.SB, Opt: telnet.NOOPT}})
		m.state = refSB
	default:
		m.emit(decEvent{Event: telnet.Event{Cmd: c, Opt: telnet.NOOPT}})
	}
}

func (m *refDecoder) reset() {
	m.state = refData
	m.lastCR = false
	m.inSB = nil
	m.tooLong = false
}

func (m *refDecoder) result() decResult {
	return decResult{Data: string(m.data), Events: m.events}
}

// fuzzSeeds are the decoder vectors plus a few mixed streams.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, tc := range decoderCases() {
		var all []byte
		for _, s := range tc.segs {
			all = append(all, s...)
		}
		if len(all) <= 4096 {
			seeds = append(seeds, all)
		}
	}
	seeds = append(seeds,
		tbytes("\r", telnet.IAC, telnet.IAC, "\x00\r\x00", telnet.IAC, telnet.DO, telnet.IAC, telnet.IAC, telnet.SB, telnet.IAC, telnet.IAC, telnet.IAC, telnet.IAC, telnet.SE),
		tbytes(telnet.IAC, telnet.SB, 24, "\r", telnet.IAC, telnet.SE, "\x00", telnet.IAC, telnet.SB, telnet.IAC, telnet.SB, telnet.IAC, telnet.SE, telnet.IAC),
		bytes.Repeat(tbytes("ab\r\n", telnet.IAC, telnet.NOP), 20),
		// The peer's binary mode, negotiated mid-stream.
		tbytes("a\r", telnet.IAC, telnet.WILL, telnet.BINARY, "\x00b\r\x00", telnet.IAC, telnet.WONT, telnet.BINARY, "\x00c\r", telnet.IAC, telnet.NOP, "\x00"),
		tbytes("a\r", telnet.IAC, telnet.WILL, telnet.BINARY, "\x00b\r", telnet.IAC, telnet.WONT, telnet.BINARY, "\x00c"),
	)
	return seeds
}

// FuzzDecoder checks the Decoder against the reference model. The fuzzer
// chooses the stream, where to cut it, whether the peer sends in binary
// mode, the subnegotiation cap and where the connection ends (a Reset).
func FuzzDecoder(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(s, []byte{byte(i), 3, 1, 7}, false, uint8(i%9))
		f.Add(s, []byte{1}, i%2 == 0, uint8(0))
	}
	f.Fuzz(func(t *testing.T, stream, cuts []byte, binary bool, capByte uint8) {
		// A cap of 0 is the default (64 KiB); small caps exercise the
		// overflow path.
		sbCap := int(capByte)
		// Cut the stream at positions taken from cuts: each byte is the
		// length of the next chunk (0 means an empty chunk), and a byte
		// of 255 marks a Reset before that chunk.
		var chunks [][]byte
		rest := stream
		resets := map[int]bool{}
		for _, c := range cuts {
			if len(rest) == 0 {
				break
			}
			if c == 255 {
				chunks = append(chunks, nil)
				resets[len(stream)-len(rest)] = true
				continue
			}
			n := min(int(c)%32, len(rest))
			chunks = append(chunks, rest[:n:n])
			rest = rest[n:]
		}
		if len(rest) > 0 {
			chunks = append(chunks, rest)
		}

		m := newRefDecoder(binary, sbCap)
		for i, c := range stream {
			if resets[i] {
				m.reset()
			}
			m.feed(c)
		}
		want := m.result()

		setup := func(d *telnet.Decoder) {
			d.Binary = binary
			d.MaxSubnegotiation = sbCap
		}
		got := decodeChunks(setup, chunks)
		if !got.equal(want) {
			t.Fatalf("chunks %s binary=%v cap=%d:\n got %s\nwant %s", showChunks(chunks), binary, sbCap, clipText(got.String()), clipText(want.String()))
		}
		for _, way := range []decodeWay{byDecodeInPlace, byDecodeGeneric, byChunk, byChunkGeneric} {
			if got := decodeChunksBy(way, setup, chunks); !got.equal(want) {
				t.Fatalf("%s, chunks %s binary=%v cap=%d:\n got %s\nwant %s", way, showChunks(chunks), binary, sbCap, clipText(got.String()), clipText(want.String()))
			}
		}
		// With the peer's binary mode followed as it is negotiated, the
		// two ways agree (the reference model has no negotiation).
		decoded := decodeFollowingBinary(byDecode, chunks)
		for _, way := range []decodeWay{byChunk, byChunkGeneric} {
			if got := decodeFollowingBinary(way, chunks); !got.equal(decoded) {
				t.Fatalf("following BINARY, chunks %s:\n %s %s\n Decode %s", showChunks(chunks), way, clipText(got.String()), clipText(decoded.String()))
			}
		}
		// The same stream byte by byte, and whole.
		var bytewise [][]byte
		for _, c := range chunks {
			if c == nil {
				bytewise = append(bytewise, nil)
				continue
			}
			for k := range c {
				bytewise = append(bytewise, c[k:k+1:k+1])
			}
		}
		if got := decodeChunks(setup, bytewise); !got.equal(want) {
			t.Fatalf("byte by byte binary=%v cap=%d:\n got %s\nwant %s", binary, sbCap, clipText(got.String()), clipText(want.String()))
		}
	})
}

// FuzzEscapeRoundTrip checks that AppendEscaped and AppendSubnegotiation
// produce frames that decode to exactly what was encoded, in any chunking.
func FuzzEscapeRoundTrip(f *testing.F) {
	f.Add([]byte("plain"), byte(24), []byte("\x00VT100"), uint8(3))
	f.Add([]byte{telnet.IAC, telnet.IAC, 0, '\r', telnet.IAC}, byte(telnet.IAC), []byte{telnet.IAC, telnet.SE, telnet.IAC}, uint8(1))
	f.Add([]byte("\r\n\r"), byte(31), []byte{0, 255, 0, 255}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, opt byte, payload []byte, step uint8) {
		var wire []byte
		wire = telnet.AppendEscaped(wire, data)
		wire = telnet.AppendSubnegotiation(wire, opt, payload)
		wire = telnet.AppendEscaped(wire, data)

		n := int(step)%17 + 1
		var chunks [][]byte
		for k := 0; k < len(wire); k += n {
			chunks = append(chunks, wire[k:min(k+n, len(wire))])
		}
		// Binary, so that the data comes back byte for byte: in NVT mode
		// the NUL of a CR NUL pair is not data.
		got := decodeChunks(func(d *telnet.Decoder) { d.Binary = true }, chunks)
		want := decResult{Data: string(data) + string(data)}
		full := append([]byte{opt}, payload...)
		if len(full) <= telnet.DefaultMaxSubnegotiation {
			want.Events = evList(sbBeginEv(), sbEndEv(string(full)))
		} else {
			want.Events = evList(sbBeginEv(), sbOverflowEv())
		}
		if !got.equal(want) {
			t.Fatalf("wire % x:\n got %s\nwant %s", wire, clipText(got.String()), clipText(want.String()))
		}

		// AppendEscaped appends: dst is kept, and only IAC is doubled.
		esc := telnet.AppendEscaped([]byte("pre"), data)
		if !bytes.HasPrefix(esc, []byte("pre")) || len(esc) != 3+len(data)+bytes.Count(data, []byte{telnet.IAC}) {
			t.Fatalf("AppendEscaped(%q) = %q", data, esc)
		}
	})
}
