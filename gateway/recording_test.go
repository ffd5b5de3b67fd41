package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

type castEvent struct {
	Time float64
	Code string
	Data string
}

// readCast parses an asciicast v2 file line by line, failing the test on
// anything that is not valid.
func readCast(t *testing.T, path string) (castHeader, []castEvent) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(data) {
		t.Errorf("%s is not valid UTF-8", path)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	var hdr castHeader
	var events []castEvent
	last := 0.0
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&hdr); err != nil || hdr.Version != 2 {
				t.Fatalf("header %s: %v", line, err)
			}
			continue
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil || len(raw) != 3 {
			t.Fatalf("line %d: %q: %v", n, line, err)
		}
		var ev castEvent
		if json.Unmarshal(raw[0], &ev.Time) != nil || json.Unmarshal(raw[1], &ev.Code) != nil || json.Unmarshal(raw[2], &ev.Data) != nil {
			t.Fatalf("line %d: %q: want [number, string, string]", n, line)
		}
		if ev.Time < last {
			t.Errorf("line %d: time %v before %v", n, ev.Time, last)
		}
		if !strings.Contains("oirm", ev.Code) || len(ev.Code) != 1 {
			t.Errorf("line %d: event code %q", n, ev.Code)
		}
		last = ev.Time
		events = append(events, ev)
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Errorf("%s does not end with a newline", path)
	}
	return hdr, events
}

func joined(events []castEvent, code string) string {
	var b strings.Builder
	for _, e := range events {
		if e.Code == code {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

// asUTF8 converts as asciinema does: each byte not part of valid UTF-8
// becomes U+FFFD.
func asUTF8(b []byte) string { return string([]rune(string(b))) }

// onlyFile returns the one file in dir.
func onlyFile(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("recording dir holds %v (%v), want one file", entries, err)
	}
	return filepath.Join(dir, entries[0].Name())
}

const password = "hunter2-correct-horse"

// recordedHost sends output with a character split across two reads,
// bytes that are not UTF-8, quotes, backslashes and control characters,
// then waits for a password that it does not echo.
func recordedHost(t *testing.T) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("caf\xc3")
		c.ExpectData("1")
		c.SendString("\xa9 \xe2\x82")
		c.ExpectData("2")
		c.SendString("\xac \xf0\x9f\x98\x80 bad:\xfe\x80")
		c.Send([]byte{telnet.IAC, telnet.IAC}) // a 0xff data byte
		c.SendString(" \"q\" \\ \x1b[1m\x00\x07\r\nPassword: ")
		c.ExpectData(password + "\r")
		c.SendString("\r\nwelcome\r\n")
	})
}

func playRecordedSession(t *testing.T, tg *testGateway) *browser {
	b := tg.open("target=lab&term=vt220")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("caf\xc3"))
	b.Input("1")
	b.WaitOutput([]byte("\xa9 \xe2\x82"))
	b.Control(`{"type":"resize","cols":100,"rows":30}`)
	b.Input("2")
	b.WaitOutput([]byte("Password: "))
	b.Input(password + "\r")
	b.ExpectClosed(ReasonHostClosed)
	tg.waitIdle()
	return b
}

func TestRecordingIsAsciicastV2(t *testing.T) {
	dir := t.TempDir()
	host := recordedHost(t)
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}},
		Recording: RecordingConfig{Dir: dir},
	})
	b := playRecordedSession(t, tg)
	path := onlyFile(t, dir)
	if !regexp.MustCompile(`^lab-\d{8}T\d{6}Z-[0-9a-f]{8}\.cast$`).MatchString(filepath.Base(path)) {
		t.Errorf("file name %s", filepath.Base(path))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", fi.Mode(), err)
	}
	hdr, events := readCast(t, path)
	if hdr.Width != 80 || hdr.Height != 24 || hdr.Env["TERM"] != "vt220" || hdr.Title != "lab" ||
		time.Since(time.Unix(hdr.Timestamp, 0)) > time.Minute {
		t.Errorf("header %+v", hdr)
	}
	if got, want := joined(events, "o"), asUTF8(b.Output); got != want {
		t.Errorf("recorded output\n%q\nwant\n%q", got, want)
	}
	if got := joined(events, "r"); got != "100x30" {
		t.Errorf("resize events %q", got)
	}
	if got := joined(events, "i"); got != "" {
		t.Errorf("input recorded without RecordingConfig.Input: %q", got)
	}
	data, _ := os.ReadFile(path)
	for what, text := range map[string]string{"recording": string(data), "log": tg.log.String()} {
		if strings.Contains(text, "hunter2") {
			t.Errorf("the %s holds the password", what)
		}
	}
	if len(tg.log.entries("recording session")) != 1 {
		t.Errorf("no log line names the recording:\n%s", tg.log)
	}
	if strings.Contains(tg.log.String(), "passwords included") {
		t.Error("input warning without input recording")
	}
}

