package telnet

import (
	"regexp"
	"time"
)

// Expect reads until one of patterns matches the cooked data, the timeout
// passes or the connection closes.
//
// Patterns are tried in list order against all unread data; the first
// pattern that matches anywhere wins, not the earliest match (as in
// telnetlib). On a match it returns the pattern's index, its submatches as
// regexp.FindSubmatch gives them, and the text up to and including the
// match; the rest stays unread. Otherwise it returns -1, nil and the text
// read so far: on timeout with a nil error, and at the end of the stream
// with io.EOF only when no text was read. Unlike telnetlib, data already
// read when the connection closed is still matched; once it is all read,
// Expect returns io.EOF (or the read error that ended the stream) without
// trying the patterns, even one that matches empty text.
//
// A pattern ending in a greedy repetition, or two patterns that can match
// the same input, give results that depend on how the data arrived. Go's
// regexp (RE2) has no backreferences or lookaround, unlike Python's re,
// and reads the data as UTF-8: a byte that is not valid UTF-8, such as
// 0xFF, is matched by . or \x{FFFD}, not by \xff (which is "ÿ").
//
// A timeout of 0 means none; a positive one bounds the whole call; a
// negative one means "do not wait": only what has already come, as
// ReadVeryEager takes it, is matched.
func (t *Telnet) Expect(patterns []*regexp.Regexp, timeout time.Duration) (index int, match [][]byte, text []byte, err error) {
	if t.src == nil {
		return -1, nil, []byte{}, ErrNotConnected
	}
	deadline, mode := deadlineFor(timeout)
	for last := false; ; {
		if (t.eof || t.closing()) && len(t.unread()) == 0 && !t.hasPending {
			// A pattern that matches empty text would match here
			// forever, and a loop of Expect calls would never see the
			// end; telnetlib raises EOFError.
			break
		}
		for i, re := range patterns {
			loc := re.FindSubmatchIndex(t.unread())
			if loc == nil {
				continue
			}
			text := t.take(loc[1])
			match := make([][]byte, len(loc)/2)
			for j := range match {
				if loc[2*j] >= 0 {
					match[j] = text[loc[2*j]:loc[2*j+1]:loc[2*j+1]]
				}
			}
			return i, match, text, nil
		}
		// What the last fill brought has been matched; stop at the
		// deadline, or once what had come is matched when not waiting.
		if last || t.eof {
			break
		}
		if mode == poll {
			// Decoded whole and matched once, not after every read,
			// which on a long backlog would scan it again and again.
			t.fillReceived()
			last = true
			continue
		}
		if !t.fill(mode, deadline) {
			break
		}
		last = expired(deadline)
	}
	text, err = t.ReadVeryLazy()
	return -1, nil, text, err
}
