//go:build unix

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// listenUnix listens on a UNIX socket at path, made readable and writable
// by its owner and group only (0660: the proxy's user must be one of
// them). PATH.lock, locked for as long as the socket is served, keeps a
// second telgate from taking the path over; a socket file left by a
// telgate that is gone (nothing accepts on it) is replaced; a path
// something listens on, or may (any failure but a refused connection),
// or that is not a socket, is refused. It must be called before anything
// else creates files: the socket's mode comes from the umask, set for the
// bind (a chmod afterwards would leave it open meanwhile).
func listenUnix(path string) (net.Listener, error) {
	where := "listen " + unixScheme + path
	switch {
	case path == "":
		return nil, errors.New("listen unix: no socket path after unix:")
	case strings.HasPrefix(path, "@"):
		return nil, fmt.Errorf("%s: abstract sockets are not supported: give a file's path", where)
	}
	// Read-only is enough for flock; not through a symbolic link, which
	// someone able to write the directory could have put there.
	lock, err := os.OpenFile(path+".lock", os.O_RDONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	fail := func(err error) (net.Listener, error) {
		lock.Close()
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fail(fmt.Errorf("%s: a telgate serves it already (%s.lock is locked)", where, path))
		}
		return fail(fmt.Errorf("%s: locking %s.lock: %w", where, path, err))
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fail(fmt.Errorf("%s: the path exists and is not a socket", where))
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		switch {
		case err == nil:
			c.Close()
			return fail(fmt.Errorf("%s: another process is listening on it", where))
		case !errors.Is(err, syscall.ECONNREFUSED):
			return fail(fmt.Errorf("%s: a socket is there and may be in use: %w", where, err))
		}
		if err := os.Remove(path); err != nil {
			return fail(fmt.Errorf("%s: removing the socket left behind: %w", where, err))
		}
	}
	old := syscall.Umask(0o117)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return fail(err)
	}
	return unixListener{Listener: ln, lock: lock}, nil
}
