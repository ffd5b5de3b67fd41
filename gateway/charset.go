package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// A Charset is the character set of a host that does not speak UTF-8
// (Target.Charset): a legacy Unix host in ISO 8859-1 or KOI8-R, a BBS in
// CP437, a Japanese host in Shift_JIS. What the host sends is converted
// to UTF-8 for the browser's terminal, and what the browser sends, which
// is UTF-8, to the host's character set; a character the host's set
// lacks goes as '?'.
//
// Conversion happens after telnet decoding and before telnet encoding:
// commands and IAC escaping are the telnet layer's, on the host's bytes.
// Multi-byte characters split across reads, or across the browser's
// messages, are joined. Telnet commands and control characters (ESC and
// the rest below 0x20, DEL) pass unchanged, so escape sequences do too.
type Charset struct {
	name string
	enc  encoding.Encoding
}

// String returns the name the Charset was looked up by.
func (c *Charset) String() string { return c.name }

// asciiProbe is what a character set must leave unchanged, both ways,
// for the telnet and terminal bytes around its text to keep their
// meaning: controls, DEL, and escape sequences (ISO 2022 sets such as
// ISO-2022-JP take ESC for their own shifts).
const asciiProbe = "A\r\n\x00\x1b[1m\x7f~\x1b(0q\x1b(B"

// LookupCharset returns the character set of an IANA name or alias,
// case-insensitive ("cp437", "iso-8859-1", "latin1", "koi8-r",
// "shift_jis", "euc-jp", "euc-kr", "gbk", "gb18030", "big5",
// "windows-1252"). It returns nil for "" and "utf-8", which need no
// conversion, and an error for a name it does not know and for a set
// that does not keep ASCII and escape sequences as they are (UTF-16, HZ,
// ISO-2022-JP), which would garble the telnet and terminal bytes around
// the text.
func LookupCharset(name string) (*Charset, error) {
	if name == "" {
		return nil, nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return nil, fmt.Errorf("charset %q: not a character set this build knows (try cp437, iso-8859-1, koi8-r, shift_jis, euc-jp, gbk, big5, windows-1252)", name)
	}
	if canon, _ := ianaindex.IANA.Name(enc); canon == "UTF-8" {
		return nil, nil
	}
	out, err := enc.NewEncoder().String(asciiProbe)
	in, err2 := enc.NewDecoder().String(asciiProbe)
	if err != nil || err2 != nil || out != asciiProbe || in != asciiProbe {
		return nil, fmt.Errorf("charset %q: it does not keep ASCII and escape sequences as they are, so telnet and terminal control bytes would not survive it", name)
	}
	return &Charset{name: name, enc: enc}, nil
}

// maxCharBytes bounds a character's bytes in any character set, and in
// UTF-8: longer pending input is not a split character.
const maxCharBytes = 8

// textExpansion bounds how many bytes of UTF-8 one byte of a host's text
// can become: every set maps a byte, or a sequence of them, to at most
// three bytes of UTF-8 per byte (U+FFFD, for a byte that means nothing,
// is three).
const textExpansion = 3

// hostText converts a host's text to UTF-8, one chunk at a time. The
// session's relay of host output is its only user.
type hostText struct {
	t       transform.Transformer
	pending []byte // the start of a character the last chunk ended in
}

func (c *Charset) hostText() *hostText {
	return &hostText{t: c.enc.NewDecoder()}
}

// decode appends the UTF-8 of src, after what the last chunk left, to
// dst. A character src ends in the middle of waits for the next chunk,
// unless final: then its bytes are U+FFFD.
func (h *hostText) decode(dst, src []byte, final bool) []byte {
	if len(h.pending) > 0 {
		src = append(h.pending, src...)
		h.pending = nil
	}
	return convert(h.t, dst, src, final, "\uFFFD", 1, &h.pending)
}

// browserText converts what a browser sends (UTF-8) to a host's
// character set, one message at a time, under the session's inputMu: the
// goroutines that read the browser, and the login's answers (which come
// only while the browser has typed nothing but Enter, which ends no
// character).
type browserText struct {
	t       transform.Transformer
	pending []byte // the start of a character the last message ended in
}

func (c *Charset) browserText() *browserText {
	return &browserText{t: c.enc.NewEncoder()}
}

// encodes reports whether every character of s is in the set, so that
// typed for the host it arrives as it is, not with a '?'.
func (c *Charset) encodes(s string) bool {
	_, err := c.enc.NewEncoder().String(s)
	return err == nil
}

// encode appends src, after what the last message left, in the host's
// character set to dst. A character the set lacks, and a byte that is
// not UTF-8, become '?'; a character the message ends in the middle of
// waits for the next message (a paste is sent in several).
func (b *browserText) encode(dst, src []byte) []byte {
	if len(b.pending) > 0 {
		src = append(b.pending, src...)
		b.pending = nil
	}
	return convert(b.t, dst, src, false, "?", 0, &b.pending)
}

// convert appends src transformed by t to dst. What t cannot take (a
// character the target set lacks, bytes invalid in the source) becomes
// replacement: skip bytes of it, or, when skip is 0, one UTF-8 character
// (or invalid byte). A short tail is kept in *pending unless final.
func convert(t transform.Transformer, dst, src []byte, final bool, replacement string, skip int, pending *[]byte) []byte {
	for len(src) > 0 {
		if room := cap(dst) - len(dst); room < len(src)*textExpansion+utf8.UTFMax {
			dst = append(dst[:cap(dst)], make([]byte, len(src)*textExpansion+utf8.UTFMax)...)[:len(dst)]
		}
		nDst, nSrc, err := t.Transform(dst[len(dst):cap(dst)], src, final)
		dst, src = dst[:len(dst)+nDst], src[nSrc:]
		switch {
		case err == nil:
			return dst
		case errors.Is(err, transform.ErrShortDst) && nDst+nSrc > 0:
			continue // made progress: grow and go on
		case errors.Is(err, transform.ErrShortSrc) && !final && len(src) < maxCharBytes:
			*pending = bytes.Clone(src)
			return dst
		}
		// src starts with what t cannot take.
		size := skip
		if size == 0 {
			_, size = utf8.DecodeRune(src)
		}
		dst, src = append(dst, replacement...), src[size:]
	}
	return dst
}
