package telnet

import "bytes"

// DefaultMaxSubnegotiation is the largest subnegotiation payload a Decoder
// keeps unless told otherwise. Longer ones are discarded whole.
const DefaultMaxSubnegotiation = 64 << 10

// Event is a telnet command found in the byte stream.
//
// Cmd is the command byte. For DO, DONT, WILL and WONT, Opt is the option;
// for every other command it is NOOPT. A subnegotiation yields two events:
// Cmd SB where it begins and Cmd SE where it ends, when its payload
// (option byte first, IAC IAC undoubled) is available from
// Decoder.Subnegotiation.
type Event struct {
	Cmd byte
	Opt byte
	// Overflow is set on an SE event whose subnegotiation was longer than
	// the decoder's limit; its payload was discarded.
	Overflow bool
}

// String names the event for logs, as NegotiationName does.
func (e Event) String() string { return NegotiationName(e.Cmd, e.Opt) }

type decoderState uint8

const (
	stData  decoderState = iota
	stIAC                // after IAC
	stOpt                // after IAC DO/DONT/WILL/WONT
	stSB                 // inside a subnegotiation
	stSBIAC              // after IAC inside a subnegotiation
)

// A Decoder separates a telnet byte stream into cooked data and commands.
// It does no I/O and keeps its state across calls, so the stream may be
// split anywhere: the result does not depend on where.
//
// Cooked data is the stream without commands, with IAC IAC turned into one
// 255 byte and, unless Binary is set, the NUL of each CR NUL pair removed
// (RFC 854: CR NUL is a bare carriage return). A pair is a NUL data byte
// whose previous data byte is a CR, both decoded with Binary off: commands
// between the two do not part them. Every other byte passes unchanged.
//
// A subnegotiation ends only at IAC SE. An IAC followed by any command
// other than IAC or SE inside one ends it without an SE event (the peer
// broke the framing), and the command is then decoded as usual, so an
// unterminated subnegotiation cannot swallow the rest of the session. An
// IAC SE outside a subnegotiation is an SE event with an empty payload.
//
// The zero Decoder is ready to use, with DefaultMaxSubnegotiation.
type Decoder struct {
	// Binary turns off CR NUL handling: set it while the peer sends in
	// BINARY mode (RFC 856). It takes effect from the next byte decoded.
	Binary bool
	// MaxSubnegotiation caps a subnegotiation's payload; 0 means
	// DefaultMaxSubnegotiation.
	MaxSubnegotiation int

	state    decoderState
	cmd      byte // the verb of a negotiation in progress
	cr       bool // the last data byte was CR
	overflow bool
	sb       []byte

	genericScan bool // scan without assembly: for tests

	// Where decodeChunk was when it handed each an event: the index in
	// src after the event, and the cooked data so far (-1, nil: not in
	// an event). A caller keeps what the chunk held when each panics.
	at  int
	out []byte
}

