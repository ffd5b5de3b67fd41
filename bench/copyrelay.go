package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// copyRelayBuffer is the copy relay's buffer per direction: as large as
// telgate's largest frame, so that the two make the same number of system
// calls per byte.
const copyRelayBuffer = 1 << 20

// runCopyRelay is the benchmark's reference relay, run as a process of its
// own (bench -copy-relay TARGET): it accepts TCP on a loopback port,
// which it prints, and copies bytes between each connection and TARGET,
// one goroutine per direction, with no WebSocket framing and no telnet
// parsing: the cost of relaying alone, before any work of a relay's own.
func runCopyRelay(target string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		unpace(c)
		go func() {
			defer c.Close()
			h, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer h.Close()
			go copyThrough(h, c)
			copyThrough(c, h)
		}()
	}
}

// copyThrough copies with a plain read and write loop: io.Copy between
// two TCP connections would splice, which no relay that looks at the
// bytes can.
func copyThrough(dst, src net.Conn) {
	buf := make([]byte, copyRelayBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				_ = dst.(*net.TCPConn).CloseWrite()
			}
			return
		}
	}
}

// startCopyRelay runs this program as a copy relay to target.
func startCopyRelay(dir, target string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p, err := startProc("copy relay", []string{self, "-copy-relay", target},
		filepath.Join(dir, fmt.Sprintf("copy-relay-%d.log", time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	// Its first line is the address it serves.
	if err := p.startAnnounced(func(line string) (string, bool) { return strings.TrimSpace(line), true }); err != nil {
		return nil, err
	}
	return p, nil
}