func TestRecordingInputOnlyWhenEnabled(t *testing.T) {
	host := recordedHost(t)
	tg, dir := recordedLab(t, host.Addr())
	if w := tg.log.entries("recording input: what users type is written to recordings, passwords included"); len(w) != 1 || w[0]["level"] != "warn" {
		t.Errorf("no warning at start about input recording:\n%s", tg.log)
	}
	playRecordedSession(t, tg)
	_, events := readCast(t, onlyFile(t, dir))
	if got := joined(events, "i"); got != "12"+password+"\r" {
		t.Errorf("input events %q", got)
	}
	if strings.Contains(tg.log.String(), "hunter2") {
		t.Error("the log holds the password")
	}
}

func TestRecordingSizeCap(t *testing.T) {
	dir := t.TempDir()
	const total = 1 << 20
	chunk := strings.Repeat("0123456789abcdef", 1024)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		for sent := 0; sent < total; sent += len(chunk) {
			c.SendString(chunk)
		}
	})
	echo := echoHost(t)
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}, {Name: "echo", Address: echo.Addr()}},
		Recording: RecordingConfig{Dir: dir, MaxBytes: 4096},
	})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	b.ExpectClosed(ReasonHostClosed)
	if len(b.Output) != total {
		t.Fatalf("the browser got %d bytes of %d", len(b.Output), total)
	}
	tg.waitIdle()
	path := onlyFile(t, dir)
	if fi, _ := os.Stat(path); fi.Size() > 4096 {
		t.Errorf("recording is %d bytes, cap 4096", fi.Size())
	}
	_, events := readCast(t, path)
	if last := events[len(events)-1]; last.Code != "m" || last.Data != "recording stopped: size limit reached" {
		t.Errorf("last event %+v, want the size limit marker", last)
	}
	if out := joined(events, "o"); !strings.HasPrefix(chunk, out[:min(len(out), len(chunk))]) || len(out) == 0 {
		t.Errorf("recorded output does not start the stream: %.40q", out)
	}
	if len(tg.log.entries("recording stopped: size limit reached")) != 1 {
		t.Errorf("no log line about the cap:\n%s", tg.log)
	}
	tg.checkServing("echo")
}

func TestRecordingFailureLeavesTheSessionAlone(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	host := echoHost(t)
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}},
		Recording: RecordingConfig{Dir: notADir},
	})
	tg.checkServing("lab")
	tg.waitIdle()
	if len(tg.log.entries("recording not started")) != 1 {
		t.Errorf("no log line about the failed recording:\n%s", tg.log)
	}
}

// newTestRecorder records to a file in a temporary directory.
func newTestRecorder(t *testing.T, max int64) (*recorder, string) {
	dir := t.TempDir()
	g, err := New(Options{Adhoc: []AdhocRule{{Hosts: []string{"192.0.2.1"}}}, Recording: RecordingConfig{Dir: dir, MaxBytes: max}})
	if err != nil {
		t.Fatal(err)
	}
	r := startRecording(g, zerolog.Nop(), &Request{Target: Target{Name: "unit"}}, 80, 24, "xterm")
	if r == nil {
		t.Fatal("recording not started")
	}
	return r, filepath.Join(dir, r.file)
}

// However output is split into reads, the recording holds it converted
// as a whole, and so does input.
func TestRecordingKeepsCharactersSplitAcrossReads(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	pieces := []string{"a", "é", "€", "😀", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80", "\"", "\\", "\x1b", "\n", "\u2028", "\xed\xa0\x80"}
	for round := 0; round < 50; round++ {
		var out, in []byte
		for i := 0; i < 200; i++ {
			out = append(out, pieces[rng.Intn(len(pieces))]...)
			in = append(in, pieces[rng.Intn(len(pieces))]...)
		}
		r, path := newTestRecorder(t, 1<<20)
		for p, q := out, in; len(p) > 0 || len(q) > 0; {
			n := min(len(p), 1+rng.Intn(5))
			r.output(p[:n])
			p = p[n:]
			m := min(len(q), 1+rng.Intn(5))
			r.input(q[:m])
			q = q[m:]
		}
		r.close()
		_, events := readCast(t, path)
		if got, want := joined(events, "o"), asUTF8(out); got != want {
			t.Fatalf("round %d: output\n%q\nwant\n%q", round, got, want)
		}
		if got, want := joined(events, "i"), asUTF8(in); got != want {
			t.Fatalf("round %d: input\n%q\nwant\n%q", round, got, want)
		}
	}
}

