package gateway

import (
	"bytes"
	"sync"
	"time"

	"telgate/telnet"
)

// A target's LineDelay paces input: a line ending reaches the host at
// least that long after the one before it. The pacing runs on a goroutine
// of its own, started when input has to wait and ended once what waits is
// written, so that readBrowser goes on reading meanwhile: the browser's
// pings are answered, its close ends the session at once (which cuts the
// paste short), and a toolbar command, Break among them, reaches the host
// between two lines rather than after the paste. Input typed during a
// paste waits behind it, in order, except an interrupt: Ctrl-C typed, or
// the Interrupt button, drops the rest of the paste and goes right after
// the line being sent, as the way to stop a paste sent to the wrong
// console.

// maxPacedBacklog bounds the input waiting to be paced, in bytes as they
// go to the host. A paste that would go over it ends the session
// (ReasonPasteTooLong), the lines already sent staying sent: waiting for
// room would stop reading the browser, and with it the Break or the
// close that stops an unwanted paste, and dropping the rest of a paste
// would leave a console with part of a configuration without a word.
const maxPacedBacklog = 1 << 20

// pacedInput is input waiting to be paced: one message, or several that
// arrived one behind the other; or an interrupt, which goes at once.
type pacedInput struct {
	data    []byte  // as the host gets it
	browser int     // its length as the browser sent it, counted once written
	command byte    // an interrupt: the telnet command to send (IP), or 0 for data
	urgent  bool    // an interrupt: written without waiting for the delay
	from    *viewer // the viewer handed the keyboard that sent it; nil: the session's page
}

// pacer is a session's paced input.
type pacer struct {
	s       *session
	mu      sync.Mutex
	queue   []pacedInput  // waiting, in order
	queued  int           // bytes of data waiting
	running bool          // the pacing goroutine runs
	lineAt  time.Time     // when the last line ending was written
	epoch   uint64        // counts interrupts: input queued before one is dropped
	wake    chan struct{} // cuts the pacing goroutine's wait short for an interrupt
	// writing is where the input being written came from, and cut says
	// that source lost the keyboard meanwhile (see drop).
	writing *viewer
	cut     bool
}

// writeInput writes input, as the target wants it, to the host: at once,
// or paced when the target has a line delay. n is the input's length as
// the browser sent it, which is counted once the input is written. Input
// the host cannot take is dropped (see browserMessage). It is called
// with inputMu held.
func (s *session) writeInput(p []byte, n int, from *viewer) {
	if s.req.Target.LineDelay <= 0 {
		s.writeNow(p, n)
		return
	}
	if s.pace == nil {
		s.pace = &pacer{s: s, wake: make(chan struct{}, 1)}
	}
	s.pace.write(p, n, from)
}

// writeNow writes p to the host and counts n bytes of browser input if it
// went; it reports whether it did.
func (s *session) writeNow(p []byte, n int) bool {
	if _, err := s.tn.Write(p); err != nil {
		return false
	}
	s.countInput(n)
	return true
}

// countInput counts n bytes of browser input written to the host.
func (s *session) countInput(n int) {
	s.bytesIn.Add(int64(n))
	s.g.metrics.toHost.Add(float64(n))
}

// write writes p at once when nothing waits ahead of it, it holds at most
// one line ending, at its end (a keystroke, Enter, a line), and the last
// line ending went at least the delay ago; otherwise it queues a copy for
// the pacing goroutine.
func (pc *pacer) write(p []byte, n int, from *viewer) {
	if len(p) == 1 && p[0] == ctrlC {
		if !pc.interrupt(pacedInput{data: []byte{ctrlC}, browser: n, urgent: true, from: from}) {
			// Nothing is being paced: it goes at once, line delay or not.
			pc.s.writeNow(p, n)
		}
		return
	}
	delay := pc.s.req.Target.LineDelay
	pc.mu.Lock()
	if !pc.running && lineEnd(p) == len(p) && time.Since(pc.lineAt) >= delay {
		// The pacing goroutine is not running, and only a writer
		// holding inputMu starts it: holding mu over the write keeps
		// no one waiting.
		defer pc.mu.Unlock()
		if pc.s.writeNow(p, n) && bytes.IndexByte(p, '\r') >= 0 {
			pc.lineAt = time.Now()
		}
		return
	}
	if pc.queued+len(p) > maxPacedBacklog {
		pc.mu.Unlock()
		pc.s.stop(ReasonPasteTooLong)
		return
	}
	// Messages waiting one behind the other wait as one: a stream of
	// one-byte messages costs its bytes, not an entry each. Not across
	// sources, so that a viewer's input can be dropped alone.
	if last := len(pc.queue) - 1; last >= 0 && !pc.queue[last].urgent && pc.queue[last].from == from {
		pc.queue[last].data = append(pc.queue[last].data, p...)
		pc.queue[last].browser += n
	} else {
		pc.queue = append(pc.queue, pacedInput{data: bytes.Clone(p), browser: n, from: from})
	}
	pc.queued += len(p)
	if !pc.running {
		pc.running = true
		pc.s.pacing.Add(1)
		go pc.run()
	}
	pc.mu.Unlock()
}

