package main

import (
	"errors"
	"net"
	"os"
	"strconv"
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

	mu      sync.Mutex
	spare   *os.File
	lastLog time.Time
}

func newFDListener(ln net.Listener, log zerolog.Logger, plain bool) *fdListener {
	l := &fdListener{Listener: ln, log: log, plain: plain}
	l.spare, _ = os.Open(os.DevNull)
	return l
}

func (l *fdListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err == nil || !(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
			return c, err
		}
		l.refuseOne()
	}
}

// refuseOne frees the reserve descriptor, accepts a connection with it
// and refuses it, then takes the reserve back.
func (l *fdListener) refuseOne() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.lastLog) >= time.Minute {
		l.lastLog = time.Now()
		l.log.Error().Str("listen", l.Addr().String()).
			Msg("out of file descriptors: new connections are refused (HTTP 503); raise the open-file limit (ulimit -n, LimitNOFILE) or set limits.max_sessions lower")
	}
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
	if c, err := l.Listener.Accept(); err == nil {
		if l.plain {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(busyResponse))
		}
		c.Close()
	} else {
		// Not even the reserve helped (another goroutine took it): do
		// not spin.
		time.Sleep(10 * time.Millisecond)
	}
	l.spare, _ = os.Open(os.DevNull)
}

func (l *fdListener) Close() error {
	l.mu.Lock()
	if l.spare != nil {
		l.spare.Close()
		l.spare = nil
	}
	l.mu.Unlock()
	return l.Listener.Close()
}
