//go:build !amd64 || purego

package telnet

// fusedScan says indexIACOrNUL scans for both bytes in one pass.
const fusedScan = false

// indexIACOrNUL returns the index of the first IAC or NUL byte in b, or
// -1 when there is none.
func indexIACOrNUL(b []byte) int { return indexIACOrNULGeneric(b) }
