//go:build !purego

package telnet

import "golang.org/x/sys/cpu"

// fusedScan says indexIACOrNUL scans for both bytes in one pass.
var fusedScan = cpu.X86.HasAVX2

// indexIACOrNUL returns the index of the first IAC or NUL byte in b, or
// -1 when there is none. It needs AVX2 (see fusedScan).
//
//go:noescape
func indexIACOrNUL(b []byte) int