func TestAppendJSONTextIsValidJSON(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.Intn(40))
		rng.Read(b)
		enc := append(append([]byte{'"'}, appendJSONText(nil, b)...), '"')
		var s string
		if err := json.Unmarshal(enc, &s); err != nil || s != asUTF8(b) || !utf8.Valid(enc) {
			t.Fatalf("%q encoded as %s: %q, %v", b, enc, s, err)
		}
	}
}

// An idle recorded session holds no buffer, and what it recorded reaches
// the file without waiting for the session to end.
func TestIdleRecordingHoldsNoBuffer(t *testing.T) {
	r, path := newTestRecorder(t, 1<<20)
	defer r.close()
	r.output([]byte("prompt$ "))
	waitFor(t, "the recording to be flushed", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.buf == nil && !r.writing
	})
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"o", "prompt$ "]`)) {
		t.Errorf("file holds %q", data)
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"lab":                   "lab",
		"sw1.lab.example:2001":  "sw1.lab.example_2001",
		"[2001:db8::1]:23":      "_2001_db8__1__23",
		"../../etc/passwd":      "_._.._etc_passwd",
		".hidden":               "_hidden",
		"":                      "session",
		strings.Repeat("x", 99): strings.Repeat("x", 64),
	} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// What the browser sends after the session has ended (while the gateway
// waits for its close reply) reaches neither the host nor the recording.
func TestNothingIsRecordedAfterTheSessionEnds(t *testing.T) {
	host := telnettest.NewServer(t, func(c *telnettest.Conn) { c.SendString("bye\r\n") })
	tg, dir := recordedLab(t, host.Addr())
	ws, _, err := websocket.DefaultDialer.Dial(tg.url("target=lab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	// Up to the "closed" status, and not past it: the close frame that
	// follows stays unread, so the session is still waiting for the reply.
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("before the closed status: %v", err)
		}
		if typ == websocket.TextMessage && strings.Contains(string(data), `"closed"`) {
			break
		}
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("TYPED-AFTER-CLOSED")); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"resize","cols":99,"rows":33}`)); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	tg.waitIdle()
	_, events := readCast(t, onlyFile(t, dir))
	if got := joined(events, "i"); got != "" {
		t.Errorf("input recorded after the end: %q", got)
	}
	if got := joined(events, "r"); got != "" {
		t.Errorf("resize recorded after the end: %q", got)
	}
}

// A recording whose disk stops taking writes (a hung network mount)
// holds neither its session nor the session's slot: the session ends and
// is counted out, and only Shutdown waits, within its time, for the
// recording.
func TestHungRecordingDiskDoesNotHoldTheSession(t *testing.T) {
	release := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		<-release
		c.Send(bytes.Repeat([]byte("y"), 256<<10)) // more than a pipe holds
	})
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}},
		Recording: RecordingConfig{Dir: t.TempDir()},
	})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")

	// The recording's file becomes a pipe that nobody reads.
	hung, disk, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	tg.gw.mu.Lock()
	for s := range tg.gw.sessions {
		s.rec.mu.Lock()
		if !s.rec.writing {
			s.rec.f.Close()
			s.rec.f = disk
		}
		s.rec.mu.Unlock()
	}
	tg.gw.mu.Unlock()

	close(release)
	b.ExpectClosed(ReasonHostClosed)
	waitFor(t, "the session to end", func() bool { return tg.gw.Active() == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := tg.gw.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "recordings still being written") {
		t.Errorf("Shutdown with the recording hung: %v", err)
	}
	go io.Copy(io.Discard, hung) // the disk recovers
	if err := tg.gw.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown once the disk took the writes: %v", err)
	}
}

