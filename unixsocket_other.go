//go:build !unix

package main

import (
	"errors"
	"net"
)

// listenUnix refuses: UNIX sockets are served on Unix systems only.
func listenUnix(string) (net.Listener, error) {
	return nil, errors.New("listen unix: UNIX sockets are not supported on this system")
}
