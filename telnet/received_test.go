package telnet_test

import (
	"bytes"
	"net"
	"runtime"
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
	if runtime.GOOS != "linux" {
		t.Skip("the kernel tells how many bytes it holds on Linux only")
	}
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