// Past maxBackgroundRecordings recordings waiting for a disk that does not
// take writes, the next session's recording is written out on the
// session's own goroutine: the sessions' limit then bounds them.
func TestBackgroundRecordingsAreBounded(t *testing.T) {
	g, err := New(Options{Adhoc: []AdhocRule{{Hosts: []string{"192.0.2.1"}}}, Recording: RecordingConfig{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	var disks []*os.File
	defer func() {
		for _, d := range disks {
			d.Close()
		}
	}()
	hungRecording := func() *recorder {
		r := startRecording(g, zerolog.Nop(), &Request{Target: Target{Name: "unit"}}, 80, 24, "xterm")
		if r == nil {
			t.Fatal("recording not started")
		}
		disk, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		disks = append(disks, disk)
		r.mu.Lock()
		r.f.Close()
		r.f = w
		r.mu.Unlock()
		r.output(bytes.Repeat([]byte("o"), 256<<10)) // more than a pipe holds
		return r
	}
	for range maxBackgroundRecordings {
		g.closeRecording(hungRecording()) // returns at once
	}
	if n := g.pendingRecordings.Load(); n != maxBackgroundRecordings {
		t.Fatalf("%d recordings being written out, want %d", n, maxBackgroundRecordings)
	}
	last := hungRecording()
	closed := make(chan struct{})
	go func() { g.closeRecording(last); close(closed) }()
	select {
	case <-closed:
		t.Fatal("the recording past the bound was left to the background too")
	case <-time.After(200 * time.Millisecond):
	}
	for _, d := range disks { // the disk recovers
		go io.Copy(io.Discard, d)
	}
	<-closed
	g.recordings.Wait()
	if n := g.pendingRecordings.Load(); n != 0 {
		t.Errorf("%d recordings still counted once all were written", n)
	}
}

// stallDisk makes r write into a pipe that nobody reads, once its header
// is out, and returns the pipe's read end.
func stallDisk(t *testing.T, r *recorder) *os.File {
	t.Helper()
	rd, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	waitFor(t, "the header written", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return !r.writing
	})
	r.mu.Lock()
	r.f.Close()
	r.f = w
	r.mu.Unlock()
	return rd
}

func recordingGateway(t *testing.T) *Gateway {
	t.Helper()
	g, err := New(Options{Adhoc: []AdhocRule{{Hosts: []string{"192.0.2.1"}}}, Recording: RecordingConfig{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A recording stopped because the disk is too slow, whose blocked write
// then fails, counts one failure, not two.
func TestRecordingFailsOnce(t *testing.T) {
	g := recordingGateway(t)
	r := startRecording(g, zerolog.Nop(), &Request{Target: Target{Name: "unit"}}, 80, 24, "xterm")
	rd := stallDisk(t, r)
	chunk := bytes.Repeat([]byte("o"), 16<<10)
	for range 200 { // 3.2 MB: more than a pipe holds, and recMaxPending
		r.output(chunk)
	}
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if !stopped {
		t.Fatal("the recording was not stopped by a disk too slow")
	}
	rd.Close() // the blocked write fails (EPIPE)
	r.close()
	if n := scrape(t, g)[`telgate_recordings_total{result="failed"}`]; n != 1 {
		t.Errorf(`telgate_recordings_total{result="failed"} = %v for one recording, want 1`, n)
	}
}

// A disk that hangs holds about recMaxPending bytes of a recording, not
// six times a frame: a frame of control bytes (six bytes each in JSON)
// is recorded in pieces, and the pending bytes are checked after each.
func TestHungDiskHoldsBoundedRecording(t *testing.T) {
	g := recordingGateway(t)
	r := startRecording(g, zerolog.Nop(), &Request{Target: Target{Name: "unit"}}, 80, 24, "xterm")
	rd := stallDisk(t, r)
	frame := bytes.Repeat([]byte{0x01}, 1<<20) // four of the largest relay frames in one
	r.output(frame)
	r.output(frame)
	r.mu.Lock()
	pending := 0
	if r.buf != nil {
		pending = len(*r.buf)
	}
	r.mu.Unlock()
	if limit := recMaxPending + 6*recMaxEvent + recMarkerRoom; pending > limit {
		t.Errorf("%d bytes pending for a hung disk, want at most %d", pending, limit)
	}
	go func() { _, _ = io.Copy(io.Discard, rd) }()
	r.close()
}

// At the size cap the recording is still a prefix of the output: the
// character the previous read split, completed by this one, is kept.
func TestRecordingCapKeepsASplitCharacter(t *testing.T) {
	r, path := newTestRecorder(t, 4096)
	r.output([]byte("ab\xc3"))
	r.output(append([]byte("\xa9"), bytes.Repeat([]byte("x"), 8000)...))
	r.close()
	_, events := readCast(t, path)
	if got, want := joined(events, "o"), "abé"; !strings.HasPrefix(got, want) {
		t.Errorf("recorded output starts %.12q, want a prefix of %q", got, "abéxxx…")
	}
}

// A recording whose last writes fail when its session ends (a full disk)
// counts as failed.
func TestRecordingFailingAtCloseCountsFailed(t *testing.T) {
	g := recordingGateway(t)
	r := startRecording(g, zerolog.Nop(), &Request{Target: Target{Name: "unit"}}, 80, 24, "xterm")
	rd := stallDisk(t, r)
	rd.Close()                              // every write fails (EPIPE)
	r.output([]byte("a short session\r\n")) // pending, under recFlushAt
	r.close()
	if n := scrape(t, g)[`telgate_recordings_total{result="failed"}`]; n != 1 {
		t.Errorf(`telgate_recordings_total{result="failed"} = %v, want 1`, n)
	}
}

// A recording marks what happened to the session besides its output:
// sharing, each viewer, the browser's connection lost and resumed, and
// how it ended.
func TestRecordingMarksWhatHappened(t *testing.T) {
	dir := t.TempDir()
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: echoHost(t).Addr(), Record: true}},
		Recording: RecordingConfig{Dir: dir},
	})
	owner, token := openResumable(t, tg, "target=lab")
	owner.WaitOutput([]byte("$ "))
	watchToken := share(t, owner)
	v, _ := watch(t, tg, watchToken, "bob")
	expectViewers(t, owner, "bob")
	closeWebSocket(v)
	expectViewers(t, owner)
	owner.Control(`{"type":"unshare"}`)
	expectViewers(t, owner)
	dropConnection(t, tg, owner)
	again, _ := resume(t, tg, token, len(owner.Output))
	again.Input("x")
	again.WaitOutput([]byte("x"))
	closeWebSocket(again)
	tg.waitIdle()

	markers := recordedMarkers(t, dir)
	want := []string{
		"session shared",
		"viewer joined: bob (ADDR)",
		"viewer left: bob (ADDR): " + ReasonBrowserClosed,
		"session no longer shared",
		"browser connection lost: held for it to resume",
		"session resumed from ADDR",
		"session ended: " + ReasonBrowserClosed,
	}
	if !slices.Equal(markers, want) {
		t.Errorf("markers\n%q\nwant\n%q", markers, want)
	}
}

// Viewers let go as the session ends are recorded leaving before its end,
// although their connections close after the recording does.
func TestRecordingMarksViewersLetGoAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectString("exit")
		c.SendString("bye\r\n")
	})
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}},
		Recording: RecordingConfig{Dir: dir},
	})
	owner := tg.open("target=lab")
	owner.ExpectStatus("connected")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	v, _ := watch(t, tg, token, "bob")
	expectViewers(t, owner, "bob")
	owner.Input("exit")
	owner.ExpectClosed(ReasonHostClosed)
	v.ExpectClosed(ReasonHostClosed)
	tg.waitIdle()
	waitFor(t, "the viewer to leave", func() bool { return len(tg.log.entries("viewer left")) == 1 })
	tg.gw.recordings.Wait()

	markers := recordedMarkers(t, dir)
	want := []string{
		"session shared",
		"viewer joined: bob (ADDR)",
		"viewer left: bob (ADDR): " + ReasonHostClosed,
		"session ended: " + ReasonHostClosed,
	}
	if !slices.Equal(markers, want) {
		t.Errorf("markers\n%q\nwant\n%q", markers, want)
	}
}

