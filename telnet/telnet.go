package telnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors returned by this package. They are wrapped with context; test for
// them with errors.Is.
var (
	// ErrNotConnected is returned by operations on a Telnet that has no
	// connection: never opened, or (writes) closed. Reads after Close
	// report the end of the stream instead.
	ErrNotConnected = errors.New("telnet: not connected")
	// ErrAlreadyOpen is returned by Open on a Telnet that is connected.
	ErrAlreadyOpen = errors.New("telnet: already connected")
	// ErrOutputBacklog is returned when the peer stopped reading while
	// MaxOutputBacklog bytes of replies queued up: the connection is
	// closed, and the reads and writes that follow return it.
	ErrOutputBacklog = errors.New("telnet: peer does not read its replies")
	// ErrRaw is returned by the methods that send telnet commands on a
	// connection set raw (see SetRaw).
	ErrRaw = errors.New("telnet: raw connection: no telnet commands")
)

// MaxOutputBacklog bounds the bytes of queued writes (negotiation
// replies, a Negotiator's frames, writes made from the option callback)
// that may wait for a peer that does not read: once that many wait, the
// next one fails with ErrOutputBacklog.
const MaxOutputBacklog = 256 << 10

// A Telnet is a client connection to a telnet server, in the manner of
// Python's telnetlib.Telnet.
//
// # Goroutines
//
// Reading is done by one goroutine at a time: the read methods (the
// Read* family, Read, Expect, Interact) and the option callback, which runs
// on the goroutine that is reading, inside the read call that met the
// command. Write, WriteRaw, the Send* methods, SetReceiveBinary and Close
// may be called from any goroutine at any time, also concurrently with a
// read and from inside the callback.
//
// A writer goroutine never waits for the reader, and the reader never waits
// for the peer to accept a write: writes made from inside the option
// callback (negotiation replies, subnegotiations) are queued and sent in
// order by a short-lived goroutine, so a peer that stops reading cannot
// stall the reader. A write from any other goroutine, also one made while
// the callback runs, waits until the peer has taken it (and what was
// queued before it): a peer that reads slowly slows its writers down
// instead of filling memory.
//
// Each write call puts its bytes on the wire as one unit: frames of
// different calls never interleave.
//
// # The callback's Telnet
//
// Writes from the callback are told from the others by the Telnet they
// go through, not by goroutine. The option callback does not receive the
// Telnet it was set on but a second *Telnet, made once with it, that
// shares its connection, state and settings: every method acts on the
// same connection through either. While callbacks run, the writes
// through the callback's Telnet (Write, WriteRaw, the Send* methods, a
// Negotiator's requests and SetWindowSize given it) are queued: from the
// first callback for a chunk of input until the chunk is decoded, so a
// write through it from another goroutine meanwhile is queued too. Outside
// that it writes as the other does. The writes through the Telnet the
// program holds always wait for the peer. So a callback writes through the
// Telnet it receives, also in the functions it calls: a write through the
// other one (captured in a closure, say) keeps the reader waiting for the peer, and with a peer that
// stops reading until we read, for good. The two pointers are never
// equal: a callback that needs the Telnet it was set on (to look it up in
// a map, say) captures it in a closure.
type Telnet struct {
	*shared
	// forCallback marks the Telnet the callback receives: its writes
	// are queued while callbacks run (see queues).
	forCallback bool
}

// shared is a Telnet's state, which the callback's Telnet shares.
type shared struct {
	host string
	port int

	conn net.Conn
	// src is set by the reading goroutine (attach, Interact) and read
	// by it without a lock; srcMu orders those writes with Close.
	src   source
	srcMu sync.Mutex

	// Reader state: touched only by the reading goroutine.
	pending    chunk // received by WaitRead, or the rest of a chunk whose callback panicked; not yet decoded
	hasPending bool
	dec        Decoder
	cooked     []byte
	coff       int // cooked[coff:] is unread
	sbdata     []byte
	eof        bool
	endLocal   bool // the stream ended because this side closed the connection
	readErr    error

	cb         func(t *Telnet, cmd, opt byte)
	cbTelnet   *Telnet     // what cb receives: forCallback, sharing this state
	inCallback atomic.Bool // callbacks run for the chunk being decoded: cbTelnet's writes are queued
	binaryRecv atomic.Bool
	raw        atomic.Bool // no telnet protocol: see SetRaw

	out output

	// closeMu orders Close with Open: a reopen waits for a Close in
	// progress (the package's own, after a backlog, among them), which
	// would otherwise close the new connection.
	closeMu sync.Mutex

	debugMu  sync.Mutex
	debug    int
	debugOut io.Writer

	closed atomic.Bool
}

