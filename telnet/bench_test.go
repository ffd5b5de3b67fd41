package telnet_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"telgate/telnet"
)

// benchText returns n bytes of ASCII text lines ending in CR LF, the shape
// of a shell session or a router's configuration dump.
func benchText(n int) []byte {
	words := []string{"interface", "GigabitEthernet0/1", "description", "uplink", "ip", "address",
		"10.0.0.1", "255.255.255.0", "no", "shutdown", "!", "router", "ospf", "1", "network",
		"area", "0", "logging", "buffered", "64000", "-rw-r--r--", "root", "4096", "Nov", "26"}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, n+128)
	for len(b) < n {
		width := 20 + r.IntN(80)
		start := len(b)
		for len(b)-start < width {
			if len(b) > start {
				b = append(b, ' ')
			}
			b = append(b, words[r.IntN(len(words))]...)
		}
		b = append(b, '\r', '\n')
	}
	return b[:n]
}

// benchTextIAC returns n bytes of text with a command sequence about every
// 100 bytes: IAC IAC (an escaped 255 data byte) and IAC NOP in turn.
func benchTextIAC(n int) []byte {
	text := benchText(n)
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 0, n+n/50)
	for k := 0; len(text) > 0; k++ {
		step := min(50+r.IntN(100), len(text))
		b = append(b, text[:step]...)
		text = text[step:]
		if k%2 == 0 {
			b = append(b, telnet.IAC, telnet.IAC)
		} else {
			b = append(b, telnet.IAC, telnet.NOP)
		}
	}
	return b[:n]
}

const (
	benchSize  = 16 << 20
	benchChunk = 32 << 10
)

// benchDecode decodes src in chunks of the given size, each into the same
// buffer, as (*Telnet).Read does into the caller's slice.
func benchDecode(b *testing.B, src []byte, chunk int) {
	var d telnet.Decoder
	dst := make([]byte, 0, chunk)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for off := 0; off < len(src); off += chunk {
			c := src[off:min(off+chunk, len(src))]
			dst = dst[:0]
			for len(c) > 0 {
				var n int
				dst, n, _, _ = d.Decode(dst, c)
				c = c[n:]
			}
		}
	}
}

func BenchmarkDecodePlain(b *testing.B) {
	benchDecode(b, benchText(benchSize), benchChunk)
}

func BenchmarkDecodeIAC1Percent(b *testing.B) {
	benchDecode(b, benchTextIAC(benchSize), benchChunk)
}

func BenchmarkDecodeSmallReads(b *testing.B) {
	benchDecode(b, benchText(benchSize), 64)
}

func BenchmarkDecodeBinary(b *testing.B) {
	src := make([]byte, benchSize)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range src {
		src[i] = byte(r.IntN(255)) // anything but IAC
	}
	var d telnet.Decoder
	d.Binary = true
	dst := make([]byte, 0, benchChunk)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(src); off += benchChunk {
			c := src[off:min(off+benchChunk, len(src))]
			dst = dst[:0]
			for len(c) > 0 {
				var n int
				dst, n, _, _ = d.Decode(dst, c)
				c = c[n:]
			}
		}
	}
}

// loopbackStream starts a host on loopback TCP that, for the one
// connection it accepts, writes payload rounds times and closes. It
// returns the client's side of the connection.
func loopbackStream(b *testing.B, payload []byte, rounds int) net.Conn {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Skipf("no loopback TCP: %v", err)
	}
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for i := 0; i < rounds; i++ {
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

const loopbackPayload = 4 << 20

// Each benchmark below moves the same stream, loopbackPayload bytes of
// text per operation, from a host goroutine to the client over loopback.

// BenchmarkLoopbackConn is the baseline: a plain read loop on the
// net.Conn with a 32 KiB buffer.
func BenchmarkLoopbackConn(b *testing.B) { benchConnRead(b, false) }

// BenchmarkLoopbackConnAlloc is the baseline for ReadSome: a plain read
// loop on the net.Conn that, like ReadSome, returns a new slice for every
// read, here a new 32 KiB buffer.
func BenchmarkLoopbackConnAlloc(b *testing.B) { benchConnRead(b, true) }

// benchConnRead reads the loopback stream straight from the net.Conn in
// 32 KiB reads: into one buffer, or with fresh into a new one each time.
func benchConnRead(b *testing.B, fresh bool) {
	payload := benchText(loopbackPayload)
	conn := loopbackStream(b, payload, b.N)
	defer conn.Close()
	buf := make([]byte, benchChunk)
	b.SetBytes(loopbackPayload)
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for {
		if fresh {
			buf = make([]byte, benchChunk)
		}
		n, err := conn.Read(buf)
		total += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			break
		}
	}
	b.StopTimer()
	if total != b.N*loopbackPayload {
		b.Fatalf("read %d bytes, want %d", total, b.N*loopbackPayload)
	}
}

// BenchmarkLoopbackRead reads through (*Telnet).Read with a 32 KiB buffer.
func BenchmarkLoopbackRead(b *testing.B) {
	benchTelnetRead(b, benchText(loopbackPayload))
}

// BenchmarkLoopbackReadIAC1Percent is BenchmarkLoopbackRead with a command
// about every 100 bytes.
func BenchmarkLoopbackReadIAC1Percent(b *testing.B) {
	benchTelnetRead(b, benchTextIAC(loopbackPayload))
}

func benchTelnetRead(b *testing.B, payload []byte) {
	want := b.N * len(payload)
	if bytes.IndexByte(payload, telnet.IAC) >= 0 {
		want = b.N * len(decodeChunks(nil, [][]byte{payload}).Data)
	}
	t := telnet.NewConn(loopbackStream(b, payload, b.N))
	defer t.Close()
	buf := make([]byte, benchChunk)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for {
		n, err := t.Read(buf)
		total += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			break
		}
	}
	b.StopTimer()
	if total != want {
		b.Fatalf("read %d bytes, want %d", total, want)
	}
}

// BenchmarkLoopbackReadSome reads through (*Telnet).ReadSome, which
// returns a new slice each call, as telnetlib's read_some does.
func BenchmarkLoopbackReadSome(b *testing.B) {
	payload := benchText(loopbackPayload)
	t := telnet.NewConn(loopbackStream(b, payload, b.N))
	defer t.Close()
	b.SetBytes(loopbackPayload)
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for {
		p, err := t.ReadSome()
		total += len(p)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			break
		}
	}
	b.StopTimer()
	if total != b.N*loopbackPayload {
		b.Fatalf("read %d bytes, want %d", total, b.N*loopbackPayload)
	}
}
