package telnet_test

import (
	"bytes"
	"errors"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// A raw connection passes every byte as it is, both ways: commands,
// doubled IACs and CR NUL reach the reader untouched and the callback
// never runs; Write doubles nothing; commands cannot be sent.
func TestRawPassesEveryByte(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	fromHost := append([]byte{telnet.IAC, telnet.DO, telnet.NAWS, telnet.IAC, telnet.IAC, '\r', 0, 'x'}, all...)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send(fromHost)
		c.Expect(all)
		c.ExpectEOF()
	})
	tn := host.Dial()
	tn.SetRaw(true)
	tr := traceCommands(tn)
	got := make([]byte, 0, len(fromHost))
	buf := make([]byte, 1024)
	for len(got) < len(fromHost) {
		n, err := tn.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, fromHost) {
		t.Errorf("read %q, want the host's bytes as they are %q", got, fromHost)
	}
	if cmds := tr.commands(); len(cmds) != 0 {
		t.Errorf("the callback ran for %s", names(cmds))
	}
	if n, err := tn.Write(all); err != nil || n != len(all) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	neg := telnet.NewNegotiator(telnet.Policy{Local: telnet.NewOptionSet(telnet.NAWS)})
	for name, send := range map[string]func() error{
		"Negotiator.EnableRemote": func() error { return neg.EnableRemote(tn, telnet.BINARY) },
		"Negotiator.EnableLocal":  func() error { return neg.EnableLocal(tn, telnet.NAWS) },
		"SendCommand":             func() error { return tn.SendCommand(telnet.BRK) },
		"SendNegotiation":         func() error { return tn.SendNegotiation(telnet.WILL, telnet.NAWS) },
		"SendSubnegotiation":      func() error { return tn.SendSubnegotiation(telnet.NAWS, []byte{0, 80, 0, 24}) },
	} {
		if err := send(); !errors.Is(err, telnet.ErrRaw) {
			t.Errorf("%s on a raw connection: %v, want ErrRaw", name, err)
		}
	}
	if neg.Remote(telnet.BINARY) || neg.Local(telnet.NAWS) {
		t.Error("a request that failed changed its option's state")
	}
	neg.SetWindowSize(tn, 80, 24) // sends nothing: the host expects EOF next
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
}