// New returns an unconnected Telnet. Connect it with Open.
func New() *Telnet {
	s := &shared{debugOut: os.Stdout}
	t := &Telnet{shared: s}
	s.cbTelnet = &Telnet{shared: s, forCallback: true}
	s.out.t = t
	s.out.idle.L = &s.out.mu
	s.out.advanced.L = &s.out.mu
	return t
}

// queues reports whether a write through t is queued rather than made:
// t is the callback's Telnet and the reader is running callbacks (from
// the first callback of a chunk of input to the end of its decoding). A
// write from the callback then never waits for the peer.
func (t *Telnet) queues() bool { return t.forCallback && t.inCallback.Load() }

// Dial connects to host on port (0 means 23). A timeout of 0 means none;
// any positive value bounds the connection attempt.
func Dial(host string, port int, timeout time.Duration) (*Telnet, error) {
	t := New()
	if err := t.Open(host, port, timeout); err != nil {
		return nil, err
	}
	return t, nil
}

// DialContext is Dial with a context bounding the connection attempt.
func DialContext(ctx context.Context, host string, port int) (*Telnet, error) {
	t := New()
	if err := t.OpenContext(ctx, host, port); err != nil {
		return nil, err
	}
	return t, nil
}

// NewConn returns a Telnet speaking over an established connection, for
// example one made by a custom dialer, a TLS client or net.Pipe.
func NewConn(conn net.Conn) *Telnet {
	t := New()
	t.attach(conn, "", 0)
	if addr := conn.RemoteAddr(); addr != nil {
		if h, p, err := net.SplitHostPort(addr.String()); err == nil {
			t.host = h
			t.port, _ = strconv.Atoi(p)
		}
	}
	return t
}

// Open connects an unconnected Telnet, new or closed, to host on port (0
// means 23). A timeout of 0 means none; any positive value bounds the
// connection attempt. Unlike telnetlib, Open refuses a Telnet that is
// connected. Reopen a closed Telnet only once no other goroutine uses
// it: what was received and not read is dropped, the callback and the
// settings are kept (a Negotiator keeps its options' states too: give
// the new connection a new one), and the new connection starts in NVT
// mode, whatever BINARY mode the peer had on the last one, and speaking
// telnet, whatever SetRaw said of the last one.
func (t *Telnet) Open(host string, port int, timeout time.Duration) error {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return t.OpenContext(ctx, host, port)
}

// OpenContext is Open with a context bounding the connection attempt.
func (t *Telnet) OpenContext(ctx context.Context, host string, port int) error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.conn != nil && !t.closed.Load() {
		return ErrAlreadyOpen
	}
	if port == 0 {
		port = TelnetPort
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("telnet: %w", err)
	}
	t.attach(conn, host, port)
	return nil
}

func (t *Telnet) attach(conn net.Conn, host string, port int) {
	t.host, t.port = host, port
	setOOBInline(conn)
	if t.conn != nil { // reopened: start afresh, as telnetlib's close does
		t.out.reset()
		t.dec.Reset()
		t.cooked, t.coff = t.cooked[:0], 0
		t.dropSBData()
	}
	t.conn = conn
	t.binaryRecv.Store(false) // the peer's BINARY mode was the last connection's
	t.raw.Store(false)
	t.eof, t.endLocal = false, false
	t.readErr = nil
	t.closed.Store(false)
	t.pending, t.hasPending = chunk{}, false
	t.srcMu.Lock()
	t.src = newSource(conn)
	t.srcMu.Unlock()
}

// closeFlush bounds how long Close waits for a write in progress, and for
// the negotiation replies the callback queued, to leave.
const closeFlush = 250 * time.Millisecond

// Close closes the connection. First it gives a write in progress, and
// the replies to negotiation that reading has queued, up to a quarter of
// a second to leave (telnetlib sends its replies before a read returns;
// here they may still be queued). Then blocked reads and writes return;
// cooked data already received can still be read (then the reads report
// EOF). Calling it again does nothing (a call made while another is
// still closing returns once that one has). After Close, reads take
// nothing more from the connection; what WaitRead set aside is still
// decoded.
func (t *Telnet) Close() error { return t.closeConn(nil) }

