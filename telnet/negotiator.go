package telnet

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// A Policy says which options a Negotiator agrees to.
type Policy struct {
	// Local holds the options we enable on our side when the peer asks
	// (DO gets WILL); DO for any other option gets WONT.
	Local OptionSet
	// Remote holds the options we let the peer enable (WILL gets DO);
	// WILL for any other option gets DONT.
	Remote OptionSet
}

// qstate is one side of one option in RFC 1143's Q method.
type qstate uint8

const (
	qNo qstate = iota
	qYes
	qWantNo
	qWantYes
)

// qopt is an option's state on one side plus the queue bit.
type qopt struct {
	state    qstate
	opposite bool // the OPPOSITE queue bit: a reversal is queued
}

// A Negotiator negotiates options by RFC 1143's Q method, so that no
// exchange of requests can loop: it never acknowledges a request for the
// state an option is already in, and answers every DO TIMING-MARK (RFC
// 860) without keeping state for it. Use its Callback as a Telnet's option
// negotiation callback.
//
// Beside the state machine it implements what a terminal client needs:
// NAWS (RFC 1073: the window size is sent when the peer enables the option
// and again on every SetWindowSize, never before DO NAWS), TTYPE (RFC 1091:
// each SEND is answered with the next configured type, the last one
// repeated to mark the end of the list, then from the first again) and
// BINARY (the Telnet's decoder follows the peer's sending mode).
//
// A Negotiator serves one connection. Its methods are safe for concurrent
// use. Its frames are queued as the state changes that decide them are
// made, under its lock, so that they reach the wire in that order (no SB
// NAWS after WONT NAWS, nor a size older than the last one set); queuing
// never waits for the peer, so the reader, in Callback, never does. A
// request or SetWindowSize given the Telnet the program holds then waits
// until its frame is written, as a Write does; given the callback's
// Telnet, from the callback, it returns at once.
type Negotiator struct {
	mu        sync.Mutex
	policy    Policy
	us, him   [256]qopt
	cols      int
	rows      int
	sizeKnown bool
	ttypes    []string
	ttypeNext int
	onChange  func(t *Telnet, opt byte, local, enabled bool)
	next      atomic.Pointer[func(t *Telnet, cmd, opt byte)] // OnOther's: read on every NOP of bulk output
	onError   func(err error)
}

// NewNegotiator returns a Negotiator that accepts what p allows. TIMING-MARK
// is answered WILL when p.Local has TM, WONT otherwise.
func NewNegotiator(p Policy) *Negotiator {
	return &Negotiator{policy: p}
}

// SetTerminalTypes sets the types answered to TTYPE SEND, in order. With no
// types, TTYPE is answered "UNKNOWN".
func (n *Negotiator) SetTerminalTypes(types ...string) {
	n.mu.Lock()
	n.ttypes = append([]string(nil), types...)
	n.ttypeNext = 0
	n.mu.Unlock()
}

// OnChange sets a function called, with the Negotiator's lock released,
// whenever an option becomes enabled or disabled: local for our side,
// otherwise the peer's. An option becomes enabled when the two sides
// agree on it, and disabled when either side turns it off afterwards (when
// we turn it off, once the peer acknowledges), so the calls for an option
// alternate, starting with enabled. It runs inside Callback, on the
// reading goroutine (every change comes with a command from the peer),
// and is given the callback's Telnet: what it writes through that one
// (the frames an option calls for once it is on, such as RFC 2217's port
// settings) is queued and never keeps the reader waiting, where a write
// through the Telnet the program holds would (see Telnet).
func (n *Negotiator) OnChange(f func(t *Telnet, opt byte, local, enabled bool)) {
	n.mu.Lock()
	n.onChange = f
	n.mu.Unlock()
}

// OnOther sets a function that receives the commands the Negotiator does
// not consume: commands other than negotiations and subnegotiations it does
// not handle (SE events with their payload still readable by ReadSBData).
// Without one, the payloads of those subnegotiations are dropped.
func (n *Negotiator) OnOther(f func(t *Telnet, cmd, opt byte)) {
	if f == nil {
		n.next.Store(nil)
		return
	}
	n.next.Store(&f)
}

// OnError sets a function told of protocol errors the Q method detects
// (for example a peer answering DONT with WILL). They are not fatal.
func (n *Negotiator) OnError(f func(err error)) {
	n.mu.Lock()
	n.onError = f
	n.mu.Unlock()
}

// Local reports whether opt is enabled on our side.
func (n *Negotiator) Local(opt byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.us[opt].state == qYes
}

// Remote reports whether the peer has enabled opt.
func (n *Negotiator) Remote(opt byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.him[opt].state == qYes
}

// actions collects what a transition decided: frames to queue with the
// lock held, changes and errors to report after unlocking.
type actions struct {
	frames  []byte
	changes []change
	errs    []error
}

type change struct {
	opt            byte
	local, enabled bool
}

func (a *actions) send(b ...byte) { a.frames = append(a.frames, b...) }

