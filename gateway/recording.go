package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// DefaultRecordingMaxBytes caps a recording when RecordingConfig.MaxBytes
// is 0.
const DefaultRecordingMaxBytes = 10 << 20

// A recording is written in asciinema's asciicast v2 format: a header line
//
//	{"version":2,"width":80,"height":24,"timestamp":1700000000,"env":{"TERM":"xterm-256color"},"title":"lab",
//	 "telgate":{"user":"alice","remote":"10.1.2.3:50412","address":"10.0.0.5:23"}}
//
// (on one line; "telgate" says whose session it was, and players ignore
// it), then one event a line, [seconds since the start, code, data]: "o" for
// host output, "i" for what the user typed (only with
// RecordingConfig.Input), "r" for a resize ("120x40"), and "m", a marker,
// for what happened to the session besides (its browser's connection
// lost and resumed, sharing started and stopped, each viewer who joined
// and left, how it ended) and when the recording stops early
// ("recording stopped: size limit reached"). Data is converted to UTF-8 as asciinema does: each byte that
// is not part of valid UTF-8 becomes U+FFFD, and a character split across
// two reads is kept whole.
//
// Writing never holds the relay up: events are gathered in a buffer that
// a short-lived goroutine writes out once it holds recFlushAt bytes or
// recFlushDelay after its first event; an idle session holds no buffer.
// When the disk falls recMaxPending bytes behind, or a write fails, the
// recording stops and the session goes on.
const (
	recFlushAt    = 32 << 10
	recFlushDelay = time.Second
	recMaxPending = 1 << 20
	recMarkerRoom = 128 // kept free under the cap for the closing marker
)

// newRecBuf makes a buffer for a Gateway's recBufs pool.
func newRecBuf() any { b := make([]byte, 0, 2*recFlushAt); return &b }

func (r *recorder) getBuf() *[]byte { return r.bufs.Get().(*[]byte) }

func (r *recorder) putBuf(b *[]byte) {
	if b != nil && cap(*b) <= 8*recFlushAt {
		*b = (*b)[:0]
		r.bufs.Put(b)
	}
}

// A recorder writes one session's recording. Its methods are safe for
// concurrent use; none of them waits for the disk except close.
type recorder struct {
	log   zerolog.Logger
	m     *metrics
	bufs  *sync.Pool // the Gateway's recBufs
	f     *os.File
	file  string // base name, for logs
	start time.Time
	max   int64

	mu       sync.Mutex
	size     int64   // bytes accepted (written or pending)
	buf      *[]byte // pending events; nil when none
	timer    *time.Timer
	armed    bool // timer will flush
	writing  bool // a writer goroutine runs
	stopped  bool // no more events
	counted  bool // a result (failed, truncated) is counted
	closed   bool
	carry    [2]carry // incomplete UTF-8 at the end of output, input
	writers  sync.WaitGroup
	writeErr error
}

type carry struct {
	b [utf8.UTFMax]byte
	n int
}

// startRecording creates the session's recording file and writes its
// header. It returns nil, having logged why, when the file cannot be
// created: the session goes on unrecorded.
func startRecording(g *Gateway, log zerolog.Logger, req *Request, cols, rows int, term string) *recorder {
	target := req.Target
	cfg := g.opts.Recording
	start := time.Now()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := safeFileName(target.Name) + "-" + start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]) + ".cast"
	f, err := createRecording(cfg.Dir, name)
	if err != nil {
		log.Error().Err(err).Msg("recording not started")
		g.metrics.recording("failed")
		return nil
	}
	g.mu.Lock()
	g.writing[name] = RecordingInfo{Name: name, Target: target.Name, User: req.User, Remote: req.Remote,
		Address: target.Address, Started: time.Unix(start.Unix(), 0).UTC(), Recording: true}
	g.mu.Unlock()
	r := &recorder{log: log, m: g.metrics, bufs: &g.recBufs, f: f, file: name, start: start, max: cfg.MaxBytes}
	hdr, _ := json.Marshal(castHeader{2, cols, rows, start.Unix(), map[string]string{"TERM": term}, target.Name,
		&castSession{User: req.User, Remote: req.Remote, Address: target.Address}})
	r.mu.Lock()
	r.buf = r.getBuf()
	*r.buf = append(append(*r.buf, hdr...), '\n')
	r.size = int64(len(*r.buf))
	r.commit()
	r.mu.Unlock()
	g.metrics.recording("started")
	return r
}

