package gateway

import (
	"testing"
	"time"

	"telgate/telnet"
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
		Enter: telnet.CRLF, Backspace: 8, Charset: latin1, LineDelay: time.Hour}}})
	b, _ := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("$ "))
	b.Input("\x7f\u00e9")
	expectTranscript(t, got, "\b\xe9")

	b.Control(`{"type":"transfer","on":true}`)
	block := "\x01\x01\xfe\r\n\r\x00\x7f\xff\xc3\xa9\x18\r"
	b.Input(block)
	b.Input(block) // no line delay: the second follows at once
	b.Control(`{"type":"transfer","on":false}`)
	b.Input("\x7f")
	expectTranscript(t, got, "\b\xe9"+block+block+"\b")

	b.Control(`{"type":"transfer"}`)
	if st := b.ExpectStatus("error"); st["message"] != "bad control message: transfer without on (true or false)" {
		t.Errorf("a transfer without on answered %v", st)
	}
}
