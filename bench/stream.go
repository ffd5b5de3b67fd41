package main

import (
	"bytes"
	"fmt"
)

// Telnet bytes the stream and the hosts use.
const (
	iac  = 255
	will = 251
	wont = 252
	do   = 253
	dont = 254
	sb   = 250
	se   = 240
	nop  = 241
	ga   = 249
	echo = 1
	sga  = 3
)

// makeStream returns about n bytes of what a telnet host sends in bulk,
// raw, and what a telnet client keeps of it, cooked: numbered text lines
// ending in CR LF, about three in every KiB carrying IAC NOP, IAC GA
// (both removed) or IAC IAC (one 255 byte). Every line is numbered, so a
// byte lost, repeated or moved is seen where it happens.
func makeStream(n int) (raw, cooked []byte) {
	raw = make([]byte, 0, n+128)
	cooked = make([]byte, 0, n+128)
	const text = "the quick brown fox jumps over the lazy dog, THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG; 0123456789"
	var line []byte
	for i := 0; len(raw) < n; i++ {
		line = fmt.Appendf(line[:0], "%09d ", i)
		k := i % len(text)
		line = append(line, text[k:]...)
		line = append(line, text[:k]...)
		line = line[:10+50+i%20]
		var cmd []byte
		switch i % 12 {
		case 3:
			cmd = []byte{iac, nop}
		case 7:
			cmd = []byte{iac, iac}
		case 11:
			cmd = []byte{iac, ga}
		}
		mid := 10 + i%40
		raw = append(raw, line[:mid]...)
		raw = append(raw, cmd...)
		raw = append(raw, line[mid:]...)
		raw = append(raw, '\r', '\n')
		cooked = append(cooked, line[:mid]...)
		if bytes.Equal(cmd, []byte{iac, iac}) {
			cooked = append(cooked, iac)
		}
		cooked = append(cooked, line[mid:]...)
		cooked = append(cooked, '\r', '\n')
	}
	return raw, cooked
}

// iacPerKiB counts the IAC sequences in a raw stream, per KiB.
func iacPerKiB(raw []byte) float64 {
	n := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] == iac {
			n++
			i++ // the command byte, IAC included
		}
	}
	return float64(n) / (float64(len(raw)) / 1024)
}

// mismatch says where got differs from want, for a loud failure.
func mismatch(what string, off int, got, want []byte) error {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-16)
	return fmt.Errorf("%s: byte %d differs: got %q, want %q", what, off+i,
		got[lo:min(len(got), i+16)], want[lo:min(len(want), i+16)])
}