// castHeader is a recording's first line: asciicast v2's header, with
// whose session it was in a field of telgate's own, which players ignore.
type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Env       map[string]string `json:"env"`
	Title     string            `json:"title,omitempty"`
	Session   *castSession      `json:"telgate,omitempty"`
}

type castSession struct {
	User    string `json:"user,omitempty"`
	Remote  string `json:"remote,omitempty"`
	Address string `json:"address,omitempty"`
}

func createRecording(dir, name string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// safeFileName keeps letters, digits, '.', '_' and '-' of a target name,
// other bytes becoming '_', with no leading dot, at most 64 bytes.
func safeFileName(s string) string {
	b := []byte(truncateBytes(s, 64))
	for i, c := range b {
		if !fileNameByte(c) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "session"
	}
	if b[0] == '.' {
		b[0] = '_'
	}
	return string(b)
}

// fileNameByte reports whether c may stand in a recording's file name:
// a letter, a digit, '.', '_' or '-'.
func fileNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

func truncateBytes(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// output records host output.
func (r *recorder) output(p []byte) { r.text('o', 0, p) }

// input records what the user typed.
func (r *recorder) input(p []byte) { r.text('i', 1, p) }

// resize records a new window size.
func (r *recorder) resize(cols, rows int) {
	if r == nil {
		return
	}
	r.short('r', strconv.Itoa(cols)+"x"+strconv.Itoa(rows))
}

// marker records a marker event; r may be nil.
func (r *recorder) marker(text string) {
	if r == nil {
		return
	}
	r.short('m', text)
}

// short records an event whose data is text, whole.
func (r *recorder) short(code byte, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	b := r.begin(code)
	b = appendJSONText(b, []byte(text))
	r.end(b)
}

// recMaxEvent bounds the bytes of one event: JSON may write a byte in six
// (a control byte as \u001b), so a relay frame of up to 256 KiB
// recorded as one event could hold one and a half times recMaxPending in
// memory for a disk that hangs. In pieces of this size, kick sees the
// pending bytes grow after each.
const recMaxEvent = 32 << 10

func (r *recorder) text(code byte, stream int, p []byte) {
	if r == nil {
		return
	}
	for len(p) > recMaxEvent {
		r.event(code, stream, p[:recMaxEvent])
		p = p[recMaxEvent:]
	}
	if len(p) > 0 {
		r.event(code, stream, p)
	}
}

// event records p, of stream, as one event.
func (r *recorder) event(code byte, stream int, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	c := &r.carry[stream]
	mark := len(r.pending())
	// head is the character the last read split, completed, or its
	// bytes when they are not valid UTF-8.
	var headBuf [8 * utf8.UTFMax]byte
	head := headBuf[:0]
	if c.n > 0 {
		var join [2 * utf8.UTFMax]byte
		k := copy(join[:], c.b[:c.n])
		k += copy(join[k:], p[:min(len(p), utf8.UTFMax-1)])
		switch {
		case !utf8.FullRune(join[:k]):
			// Still incomplete: p is all of it.
			c.n = copy(c.b[:], join[:k])
			p = nil
		default:
			_, size := utf8.DecodeRune(join[:k])
			if size > c.n {
				head = append(head, join[:size]...)
				p = p[size-c.n:]
			} else {
				head = appendJSONText(head, c.b[:c.n]) // not valid UTF-8
			}
			c.n = 0
		}
	}
	if t := incompleteTail(p); t > 0 {
		c.n = copy(c.b[:], p[len(p)-t:])
		p = p[:len(p)-t]
	}
	b := r.begin(code)
	body := len(b)
	b = append(b, head...)
	b = appendJSONText(b, p)
	if len(b) == body {
		// Nothing to record yet.
		if *r.buf = (*r.buf)[:mark]; mark == 0 {
			r.putBuf(r.buf)
			r.buf = nil
		}
		return
	}
	if !r.fits(b) {
		// Record what fits of head and p, then stop.
		b = r.begin(code)
		start := len(b)
		limit := mark + int(r.max-recMarkerRoom-r.size) - 3
		if len(b)+len(head) <= limit {
			b = append(b, head...)
			b, _ = appendJSONTextMax(b, p, limit)
		}
		if len(b) > start {
			r.end(b)
		}
		r.capped()
		return
	}
	r.end(b)
}

// pending returns the pending buffer, taking one from the pool if none.
func (r *recorder) pending() []byte {
	if r.buf == nil {
		r.buf = r.getBuf()
	}
	return *r.buf
}

// begin starts an event in the pending buffer: `[t, "c", "`.
func (r *recorder) begin(code byte) []byte {
	b := r.pending()
	b = append(b, '[')
	b = strconv.AppendFloat(b, time.Since(r.start).Seconds(), 'f', 6, 64)
	return append(b, ',', ' ', '"', code, '"', ',', ' ', '"')
}

// fits reports whether the event begun in b, once ended, leaves room for
// the closing marker under the size cap.
func (r *recorder) fits(b []byte) bool {
	return r.size+int64(len(b)-len(*r.buf)+3) <= r.max-recMarkerRoom
}

// end closes the event begun in b and accepts it, or stops the recording
// when it would pass the size cap.
func (r *recorder) end(b []byte) {
	if !r.fits(b) {
		r.capped()
		return
	}
	b = append(b, '"', ']', '\n')
	r.size += int64(len(b) - len(*r.buf))
	*r.buf = b
	r.commit()
}

// result counts how the recording ended, once: a recording stopped for
// a slow disk whose blocked write then fails is one failure. r.mu is
// held.
func (r *recorder) result(how string) {
	if !r.counted {
		r.counted = true
		r.m.recording(how)
	}
}

// capped stops the recording at the size cap.
func (r *recorder) capped() {
	if r.stopped {
		return
	}
	r.stop("recording stopped: size limit reached")
	r.result("truncated")
	r.log.Warn().Str("recording", r.file).Int64("max_bytes", r.max).Msg("recording stopped: size limit reached")
}

// stop writes a marker saying why the recording ends and takes no more
// events.
func (r *recorder) stop(why string) {
	r.stopped = true
	b := r.begin('m')
	b = appendJSONText(b, []byte(why))
	b = append(b, '"', ']', '\n')
	r.size += int64(len(b) - len(*r.buf))
	*r.buf = b
	r.kick()
}

// commit sees that the pending events reach the file: at once when there
// are enough of them, otherwise within recFlushDelay.
func (r *recorder) commit() {
	switch {
	case len(*r.buf) >= recFlushAt:
		r.kick()
	case !r.armed && !r.writing:
		r.armed = true
		if r.timer == nil {
			r.timer = time.AfterFunc(recFlushDelay, r.flushLater)
		} else {
			r.timer.Reset(recFlushDelay)
		}
	}
}

func (r *recorder) flushLater() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = false
	if !r.closed && r.buf != nil && len(*r.buf) > 0 {
		r.kick()
	}
}

// kick hands the pending events to a writer goroutine, starting one when
// none runs. When the one running is recMaxPending bytes behind, the disk
// is too slow: the recording stops rather than holding the relay up or
// growing without bound.
func (r *recorder) kick() {
	if r.writing {
		if len(*r.buf) > recMaxPending && !r.stopped {
			r.stop("recording stopped: disk too slow")
			r.result("failed")
			r.log.Warn().Str("recording", r.file).Msg("recording stopped: disk too slow")
		}
		return
	}
	r.writing = true
	data := r.buf
	r.buf = nil
	r.writers.Add(1)
	go r.write(data)
}

// write writes data, then whatever else is pending, until nothing is.
func (r *recorder) write(data *[]byte) {
	defer r.writers.Done()
	for data != nil {
		var err error
		if r.writeErr == nil {
			_, err = r.f.Write(*data)
		}
		r.putBuf(data)
		r.mu.Lock()
		if err != nil && r.writeErr == nil {
			r.writeErr = err
			r.result("failed")
			r.stopped = true
			r.log.Error().Err(err).Str("recording", r.file).Msg("recording stopped: write failed")
		}
		data, r.buf = r.buf, nil
		if data == nil {
			r.writing = false
		}
		r.mu.Unlock()
	}
}

// close records the last incomplete characters, writes what is pending
// and closes the file.
func (r *recorder) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	for i := range r.carry {
		c := &r.carry[i]
		if c.n > 0 && !r.stopped {
			b := r.begin("oi"[i])
			b = appendJSONText(b, c.b[:c.n])
			c.n = 0
			r.end(b)
		}
	}
	r.closed, r.stopped = true, true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.buf != nil && len(*r.buf) > 0 {
		r.kick()
	}
	r.mu.Unlock()
	r.writers.Wait()
	r.putBuf(r.buf)
	r.buf = nil
	if err := r.f.Close(); err != nil && r.writeErr == nil {
		r.log.Error().Err(err).Str("recording", r.file).Msg("recording: close failed")
	}
}

