//go:build unix && !linux

package telnet

// receivedBytes cannot tell here.
func receivedBytes(uintptr) (int, bool) { return 0, false }
