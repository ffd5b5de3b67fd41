package telnet_test

import (
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

func TestAppendLineEndings(t *testing.T) {
	cases := []struct {
		in   string
		e    telnet.LineEnding
		want string
	}{
		{"\r", telnet.CRNUL, "\r\x00"}, // B32, P-7: at once, not held back
		{"ls\r", telnet.CRNUL, "ls\r\x00"},
		{"a\r\nb", telnet.CRNUL, "a\r\nb"},
		{"a\rb\r\r\n\n", telnet.CRNUL, "a\r\x00b\r\x00\r\n\n"},
		{"\r", telnet.CRLF, "\r\n"},
		{"a\rb\r\n", telnet.CRLF, "a\r\nb\r\n"},
		{"a\rb\r\n", telnet.RawCR, "a\rb\r\n"},
		{"\xff\r", telnet.CRNUL, "\xff\r\x00"}, // IAC is Write's business
		{"", telnet.CRNUL, ""},
	}
	for _, c := range cases {
		if got := telnet.AppendLineEndings([]byte(">"), []byte(c.in), c.e); string(got) != ">"+c.want {
			t.Errorf("AppendLineEndings(%q, %v) = %q, want %q", c.in, c.e, got[1:], c.want)
		}
	}
}

func TestParseLineEnding(t *testing.T) {
	for _, e := range []telnet.LineEnding{telnet.CRNUL, telnet.CRLF, telnet.RawCR} {
		if got, err := telnet.ParseLineEnding(e.String()); got != e || err != nil {
			t.Errorf("ParseLineEnding(%q) = %v, %v", e.String(), got, err)
		}
	}
	if got, err := telnet.ParseLineEnding(""); got != telnet.CRNUL || err != nil {
		t.Errorf(`ParseLineEnding("") = %v, %v; want crnul`, got, err)
	}
	if _, err := telnet.ParseLineEnding("lf"); err == nil {
		t.Error(`ParseLineEnding("lf") succeeded`)
	}
}

// A terminal's Enter key, a lone CR, is on the wire as CR NUL at once.
func TestEnterKeyOnTheWire(t *testing.T) {
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectString("ls\r\x00")
		c.SendString("ok\n")
		c.ExpectString("\xff\xff\r\n")
	})
	tn.Write(telnet.AppendLineEndings(nil, []byte("ls\r"), telnet.CRNUL))
	readUntil(t, tn, "ok\n")
	tn.Write(telnet.AppendLineEndings(nil, []byte("\xff\r"), telnet.CRLF))
}
