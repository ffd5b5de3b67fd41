//go:build !unix

package gateway

// fdCap is 0 (not known) where there is no open-file limit to read:
// only the configured session limits apply.
func fdCap(perSession int) int { return 0 }
