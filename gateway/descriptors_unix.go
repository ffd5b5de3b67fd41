//go:build unix

package gateway

import (
	"math"
	"syscall"
)

// fdCap is how many sessions the process's open-file limit leaves room
// for, 0 when it cannot be known. Go raises the soft limit to the hard
// one at start, so this is what the process can actually have.
func fdCap(perSession int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > math.MaxInt32 {
		return 0
	}
	return max(1, (int(rl.Cur)-fdHeadroom)/perSession)
}
