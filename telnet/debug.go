package telnet

import (
	"fmt"
	"io"
	"strings"
)

// SetDebugLevel sets the debug level. Above 0, the Telnet prints
// telnetlib's debug lines ("Telnet(host,port): recv b'...'", "send ...",
// "IAC DO 1") to the debug output, os.Stdout unless SetDebugOutput says
// otherwise.
func (t *Telnet) SetDebugLevel(level int) {
	t.debugMu.Lock()
	t.debug = level
	t.debugMu.Unlock()
}

// SetDebugOutput sets where debug lines go.
func (t *Telnet) SetDebugOutput(w io.Writer) {
	t.debugMu.Lock()
	t.debugOut = w
	t.debugMu.Unlock()
}

func (t *Telnet) debugging() bool {
	t.debugMu.Lock()
	defer t.debugMu.Unlock()
	return t.debug > 0
}

// Msg prints a debug line when the debug level is above 0: the prefix
// "Telnet(host,port): ", then format with args substituted as fmt.Sprintf
// does (or format alone when there are no args).
func (t *Telnet) Msg(format string, args ...any) {
	t.debugMu.Lock()
	defer t.debugMu.Unlock()
	if t.debug <= 0 || t.debugOut == nil {
		return
	}
	host := t.host
	if host == "" && t.conn == nil {
		host = "None"
	}
	line := format
	if len(args) > 0 {
		line = fmt.Sprintf(format, args...)
	}
	fmt.Fprintf(t.debugOut, "Telnet(%s,%d): %s\n", host, t.port, line)
}

// pyBytes formats p as Python's repr of a bytes object, so that debug
// lines read as telnetlib's do.
func pyBytes(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(p) + 3)
	b.WriteByte('b')
	b.WriteByte(quote)
	const hex = "0123456789abcdef"
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
