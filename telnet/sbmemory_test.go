package telnet

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// A host that sends one long subnegotiation does not make its connection
// hold a buffer that size once the payload has been dealt with: neither
// the decoder's buffer nor the Telnet's, whether the payload is read
// (ReadSBData) or dropped (a Negotiator with no OnOther hook).
func TestLongSubnegotiationIsNotKept(t *testing.T) {
	payload := bytes.Repeat([]byte("p"), 60<<10)
	for _, c := range []struct {
		name  string
		setup func(tn *Telnet)
	}{
		{"read", func(tn *Telnet) {
			tn.SetOptionNegotiationCallback(func(tn *Telnet, cmd, opt byte) {
				if cmd == SE {
					if got := tn.ReadSBData(); len(got) != 1+len(payload) {
						t.Errorf("ReadSBData: %d bytes, want %d", len(got), 1+len(payload))
					}
				}
			})
		}},
		{"dropped", func(tn *Telnet) { tn.SetOptionNegotiationCallback(NewNegotiator(Policy{}).Callback) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, host := net.Pipe()
			defer host.Close()
			tn := NewConn(client)
			defer tn.Close()
			c.setup(tn)
			go func() {
				var b []byte
				b = append(b, IAC, SB, 200)
				b = append(b, payload...)
				b = append(b, IAC, SE)
				b = append(b, "end"...)
				_, _ = host.Write(b)
			}()
			if got, err := tn.ReadUntil([]byte("end"), 5*time.Second); string(got) != "end" || err != nil {
				t.Fatalf("ReadUntil: %q, %v", got, err)
			}
			if n := cap(tn.dec.sb); n > keptSB {
				t.Errorf("the decoder keeps a %d-byte subnegotiation buffer", n)
			}
			if n := cap(tn.sbdata); n > keptSB {
				t.Errorf("the Telnet keeps a %d-byte subnegotiation buffer", n)
			}
		})
	}
}
