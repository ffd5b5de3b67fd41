package main

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"time"
)

// hostIdle bounds how long a host connection may go without traffic, so
// that nothing the hosts start outlives the run.
const hostIdle = 10 * time.Minute

// A host is a loopback telnet host of the benchmark.
type host struct {
	ln    net.Listener
	serve func(net.Conn)
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startHost(serve func(net.Conn)) (*host, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &host{ln: ln, serve: serve, conns: map[net.Conn]struct{}{}}
	h.wg.Add(1)
	go h.accept()
	return h, nil
}

func (h *host) addr() string { return h.ln.Addr().String() }

func (h *host) accept() {
	defer h.wg.Done()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: wait and go on, bounded by close.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		h.mu.Lock()
		h.conns[c] = struct{}{}
		h.mu.Unlock()
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer func() {
				h.mu.Lock()
				delete(h.conns, c)
				h.mu.Unlock()
				c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(hostIdle))
			h.serve(c)
		}()
	}
}

// close stops the host and every connection it has.
func (h *host) close() {
	h.ln.Close()
	h.mu.Lock()
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// bulkHost waits for a line ending in CR (the client's "go"), sends raw,
// and keeps the connection open until the other side closes it: a relay
// must deliver everything it was sent without the host closing first
// (websockify, when the host closes, drops what it has not yet sent).
func bulkHost(raw []byte) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 512)
		var got []byte
		for !bytes.Contains(got, []byte("go\r")) {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got = append(got, buf[:n]...)
			if len(got) > 4096 {
				return
			}
		}
		if _, err := c.Write(raw); err != nil {
			return
		}
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
}

// greeting is what the echo host sends first: it will echo and suppress
// go-ahead (character mode), then says it is ready.
var greeting = []byte{iac, will, echo, iac, will, sga, 'r', 'e', 'a', 'd', 'y', '\r', '\n'}

// echoHost echoes every data byte it receives at once, as a telnet host
// in character mode does; telnet commands from the client are skipped.
// It serves the keystroke and idle-session measurements.
func echoHost(c net.Conn) {
	if _, err := c.Write(greeting); err != nil {
		return
	}
	buf := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	var p telnetParser
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		out = p.data(out[:0], buf[:n])
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// telnetParser keeps the data bytes of what a telnet client sends:
// negotiation and subnegotiation are skipped, IAC IAC is one 255, the NUL
// of CR NUL is removed.
type telnetParser struct {
	state byte // 0 data, 1 after IAC, 2 option byte, 3 in SB, 4 IAC in SB, 5 after CR
}

func (p *telnetParser) data(dst, src []byte) []byte {
	for _, b := range src {
		switch p.state {
		case 0, 5:
			cr := p.state == 5
			p.state = 0
			switch {
			case b == iac:
				p.state = 1
			case cr && b == 0:
			default:
				dst = append(dst, b)
				if b == '\r' {
					p.state = 5
				}
			}
		case 1:
			switch b {
			case iac:
				dst = append(dst, iac)
				p.state = 0
			case will, wont, do, dont:
				p.state = 2
			case sb:
				p.state = 3
			default:
				p.state = 0
			}
		case 2:
			p.state = 0
		case 3:
			if b == iac {
				p.state = 4
			}
		case 4:
			if b == se {
				p.state = 0
			} else {
				p.state = 3
			}
		}
	}
	return dst
}
