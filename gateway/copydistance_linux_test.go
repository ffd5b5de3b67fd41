package gateway

import (
	"fmt"
	"syscall"
	"testing"
)

// BenchmarkKernelCopyDistance measures the kernel's copies at several
// distances, modulo 4 KiB, between source and destination: each op
// writes 64 KiB into a pipe, which stands in for a socket's pages, and
// reads it back to that distance past the page-aligned data. On CPUs
// whose rep movsb is slow when the destination lies 1 to 15 bytes past
// the source, the distances 4 and 10 run several times slower than the
// others: that is why frame payloads start frameHeadroom into their
// buffers.
//
//	go test -run='^$' -bench=KernelCopyDistance ./gateway
func BenchmarkKernelCopyDistance(b *testing.B) {
	// 4 and 10 bytes past (a frame header's size), and the distances
	// frameHeadroom gives instead: 60 and 54 bytes before.
	for _, dist := range []int{0, 4, 10, 4096 - (frameHeadroom - 4), 4096 - (frameHeadroom - 10)} {
		b.Run(fmt.Sprintf("distance%d", dist), func(b *testing.B) {
			var p [2]int
			if err := syscall.Pipe(p[:]); err != nil {
				b.Fatal(err)
			}
			defer syscall.Close(p[0])
			defer syscall.Close(p[1])
			const size = 64 << 10 // a pipe's default capacity
			src := make([]byte, size)
			dst := make([]byte, size+4096)
			b.SetBytes(size)
			for b.Loop() {
				// An empty pipe starts its next write on a fresh page.
				if n, err := syscall.Write(p[1], src); err != nil || n != size {
					b.Fatalf("write: %d, %v", n, err)
				}
				for got := 0; got < size; {
					n, err := syscall.Read(p[0], dst[dist+got:dist+size])
					if err != nil || n <= 0 {
						b.Fatalf("read: %d, %v", n, err)
					}
					got += n
				}
			}
		})
	}
}
