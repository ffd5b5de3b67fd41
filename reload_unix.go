//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload relays SIGHUP, the signal to reload, to c.
func notifyReload(c chan<- os.Signal) bool {
	signal.Notify(c, syscall.SIGHUP)
	return true
}
