package main

import (
	"net"
	"os"
)

// unixScheme starts a listen address that is a UNIX socket's path
// (unix:/run/telgate/telgate.sock), for a reverse proxy on this machine.
const unixScheme = "unix:"

// unixListener is a listener on a UNIX socket. It gives each connection
// the peer address 127.0.0.1: only a process on this machine can
// connect, and an address is what the limits, the trusted proxies and
// the logs go by. It holds the lock on the socket's path (see
// listenUnix) until it is closed.
type unixListener struct {
	net.Listener
	lock *os.File
}

func (l unixListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return localConn{c}, nil
}

// Close closes the listener, which removes the socket file, then gives
// up the lock: no other telgate can have bound the path meanwhile.
func (l unixListener) Close() error {
	err := l.Listener.Close()
	l.lock.Close()
	return err
}

// localConn is a connection from a process on this machine.
type localConn struct{ net.Conn }

func (localConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