// Callback is a Telnet option negotiation callback.
func (n *Negotiator) Callback(t *Telnet, cmd, opt byte) {
	switch cmd {
	case WILL, WONT, DO, DONT, SB, SE:
	default:
		// NOP, GA and the like: nothing to negotiate. Hosts send them
		// in bulk output, so they take the short way.
		if next := n.next.Load(); next != nil {
			(*next)(t, cmd, opt)
		}
		return
	}
	var a actions
	var other bool
	n.mu.Lock()
	switch cmd {
	case WILL:
		n.receiveEnable(&a, &n.him[opt], opt, false)
	case WONT:
		n.receiveDisable(&a, &n.him[opt], opt, false)
	case DO:
		if opt == TM {
			if n.policy.Local.Has(TM) {
				a.send(IAC, WILL, TM)
			} else {
				a.send(IAC, WONT, TM)
			}
			break
		}
		n.receiveEnable(&a, &n.us[opt], opt, true)
	case DONT:
		if opt == TM {
			break
		}
		n.receiveDisable(&a, &n.us[opt], opt, true)
	case SE:
		other = !n.subnegotiation(&a, t)
	case SB:
		// wait for SE
	}
	_, _ = n.send(t, &a) // a reply fails only on a connection that is gone
	n.mu.Unlock()
	n.report(t, &a)
	if next := n.next.Load(); other && next != nil {
		(*next)(t, cmd, opt)
	} else if other && cmd == SE {
		t.dropSBData() // nobody will read it
	}
}

// receiveEnable handles WILL (for the peer's side) or DO (for ours).
func (n *Negotiator) receiveEnable(a *actions, q *qopt, opt byte, local bool) {
	yes, no := verbs(local)
	switch q.state {
	case qNo:
		if n.allowed(opt, local) {
			q.state = qYes
			a.send(IAC, yes, opt)
			n.enabled(a, opt, local, true)
		} else {
			a.send(IAC, no, opt)
		}
	case qYes:
		// Already enabled: acknowledging again could loop.
	case qWantNo:
		// The option is still on until the peer confirms the disable.
		// Either way the peer answered our disable with an enable, which
		// RFC 1143 calls an error.
		if q.opposite {
			q.state, q.opposite = qYes, false
		} else {
			q.state = qNo
			n.enabled(a, opt, local, false)
		}
		a.errs = append(a.errs, fmt.Errorf("telnet: %s answered by %s", NegotiationName(no, opt), NegotiationName(received(local, true), opt)))
	case qWantYes:
		if q.opposite {
			// On now, and asked off at once, as queued: no side
			// effects (such as a NAWS frame) for so short a time.
			q.state, q.opposite = qWantNo, false
			a.changes = append(a.changes, change{opt, local, true})
			a.send(IAC, no, opt)
		} else {
			q.state = qYes
			n.enabled(a, opt, local, true)
		}
	}
}

// receiveDisable handles WONT (for the peer's side) or DONT (for ours).
func (n *Negotiator) receiveDisable(a *actions, q *qopt, opt byte, local bool) {
	yes, no := verbs(local)
	switch q.state {
	case qNo:
		// Already disabled: no answer (RFC 854).
	case qYes:
		q.state = qNo
		a.send(IAC, no, opt)
		n.enabled(a, opt, local, false)
	case qWantNo:
		// The disable we asked for is confirmed.
		n.enabled(a, opt, local, false)
		if q.opposite {
			q.state, q.opposite = qWantYes, false
			a.send(IAC, yes, opt)
		} else {
			q.state = qNo
		}
	case qWantYes:
		q.state, q.opposite = qNo, false
	}
}

// verbs returns what we send to enable and disable an option: WILL/WONT
// for our side, DO/DONT for the peer's.
func verbs(local bool) (yes, no byte) {
	if local {
		return WILL, WONT
	}
	return DO, DONT
}

// received returns the verb the peer sends for an enable or a disable.
func received(local, enable bool) byte {
	switch {
	case local && enable:
		return DO
	case local:
		return DONT
	case enable:
		return WILL
	}
	return WONT
}

func (n *Negotiator) allowed(opt byte, local bool) bool {
	if local {
		return n.policy.Local.Has(opt)
	}
	return n.policy.Remote.Has(opt)
}

// enabled records a change of state and what follows from it.
func (n *Negotiator) enabled(a *actions, opt byte, local, on bool) {
	a.changes = append(a.changes, change{opt, local, on})
	if local && on && opt == NAWS && n.sizeKnown {
		a.frames = AppendNAWS(a.frames, n.cols, n.rows)
	}
	if local && opt == TTYPE {
		n.ttypeNext = 0
	}
}

// subnegotiation handles an SE; it reports whether it consumed it.
func (n *Negotiator) subnegotiation(a *actions, t *Telnet) bool {
	if len(t.sbdata) == 0 || t.sbdata[0] != TTYPE {
		return false
	}
	data := t.ReadSBData()
	if len(data) < 2 || data[1] != SubSEND || n.us[TTYPE].state != qYes {
		return true // not for us: a client ignores TTYPE IS
	}
	name := "UNKNOWN"
	if len(n.ttypes) > 0 {
		name = n.ttypes[min(n.ttypeNext, len(n.ttypes)-1)]
		n.ttypeNext++
		if n.ttypeNext > len(n.ttypes) {
			n.ttypeNext = 0
		}
	}
	a.frames = AppendTTypeIs(a.frames, name)
	return true
}

