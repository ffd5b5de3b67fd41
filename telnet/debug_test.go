package telnet_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// test_debuglevel_reads, and the Python bytes repr of recv lines.
func TestDebugReads(t *testing.T) {
	cases := []struct {
		send []byte
		line string
	}{
		{[]byte("a"), "recv b''"},
		{[]byte("a"), "recv b'a'"},
		{[]byte{telnet.IAC, 88}, "IAC 88 not recognized"},
		{[]byte{telnet.IAC, telnet.DO, 1}, "IAC DO 1"},
		{[]byte{telnet.IAC, telnet.DONT, 1}, "IAC DONT 1"},
		{[]byte{telnet.IAC, telnet.WILL, 1}, "IAC WILL 1"},
		{[]byte{telnet.IAC, telnet.WONT, 1}, "IAC WONT 1"},
		{[]byte("it's"), `recv b"it's"`},
		{[]byte(`'"`), `recv b'\'"'`},
		{[]byte("\x00\x7f\x80\t\r\n\\ ~"), `recv b'\x00\x7f\x80\t\r\n\\ ~'`},
	}
	for _, tc := range cases {
		srv := telnettest.NewServer(t, func(c *telnettest.Conn) { c.Send(tc.send) })
		tn := srv.Dial()
		var out bytes.Buffer
		tn.SetDebugOutput(&out)
		tn.SetDebugLevel(1)
		tn.ReadAll()
		want := fmt.Sprintf("Telnet(127.0.0.1,%d): %s\n", srv.Port(), tc.line)
		if !strings.Contains(out.String(), want) {
			t.Errorf("after %q the debug output is\n%s\nwant the line %q", tc.send, out.String(), want)
		}
		tn.Close()
	}
}

// test_debuglevel_write: the escaped bytes.
func TestDebugWrite(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.ExpectString("xxx\xff\xff")
	})
	tn := srv.Dial()
	var out bytes.Buffer
	tn.SetDebugOutput(&out)
	tn.SetDebugLevel(1)
	tn.Write([]byte("xxx\xff"))
	want := fmt.Sprintf("Telnet(127.0.0.1,%d): send b'xxx\\xff\\xff'\n", srv.Port())
	if out.String() != want {
		t.Errorf("debug output %q, want %q", out.String(), want)
	}
}

// Level 0 prints nothing; Msg formats like telnetlib's msg, the format
// alone when there are no arguments.
func TestDebugMsg(t *testing.T) {
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("x")
		c.ExpectData("y")
	})
	tn := srv.Dial()
	var out bytes.Buffer
	tn.SetDebugOutput(&out)
	tn.ReadUntil([]byte("x"), wait)
	tn.Write([]byte("y"))
	tn.Msg("quiet %d", 1)
	if out.Len() != 0 {
		t.Errorf("level 0 printed %q", out.String())
	}
	tn.SetDebugLevel(2)
	tn.Msg("test")
	msg := tn.Msg // a format alone is printed as it is; vet would object
	msg("100%")
	tn.Msg("%d%% of %s", 50, "it")
	p := fmt.Sprintf("Telnet(127.0.0.1,%d): ", srv.Port())
	if want := p + "test\n" + p + "100%\n" + p + "50% of it\n"; out.String() != want {
		t.Errorf("Msg printed %q, want %q", out.String(), want)
	}

	out.Reset()
	u := telnet.New()
	u.SetDebugOutput(&out)
	u.SetDebugLevel(1)
	u.Msg("test")
	if want := "Telnet(None,0): test\n"; out.String() != want {
		t.Errorf("unconnected Msg printed %q, want %q", out.String(), want)
	}
}
