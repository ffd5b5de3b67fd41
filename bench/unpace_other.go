//go:build !linux

package main

import "net"

// unpace does nothing here: choosing a connection's congestion control
// is Linux's.
func unpace(net.Conn) {}
