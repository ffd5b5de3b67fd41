package telnet

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// scanners are the implementations of indexIACOrNUL this CPU can run.
func scanners() map[string]func([]byte) int {
	m := map[string]func([]byte) int{"generic": indexIACOrNULGeneric}
	if fusedScan {
		m["fused"] = indexIACOrNUL
	}
	return m
}

// indexIACOrNUL finds the first IAC or NUL at every length up to a few
// blocks, with the byte sought at every position, alone or before
// another, at every alignment.
func TestIndexIACOrNUL(t *testing.T) {
	for name, scan := range scanners() {
		t.Run(name, func(t *testing.T) { testIndexIACOrNUL(t, scan) })
	}
}

func testIndexIACOrNUL(t *testing.T, scan func([]byte) int) {
	buf := make([]byte, 200)
	for off := range 33 {
		for n := 0; n+off <= len(buf) && n <= 160; n++ {
			b := buf[off : off+n]
			for i := range b {
				b[i] = 'a' + byte(i%26)
			}
			if got := scan(b); got != -1 {
				t.Fatalf("offset %d, %d bytes of text: %d, want -1", off, n, got)
			}
			for p := range n {
				for _, c := range []byte{IAC, 0} {
					b[p] = c
					if got := scan(b); got != p {
						t.Fatalf("offset %d, %d bytes, %#x at %d: got %d", off, n, c, p, got)
					}
					if p+1 < n {
						b[n-1] = IAC ^ c // the other one, further on
						if got := scan(b); got != p {
							t.Fatalf("offset %d, %d bytes, %#x at %d and %#x at the end: got %d", off, n, c, p, b[n-1], got)
						}
						b[n-1] = 'a' + byte((n-1)%26)
					}
				}
				b[p] = 'a' + byte(p%26)
			}
		}
	}
}

func TestIndexIACOrNULRandom(t *testing.T) {
	if !fusedScan {
		t.Skip("no fused scan on this CPU")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(1 + r.IntN(254))
		}
		for range r.IntN(3) {
			if len(b) > 0 {
				b[r.IntN(len(b))] = []byte{0, IAC}[r.IntN(2)]
			}
		}
		if got, want := indexIACOrNUL(b), indexIACOrNULGeneric(b); got != want {
			t.Fatalf("%q: got %d, want %d", b, got, want)
		}
	}
}

func FuzzIndexIACOrNUL(f *testing.F) {
	f.Add([]byte("plain text with neither"), uint8(0))
	f.Add(append(bytes.Repeat([]byte("x"), 40), IAC, 0), uint8(3))
	if !fusedScan {
		f.Skip("no fused scan on this CPU")
	}
	f.Fuzz(func(t *testing.T, b []byte, off uint8) {
		b = b[min(int(off), len(b)):]
		if got, want := indexIACOrNUL(b), indexIACOrNULGeneric(b); got != want {
			t.Fatalf("%q: got %d, want %d", b, got, want)
		}
	})
}

// BenchmarkIndexIACOrNUL scans the bench stream run by run, as
// decodeChunk does, against two IndexByte passes.
func BenchmarkIndexIACOrNUL(b *testing.B) {
	src := bulkOutput(1 << 20)
	cases := scanners()
	cases["IAC only"] = func(b []byte) int { return bytes.IndexByte(b, IAC) }
	for _, name := range []string{"fused", "generic", "IAC only"} {
		scan := cases[name]
		if scan == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				for i := 0; i < len(src); {
					k := scan(src[i:])
					if k < 0 {
						break
					}
					i += k + 1
				}
			}
		})
	}
}