// Decode appends cooked data from src to dst until it meets a command.
// It returns the extended dst, the number of bytes of src consumed and,
// when ok is true, the event that stopped it. Call it again with
// src[n:] until it returns ok == false, which means all of src was
// consumed.
//
// Decode does not allocate except to grow dst and its subnegotiation
// buffer. It may decode in place: with dst = src[:0] the cooked data
// overwrites the raw bytes it came from, since it never runs ahead of
// them.
func (d *Decoder) Decode(dst, src []byte) (out []byte, n int, ev Event, ok bool) {
	if d.state == stData {
		d.releaseSB() // the last payload was valid until this call
	}
	i := 0
	for i < len(src) {
		switch d.state {
		case stData:
			rest := src[i:]
			if d.Binary || !fusedScan || d.genericScan {
				k := bytes.IndexByte(rest, IAC)
				if k < 0 {
					return d.appendData(dst, rest), len(src), Event{}, false
				}
				dst = d.appendData(dst, rest[:k])
				i += k + 1
				d.state = stIAC
				continue
			}
			k := indexIACOrNUL(rest)
			if k < 0 {
				return d.appendPlain(dst, rest), len(src), Event{}, false
			}
			if rest[k] == 0 {
				dst = d.appendData(dst, rest[:k+1])
				i += k + 1
				continue
			}
			dst = d.appendPlain(dst, rest[:k])
			i += k + 1
			d.state = stIAC
		case stIAC:
			c := src[i]
			i++
			switch c {
			case IAC:
				dst = append(dst, IAC)
				d.cr = false
				d.state = stData
			case DO, DONT, WILL, WONT:
				d.cmd = c
				d.state = stOpt
			case SB:
				d.sb = d.sb[:0]
				d.overflow = false
				d.state = stSB
				return dst, i, Event{Cmd: SB, Opt: NOOPT}, true
			case SE:
				// An SE outside a subnegotiation ends nothing: its
				// payload is empty, not the last one's again.
				d.sb = d.sb[:0]
				d.state = stData
				return dst, i, Event{Cmd: SE, Opt: NOOPT}, true
			default:
				d.state = stData
				return dst, i, Event{Cmd: c, Opt: NOOPT}, true
			}
		case stOpt:
			d.state = stData
			return dst, i + 1, Event{Cmd: d.cmd, Opt: src[i]}, true
		case stSB:
			rest := src[i:]
			k := bytes.IndexByte(rest, IAC)
			if k < 0 {
				d.appendSB(rest)
				return dst, len(src), Event{}, false
			}
			d.appendSB(rest[:k])
			i += k + 1
			d.state = stSBIAC
		case stSBIAC:
			c := src[i]
			switch c {
			case IAC:
				d.appendSB(src[i : i+1])
				d.state = stSB
				i++
			case SE:
				d.state = stData
				ev := Event{Cmd: SE, Opt: NOOPT, Overflow: d.overflow}
				if d.overflow {
					d.sb = d.sb[:0]
				}
				return dst, i + 1, ev, true
			default:
				// Framing broken: drop the subnegotiation and decode
				// c as the command it is.
				d.sb = d.sb[:0]
				d.state = stIAC
			}
		}
	}
	return dst, len(src), Event{}, false
}

// decodeChunk decodes all of src, as Decode called until it has consumed
// everything, handing each event to each before it goes on. Subnegotiation
// is valid during each's call, and Binary may change there.
//
// It gives the same result as Decode at a fraction of the cost on bulk
// output: a relay's read brings thousands of data runs, each ended by a
// two- or three-byte command, and decodeChunk takes those commands in
// one loop, finds IAC and NUL with one runScanner rather than a scan for
// each per run (text seldom has a NUL), and leaves only subnegotiations
// and commands split across chunks to Decode.
func (d *Decoder) decodeChunk(dst, src []byte, each func(Event)) []byte {
	runs := newRunScanner(src, d.genericScan)
	for i := 0; i < len(src); {
		if d.state != stData {
			var n int
			var ev Event
			var ok bool
			dst, n, ev, ok = d.Decode(dst, src[i:])
			i += n
			if ok {
				d.at, d.out = i, dst
				each(ev)
				if ev.Cmd == SE {
					d.releaseSB() // each has taken the payload
				}
			}
			continue
		}
		end := runs.next(i, d.Binary)
		if end < len(src) && src[end] == 0 && !d.Binary {
			// A NUL: appendData drops it if it ends a CR NUL pair.
			dst = d.appendData(dst, src[i:end+1])
			i = end + 1
			continue
		}
		dst = d.appendPlain(dst, src[i:end])
		i = end
		if i+1 >= len(src) {
			if i < len(src) { // an IAC ends src
				d.state = stIAC
			}
			break
		}
		switch c := src[i+1]; c {
		case IAC:
			dst = append(dst, IAC)
			d.cr = false
			i += 2
		case DO, DONT, WILL, WONT:
			if i+2 < len(src) {
				i += 3
				d.at, d.out = i, dst
				each(Event{Cmd: c, Opt: src[i-1]})
			} else {
				d.state, d.cmd = stOpt, c
				i += 2
			}
		case SB, SE:
			d.state = stIAC
			i++
		default:
			i += 2
			d.at, d.out = i, dst
			each(Event{Cmd: c, Opt: NOOPT})
		}
	}
	return dst
}