// ctrlC is what a terminal sends for Ctrl-C: the interrupt character.
const ctrlC = 3

// interrupt hands in, an interrupt, to the pacing goroutine while it
// runs: the ordinary input waiting and the rest of what it is writing are
// dropped, and in goes next (after other interrupts still waiting), at
// once, after the line being or about to be written. It reports false
// when the goroutine does not run: the caller then sends the interrupt
// itself, as nothing is ahead of it.
func (pc *pacer) interrupt(in pacedInput) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if !pc.running {
		return false
	}
	// Interrupts already waiting stay, in order; ordinary input goes.
	var kept []pacedInput
	queued := 0
	for _, q := range pc.queue {
		if q.urgent {
			kept = append(kept, q)
			queued += len(q.data)
		}
	}
	pc.queue, pc.queued = append(kept, in), queued+len(in.data)
	pc.epoch++
	select {
	case pc.wake <- struct{}{}:
	default:
	}
	return true
}

// sendCommand sends a toolbar command, from the page or the viewer from;
// an interrupt (IP) is an interrupt of a paste too (see interrupt).
func (s *session) sendCommand(cmd byte, from *viewer) {
	if cmd == telnet.IP && s.pace != nil && s.pace.interrupt(pacedInput{command: cmd, urgent: true, from: from}) {
		return
	}
	_ = s.tn.SendCommand(cmd)
}

// run writes the queue piece by piece (a line with its ending, or what
// follows the last line ending), each piece at least the target's delay
// after the last line ending written, until the queue is empty, a write
// fails (the rest is dropped, as unpaced input to a host that is gone is)
// or the session ends. Input is counted once its entry is written whole;
// an entry an interrupt cut short is not counted, not even the lines of
// it already sent.
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
		in := pc.queue[0]
		pc.queue[0] = pacedInput{}
		pc.queue = pc.queue[1:]
		pc.writing, pc.cut = in.from, false
		lineAt, epoch := pc.lineAt, pc.epoch
		// A wake-up no wait took (an interrupt's, a drop's) was for the
		// entry before: this one's wait must not end early for it.
		select {
		case <-pc.wake:
		default:
		}
		pc.mu.Unlock()

		p := in.data
		var err error
		if in.command != 0 {
			err = pc.s.tn.SendCommand(in.command)
		}
		for len(p) > 0 && err == nil {
			if !in.urgent && !pc.waitUntil(lineAt.Add(delay)) {
				err = pc.s.ctx.Err()
				break
			}
			if !in.urgent && pc.cancelled(epoch) {
				break
			}
			end := lineEnd(p)
			_, err = pc.s.tn.Write(p[:end])
			pc.s.touch() // input, however slowly it goes, is traffic
			if bytes.IndexByte(p[:end], '\r') >= 0 {
				lineAt = time.Now()
			}
			p = p[end:]
		}

		pc.mu.Lock()
		pc.lineAt = lineAt
		// An interrupt since counted the queue afresh, without this.
		if pc.epoch == epoch {
			pc.queued -= len(in.data)
		}
		if err != nil {
			pc.stopLocked()
			pc.mu.Unlock()
			return
		}
		pc.mu.Unlock()
		if len(p) == 0 {
			pc.s.countInput(in.browser)
		}
	}
}

// stopLocked ends the pacing goroutine's run, dropping what waits and a
// wake-up no wait took, which would end the next run's first wait early;
// pc.mu is held.
func (pc *pacer) stopLocked() {
	pc.queue, pc.queued, pc.running = nil, 0, false
	select {
	case <-pc.wake:
	default:
	}
}

// cancelled reports whether input was cancelled since epoch, or the
// source of the input being written lost the keyboard.
func (pc *pacer) cancelled(epoch uint64) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.epoch != epoch || pc.cut
}

// drop drops the input of the viewer v, which lost the keyboard: what
// waits, its interrupts too, and the rest of what is being written (the
// line being written goes whole).
func (pc *pacer) drop(v *viewer) {
	pc.dropIf(func(q pacedInput) bool { return q.from == v })
}

// dropAll drops the ordinary input that waits (interrupts stay), and the
// rest of what is being written.
func (pc *pacer) dropAll() {
	pc.dropIf(func(q pacedInput) bool { return !q.urgent })
}

func (pc *pacer) dropIf(dropped func(q pacedInput) bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	kept := pc.queue[:0]
	for _, q := range pc.queue {
		if dropped(q) {
			pc.queued -= len(q.data)
		} else {
			kept = append(kept, q)
		}
	}
	clear(pc.queue[len(kept):])
	pc.queue = kept
	// The entry being written is judged by its source alone: an urgent
	// one is never cut (see run), whatever cut says.
	if pc.running && dropped(pacedInput{from: pc.writing}) {
		pc.cut = true
		// Its wait for the line delay ends now (see run).
		select {
		case pc.wake <- struct{}{}:
		default:
		}
	}
}

// waitUntil waits until when, or until the session ends; it reports
// whether when came.
func (pc *pacer) waitUntil(when time.Time) bool {
	d := time.Until(when)
	if d <= 0 {
		return pc.s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-pc.wake: // an interrupt: the caller finds its input cancelled
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
