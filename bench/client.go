package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// A peer is one way of reaching the hosts: through telgate, through
// websockify or straight over TCP.
type peer struct {
	name string
	key  string // its name for -only
	// bulkURL and echoURL are WebSocket URLs; for raw TCP, host:port.
	bulkURL, echoURL string
	raw              bool // plain TCP, no WebSocket
	pid              int  // the relay's process; 0 for raw TCP
	cooked           bool // the client receives cooked data (telgate)
}

// cpu is the CPU time the relay has used so far.
func (p *peer) cpu() time.Duration {
	if p.pid == 0 {
		return 0
	}
	return cpuTime(p.pid)
}

// selfCPU is the CPU time this process (hosts and clients) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A stream is what a client reads, one message (or TCP read) at a time.
type stream interface {
	// next reads the next piece of host output into buf and returns
	// it; text messages (telgate's status) are skipped.
	next(buf []byte) ([]byte, error)
	send(p []byte) error
	setDeadline(t time.Time)
	close()
}

var dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10}

func (p *peer) dial(url string) (stream, error) {
	if p.raw {
		c, err := net.DialTimeout("tcp", url, 10*time.Second)
		if err != nil {
			return nil, err
		}
		return &tcpStream{c}, nil
	}
	ws, resp, err := dialer.Dial(url, nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("%w: HTTP %d %s", err, resp.StatusCode, bytes.TrimSpace(body))
		}
		return nil, err
	}
	return &wsStream{ws: ws}, nil
}

type tcpStream struct{ c net.Conn }

func (s *tcpStream) next(buf []byte) ([]byte, error) {
	n, err := s.c.Read(buf)
	if n > 0 {
		return buf[:n], nil
	}
	return nil, err
}
func (s *tcpStream) send(p []byte) error     { _, err := s.c.Write(p); return err }
func (s *tcpStream) setDeadline(t time.Time) { _ = s.c.SetDeadline(t) }
func (s *tcpStream) close()                  { s.c.Close() }

type wsStream struct {
	ws *websocket.Conn
}

// next reads one whole binary message into buf (growing it when the
// message is larger) and returns it.
func (s *wsStream) next(buf []byte) ([]byte, error) {
	for {
		typ, r, err := s.ws.NextReader()
		if err != nil {
			return nil, err
		}
		if typ != websocket.BinaryMessage {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return nil, err
			}
			continue
		}
		n := 0
		for {
			if n == len(buf) {
				buf = append(buf, make([]byte, len(buf))...)
			}
			m, err := r.Read(buf[n:])
			n += m
			if errors.Is(err, io.EOF) {
				return buf[:n], nil
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func (s *wsStream) send(p []byte) error { return s.ws.WriteMessage(websocket.BinaryMessage, p) }
func (s *wsStream) setDeadline(t time.Time) {
	_ = s.ws.SetReadDeadline(t)
	_ = s.ws.SetWriteDeadline(t)
}
func (s *wsStream) close() {
	_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	s.ws.Close()
}

// bulkResult is one bulk run.
type bulkResult struct {
	elapsed time.Duration
	frames  int // messages (or TCP reads) that carried data
	big     int // bytes that came in messages of 16 KiB or more
}

// bulk asks the bulk host for its stream and checks that every byte
// arrives, in order, and nothing else; the clock runs from the request
// to the last byte.
func (p *peer) bulk(want []byte, limit time.Duration) (bulkResult, error) {
	var res bulkResult
	s, err := p.dial(p.bulkURL)
	if err != nil {
		return res, err
	}
	defer s.close()
	deadline := time.Now().Add(limit)
	s.setDeadline(deadline)
	buf := make([]byte, 256<<10)
	start := time.Now()
	if err := s.send([]byte("go\r")); err != nil {
		return res, err
	}
	off := 0
	for off < len(want) {
		data, err := s.next(buf)
		if err != nil {
			return res, fmt.Errorf("after %d of %d bytes: %w", off, len(want), err)
		}
		if len(data) > len(want)-off || !bytes.Equal(data, want[off:off+len(data)]) {
			return res, mismatch(p.name+" bulk", off, data, want[off:])
		}
		off += len(data)
		res.frames++
		if len(data) >= 16<<10 {
			res.big += len(data)
		}
		if cap(data) > cap(buf) {
			buf = data[:cap(data)]
		}
	}
	res.elapsed = time.Since(start)
	// Nothing may follow.
	s.setDeadline(time.Now().Add(100 * time.Millisecond))
	if data, err := s.next(buf); err == nil {
		return res, fmt.Errorf("%s bulk: %d bytes more than the host sent", p.name, len(data))
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		return res, fmt.Errorf("%s bulk: after the last byte: %w", p.name, err)
	}
	return res, nil
}

// echoSession is an open session with the echo host, past its greeting.
type echoSession struct {
	s   stream
	buf []byte
}

// openEcho opens a session with the echo host and waits for its
// greeting.
func (p *peer) openEcho(limit time.Duration) (*echoSession, error) {
	s, err := p.dial(p.echoURL)
	if err != nil {
		return nil, err
	}
	e := &echoSession{s: s, buf: make([]byte, 4096)}
	s.setDeadline(time.Now().Add(limit))
	var got []byte
	for !bytes.HasSuffix(got, []byte("ready\r\n")) {
		data, err := s.next(e.buf)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("waiting for the greeting: %w", err)
		}
		got = append(got, data...)
		if len(got) > 1024 {
			s.close()
			return nil, fmt.Errorf("unexpected greeting %q", got)
		}
	}
	s.setDeadline(time.Time{})
	return e, nil
}

// keystroke sends one byte and waits for its echo, returning the round
// trip.
func (e *echoSession) keystroke(b byte, limit time.Duration) (time.Duration, error) {
	e.s.setDeadline(time.Now().Add(limit))
	defer e.s.setDeadline(time.Time{})
	start := time.Now()
	if err := e.s.send([]byte{b}); err != nil {
		return 0, err
	}
	data, err := e.s.next(e.buf)
	rtt := time.Since(start)
	if err != nil {
		return 0, err
	}
	if len(data) != 1 || data[0] != b {
		return 0, fmt.Errorf("sent %q, echo %q", b, data)
	}
	return rtt, nil
}

func (e *echoSession) close() { e.s.close() }