// appendData appends a run of data bytes (no IAC among them), removing the
// NUL of each CR NUL pair unless in binary mode. It looks for NUL rather
// than CR: text has a CR on every line but seldom a NUL, so a run without
// NUL is copied after one scan.
func (d *Decoder) appendData(dst, run []byte) []byte {
	if len(run) == 0 {
		return dst
	}
	if d.Binary {
		d.cr = false
		return appendRun(dst, run)
	}
	if d.cr && run[0] == 0 {
		run = run[1:]
		if len(run) == 0 {
			d.cr = false
			return dst
		}
	}
	// From here a NUL at run[0] does not follow a CR: either the last
	// data byte was not one, or it was and its NUL was just dropped.
	for {
		j := bytes.IndexByte(run, 0)
		if j < 0 {
			break
		}
		if j > 0 && run[j-1] == '\r' {
			dst = appendRun(dst, run[:j])
		} else {
			dst = appendRun(dst, run[:j+1])
		}
		run = run[j+1:]
		if len(run) == 0 {
			d.cr = false
			return dst
		}
	}
	d.cr = run[len(run)-1] == '\r'
	return appendRun(dst, run)
}

// appendPlain appends a run of data bytes that holds no IAC and, unless
// in binary mode, no NUL: nothing in it is dropped.
func (d *Decoder) appendPlain(dst, run []byte) []byte {
	if len(run) == 0 {
		return dst
	}
	d.cr = !d.Binary && run[len(run)-1] == '\r'
	return appendRun(dst, run)
}

// appendRun appends run to dst. Decoding in place, until the first byte
// is dropped the data is already where it belongs: then dst only grows
// over it.
func appendRun(dst, run []byte) []byte {
	if len(run) > 0 && cap(dst)-len(dst) >= len(run) && &dst[:len(dst)+1][len(dst)] == &run[0] {
		return dst[:len(dst)+len(run)]
	}
	return append(dst, run...)
}

func (d *Decoder) appendSB(p []byte) {
	if d.overflow {
		return
	}
	limit := d.MaxSubnegotiation
	if limit <= 0 {
		limit = DefaultMaxSubnegotiation
	}
	if len(d.sb)+len(p) > limit {
		d.overflow = true
		d.sb = d.sb[:0]
		return
	}
	d.sb = append(d.sb, p...)
}

// keptSB is the largest subnegotiation buffer kept for the next
// subnegotiation: a host that sent one long payload must not make an
// idle connection hold that much for good.
const keptSB = 4 << 10

// releaseSB lets go of a large subnegotiation buffer once its payload is
// no longer promised to anyone.
func (d *Decoder) releaseSB() {
	if cap(d.sb) > keptSB {
		d.sb = nil
	}
}

// Subnegotiation returns the payload of the subnegotiation that the last
// SE event ended, option byte first: empty when that SE ended no
// subnegotiation or when the payload overflowed. It is valid until the
// next call to Decode.
func (d *Decoder) Subnegotiation() []byte { return d.sb }

// InSubnegotiation reports whether the decoder is inside a subnegotiation.
func (d *Decoder) InSubnegotiation() bool { return d.state == stSB || d.state == stSBIAC }

// Reset forgets any partial command or subnegotiation, as at the start of
// a new connection. Binary and MaxSubnegotiation are kept.
func (d *Decoder) Reset() {
	d.state = stData
	d.cr = false
	d.overflow = false
	d.sb = d.sb[:0]
}
