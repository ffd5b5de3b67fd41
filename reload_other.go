//go:build !unix

package main

import "os"

// notifyReload reports that this system has no signal to reload on.
func notifyReload(chan<- os.Signal) bool { return false }
