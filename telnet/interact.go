package telnet

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Interact connects the session to a terminal, as a very dumb telnet
// client: cooked data from the connection is written to out, bytes read
// from in are written to the connection (IAC doubled, nothing else
// translated; unlike telnetlib's, every byte value passes). It returns nil
// when the host closes the connection, after writing "*** Connection
// closed by remote host ***" to out; when Close is called meanwhile,
// without that line (telnetlib prints it then too); or when in reaches
// EOF. Otherwise it returns the first error.
//
// Interact reads in on a goroutine of its own. When the connection closes
// first and in has a SetReadDeadline method (as *os.File for pipes and
// terminals, and net.Conn have), Interact ends that goroutine's pending
// read with a deadline, waits for it, and clears the deadline again before
// it returns, so in can be read afterwards; otherwise the goroutine ends
// when its pending read of in returns, and what that read brings is
// discarded. A goroutine that is writing what it read to a host that does
// not take it in (one that closed only its sending side, say) is not
// waited for: it ends when its write does (at the latest on Close),
// without reading in again.
func (t *Telnet) Interact(in io.Reader, out io.Writer) error {
	if t.src == nil {
		return ErrNotConnected
	}
	// Interact waits for the connection and for in at once, which takes
	// a pump: a connection read directly gets one from now on.
	p, ok := t.src.(*pump)
	if !ok {
		if d, ok := t.src.(intoSource); ok && !t.hasPending {
			t.pending, t.hasPending = d.held()
		}
		p = startPump(t.conn)
		t.srcMu.Lock()
		t.src = p
		t.srcMu.Unlock()
		if t.closed.Load() {
			p.stop()
		}
	}
	inDone := make(chan error, 1)
	var input struct {
		sync.Mutex
		writing bool // to the connection, not reading in
		stopped bool // Interact has returned
	}
	// more reports whether the input goroutine goes on after a read of
	// in (and then writes), or after a write (and then reads in again).
	more := func(writing bool) bool {
		input.Lock()
		defer input.Unlock()
		input.writing = writing && !input.stopped
		return !input.stopped
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			if !more(n > 0) {
				inDone <- nil // Interact has returned: n bytes too late
				return
			}
			if n > 0 {
				_, werr := t.Write(buf[:n])
				if !more(false) {
					inDone <- nil
					return
				}
				if werr != nil {
					inDone <- werr
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				inDone <- err
				return
			}
		}
	}()
	inEnded := false
	defer func() {
		input.Lock()
		input.stopped = true
		writing := input.writing
		input.Unlock()
		// A goroutine writing to a host that does not read (it may
		// have closed only its sending side) could wait until Close:
		// it is left to end with its write, and reads in no more.
		d, ok := in.(interface{ SetReadDeadline(time.Time) error })
		if inEnded || writing || !ok {
			return
		}
		if d.SetReadDeadline(time.Unix(1, 0)) == nil {
			<-inDone
			_ = d.SetReadDeadline(time.Time{})
		}
	}()

	var cooked []byte
	for {
		if len(t.unread()) > 0 {
			if _, err := out.Write(t.unread()); err != nil {
				return fmt.Errorf("telnet: interact: %w", err)
			}
			t.consume(len(t.unread()))
		}
		if t.eof {
			if !errors.Is(t.endErr(), io.EOF) {
				return t.endErr()
			}
			if t.endLocal {
				return nil
			}
			_, err := io.WriteString(out, "*** Connection closed by remote host ***\n")
			return err
		}
		var c chunk
		switch {
		case t.hasPending:
			c, _ = t.receive(poll, time.Time{}) // what WaitRead put aside
		case t.closing():
			// As every read: nothing more from the connection, not
			// even what the pump read ahead.
			c = t.closedChunk()
		default:
			select {
			case c = <-p.full:
			case <-p.done:
				c = p.stopped()
			case err := <-inDone:
				inEnded = true
				return err
			}
			c = t.noteEnd(c)
		}
		cooked = t.decode(cooked[:0], c)
		if len(cooked) > 0 {
			if _, err := out.Write(cooked); err != nil {
				return fmt.Errorf("telnet: interact: %w", err)
			}
		}
	}
}

// MtInteract is Interact. telnetlib has a second, threaded version for
// platforms whose select cannot wait on standard input; goroutines make one
// implementation serve everywhere.
func (t *Telnet) MtInteract(in io.Reader, out io.Writer) error {
	return t.Interact(in, out)
}
