package main

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// busyBody and busyResponse are what a client gets when its connection
// could only be accepted to be refused.
const busyBody = "server out of file descriptors\n"

var busyResponse = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 5\r\n" +
	"Connection: close\r\n" +
	"Content-Length: " + strconv.Itoa(len(busyBody)) + "\r\n" +
	"\r\n" + busyBody

// fdListener keeps accepting when the process runs out of file
// descriptors. Left alone, net/http retries such an Accept every few
// milliseconds, logging nothing visible, while the clients waiting in the
// listen queue time out. Here one descriptor is kept in reserve: on
// EMFILE or ENFILE it is given up to accept the waiting client, answer it
// 503 (over plain HTTP; a TLS client's connection is just closed) and
// close it, and a clear line is logged, at most once a minute.
//
// The gateway refuses sessions before the open-file limit (a 503 before
// the upgrade); this is for when something else took the descriptors.
type fdListener struct {
	net.Listener
	log   zerolog.Logger
	plain bool // the listener speaks HTTP in clear, so a 503 can be written
	// openSpare takes the reserve descriptor; tests replace it.
	openSpare func() (*os.File, error)

	// mu guards the fields below. It is never held across an Accept,
	// which may wait for a client: Close must not wait with it.
	mu      sync.Mutex
	spare   *os.File
	closed  bool
	lastLog time.Time
}

func newFDListener(ln net.Listener, log zerolog.Logger, plain bool) *fdListener {
	l := &fdListener{Listener: ln, log: log, plain: plain,
		openSpare: func() (*os.File, error) { return os.Open(os.DevNull) }}
	l.spare, _ = l.openSpare()
	return l
}

func (l *fdListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err == nil || !(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
			return c, err
		}
		if c := l.acceptWithSpare(); c != nil {
			return c, nil
		}
	}
}

// acceptWithSpare gives up the reserve descriptor and accepts a
// connection with it. Linux fails an accept for want of a descriptor
// before it looks for a waiting client, so this Accept may wait for one
// to come. If the reserve cannot be taken back afterwards, the shortage
// is still on and the client is refused; if it can, the shortage is over
// and the connection is returned to be served.
func (l *fdListener) acceptWithSpare() net.Conn {
	l.mu.Lock()
	if time.Since(l.lastLog) >= time.Minute {
		l.lastLog = time.Now()
		l.log.Error().Str("listen", l.Addr().String()).
			Msg("out of file descriptors: new connections are refused (HTTP 503); raise the open-file limit (ulimit -n, LimitNOFILE) or set limits.max_sessions lower")
	}
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
	l.mu.Unlock()

	c, err := l.Listener.Accept()
	spare, spareErr := l.openSpare()
	l.mu.Lock()
	closed := l.closed
	if !closed && l.spare == nil && spareErr == nil {
		l.spare, spare = spare, nil
	}
	l.mu.Unlock()
	if spare != nil {
		spare.Close()
	}
	switch {
	case err != nil:
		if !closed {
			// Not even the reserve helped (something else took it):
			// do not spin.
			time.Sleep(10 * time.Millisecond)
		}
		return nil // the next Accept reports a closed listener
	case closed:
		c.Close()
		return nil
	case spareErr == nil:
		return c
	}
	if l.plain {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(busyResponse))
	}
	c.Close()
	return nil
}

func (l *fdListener) Close() error {
	l.mu.Lock()
	l.closed = true
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// openListener opens addr: host:port for TCP, or unix:PATH for a UNIX
// socket (see listenUnix).
func openListener(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, unixScheme); ok {
		return listenUnix(path)
	}
	return net.Listen("tcp", addr)
}

// listenURL is what the serving line says of ln: the URL to open, or
// for a UNIX socket its path and what it serves.
func listenURL(ln net.Listener, scheme, basePath string) string {
	if ua, ok := ln.Addr().(*net.UnixAddr); ok {
		return unixScheme + ua.Name + " (" + scheme + ", " + basePath + ")"
	}
	return scheme + "://" + ln.Addr().String() + basePath
}
