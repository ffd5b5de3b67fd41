package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"telgate/telnet/telnettest"
)

func mustCharset(t testing.TB, name string) *Charset {
	t.Helper()
	c, err := LookupCharset(name)
	if err != nil || c == nil {
		t.Fatalf("LookupCharset(%q) = %v, %v", name, c, err)
	}
	return c
}

func TestLookupCharset(t *testing.T) {
	for _, name := range []string{"cp437", "IBM437", "iso-8859-1", "latin1", "ISO-8859-15", "koi8-r", "KOI8-U",
		"shift_jis", "euc-jp", "euc-kr", "gbk", "gb18030", "big5", "windows-1252", "cp850", "ibm866"} {
		if c := mustCharset(t, name); c.String() != name {
			t.Errorf("LookupCharset(%q).String() = %q", name, c)
		}
	}
	for _, name := range []string{"", "utf-8", "UTF8"} {
		if c, err := LookupCharset(name); c != nil || (err != nil && name != "UTF8") {
			t.Errorf("LookupCharset(%q) = %v, %v; want nil (no conversion)", name, c, err)
		}
	}
	for name, want := range map[string]string{
		"klingon":     "not a character set this build knows",
		"utf-16":      "does not keep ASCII",
		"utf-16le":    "does not keep ASCII",
		"hz-gb-2312":  "does not keep ASCII", // ~ is its escape
		"iso-2022-jp": "does not keep ASCII", // ESC ( B is its shift
	} {
		if c, err := LookupCharset(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LookupCharset(%q) = %v, %v; want an error saying %q", name, c, err, want)
		}
	}
}

func TestHostTextBecomesUTF8(t *testing.T) {
	for _, tc := range []struct {
		charset string
		in      string
		want    string
	}{
		{"cp437", "\xc9\xcd\xbb \x1b[1mbold\x1b[0m\r\n", "╔═╗ \x1b[1mbold\x1b[0m\r\n"},
		{"cp437", "\xb0\xb1\xb2\xdb", "░▒▓█"},
		{"iso-8859-1", "caf\xe9 \xa3", "café £"},
		{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"shift_jis", "\x93\xfa\x96\x7b\x8c\xea", "日本語"},
		{"euc-jp", "\xc6\xfc\xcb\xdc", "日本"},
		{"big5", "\xa4\xa4\xa4\xe5", "中文"},
		{"shift_jis", "a\xff", "a\uFFFD"}, // a byte that means nothing
	} {
		h := mustCharset(t, tc.charset).hostText()
		if got := string(h.decode(nil, []byte(tc.in), false)); got != tc.want {
			t.Errorf("%s: %q decoded to %q, want %q", tc.charset, tc.in, got, tc.want)
		}
	}
}

// A character split across two reads comes out whole, once.
func TestHostTextJoinsSplitCharacters(t *testing.T) {
	in := []byte("\x93\xfa\x96\x7b \x82\xa0") // 日本 あ in Shift_JIS
	for cut := 0; cut <= len(in); cut++ {
		h := mustCharset(t, "shift_jis").hostText()
		out := h.decode(nil, in[:cut], false)
		out = h.decode(out, in[cut:], false)
		if string(out) != "日本 あ" {
			t.Errorf("cut at %d: %q", cut, out)
		}
	}
	// A host that ends in the middle of a character: the bytes it sent
	// show as U+FFFD rather than vanish.
	h := mustCharset(t, "shift_jis").hostText()
	out := h.decode(nil, []byte("ok\x93"), false)
	if string(out) != "ok" {
		t.Errorf("before the end: %q", out)
	}
	if out = h.decode(out, nil, true); string(out) != "ok\uFFFD" {
		t.Errorf("at the end: %q, want the half character as U+FFFD", out)
	}
}

func TestBrowserTextBecomesTheHostsCharset(t *testing.T) {
	for _, tc := range []struct {
		charset string
		in      string
		want    string
	}{
		{"cp437", "café\r", "caf\x82\r"},
		{"cp437", "\x1b[A\x7f\x03", "\x1b[A\x7f\x03"}, // keys pass as they are
		{"cp437", "5€ 😀", "5? ?"},                     // no such characters
		{"cp437", "a\xffb", "a?b"},                    // not UTF-8
		{"iso-8859-1", "ÿ", "\xff"},                   // IAC's value: the telnet layer doubles it
		{"shift_jis", "日本", "\x93\xfa\x96\x7b"},
		{"koi8-r", "да", "\xc4\xc1"},
	} {
		b := mustCharset(t, tc.charset).browserText()
		if got := string(b.encode(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("%s: %q encoded to %q, want %q", tc.charset, tc.in, got, tc.want)
		}
	}
}

// A paste is sent in several messages, which may cut a character.
func TestBrowserTextJoinsSplitCharacters(t *testing.T) {
	in := []byte("é日😀")
	for cut := 0; cut <= len(in); cut++ {
		b := mustCharset(t, "gb18030").browserText()
		out := b.encode(nil, in[:cut])
		out = b.encode(out, in[cut:])
		want := string(mustCharset(t, "gb18030").browserText().encode(nil, in))
		if string(out) != want {
			t.Errorf("cut at %d: %q, want %q", cut, out, want)
		}
	}
}

var fuzzCharsets = []string{"cp437", "shift_jis", "gb18030", "big5", "euc-kr", "koi8-r"}

// FuzzHostText: whatever a host sends, however it is cut into reads, the
// browser gets valid UTF-8, the same as from one read.
func FuzzHostText(f *testing.F) {
	f.Add([]byte("\x93\xfa\x96\x7b\x1b[1m\x30\x21\x1b(0q"), uint8(3), uint8(1))
	f.Add([]byte("\x81\x30\x81\x30\xff"), uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, cut, which uint8) {
		c := mustCharset(t, fuzzCharsets[int(which)%len(fuzzCharsets)])
		whole := c.hostText().decode(nil, data, true)
		h := c.hostText()
		var parts []byte
		for rest, i := data, 0; ; i++ {
			n := min(len(rest), int(cut)%7+i%3)
			parts = h.decode(parts, rest[:n], false)
			rest = rest[n:]
			if len(rest) == 0 {
				break
			}
		}
		parts = h.decode(parts, nil, true)
		if !utf8.Valid(whole) || string(parts) != string(whole) {
			t.Errorf("%s %q: in one read %q, in pieces %q", c, data, whole, parts)
		}
		if len(h.pending) != 0 {
			t.Errorf("%s: %d bytes left pending at the end", c, len(h.pending))
		}
	})
}