// Markers with user-controlled text stay valid JSON.
func TestRecordingMarkersEscapeUserNames(t *testing.T) {
	dir := t.TempDir()
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: echoHost(t).Addr(), Record: true}},
		Recording: RecordingConfig{Dir: dir},
	})
	owner := tg.open("target=lab")
	owner.ExpectStatus("connected")
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	v, _ := watch(t, tg, token, "b%22o%5C%0Ab%ff")
	expectViewers(t, owner, "b\"o\\\nb\ufffd")
	closeWebSocket(v)
	expectViewers(t, owner)
	closeWebSocket(owner)
	tg.waitIdle()
	_, events := readCast(t, onlyFile(t, dir))
	found := false
	for _, e := range events {
		if e.Code == "m" && strings.HasPrefix(e.Data, "viewer joined: b\"o\\\nb\ufffd (") {
			found = true
		}
	}
	if !found {
		t.Errorf("events %v", events)
	}
}

// recordedMarkers returns the markers of the one recording in dir, with
// loopback addresses written ADDR.
func recordedMarkers(t *testing.T, dir string) []string {
	t.Helper()
	_, events := readCast(t, onlyFile(t, dir))
	var markers []string
	for _, e := range events {
		if e.Code == "m" {
			markers = append(markers, loopbackAddr.ReplaceAllString(e.Data, "ADDR"))
		}
	}
	return markers
}

var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:\d+`)
