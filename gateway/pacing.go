package gateway

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// A target's LineDelay paces pasted input: lines reach the host that far
// apart. The pacing runs on a goroutine of its own, started for a paste
// and ended once the paste and the input queued behind it are written,
// so that readBrowser goes on reading meanwhile: the browser's pings are
// answered, its close ends the session at once (which cuts the paste
// short), and a toolbar command, Break among them, reaches the host
// between two lines rather than after the paste. Input typed during a
// paste waits behind it, in order.

// maxPacedBacklog bounds the input waiting to be paced; the browser's
// next message then waits to be read, as it would for a host that reads
// slowly.
const maxPacedBacklog = 1 << 20

// pacer is a session's paced input.
type pacer struct {
	s       *session
	mu      sync.Mutex
	room    sync.Cond // signalled when queued shrinks or the session ends
	queue   [][]byte  // messages waiting, in order
	queued  int       // their bytes
	running bool      // the pacing goroutine runs
	// lineAt is when the pacing goroutine last wrote a line ending; the
	// goroutines that run one after the other hand it on through mu.
	lineAt time.Time
}

func newPacer(s *session) *pacer {
	pc := &pacer{s: s}
	pc.room.L = &pc.mu
	context.AfterFunc(s.ctx, func() {
		pc.mu.Lock()
		defer pc.mu.Unlock()
		pc.room.Broadcast()
	})
	return pc
}

// writeInput writes input, as the target wants it, to the host: at once,
// or paced when the target has a line delay. It is called by readBrowser
// alone.
func (s *session) writeInput(p []byte) error {
	if s.req.Target.LineDelay <= 0 {
		_, err := s.tn.Write(p)
		return err
	}
	if s.pace == nil {
		s.pace = newPacer(s)
	}
	return s.pace.write(p)
}

// write writes p at once when nothing waits ahead of it and it is at most
// one line (a keystroke, or a line ending); otherwise it queues a copy
// for the pacing goroutine, waiting while the queue is full.
func (pc *pacer) write(p []byte) error {
	pc.mu.Lock()
	if !pc.running && lineEnd(p) == len(p) {
		pc.mu.Unlock()
		_, err := pc.s.tn.Write(p)
		return err
	}
	defer pc.mu.Unlock()
	for pc.queued >= maxPacedBacklog && pc.s.ctx.Err() == nil {
		pc.room.Wait()
	}
	if err := pc.s.ctx.Err(); err != nil {
		return err
	}
	pc.queue = append(pc.queue, bytes.Clone(p))
	pc.queued += len(p)
	if !pc.running {
		pc.running = true
		pc.s.pacing.Add(1)
		go pc.run()
	}
	return nil
}

// run writes the queue piece by piece (a line with its ending, or what
// follows the last line ending), each piece at least the target's delay
// after the last line ending written, until the queue is empty, a write
// fails (the rest is dropped, as unpaced input to a host that is gone is)
// or the session ends.
func (pc *pacer) run() {
	defer pc.s.pacing.Done()
	delay := pc.s.req.Target.LineDelay
	for {
		pc.mu.Lock()
		if len(pc.queue) == 0 || pc.s.ctx.Err() != nil {
			pc.stopLocked()
			pc.mu.Unlock()
			return
		}
		p := pc.queue[0]
		pc.queue[0] = nil
		pc.queue = pc.queue[1:]
		pc.mu.Unlock()

		n := len(p)
		var err error
		for len(p) > 0 && err == nil {
			end := lineEnd(p)
			if !pc.lineAt.IsZero() && !pc.waitUntil(pc.lineAt.Add(delay)) {
				err = pc.s.ctx.Err()
				break
			}
			_, err = pc.s.tn.Write(p[:end])
			if bytes.IndexByte(p[:end], '\r') >= 0 {
				pc.lineAt = time.Now()
			}
			p = p[end:]
		}

		pc.mu.Lock()
		pc.queued -= n
		pc.room.Broadcast()
		if err != nil {
			pc.stopLocked()
			pc.mu.Unlock()
			return
		}
		pc.mu.Unlock()
	}
}

// stopLocked drops what is queued and marks the goroutine ended; pc.mu is
// held.
func (pc *pacer) stopLocked() {
	pc.queue, pc.queued, pc.running = nil, 0, false
	pc.room.Broadcast()
}

// waitUntil waits until t, or until the session ends; it reports whether
// t came.
func (pc *pacer) waitUntil(when time.Time) bool {
	d := time.Until(when)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-pc.s.ctx.Done():
		return false
	}
}

// lineEnd returns the length of p's first line with its ending: up to and
// with the first CR and the LF or NUL that may follow it, or all of p.
func lineEnd(p []byte) int {
	i := bytes.IndexByte(p, '\r')
	if i < 0 {
		return len(p)
	}
	i++
	if i < len(p) && (p[i] == '\n' || p[i] == 0) {
		i++
	}
	return i
}
