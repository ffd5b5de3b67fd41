package gateway

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// In a transfer the page's input reaches the host byte for byte, whatever
// the target maps: no Enter, Backspace or character set mapping, no line
// delay; a CR goes as CR NUL, which the host's telnet server takes back
// to CR (RFC 854). Before and after it, input is mapped as usual.
func TestTransferSendsBytesAsTheyAre(t *testing.T) {
	host, got := transcriptHost(t)
	latin1, err := LookupCharset("iso-8859-1")
	if err != nil {
		t.Fatal(err)
	}
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(),
		Enter: telnet.CRLF, Backspace: 8, Charset: latin1, LineDelay: 2 * time.Second}}})
	b, _ := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("\x7f\u00e9")
	expectTranscript(t, got, "\b\xe9")
	// A paste the line delay holds back: a transfer drops its rest.
	b.Input("line 1\rline 2\rline 3\r")
	expectTranscript(t, got, "\b\xe9line 1\r\n")

	b.Control(`{"type":"transfer","on":true}`)
	block := "\x01\x01\xfe\r\n\r\x00\x7f\xff\xc3\xa9\x18\r"
	b.Input(block)
	b.Input(block) // no line delay: the second follows at once
	b.Control(`{"type":"transfer","on":false}`)
	b.Input("\x7f")
	expectTranscript(t, got, "\b\xe9line 1\r\n"+block+block+"\b")

	b.Control(`{"type":"transfer"}`)
	if st := b.ExpectStatus("error"); st["message"] != "bad control message: transfer without on (true or false)" {
		t.Errorf("a transfer without on answered %v", st)
	}
}

// A transfer does not outlive the connection it began on: the page gives
// it up when the connection drops, and input on the resumed one is
// mapped again.
func TestResumeEndsATransfer(t *testing.T) {
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Backspace: 8}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Control(`{"type":"transfer","on":true}`)
	b.Input("\x7f")
	expectTranscript(t, got, "\x7f")
	dropConnection(t, tg, b)
	b2 := tg.open(fmt.Sprintf("resume=%s&received=%d", token, len("$ ")))
	b2.ExpectStatus("resumed")
	b2.Input("\x7f")
	expectTranscript(t, got, "\x7f\b")
}

// While the page sends a file, a viewer handed the keyboard types into
// nothing: its keys would go into the file's blocks.
func TestViewerTypesNothingDuringATransfer(t *testing.T) {
	owner, bob, got := typingViewer(t, Target{})
	owner.Control(`{"type":"transfer","on":true}`)
	synced(t, owner)
	bob.Input("bob")
	bob.Control(`{"type":"command","name":"break"}`)
	synced(t, bob)
	owner.Input("block")
	owner.Control(`{"type":"transfer","on":false}`)
	synced(t, owner)
	bob.Input("!")
	expectTranscript(t, got, "block!")
}

// With a target whose Enter is a bare CR (a host that passes a NUL after
// CR on), a transfer's CR goes alone.
func TestTransferSendsABareCRWhereEnterIsOne(t *testing.T) {
	raw := make(chan []byte, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		var all []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(all, []byte("end")) {
			n, err := c.NetConn().Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		raw <- all
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Enter: telnet.RawCR}}})
	b, _ := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Control(`{"type":"transfer","on":true}`)
	b.Input("a\rb\r\nend")
	if all := within(t, raw); !bytes.Contains(all, []byte("a\rb\r\nend")) {
		t.Errorf("the host got %q, want the bytes as sent", all)
	}
}

// A transfer turned on and off between two pastes leaves the line delay
// as it was: the second paste's lines are paced too.
func TestTransferLeavesTheLineDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	host, got := transcriptHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Enter: telnet.RawCR, LineDelay: delay}}})
	b, _ := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("a\rb\r")
	expectTranscript(t, got, "a\rb\r")
	last := time.Now()
	b.Control(`{"type":"transfer","on":true}`)
	b.Control(`{"type":"transfer","on":false}`)
	b.Input("c\rd\r")
	for _, want := range []string{"a\rb\rc\r", "a\rb\rc\rd\r"} {
		expectTranscript(t, got, want)
		if gap := time.Since(last); gap < delay*9/10 {
			t.Errorf("%q came %v after the line before, want the line delay, %v", want[len(want)-2:], gap, delay)
		}
		last = time.Now()
	}
}

// A file sent is not recorded as typed input, which would fill the
// recording with it: a marker says how much was sent.
func TestTransferIsMarkedNotRecorded(t *testing.T) {
	host, got := transcriptHost(t)
	tg, dir := recordedLab(t, host.Addr())
	b, _ := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("typed")
	b.Control(`{"type":"transfer","on":true}`)
	b.Input("\x01\x01\xfe file bytes")
	b.Control(`{"type":"transfer","on":false}`)
	b.Input("!")
	expectTranscript(t, got, "typed\x01\x01\xfe file bytes!")
	closeWebSocket(b)
	tg.waitIdle()
	_, events := readCast(t, onlyFile(t, dir))
	if in := joined(events, "i"); in != "typed!" {
		t.Errorf("recorded input %q, want the keys alone", in)
	}
	if m := joined(events, "m"); !bytes.Contains([]byte(m), []byte("file transfer started")) ||
		!bytes.Contains([]byte(m), []byte("file transfer ended: 14 bytes sent")) {
		t.Errorf("markers %q: want the transfer's start and end, with its size", m)
	}
}
