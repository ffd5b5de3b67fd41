package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/gorilla/websocket"

	"telgate/telnet"
)

// Close reasons shown to the browser and logged.
const (
	ReasonHostClosed     = "Connection closed by foreign host"
	ReasonHostReset      = "connection reset by host"
	ReasonHostLost       = "host connection lost"
	ReasonHostStalled    = "host stopped reading"
	ReasonBrowserClosed  = "closed by browser"
	ReasonBrowserLost    = "browser connection lost"
	ReasonBrowserStalled = "browser stopped reading"
	ReasonMessageTooBig  = "message too big"
	ReasonPasteTooLong   = "paste too long for the line delay"
	ReasonIdle           = "idle timeout"
	ReasonMaxDuration    = "session time limit reached"
	ReasonShutdown       = "server shutting down"
	ReasonEnded          = "ended from the session list"
)

// Reasons a viewer of a shared session is let go, besides the session's
// end (see Gateway.Watch).
const (
	ReasonSharingStopped = "the session is no longer shared"
	ReasonViewerBehind   = "too far behind the session's output"
)

// closeFrame is the close frame that ends a browser's connection for
// reason: 1001 (going away) at a shutdown, 1000 otherwise, with the
// reason, cut to fit a control frame.
func closeFrame(reason string) []byte {
	code := websocket.CloseNormalClosure
	if reason == ReasonShutdown {
		code = websocket.CloseGoingAway
	}
	return websocket.FormatCloseMessage(code, truncate(reason, 100))
}

// Reasons a dial fails, as DialReason gives them.
const (
	ReasonNoSuchHost    = "no such host"
	ReasonLookupFailed  = "name lookup failed"
	ReasonRefused       = "connection refused"
	ReasonHostUnreach   = "host unreachable"
	ReasonNetUnreach    = "network unreachable"
	ReasonDialTimeout   = "connection timed out"
	ReasonConnectFailed = "connection failed"
	ReasonNoDescriptors = "gateway out of file descriptors"
)

// DialReason turns a dial error into a short reason a user understands.
func DialReason(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		// Before the lookup errors: a shutdown during a lookup comes
		// as a DNSError too.
		return ReasonShutdown
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return ReasonNoSuchHost
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return ReasonDialTimeout
	case errors.As(err, &dnsErr):
		return ReasonLookupFailed
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, syscall.EHOSTUNREACH):
		return ReasonHostUnreach
	case errors.Is(err, syscall.ENETUNREACH):
		return ReasonNetUnreach
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT): // the kernel's own limit, past a long dial_timeout
		return ReasonDialTimeout
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ReasonNoDescriptors
	}
	return ReasonConnectFailed
}

// hostReason turns the error that ended reading the host into a reason.
func hostReason(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return ReasonHostClosed
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonHostReset
	case errors.Is(err, telnet.ErrOutputBacklog):
		return ReasonHostStalled
	}
	return ReasonHostLost
}

// reasonLabels maps every reason to a metric label, so that the label
// set stays bounded whatever a reason's text.
var reasonLabels = map[string]string{
	ReasonHostClosed:     "host_closed",
	ReasonHostReset:      "host_reset",
	ReasonHostLost:       "host_lost",
	ReasonHostStalled:    "host_stalled",
	ReasonBrowserClosed:  "browser_closed",
	ReasonBrowserLost:    "browser_lost",
	ReasonBrowserStalled: "browser_stalled",
	ReasonMessageTooBig:  "message_too_big",
	ReasonPasteTooLong:   "paste_too_long",
	ReasonIdle:           "idle_timeout",
	ReasonMaxDuration:    "max_duration",
	ReasonShutdown:       "shutdown",
	ReasonEnded:          "ended",
	ReasonNoSuchHost:     "dial_no_such_host",
	ReasonLookupFailed:   "dial_lookup_failed",
	ReasonRefused:        "dial_refused",
	ReasonHostUnreach:    "dial_unreachable",
	ReasonNetUnreach:     "dial_unreachable",
	ReasonDialTimeout:    "dial_timeout",
	ReasonConnectFailed:  "dial_failed",
	ReasonNoDescriptors:  "dial_no_descriptors",
}

// reasonLabel returns the metric label of a close reason; "other" for a
// reason not in the fixed set.
func reasonLabel(reason string) string {
	if l, ok := reasonLabels[reason]; ok {
		return l
	}
	return "other"
}
