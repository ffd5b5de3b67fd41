package main

import "net"

// loopbackListener turns off congestion control pacing on connections
// whose peer is this machine: a reverse proxy beside the gateway, or a
// browser or load client on the same host.
//
// Pacing spreads a sender's packets over time so that they do not
// overflow a router's queue on the way. Over loopback there is no such
// queue, so pacing only costs: with BBR (the default on many hosts) the
// kernel sends each burst of a big frame from a timer, and segments
// arrive out of order and some are sent twice (ss -ti shows reordering
// and retransmissions on a loopback connection that never loses a
// packet). Such connections are switched to Reno, which every Linux
// kernel has and lets any process choose, and which with no loss sends
// as fast as the receiver takes. On a 2-core host with BBR as the
// default, bulk output to a loopback client went about 7% faster with
// less CPU (BENCHMARKS.md). Connections from elsewhere keep the system's
// choice.
type loopbackListener struct {
	net.Listener
}

func (l loopbackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil && sameHost(c.LocalAddr(), c.RemoteAddr()) {
		unpace(c)
	}
	return c, err
}

// sameHost reports whether a TCP connection's two ends are on this
// machine: its peer is a loopback address or the local address itself
// (a connection to one of the host's own addresses is routed over
// loopback too).
func sameHost(local, remote net.Addr) bool {
	l, ok1 := local.(*net.TCPAddr)
	r, ok2 := remote.(*net.TCPAddr)
	return ok1 && ok2 && (r.IP.IsLoopback() || r.IP.Equal(l.IP))
}
