package telnet

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Interact connects the session to a terminal, as a very dumb telnet
// client: cooked data from the connection is written to out, bytes read
// from in are written to the connection (IAC doubled, nothing else
// translated; unlike telnetlib's, every byte value passes). It returns nil
// when the connection closes, after writing "*** Connection closed by
// remote host ***" to out, or when in reaches EOF; otherwise the first
// error.
//
// Interact reads in on a goroutine of its own. When the connection closes
// first, that goroutine ends at once if in has a SetReadDeadline method (as
// *os.File for pipes and terminals, net.Conn); otherwise it ends when its
// pending read of in returns.
func (t *Telnet) Interact(in io.Reader, out io.Writer) error {
	if t.pump == nil {
		return ErrNotConnected
	}
	inDone := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				if _, werr := t.Write(buf[:n]); werr != nil {
					inDone <- werr
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				select {
				case <-stop:
					err = nil
				default:
				}
				inDone <- err
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if d, ok := in.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(time.Unix(1, 0))
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
			_, err := io.WriteString(out, "*** Connection closed by remote host ***\n")
			return err
		}
		select {
		case c := <-t.pump.full:
			cooked = t.decode(cooked[:0], t.noteEnd(c))
			if len(cooked) > 0 {
				if _, err := out.Write(cooked); err != nil {
					return fmt.Errorf("telnet: interact: %w", err)
				}
			}
		case <-t.pump.done:
			t.noteEnd(chunk{err: io.EOF})
		case err := <-inDone:
			return err
		}
	}
}

// MtInteract is Interact. telnetlib has a second, threaded version for
// platforms whose select cannot wait on standard input; goroutines make one
// implementation serve everywhere.
func (t *Telnet) MtInteract(in io.Reader, out io.Writer) error {
	return t.Interact(in, out)
}
