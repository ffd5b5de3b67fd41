package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"telgate/telnet"
)

// Close reasons shown to the browser and logged.
const (
	ReasonHostClosed     = "Connection closed by foreign host"
	ReasonBrowserClosed  = "closed by browser"
	ReasonBrowserLost    = "browser connection lost"
	ReasonBrowserStalled = "browser stopped reading"
	ReasonMessageTooBig  = "message too big"
	ReasonIdle           = "idle timeout"
	ReasonMaxDuration    = "session time limit reached"
	ReasonShutdown       = "server shutting down"
	ReasonHostStalled    = "host stopped reading"
)

// DialReason turns a dial error into a short reason a user understands.
func DialReason(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host"
	case errors.As(err, &dnsErr):
		return "name lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "connection timed out"
	case errors.Is(err, context.Canceled):
		return ReasonShutdown
	}
	return "connection failed"
}

// hostReason turns the error that ended reading the host into a reason.
func hostReason(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return ReasonHostClosed
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by host"
	case errors.Is(err, telnet.ErrOutputBacklog):
		return ReasonHostStalled
	}
	return "host connection lost"
}