// send queues the frames of a transition, with the lock held, so that
// frames reach the wire in the order of the transitions that decided them.
// Queuing never waits for the peer. It returns where the frames end, for
// sent. On a raw connection it sends nothing and returns ErrRaw, so that
// a request fails and leaves its option as it was.
func (n *Negotiator) send(t *Telnet, a *actions) (end uint64, err error) {
	switch {
	case len(a.frames) == 0:
		return 0, nil
	case t.raw.Load():
		return 0, ErrRaw
	}
	return t.out.enqueue(a.frames)
}

// sent waits, with the lock released, until the frames send queued up to
// end are written, unless t is the callback's Telnet: outside the
// callback a request waits for the peer as a Write does.
func sent(t *Telnet, end uint64) {
	if end > 0 && !t.queues() {
		t.out.waitSent(end)
	}
}

// report acts on the changes and reports the errors of a transition, with
// the lock released.
func (n *Negotiator) report(t *Telnet, a *actions) {
	for _, c := range a.changes {
		if c.opt == BINARY && !c.local {
			t.SetReceiveBinary(c.enabled)
		}
	}
	n.mu.Lock()
	onChange, onError := n.onChange, n.onError
	n.mu.Unlock()
	if onChange != nil {
		for _, c := range a.changes {
			onChange(t, c.opt, c.local, c.enabled)
		}
	}
	if onError != nil {
		for _, err := range a.errs {
			onError(err)
		}
	}
}

// EnableLocal asks to enable opt on our side (sends WILL), as RFC 1143
// prescribes for the option's current state. It fails when the request
// makes no sense in that state or its frame cannot be sent
// (ErrNotConnected before Open and after Close; a request that needs no
// frame, as for an option already in the state asked, sends nothing and
// succeeds even then); a request that fails leaves the option's state as
// it was.
func (n *Negotiator) EnableLocal(t *Telnet, opt byte) error {
	return n.request(t, opt, true, true)
}

// DisableLocal asks to disable opt on our side (sends WONT).
func (n *Negotiator) DisableLocal(t *Telnet, opt byte) error {
	return n.request(t, opt, true, false)
}

// EnableRemote asks the peer to enable opt (sends DO).
func (n *Negotiator) EnableRemote(t *Telnet, opt byte) error {
	return n.request(t, opt, false, true)
}

// DisableRemote asks the peer to disable opt (sends DONT).
func (n *Negotiator) DisableRemote(t *Telnet, opt byte) error {
	return n.request(t, opt, false, false)
}

func (n *Negotiator) request(t *Telnet, opt byte, local, enable bool) error {
	end, err := n.transition(t, opt, local, enable)
	if err != nil {
		return err
	}
	sent(t, end)
	return nil
}

// transition makes a request's change of state, with the lock held, and
// queues its frame.
func (n *Negotiator) transition(t *Telnet, opt byte, local, enable bool) (end uint64, err error) {
	var a actions
	n.mu.Lock()
	defer n.mu.Unlock()
	q, policy := &n.him[opt], &n.policy.Remote
	if local {
		q, policy = &n.us[opt], &n.policy.Local
	}
	yes, no := verbs(local)
	name := NegotiationName(yes, opt)
	if !enable {
		name = NegotiationName(no, opt)
	}
	next := *q
	switch {
	case enable && q.state == qNo:
		next.state = qWantYes
		a.send(IAC, yes, opt)
	case !enable && q.state == qYes:
		next.state = qWantNo
		a.send(IAC, no, opt)
	case enable && q.state == qYes, !enable && q.state == qNo:
		// Already there.
	case q.state == qWantNo && enable, q.state == qWantYes && !enable:
		if q.opposite {
			return 0, fmt.Errorf("telnet: %s: already queued", name)
		}
		next.opposite = true
	default: // negotiating towards the requested state
		if !q.opposite {
			return 0, fmt.Errorf("telnet: %s: already negotiating", name)
		}
		next.opposite = false
	}
	// The state changes only with its frame queued: a request that
	// cannot be sent leaves the option as it was.
	if end, err = n.send(t, &a); err != nil {
		return 0, err
	}
	*q = next
	if enable {
		policy.Add(opt)
	}
	return end, nil
}

// SetWindowSize records the terminal's size and, when NAWS is enabled on
// our side, sends it. Before the peer enables NAWS nothing is sent; the
// size goes out when it does.
func (n *Negotiator) SetWindowSize(t *Telnet, cols, rows int) {
	var a actions
	n.mu.Lock()
	n.cols, n.rows, n.sizeKnown = cols, rows, true
	if n.us[NAWS].state == qYes {
		a.frames = AppendNAWS(a.frames, cols, rows)
	}
	end, _ := n.send(t, &a)
	n.mu.Unlock()
	sent(t, end)
}
