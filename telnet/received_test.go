//go:build linux

package telnet_test

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// The reads that do not wait (ReadVeryEager, and Expect and ReadUntil
// with a negative timeout) take everything already received, as
// telnetlib's read_very_eager and expect(timeout=0) do, not a fixed
// number of chunks: here 120 KiB, more than three of the package's 32 KiB
// reads, wait in the kernel before the call.
func TestReadsThatDoNotWaitTakeEverythingReceived(t *testing.T) {
	text := append(bytes.Repeat([]byte("a"), 120<<10), "PROMPT>"...)
	for _, read := range []struct {
		name string
		do   func(tn *telnet.Telnet) ([]byte, error)
	}{
		{"ReadVeryEager", func(tn *telnet.Telnet) ([]byte, error) { return tn.ReadVeryEager() }},
		{"Expect", func(tn *telnet.Telnet) ([]byte, error) {
			i, _, got, err := tn.Expect(patterns("PROMPT>"), -1)
			if i != 0 {
				t.Errorf("Expect(-1) = %d, want a match", i)
			}
			return got, err
		}},
		{"ReadUntil", func(tn *telnet.Telnet) ([]byte, error) { return tn.ReadUntil([]byte("PROMPT>"), -1) }},
	} {
		t.Run(read.name, func(t *testing.T) {
			host := telnettest.NewServer(t, func(c *telnettest.Conn) {
				c.Send(text)
				c.ExpectEOF()
			})
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) {
					_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1<<20)
				})
			}}
			conn, err := d.Dial("tcp", host.Addr())
			if err != nil {
				t.Fatal(err)
			}
			tn := telnet.NewConn(conn)
			defer tn.Close()
			for deadline := time.Now().Add(wait); kernelHolds(t, conn) < len(text); {
				if time.Now().After(deadline) {
					t.Fatalf("the kernel holds %d of %d bytes", kernelHolds(t, conn), len(text))
				}
				time.Sleep(time.Millisecond)
			}
			got, err := read.do(tn)
			if err != nil || !bytes.Equal(got, text) {
				t.Errorf("%s took %d of %d bytes (%v)", read.name, len(got), len(text), err)
			}
		})
	}
}

// kernelHolds is how many bytes conn has received and nobody has read.
func kernelHolds(t *testing.T, conn net.Conn) int {
	rc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	_ = rc.Control(func(fd uintptr) {
		_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	return int(n)
}

func TestReadVeryEagerReturnsAgainstAFloodingHost(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		chunk := bytes.Repeat([]byte("flood "), 4096)
		nc := c.NetConn()
		for {
			if _, err := nc.Write(chunk); err != nil {
				return
			}
		}
	})
	tn := srv.Dial()
	if _, err := tn.ReadSome(); err != nil { // the flood has started
		t.Fatal(err)
	}
	// It takes what the kernel held when it was called and a chunk
	// more: never more than the socket's receive buffer (which the
	// kernel may grow as the flood is read) and two chunks.
	for i := 0; i < 50; i++ {
		data, err := tn.ReadVeryEager()
		if err != nil {
			t.Fatal(err)
		}
		if limit := receiveBuffer(t, tn.Conn()) + 2*32<<10; len(data) > limit {
			t.Fatalf("ReadVeryEager returned %d bytes, more than the %d the kernel could have held: it kept reading the flood", len(data), limit)
		}
	}
	_ = tn.Close()
}

// receiveBuffer is the size of conn's receive buffer (SO_RCVBUF).
func receiveBuffer(t *testing.T, conn net.Conn) int {
	rc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var gerr error
	_ = rc.Control(func(fd uintptr) { n, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return n
}
