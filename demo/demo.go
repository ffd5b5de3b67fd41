// Package demo is a small telnet host that shows a new user the whole path
// work: it negotiates the window size (NAWS) and terminal type (TTYPE)
// through real telnet, shows what it received and follows resizes, echoes
// what is typed and reports the telnet commands it receives (BREAK,
// interrupt, ...). telgate starts it on loopback when run with no target.
package demo

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"telgate/telnet"
)

// Server is a running demo host.
type Server struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conn   map[net.Conn]struct{}
	closed bool // Close has begun: a connection accepted now is closed at once
}

// Listen starts a demo host on addr (for example "127.0.0.1:0"). It serves
// until Close.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	s := &Server{ln: ln, conn: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns the host's address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the host and ends its sessions.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conn {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			// Accepted as Close went through the sessions.
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conn[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			newSession(c).run()
			s.mu.Lock()
			delete(s.conn, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// bannerWait is how long the host waits for the client's size and type
// before greeting without them.
const bannerWait = 500 * time.Millisecond

type session struct {
	conn net.Conn
	wmu  sync.Mutex // writes come from the reader and the banner timer

	mu       sync.Mutex // guards the fields below
	cols     int
	rows     int
	term     string
	greeted  bool
	line     []byte
	lastCR   bool
	esc      escape // where in a key's escape sequence the input is
	nawsSeen bool
	termSeen bool
}

func newSession(c net.Conn) *session { return &session{conn: c} }

func (s *session) write(p []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.conn.Write(p); err != nil {
		_ = s.conn.Close()
	}
}

// say writes text, turning \n into CR LF.
func (s *session) say(text string) {
	s.write(telnet.AppendEscaped(nil, []byte(strings.ReplaceAll(text, "\n", "\r\n"))))
}

func (s *session) run() {
	s.write([]byte{
		telnet.IAC, telnet.WILL, telnet.ECHO,
		telnet.IAC, telnet.WILL, telnet.SGA,
		telnet.IAC, telnet.DO, telnet.NAWS,
		telnet.IAC, telnet.DO, telnet.TTYPE,
	})
	timer := time.AfterFunc(bannerWait, s.greet)
	defer timer.Stop()

	var dec telnet.Decoder
	buf := make([]byte, 4096)
	var data []byte
	for {
		n, err := s.conn.Read(buf)
		src := buf[:n]
		for len(src) > 0 {
			var ev telnet.Event
			var used int
			var ok bool
			data, used, ev, ok = dec.Decode(data[:0], src)
			src = src[used:]
			if len(data) > 0 && !s.input(data) {
				return
			}
			data = data[:0]
			if ok {
				s.event(ev, dec.Subnegotiation())
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *session) event(ev telnet.Event, sb []byte) {
	switch ev.Cmd {
	case telnet.WILL:
		if ev.Opt == telnet.TTYPE {
			s.write(telnet.AppendTTypeSend(nil))
		}
	case telnet.WONT:
		s.mu.Lock()
		switch ev.Opt {
		case telnet.TTYPE:
			s.termSeen = true
		case telnet.NAWS:
			s.nawsSeen = true
		}
		s.mu.Unlock()
		s.greetIfReady()
	case telnet.SE:
		if cols, rows, ok := telnet.ParseNAWS(sb); ok {
			s.mu.Lock()
			s.cols, s.rows, s.nawsSeen = cols, rows, true
			greeted := s.greeted
			s.mu.Unlock()
			if greeted {
				s.say(fmt.Sprintf("\n\x1b[36m[window resized to %dx%d]\x1b[0m\n", cols, rows))
				s.prompt()
			}
			s.greetIfReady()
		} else if name, ok := telnet.ParseTTypeIs(sb); ok {
			s.mu.Lock()
			s.term, s.termSeen = name, true
			s.mu.Unlock()
			s.greetIfReady()
		}
	case telnet.BRK, telnet.IP, telnet.AO, telnet.AYT, telnet.EC, telnet.EL, telnet.GA, telnet.NOP:
		s.command(ev.Cmd)
	}
}

// eraseChar removes the line's last character, all of its UTF-8 bytes;
// s.mu is held.
func (s *session) eraseChar() {
	i := len(s.line) - 1
	for i > 0 && s.line[i]&0xc0 == 0x80 {
		i--
	}
	s.line = s.line[:max(i, 0)]
}

var commandWords = map[byte]string{
	telnet.BRK: "BREAK", telnet.IP: "INTERRUPT PROCESS", telnet.AO: "ABORT OUTPUT",
	telnet.AYT: "ARE YOU THERE", telnet.EC: "ERASE CHARACTER", telnet.EL: "ERASE LINE",
	telnet.GA: "GO AHEAD", telnet.NOP: "NO OPERATION",
}

func (s *session) command(cmd byte) {
	s.mu.Lock()
	switch cmd {
	case telnet.IP, telnet.EL:
		s.line = s.line[:0]
	case telnet.EC:
		s.eraseChar()
	}
	s.mu.Unlock()
	msg := fmt.Sprintf("\n\x1b[33m[received IAC %s]\x1b[0m\n", commandWords[cmd])
	if cmd == telnet.AYT {
		msg += "[yes, the demo host is here]\n"
	}
	s.say(msg)
	s.prompt()
}

func (s *session) greetIfReady() {
	s.mu.Lock()
	ready := s.nawsSeen && s.termSeen
	s.mu.Unlock()
	if ready {
		s.greet()
	}
}

func (s *session) greet() {
	s.mu.Lock()
	if s.greeted {
		s.mu.Unlock()
		return
	}
	s.greeted = true
	s.mu.Unlock()
	s.say("\x1b[1mWelcome to the telgate demo host.\x1b[0m\n" +
		"This host speaks real telnet. It received from your browser:\n" +
		s.describe() +
		"Resize the window, type, or try the toolbar's Break. Type 'help' for commands.\n")
	s.prompt()
}

func (s *session) describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := "window size: not sent (no NAWS)"
	if s.nawsSeen && s.cols > 0 {
		size = fmt.Sprintf("window size: %d columns x %d rows (NAWS)", s.cols, s.rows)
	}
	term := "terminal type: not sent (no TTYPE)"
	if s.term != "" {
		term = "terminal type: " + s.term + " (TTYPE)"
	}
	return "  " + size + "\n  " + term + "\n"
}

func (s *session) prompt() { s.say("demo> ") }

// escape is where the input is in the escape sequence of a key (an
// arrow, Home, Alt+key): the demo's line editor has no use for them, and
// they are dropped whole rather than typed as "[A".
type escape int

const (
	escNone  escape = iota
	escStart        // after Esc
	escCSI          // after Esc [: parameters until a final byte
	escSS3          // after Esc O: one more byte
)

// skip reports whether c belongs to a key's escape sequence, and moves
// on. A control character, DEL or a byte of a non-ASCII character ends
// a sequence and is not part of it: Esc then Enter still runs the line.
func (e *escape) skip(c byte) bool {
	if *e == escStart && c == 0x1b {
		*e = escNone // Alt+Esc
		return true
	}
	if *e != escNone && (c < 0x20 || c >= 0x7f) {
		*e = escNone
	}
	switch *e {
	case escStart:
		switch c {
		case '[':
			*e = escCSI
		case 'O':
			*e = escSS3
		default:
			*e = escNone // Alt+key
		}
		return true
	case escCSI:
		if c >= 0x40 && c <= 0x7e {
			*e = escNone
		}
		return true
	case escSS3:
		*e = escNone
		return true
	}
	if c == 0x1b {
		*e = escStart
		return true
	}
	return false
}

// input handles typed bytes: echo, line editing, and commands at Enter.
// It reports false when the session should end.
func (s *session) input(p []byte) bool {
	for _, c := range p {
		s.mu.Lock()
		skip := s.esc.skip(c)
		lastCR := s.lastCR
		if !skip {
			s.lastCR = c == '\r'
		}
		s.mu.Unlock()
		switch {
		case skip:
		case c == '\n' && lastCR:
			// the LF of CR LF
		case c == '\r' || c == '\n':
			s.mu.Lock()
			line := string(s.line)
			s.line = s.line[:0]
			s.mu.Unlock()
			s.say("\n")
			if !s.execute(strings.TrimSpace(line)) {
				return false
			}
			s.prompt()
		case c == 0x7f || c == 0x08:
			s.mu.Lock()
			erase := len(s.line) > 0
			s.eraseChar()
			s.mu.Unlock()
			if erase {
				s.write([]byte("\b \b"))
			}
		case c == 0x03:
			s.mu.Lock()
			s.line = s.line[:0]
			s.mu.Unlock()
			s.say("^C\n")
			s.prompt()
		case c == 0x04:
			s.mu.Lock()
			empty := len(s.line) == 0
			s.mu.Unlock()
			if empty {
				s.say("\nbye\n")
				return false
			}
		case c < 0x20 && c != '\t':
			// other control characters are ignored
		default:
			s.mu.Lock()
			if len(s.line) < 4096 {
				s.line = append(s.line, c)
			}
			s.mu.Unlock()
			s.write(telnet.AppendEscaped(nil, []byte{c}))
		}
	}
	return true
}

// execute runs one command line; false ends the session.
func (s *session) execute(line string) bool {
	word, arg, _ := strings.Cut(line, " ")
	switch word {
	case "":
	case "help":
		s.say("commands:\n" +
			"  info       what this host received over telnet\n" +
			"  echo TEXT  print TEXT\n" +
			"  colors     show the 256-colour palette\n" +
			"  utf8       print some UTF-8 text\n" +
			"  seq N      print the numbers 1 to N (at most 1000000)\n" +
			"  title TEXT set the window title\n" +
			"  exit       close the connection\n")
	case "info", "size", "term":
		s.say(s.describe())
	case "echo":
		s.say(arg + "\n")
	case "colors":
		var b strings.Builder
		for i := 0; i < 256; i++ {
			fmt.Fprintf(&b, "\x1b[48;5;%dm  ", i)
			if i%16 == 15 {
				b.WriteString("\x1b[0m\n")
			}
		}
		s.say(b.String())
	case "utf8":
		s.say("Grüße, こんにちは, Здравствуйте, ☃ ✓ — 😀\n")
	case "seq":
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil || n < 0 || n > 1000000 {
			s.say("usage: seq N (0 to 1000000)\n")
			break
		}
		var b []byte
		for i := 1; i <= n; i++ {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, '\r', '\n')
			if len(b) > 32<<10 {
				s.write(b)
				b = b[:0]
			}
		}
		s.write(b)
	case "title":
		// OSC 2; control characters would end it or start another.
		clean := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return -1
			}
			return r
		}, arg)
		s.write([]byte("\x1b]2;" + clean + "\x07"))
	case "exit", "quit", "logout":
		s.say("bye\n")
		return false
	default:
		s.say(fmt.Sprintf("%s: unknown command (try 'help')\n", word))
	}
	return true
}
