package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// relayStream returns n bytes of text lines as a host sends them (raw)
// and as the browser should get them (cooked). With iac, about one byte
// in a hundred belongs to an IAC NOP (removed) or IAC IAC (one 255).
func relayStream(n int, iac bool) (raw, cooked []byte) {
	const line = "the quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
	for i := 0; len(raw) < n; i++ {
		l := line[i%len(line):] + line[:i%len(line)]
		if !iac {
			raw, cooked = append(raw, l...), append(cooked, l...)
			continue
		}
		raw = append(raw, l[:40]...)
		cooked = append(cooked, l[:40]...)
		if i%2 == 0 {
			raw = append(raw, telnet.IAC, telnet.NOP)
		} else {
			raw = append(raw, telnet.IAC, telnet.IAC)
			cooked = append(cooked, telnet.IAC)
		}
		raw, cooked = append(raw, l[40:]...), append(cooked, l[40:]...)
	}
	return raw, cooked
}

// BenchmarkRelay streams host output through a session to a WebSocket
// client over loopback, the way package web serves it: each op asks a
// scripted host for 4 MiB and reads it all, checking every byte. MB/s is
// host bytes per second; allocs/op counts the whole process (host,
// gateway and client) per 4 MiB; B/frame is the average binary message.
//
//	go test -run='^$' -bench=Relay -benchmem ./gateway
func BenchmarkRelay(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchmarkRelay(b, false) })
	b.Run("IAC1Percent", func(b *testing.B) { benchmarkRelay(b, true) })
}

func benchmarkRelay(b *testing.B, iac bool) {
	raw, cooked := relayStream(4<<20, iac)
	host := telnettest.NewServer(b, func(c *telnettest.Conn) {
		nc := c.NetConn()
		buf := make([]byte, 64)
		for {
			// One request per op: "go" and the Enter the gateway sends.
			if _, err := io.ReadFull(nc, buf[:4]); err != nil {
				return
			}
			if _, err := nc.Write(raw); err != nil {
				return
			}
		}
	})
	gw, err := New(Options{Targets: []Target{{Name: "bench", Address: host.Addr()}}, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	upgrader := gw.NewUpgrader(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := gw.Target("bench")
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		gw.Serve(ws, Request{Target: t, Cols: 80, Rows: 24, Remote: r.RemoteAddr})
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	buf := make([]byte, frameSizes[len(frameSizes)-1]+1)
	frames := 0
	// read reads n bytes of host output, checking them against want.
	read := func(want []byte) error {
		for off := 0; off < len(want); {
			typ, r, err := ws.NextReader()
			if err != nil {
				return err
			}
			n, err := io.ReadFull(r, buf)
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return fmt.Errorf("message larger than %d bytes: %v", len(buf), err)
			}
			if typ != websocket.BinaryMessage {
				continue
			}
			if !bytes.Equal(buf[:n], want[off:min(len(want), off+n)]) {
				return fmt.Errorf("bytes %d..%d differ", off, off+n)
			}
			off += n
			frames++
		}
		return nil
	}
	request := func() error {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		return ws.WriteMessage(websocket.BinaryMessage, []byte("go\r"))
	}
	// Warm up: one op outside the timing.
	if err := request(); err != nil {
		b.Fatal(err)
	}
	if err := read(cooked); err != nil {
		b.Fatal(err)
	}
	frames = 0
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := request(); err != nil {
			b.Fatal(err)
		}
		if err := read(cooked); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(cooked))*float64(b.N)/float64(frames), "B/frame")
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}
