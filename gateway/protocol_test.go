package gateway

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseControl(t *testing.T) {
	for in, want := range map[string]Control{
		`{"type":"resize","cols":120,"rows":40}`:      {Type: "resize", Cols: 120, Rows: 40},
		`{"type":"resize","cols":0,"rows":-5}`:        {Type: "resize", Cols: 1, Rows: 1},
		`{"type":"resize","cols":1e9,"rows":1001}`:    {Type: "resize", Cols: 1000, Rows: 1000},
		`{"type":"resize","cols":80.7,"rows":24}`:     {Type: "resize", Cols: 80, Rows: 24},
		`{"type":"command","name":"break"}`:           {Type: "command", Name: "break"},
		`{"type":"command","name":"nop","extra":[1]}`: {Type: "command", Name: "nop"},
		`{"type":"ping"}`:                             {Type: "ping"},
		`{"type":"hand-over","viewer":3}`:             {Type: "hand-over", Viewer: 3},
		`{"type":"take-back","viewer":3}`:             {Type: "take-back"},
		`{"type":"transfer","on":true}`:               {Type: "transfer", On: true},
		`{"type":"transfer","on":false}`:              {Type: "transfer"},
	} {
		got, err := ParseControl([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseControl(%s) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		``, `null`, `[]`, `"resize"`, `{}`, `{"type":""}`, `{"type":"reboot"}`,
		`{"type":"resize","cols":80}`, `{"type":"resize","cols":"80","rows":24}`,
		`{"type":"command"}`, `{"type":"command","name":"BREAK"}`, `{"type":"command","name":7}`,
		`{"type":"resize","cols":NaN,"rows":1}`,
		`{"type":"hand-over"}`, `{"type":"hand-over","viewer":0}`, `{"type":"hand-over","viewer":-1}`,
		`{"type":"hand-over","viewer":1.5}`, `{"type":"hand-over","viewer":"1"}`, `{"type":"hand-over","viewer":1e30}`,
		`{"type":"transfer"}`, `{"type":"transfer","on":1}`, `{"type":"transfer","on":"true"}`,
	} {
		if got, err := ParseControl([]byte(in)); !errors.Is(err, ErrBadControl) {
			t.Errorf("ParseControl(%s) = %+v, %v; want ErrBadControl", in, got, err)
		}
	}
}

func TestEveryCommandNameMapsToADistinctTelnetCommand(t *testing.T) {
	seen := map[byte]string{}
	for _, name := range []string{"break", "interrupt", "abort-output", "are-you-there", "erase-char", "erase-line", "go-ahead", "nop"} {
		b, ok := CommandByte(name)
		if !ok {
			t.Errorf("%s: no command", name)
			continue
		}
		if prev, dup := seen[b]; dup {
			t.Errorf("%s and %s both send %d", name, prev, b)
		}
		seen[b] = name
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]int{"": 80, "1": 1, "0": 1, "-3": 1, "1000": 1000, "99999": 1000, "132": 132,
		"99999999999999999999": 1000, "-99999999999999999999": 1} {
		if got, err := ParseWindow(in, 80); err != nil || got != want {
			t.Errorf("ParseWindow(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "1.5", "1e3", " 5", "9999999999999999999x"} {
		if _, err := ParseWindow(in, 80); err == nil {
			t.Errorf("ParseWindow(%q): want an error", in)
		}
	}
}

// FuzzParseControl: any message gets a valid control or ErrBadControl,
// never a panic, and sizes are always in range.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{`{"type":"resize","cols":80,"rows":24}`, `{"type":"command","name":"break"}`, `{`, `{"type":"resize","cols":1e400,"rows":-0}`,
		`{"type":"ping"}`, `{"type":"hand-over","viewer":2}`, `{"type":"serial","baud":9600,"data":8,"parity":"none","stop":"1.5","flow":"xonxoff","dtr":true,"rts":false}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrBadControl) {
				t.Fatalf("error %v is not ErrBadControl", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.Valid(data) {
				t.Fatalf("error message is not UTF-8: %q", err)
			}
			return
		}
		switch c.Type {
		case "resize":
			if c.Cols < MinWindow || c.Cols > MaxWindow || c.Rows < MinWindow || c.Rows > MaxWindow {
				t.Fatalf("size out of range: %+v", c)
			}
		case "command":
			if _, ok := CommandByte(c.Name); !ok {
				t.Fatalf("unknown command accepted: %+v", c)
			}
		case "hand-over":
			if c.Viewer < 1 {
				t.Fatalf("hand-over to no viewer accepted: %+v", c)
			}
		case "serial":
			if err := c.Serial.check(); err != nil {
				t.Fatalf("serial request out of range accepted: %+v: %v", c, err)
			}
		case "ping", "share", "unshare", "take-back", "transfer":
		default:
			t.Fatalf("unknown type accepted: %+v", c)
		}
	})
}

// FuzzQueryParameters: window sizes and terminal types from the URL are
// either refused or in range.
func FuzzQueryParameters(f *testing.F) {
	f.Add("80", "xterm-256color")
	f.Add("-1", "")
	f.Add("1e3", "vt\x00100")
	f.Fuzz(func(t *testing.T, size, term string) {
		if v, err := ParseWindow(size, 80); err == nil && (v < MinWindow || v > MaxWindow) {
			t.Fatalf("ParseWindow(%q) = %d out of range", size, v)
		}
		if ValidTerminalType(term) && (len(term) > 40 || strings.ContainsAny(term, " \x00\x7f")) {
			t.Fatalf("ValidTerminalType(%q) accepted", term)
		}
	})
}
