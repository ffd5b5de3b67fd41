//go:build !unix

package telnet

import "net"

// newSource reads every connection through a pump where the direct
// source, which needs Unix system calls, is not built.
func newSource(conn net.Conn) source { return startPump(conn) }

// setOOBInline does nothing here: urgent data stays as the platform
// delivers it.
func setOOBInline(net.Conn) {}
