//go:build unix

package gateway

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// At the open-file limit a session is refused before the upgrade, as
// "too many sessions" (HTTP 503), and the gateway says why.
func TestSessionsStopAtTheDescriptorLimit(t *testing.T) {
	a := newAdmission(Limits{MaxSessions: -1, MaxSessionsPerUser: -1, MaxSessionsPerClient: -1, ConnectRate: -1})
	a.fdCap = 2
	warned := 0
	a.onFDCap = func() { warned++ }
	now := time.Now()
	var releases []func()
	for i := 0; i < 2; i++ {
		r, err := a.admit("192.0.2.1", "", now)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		releases = append(releases, r)
	}
	_, err := a.admit("192.0.2.1", "", now)
	if !errors.Is(err, ErrTooManySessions) || !errors.Is(err, errNoDescriptors) || warned != 1 {
		t.Fatalf("third session: %v (warned %d), want errNoDescriptors", err, warned)
	}
	if !a.full() {
		t.Error("full() is false at the descriptor limit")
	}
	releases[0]()
	if _, err := a.admit("192.0.2.1", "", now); err != nil {
		t.Fatalf("after a release: %v", err)
	}
}

// The limit comes from RLIMIT_NOFILE, with room kept for the rest.
func TestFDCapFollowsTheOpenFileLimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	if got, want := fdCap(2), (int(rl.Cur)-fdHeadroom)/2; got != max(1, want) {
		t.Errorf("fdCap(2) = %d, want %d for a limit of %d", got, want, rl.Cur)
	}
}

// A dial that fails for want of descriptors says so.
func TestDialOutOfDescriptors(t *testing.T) {
	err := fmt.Errorf("dial tcp: %w", syscall.EMFILE)
	if got := DialReason(err); got != ReasonNoDescriptors {
		t.Errorf("DialReason(EMFILE) = %q", got)
	}
}
