package telnet

import "bytes"

// A runScanner finds where the data runs of one chunk end for
// Decoder.decodeChunk: at the next IAC and, unless the data is binary, at
// the next NUL (the second byte of a CR NUL pair, which decoding drops).
//
// Text brings an IAC every few hundred bytes and seldom a NUL. Where the
// CPU allows (amd64 with AVX2) one pass looks for both bytes at once.
// Elsewhere the scanner looks for each with bytes.IndexByte and keeps
// where the next one is until it is passed, which is sound because the
// bytes ahead of the position asked about do not change (decoding in
// place writes only behind it): a text costs one NUL scan, and a flood
// of NULs one IAC scan, not one per run.
type runScanner struct {
	src   []byte
	fused bool // use indexIACOrNUL
	iac   int  // the next IAC at or after the last position asked about, or len(src); -1 before the first look
	nul   int  // likewise for NUL
}

// newRunScanner returns a scanner of src, which uses the fused scan
// where there is one unless generic is set (for tests of the other way).
func newRunScanner(src []byte, generic bool) runScanner {
	return runScanner{src: src, fused: fusedScan && !generic, iac: -1, nul: -1}
}

// next returns the index of the first IAC, or NUL unless binary, at or
// after i, or len(src) when there is none.
func (s *runScanner) next(i int, binary bool) int {
	if !binary && s.fused {
		if k := indexIACOrNUL(s.src[i:]); k >= 0 {
			return i + k
		}
		return len(s.src)
	}
	if s.iac < i {
		s.iac = len(s.src)
		if k := bytes.IndexByte(s.src[i:], IAC); k >= 0 {
			s.iac = i + k
		}
	}
	if binary {
		return s.iac
	}
	if s.nul < i {
		s.nul = len(s.src)
		if k := bytes.IndexByte(s.src[i:], 0); k >= 0 {
			s.nul = i + k
		}
	}
	return min(s.iac, s.nul)
}

// indexIACOrNULGeneric is indexIACOrNUL without assembly.
func indexIACOrNULGeneric(b []byte) int {
	k := bytes.IndexByte(b, IAC)
	if k < 0 {
		k = len(b)
	}
	if j := bytes.IndexByte(b[:k], 0); j >= 0 {
		return j
	}
	if k == len(b) {
		return -1
	}
	return k
}