// closeConn is Close, of conn only (when not nil): the package's own
// close after a backlog names the connection it gave up on, so that it
// leaves alone one opened since.
func (t *Telnet) closeConn(conn net.Conn) error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.conn == nil || (conn != nil && conn != t.conn) || t.closed.Swap(true) {
		return nil
	}
	cut := t.out.flush(t.conn, closeFlush)
	err := t.conn.Close()
	if cut {
		err = nil // closed already, to cut the write short
	}
	t.srcMu.Lock()
	t.src.stop()
	t.srcMu.Unlock()
	if err != nil {
		return fmt.Errorf("telnet: close: %w", err)
	}
	return nil
}

// Conn returns the underlying connection (telnetlib's get_socket), or nil
// when not connected. Reading from it directly bypasses the decoder.
func (t *Telnet) Conn() net.Conn {
	if t.conn == nil || t.closed.Load() {
		return nil
	}
	return t.conn
}

// Fileno returns the connection's file descriptor, for use with poll or
// select. It fails when not connected or when the connection has no
// descriptor (net.Pipe, for example).
func (t *Telnet) Fileno() (uintptr, error) {
	c := t.Conn()
	if c == nil {
		return 0, ErrNotConnected
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, fmt.Errorf("telnet: %T has no file descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("telnet: %w", err)
	}
	var fd uintptr
	if err := raw.Control(func(f uintptr) { fd = f }); err != nil {
		return 0, fmt.Errorf("telnet: %w", err)
	}
	return fd, nil
}

// SetOptionNegotiationCallback sets the function called for every command
// received: DO, DONT, WILL and WONT with their option, SB where a
// subnegotiation begins and SE where it ends (read its payload with
// ReadSBData), and every other command (NOP, DM, BRK, IP, AO, AYT, EC, EL,
// GA, EOR and unknown ones) with NOOPT. Once a callback is set the package
// answers nothing itself. A nil callback restores the default: refuse
// every option (DO gets WONT, WILL gets DONT), answer nothing to DONT and
// WONT, ignore other commands.
//
// The callback runs on the reading goroutine. It receives not t but the
// callback's Telnet, which shares t's connection and queues the writes
// made through it (see the Telnet type: The callback's Telnet); on it the
// callback may call every method that is safe concurrently with reading,
// as well as ReadSBData. Negotiator.Callback is a ready-made callback.
//
// A panic of the callback goes up through the read that ran it. The
// command is then consumed, and nothing else is lost: a read after the
// panic is recovered returns the data received before the command and
// goes on with what came after it (telnetlib keeps what came after, and
// loses what came before).
func (t *Telnet) SetOptionNegotiationCallback(cb func(t *Telnet, cmd, opt byte)) {
	t.cb = cb
}

// SetReceiveBinary tells the decoder whether the peer sends in BINARY mode
// (RFC 856). In binary mode a NUL after CR is data; otherwise it is
// removed. A Negotiator calls it when BINARY changes; callers that
// negotiate BINARY with their own callback must call it themselves. The
// mode belongs to the connection: every connection starts in NVT mode
// (not binary), so call it after Open or NewConn.
func (t *Telnet) SetReceiveBinary(on bool) { t.binaryRecv.Store(on) }

// SetRaw turns the telnet protocol off for the connection (on) or back on:
// reads return the bytes as they came, IAC and CR NUL included, and
// Write sends its bytes as they are, for a host that speaks plain TCP
// rather than telnet (a console server's raw port, a virtual machine's
// serial console). No option is negotiated and the callback is never
// called; SendCommand, SendNegotiation, SendSubnegotiation and a
// Negotiator's requests return ErrRaw. It belongs to the connection, as
// SetReceiveBinary's mode does: call it after Open or NewConn, before
// reading. Changing it once reading has begun is not supported: bytes
// the decoder held as part of a command may be lost or misread.
func (t *Telnet) SetRaw(on bool) { t.raw.Store(on) }

// Host and Port return where the Telnet is connected.
func (t *Telnet) Host() string { return t.host }

// Port returns the port the Telnet is connected to.
func (t *Telnet) Port() int { return t.port }
