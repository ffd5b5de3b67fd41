package main

import (
	"net"
	"testing"
)

func TestSameHost(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 8080} }
	for _, c := range []struct {
		local, remote net.Addr
		want          bool
	}{
		{tcp("127.0.0.1"), tcp("127.0.0.1"), true},
		{tcp("127.0.0.1"), tcp("127.0.0.53"), true},
		{tcp("::1"), tcp("::1"), true},
		{tcp("10.0.0.5"), tcp("10.0.0.5"), true},           // to one of the host's own addresses
		{tcp("::ffff:10.0.0.5"), tcp("10.0.0.5"), true},    // the same, dual-stack
		{tcp("10.0.0.5"), tcp("10.0.0.6"), false},          // a neighbour
		{tcp("2001:db8::1"), tcp("2001:db8::2"), false},    // likewise
		{tcp("10.0.0.5"), &net.UnixAddr{Name: "x"}, false}, // not TCP
	} {
		if got := sameHost(c.local, c.remote); got != c.want {
			t.Errorf("sameHost(%v, %v) = %v, want %v", c.local, c.remote, got, c.want)
		}
	}
}
