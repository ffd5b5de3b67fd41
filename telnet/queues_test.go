package telnet

import "testing"

// The callback's Telnet queues its writes from a chunk's first callback
// until the chunk is decoded, and not after it, also when a callback
// panicked: a write through it outside decoding waits for the peer.
func TestCallbackTelnetQueuesOnlyWhileDecoding(t *testing.T) {
	tn := New()
	tn.src = noSource{}
	var during []bool
	tn.SetOptionNegotiationCallback(func(cb *Telnet, cmd, _ byte) {
		during = append(during, cb.queues())
		if cmd == AYT {
			panic("callback failed")
		}
	})
	if tn.cbTelnet.queues() {
		t.Fatal("queued before any input")
	}
	buf := []byte{'a', IAC, NOP, 'b', IAC, GA, 'c'}
	if got := string(tn.decode(nil, chunk{buf: buf})); got != "abc" {
		t.Fatalf("decoded %q, want %q", got, "abc")
	}
	if len(during) != 2 || !during[0] || !during[1] {
		t.Errorf("queued during the callbacks: %v, want [true true]", during)
	}
	if tn.cbTelnet.queues() {
		t.Error("still queued once the chunk was decoded")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the callback's panic did not reach the reader")
			}
		}()
		tn.decode(nil, chunk{buf: []byte{'d', IAC, AYT, 'e'}})
	}()
	if tn.cbTelnet.queues() {
		t.Error("still queued after a callback panicked")
	}
	if tn.queues() {
		t.Error("the Telnet the program holds queues")
	}
}
