package telnet

import (
	"syscall"
	"unsafe"
)

// receivedBytes is how many bytes socket fd has received that nobody has
// read yet (SIOCINQ).
func receivedBytes(fd uintptr) (int, bool) {
	var n int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	return int(n), errno == 0
}