// incompleteTail returns the length of an incomplete UTF-8 sequence at the
// end of p, 0 when p ends with a whole character or with invalid bytes.
func incompleteTail(p []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(p); k++ {
		c := p[len(p)-k]
		switch {
		case c < utf8.RuneSelf:
			return 0
		case utf8.RuneStart(c):
			if utf8.FullRune(p[len(p)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

const hexDigits = "0123456789abcdef"

// appendJSONText appends p as the inside of a JSON string, each byte that
// is not part of valid UTF-8 replaced by U+FFFD.
func appendJSONText(dst, p []byte) []byte {
	dst, _ = appendJSONTextMax(dst, p, -1)
	return dst
}

// appendJSONTextMax is appendJSONText that stops, at a character
// boundary, before dst would grow past max bytes (no limit when max < 0).
// It returns how much of p it encoded.
func appendJSONTextMax(dst, p []byte, max int) ([]byte, int) {
	if max < 0 {
		max = int(^uint(0) >> 1)
	}
	var one [8]byte // the longest encoding of a character is 6 bytes
	i := 0
	for i < len(p) {
		c := p[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			j := i + 1
			for j < len(p) && p[j] >= 0x20 && p[j] < utf8.RuneSelf && p[j] != '"' && p[j] != '\\' {
				j++
			}
			j = min(j, i+max-len(dst))
			if j <= i {
				break
			}
			dst = append(dst, p[i:j]...)
			i = j
			continue
		}
		enc, size := one[:0], 1
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				enc = append(enc, '\\', c)
			case '\n':
				enc = append(enc, '\\', 'n')
			case '\r':
				enc = append(enc, '\\', 'r')
			case '\t':
				enc = append(enc, '\\', 't')
			default:
				enc = append(enc, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
		} else {
			var r rune
			r, size = utf8.DecodeRune(p[i:])
			if r == utf8.RuneError && size == 1 {
				enc = append(enc, `\ufffd`...)
			} else {
				enc = append(enc, p[i:i+size]...)
			}
		}
		if len(dst)+len(enc) > max {
			break
		}
		dst = append(dst, enc...)
		i += size
	}
	return dst, i
}