// FuzzBrowserText: whatever a browser sends, however it is cut into
// messages, the host gets the same bytes as from one message, and what
// is pending stays a few bytes.
func FuzzBrowserText(f *testing.F) {
	f.Add([]byte("é日😀\xff\xc3"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, cut, which uint8) {
		c := mustCharset(t, fuzzCharsets[int(which)%len(fuzzCharsets)])
		whole := c.browserText()
		all := whole.encode(nil, data)
		b := c.browserText()
		var parts []byte
		for rest, i := data, 0; len(rest) > 0; i++ {
			n := min(len(rest), int(cut)%5+1+i%2)
			parts = b.encode(parts, rest[:n])
			rest = rest[n:]
			if len(b.pending) >= maxCharBytes {
				t.Fatalf("%d bytes pending", len(b.pending))
			}
		}
		if string(parts) != string(all) || string(b.pending) != string(whole.pending) {
			t.Errorf("%s %q: in one message %q (pending %q), in pieces %q (pending %q)", c, data, all, whole.pending, parts, b.pending)
		}
	})
}

// A session to a host with a character set: the host's text reaches the
// browser as UTF-8, and the browser's the host as its set, with Enter and
// Backspace mapped after it and IAC's value doubled on the wire; the
// recording holds what the browser showed.
func TestSessionConvertsTheHostsCharset(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send([]byte("\xc9\xcd\xbb caf\x82\r\n")) // cp437 for ╔═╗ café
		c.ExpectString("caf\x82\r\x00")            // café, Enter
		c.ExpectString("\x08")                     // Backspace as BS
		c.ExpectString("?")                        // € is not in cp437
		c.Send([]byte("\x93"))                     // ô, then the end
		c.Close()
	})
	latin := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Send([]byte("\xff\xff\r\n")) // IAC IAC: ÿ in Latin-1
		c.ExpectString("\xff\xff")     // ÿ typed, doubled on the wire
		// A mouse report's bytes as the terminal made them, then a key.
		c.ExpectString("\x1b[M \x84\xc5a")
		c.ExpectEOF()
	})
	dir := t.TempDir()
	tg := newTestGateway(t, Options{
		Targets: []Target{
			{Name: "bbs", Address: host.Addr(), Charset: mustCharset(t, "cp437"), Backspace: BS, Record: true},
			{Name: "unix", Address: latin.Addr(), Charset: mustCharset(t, "iso-8859-1")},
		},
		Recording: RecordingConfig{Dir: dir},
	})
	b := tg.open("target=bbs")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("╔═╗ caf\u00e9\r\n"))
	b.Input("café\r")
	b.Input("\x7f")
	b.Input("€")
	b.ExpectClosed(ReasonHostClosed)
	if got, want := string(b.Output), "╔═╗ café\r\nô"; got != want {
		t.Errorf("browser got %q, want %q", got, want)
	}
	tg.waitIdle()
	if _, events := readCast(t, onlyFile(t, dir)); joined(events, "o") != string(b.Output) {
		t.Errorf("recorded %q, the browser showed %q", joined(events, "o"), b.Output)
	}
	if got := tg.log.entries("session end")[0]["bytes_in"]; got != float64(len("café\r\x7f€")) {
		t.Errorf("bytes_in %v, want the browser's %d", got, len("café\r\x7f€"))
	}

	u := tg.open("target=unix")
	u.ExpectStatus("connected")
	u.WaitOutput([]byte("ÿ\r\n"))
	u.Input("ÿ")
	u.Input("\x1b[M \x84\xc5") // a click at column 100: not UTF-8
	u.Input("a")
	_ = u.Conn.Close()
	tg.waitIdle()
}

// BenchmarkHostText converts a host's text in 16 KiB reads, as the relay
// does.
func BenchmarkHostText(b *testing.B) {
	for _, tc := range []struct{ charset, text string }{
		{"cp437", "\xc9\xcd\xcd\xbb Menu \xb3 caf\x82 \x1b[1mbold\x1b[0m\r\n"},
		{"shift_jis", "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67 text\r\n"},
	} {
		b.Run(tc.charset, func(b *testing.B) {
			in := []byte(strings.Repeat(tc.text, 16<<10/len(tc.text)))
			h := mustCharset(b, tc.charset).hostText()
			out := make([]byte, 0, len(in)*textExpansion+16)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				out = h.decode(out[:0], in, false)
			}
		})
	}
}
