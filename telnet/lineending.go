package telnet

import (
	"bytes"
	"fmt"
)

// A LineEnding says what a bare carriage return typed at a terminal (its
// Enter key) becomes on the wire. RFC 854 allows a CR only as CR LF
// (newline) or CR NUL (carriage return); in BINARY mode (RFC 856) bytes go
// untranslated.
type LineEnding uint8

const (
	// CRNUL sends CR NUL, the NVT's bare carriage return; telnet
	// servers treat it as Enter. The default.
	CRNUL LineEnding = iota
	// CRLF sends CR LF, for devices that want a newline.
	CRLF
	// RawCR sends the CR alone, as in BINARY mode.
	RawCR
)

// ParseLineEnding parses "crnul", "crlf" or "cr".
func ParseLineEnding(s string) (LineEnding, error) {
	switch s {
	case "", "crnul":
		return CRNUL, nil
	case "crlf":
		return CRLF, nil
	case "cr":
		return RawCR, nil
	}
	return 0, fmt.Errorf("telnet: unknown line ending %q (want crnul, crlf or cr)", s)
}

func (e LineEnding) String() string {
	switch e {
	case CRLF:
		return "crlf"
	case RawCR:
		return "cr"
	}
	return "crnul"
}

// AppendLineEndings appends p to dst with every CR that is not followed by
// LF in p replaced as e says. A CR at the end of p is translated at once,
// never held back for the next byte, so Enter costs no latency. IAC is not
// escaped here.
func AppendLineEndings(dst, p []byte, e LineEnding) []byte {
	if e == RawCR {
		return append(dst, p...)
	}
	for {
		i := bytes.IndexByte(p, '\r')
		if i < 0 {
			return append(dst, p...)
		}
		dst = append(dst, p[:i+1]...)
		p = p[i+1:]
		if len(p) > 0 && p[0] == '\n' {
			continue
		}
		if e == CRLF {
			dst = append(dst, '\n')
		} else {
			dst = append(dst, 0)
		}
	}
}
