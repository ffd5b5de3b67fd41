package main

// End-to-end harness: the real telgate binary, real telnet hosts
// (inetutils and busybox telnetd behind socat, see e2e/telnetd-host.sh), a
// Go WebSocket client speaking protocol v1, and the helpers the browser
// tests share. Tools that are missing make the tests that need them skip,
// naming the package to install, except under CI=true, where they fail.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Bounds of the harness's waits.
const (
	buildTimeout   = 3 * time.Minute
	startTimeout   = 20 * time.Second
	stopTimeout    = 10 * time.Second
	defaultTimeout = 15 * time.Second
)

// hostPrompt is the prompt of the shells the test hosts run.
const hostPrompt = "tg$ "

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// e2eInCI reports whether the tests run in CI, where every tool they need
// is installed and a missing one is an error.
func e2eInCI() bool { return os.Getenv("CI") == "true" }

// missingTool skips the test, or fails it in CI, for a tool that is not
// installed.
func missingTool(t testing.TB, what, install string) {
	t.Helper()
	if e2eInCI() {
		t.Fatalf("%s not found (install %s); CI=true requires it", what, install)
	}
	t.Skipf("%s not found: install %s to run this test", what, install)
}

// requireCommand looks a program up on PATH (or at its absolute path).
func requireCommand(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingTool(t, name, install)
	}
	return p
}

// telgateBinary builds the telgate command once per test binary run and
// returns its path. It is built without the race detector: it only has to
// be the real program, and race builds are slow.
func telgateBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "telgate-e2e-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "telgate")
		cmd := exec.Command("go", "build", "-o", buildBin, ".")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			buildErr = fmt.Errorf("go build: %w", err)
			return
		}
		timer := time.AfterFunc(buildTimeout, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
		if err := cmd.Wait(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// e2eBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type e2eBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---- telnet hosts -----------------------------------------------------

// A telnetHost is socat serving one telnetd per connection on loopback,
// or, of flavor "raw", one shell on a pty per connection over plain TCP,
// as a console server's raw port serves a serial console.
type telnetHost struct {
	Flavor string // "inetutils", "login", "busybox" or "raw"
	Addr   string // 127.0.0.1:port
	Dir    string // the shells' working directory
	cmd    *exec.Cmd
	out    *e2eBuffer
	exited chan struct{}
}

// startTelnetHost starts a telnet host of the given flavor whose shells
// run /bin/sh with the prompt hostPrompt in a fresh directory. The host
// and every session it started are killed when the test ends.
func startTelnetHost(t testing.TB, flavor string) *telnetHost {
	t.Helper()
	socat := requireCommand(t, "socat", "the Debian package socat")
	scriptDir, workDir := t.TempDir(), t.TempDir()
	shell := filepath.Join(scriptDir, "shell")
	var server string // socat's EXEC address
	switch flavor {
	case "inetutils":
		const telnetd = "/usr/sbin/telnetd"
		if _, err := os.Stat(telnetd); err != nil {
			missingTool(t, telnetd, "the Debian package inetutils-telnetd")
		}
		// inetutils keeps only TERM of its environment; socat's EXEC
		// does not honour quotes, so the prompt is set in a script.
		server = telnetd + " -h -E " + shell + ",nofork"
	case "login":
		// inetutils telnetd running /bin/login, as a host serves its
		// users: it asks for a user name and a password.
		const telnetd = "/usr/sbin/telnetd"
		if _, err := os.Stat(telnetd); err != nil {
			missingTool(t, telnetd, "the Debian package inetutils-telnetd")
		}
		server = telnetd + " -h,nofork"
	case "busybox":
		bb := requireCommand(t, "busybox", "the Debian package busybox-static")
		if err := exec.Command(bb, "telnetd", "--help").Run(); err != nil {
			missingTool(t, "busybox telnetd applet", "the Debian package busybox-static")
		}
		server = bb + " telnetd -i -l " + shell + " -f /dev/null,nofork"
	case "raw":
		// The terminal's own modes (sane): Enter's CR becomes a
		// newline, what is typed is echoed.
		server = shell + ",pty,stderr,setsid,ctty,sane"
	default:
		t.Fatalf("unknown telnet host flavor %q", flavor)
	}
	script := "#!/bin/sh\ncd " + e2eShellQuote(workDir) + " || exit 1\n" +
		"exec /usr/bin/env PS1=" + e2eShellQuote(hostPrompt) + " PATH=/usr/bin:/bin HOME=" + e2eShellQuote(workDir) + " /bin/sh\n"
	if err := os.WriteFile(shell, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := e2eFreePort()
		if err != nil {
			t.Fatal(err)
		}
		h := &telnetHost{
			Flavor: flavor, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Dir: workDir, out: &e2eBuffer{}, exited: make(chan struct{}),
		}
		h.cmd = exec.Command(socat,
			fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port),
			"EXEC:"+server)
		h.cmd.Dir = workDir
		h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
		h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := h.cmd.Start(); err != nil {
			t.Fatalf("starting socat: %v", err)
		}
		go func() { _ = h.cmd.Wait(); close(h.exited) }()
		if lastErr = h.waitListening(startTimeout); lastErr != nil {
			h.kill()
			continue
		}
		t.Cleanup(func() {
			h.kill()
			if t.Failed() {
				if out := h.out.String(); out != "" {
					t.Logf("%s telnet host output:\n%s", flavor, out)
				}
			}
		})
		return h
	}
	t.Fatalf("%s telnet host did not start: %v", flavor, lastErr)
	return nil
}

// waitListening polls the host's port: socat prints nothing when it is
// ready. The probe connection gets a telnetd of its own, which exits when
// the probe closes.
func (h *telnetHost) waitListening(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-h.exited:
			return fmt.Errorf("socat exited: %s", h.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after %v", h.Addr, timeout)
		}
	}
}

// kill ends socat and the telnetds of its process group (their shells
// get SIGHUP when their pty closes) and waits for socat.
func (h *telnetHost) kill() {
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-h.exited:
	case <-time.After(stopTimeout):
	}
}

func e2eFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func e2eShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ---- the telgate process ----------------------------------------------

// A telgateProc is a running telgate binary.
type telgateProc struct {
	URL  string // http://127.0.0.1:port/
	Addr string // 127.0.0.1:port
	cmd  *exec.Cmd
	logs *e2eBuffer
	done chan struct{}
	// wrapped says telgate runs under a wrapper (see pid).
	wrapped bool
}

var servingLine = regexp.MustCompile(`^telgate: serving (\d+) target\(s\) at (https?://([^/\s]+)/\S*)$`)

// startTelgate runs telgate on a free loopback port with args added and
// waits for its "serving" line. When the test ends it is stopped with
// SIGTERM, which must make it exit with status 0.
func startTelgate(t testing.TB, wantTargets int, args ...string) *telgateProc {
	t.Helper()
	return startTelgateUnder(t, nil, wantTargets, args...)
}

// startTelgateUnder is startTelgate with telgate run by the command
// wrapper (such as strace and its arguments), which passes on its
// output and its exit status.
func startTelgateUnder(t testing.TB, wrapper []string, wantTargets int, args ...string) *telgateProc {
	t.Helper()
	argv := append(append(wrapper, telgateBinary(t), "-listen", "127.0.0.1:0", "-log-format", "json"), args...)
	p := &telgateProc{logs: &e2eBuffer{}, done: make(chan struct{}), wrapped: len(wrapper) > 0}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	if p.wrapped {
		// A group of their own: both can be killed at once, should
		// telgate not stop.
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting telgate: %v", err)
	}
	serving := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case serving <- m:
				default:
				}
			} else {
				fmt.Fprintf(p.logs, "stdout: %s\n", sc.Text())
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case m := <-serving:
		if n, _ := strconv.Atoi(m[1]); n != wantTargets {
			t.Errorf("telgate serves %s target(s), want %d", m[1], wantTargets)
		}
		p.URL, p.Addr = m[2], m[3]
	case <-p.done:
		t.Fatalf("telgate %q exited before serving: %v\n%s", args, p.cmd.ProcessState, p.logs.String())
	case <-time.After(startTimeout):
		t.Fatalf("telgate %q printed no serving line within %v\n%s", args, startTimeout, p.logs.String())
	}
	return p
}

// stop stops telgate with SIGTERM, once: a second call (a test that
// stopped it, then its cleanup) does nothing.
func (p *telgateProc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	var err error
	if p.wrapped {
		var pid int
		if pid, err = p.pid(); err == nil {
			err = syscall.Kill(pid, syscall.SIGTERM)
		}
	} else {
		err = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	if err != nil {
		t.Errorf("cannot stop telgate: %v", err)
		p.kill()
	} else {
		select {
		case <-p.done:
			if code := p.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("telgate exited with status %d after SIGTERM, want 0", code)
			}
		case <-time.After(stopTimeout):
			p.kill()
			t.Errorf("telgate did not exit within %v of SIGTERM", stopTimeout)
		}
	}
	if t.Failed() {
		t.Logf("telgate log:\n%s", p.logs.String())
	}
}

// kill kills telgate (and its wrapper, with their process group), and
// waits a while for it to end.
func (p *telgateProc) kill() {
	if p.wrapped {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	} else {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
	}
}

// pid is telgate's process id: the wrapper's child when it runs under
// one (see startTelgateUnder).
func (p *telgateProc) pid() (int, error) {
	pid := p.cmd.Process.Pid
	if !p.wrapped {
		return pid, nil
	}
	path := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children"
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("finding telgate under its wrapper: %w", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("finding telgate under its wrapper: %s holds %q", path, data)
	}
	return child, nil
}

// e2eTarget is one entry of a telgate configuration file.
type e2eTarget struct {
	Name, Address, Description, Term, Protocol, Enter, Backspace, LineDelay, Charset string
}

// writeConfig writes a telgate YAML configuration file naming targets.
func writeConfig(t testing.TB, targets ...e2eTarget) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("targets:\n")
	q := func(s string) string { return strconv.Quote(s) }
	for _, tg := range targets {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n", q(tg.Name), q(tg.Address))
		if tg.Description != "" {
			fmt.Fprintf(&b, "    description: %s\n", q(tg.Description))
		}
		if tg.Term != "" {
			fmt.Fprintf(&b, "    term: %s\n", q(tg.Term))
		}
		if tg.Protocol != "" {
			fmt.Fprintf(&b, "    protocol: %s\n", q(tg.Protocol))
		}
		if tg.Enter != "" {
			fmt.Fprintf(&b, "    enter: %s\n", q(tg.Enter))
		}
		if tg.Backspace != "" {
			fmt.Fprintf(&b, "    backspace: %s\n", q(tg.Backspace))
		}
		if tg.LineDelay != "" {
			fmt.Fprintf(&b, "    line_delay: %s\n", q(tg.LineDelay))
		}
		if tg.Charset != "" {
			fmt.Fprintf(&b, "    charset: %s\n", q(tg.Charset))
		}
	}
	path := filepath.Join(t.TempDir(), "telgate.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---- WebSocket client -------------------------------------------------

// A wsTerm is a browser stand-in: a protocol v1 WebSocket session whose
// host output is kept as cooked text (escape sequences, CR and NUL
// removed) that tests wait on with expect.
type wsTerm struct {
	t  testing.TB
	ws *websocket.Conn

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	cooked   []byte
	cook     termCooker
	cursor   int              // expect searches cooked[cursor:]
	status   []map[string]any // text messages in arrival order
	closeErr error            // why reading ended; nil while open
	readDone chan struct{}
}

// dialTerm opens a session: query holds target, cols, rows, term.
func dialTerm(t testing.TB, p *telgateProc, query url.Values) *wsTerm {
	t.Helper()
	u := "ws://" + p.Addr + "/ws?" + query.Encode()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial(u, nil)
	if err != nil {
		if resp != nil {
			t.Fatalf("dial %s: %v (HTTP %s)", u, err, resp.Status)
		}
		t.Fatalf("dial %s: %v", u, err)
	}
	c := &wsTerm{t: t, ws: ws, changed: make(chan struct{}), readDone: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		_ = c.ws.Close()
		<-c.readDone
	})
	return c
}

// sessionQuery builds the /ws query of a session.
func sessionQuery(target string, cols, rows int, term string) url.Values {
	q := url.Values{"target": {target}, "cols": {strconv.Itoa(cols)}, "rows": {strconv.Itoa(rows)}}
	if term != "" {
		q.Set("term", term)
	}
	return q
}

func (c *wsTerm) read() {
	defer close(c.readDone)
	for {
		typ, data, err := c.ws.ReadMessage()
		c.mu.Lock()
		switch {
		case err != nil:
			c.closeErr = err
		case typ == websocket.BinaryMessage:
			c.cooked = c.cook.append(c.cooked, data)
		case typ == websocket.TextMessage:
			var msg map[string]any
			if jerr := json.Unmarshal(data, &msg); jerr != nil {
				msg = map[string]any{"unparsed": string(data)}
			}
			c.status = append(c.status, msg)
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// waitUntil calls cond under the lock on every change until it returns
// true, the session's reading ends or timeout passes; it reports whether
// cond returned true.
func (c *wsTerm) waitUntil(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ok := cond()
		ch, ended := c.changed, c.closeErr != nil
		c.mu.Unlock()
		if ok {
			return true
		}
		if ended {
			return false
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// expect waits until the cooked text after the cursor matches pattern,
// moves the cursor past the match and returns the submatches.
func (c *wsTerm) expect(pattern string, timeout time.Duration) []string {
	c.t.Helper()
	re := regexp.MustCompile(pattern)
	var m []string
	ok := c.waitUntil(timeout, func() bool {
		loc := re.FindSubmatchIndex(c.cooked[c.cursor:])
		if loc == nil {
			return false
		}
		for i := 0; i < len(loc); i += 2 {
			if loc[i] < 0 {
				m = append(m, "")
			} else {
				m = append(m, string(c.cooked[c.cursor+loc[i]:c.cursor+loc[i+1]]))
			}
		}
		c.cursor += loc[1]
		return true
	})
	if !ok {
		c.failWait(strconv.Quote(pattern), timeout)
	}
	return m
}

// mark returns the cursor, for since.
func (c *wsTerm) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor
}

// since returns the cooked text from pos to the cursor.
func (c *wsTerm) since(pos int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.cooked[pos:c.cursor])
}

func (c *wsTerm) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(s)); err != nil {
		c.t.Fatalf("sending %q: %v", s, err)
	}
}

// line types s and Enter, which a browser terminal sends as a bare CR.
func (c *wsTerm) line(s string) { c.t.Helper(); c.send(s + "\r") }

func (c *wsTerm) control(msg any) {
	c.t.Helper()
	data, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("sending %s: %v", data, err)
	}
}

func (c *wsTerm) resize(cols, rows int) {
	c.t.Helper()
	c.control(map[string]any{"type": "resize", "cols": cols, "rows": rows})
}

func (c *wsTerm) command(name string) {
	c.t.Helper()
	c.control(map[string]any{"type": "command", "name": name})
}

// expectConnected waits for the "connected" status message and then the
// shell's prompt.
func (c *wsTerm) expectConnected(target string) {
	c.t.Helper()
	ok := c.waitUntil(defaultTimeout, func() bool { return len(c.status) > 0 })
	c.mu.Lock()
	status := append([]map[string]any(nil), c.status...)
	c.mu.Unlock()
	if !ok || status[0]["type"] != "connected" || status[0]["target"] != target {
		c.t.Fatalf("first status message %v, want connected to %q", status, target)
	}
	c.expect(regexp.QuoteMeta(hostPrompt), defaultTimeout)
}

// run types a command line followed by an echo of a marker computed by
// the shell, waits for the marker and returns the command's output (the
// text between the echoed line and the marker).
func (c *wsTerm) run(cmd string, timeout time.Duration) string {
	c.t.Helper()
	n := markerSeq.next()
	c.line(fmt.Sprintf("%s; echo MARK-$((%d+1))-END", cmd, n))
	// The echoed input line ends with "-END\n"; the marker follows the
	// output, computed, so it never matches the echo.
	c.expectString(fmt.Sprintf("$((%d+1))-END\n", n), timeout)
	out := c.expectString(fmt.Sprintf("MARK-%d-END\n", n+1), timeout)
	c.expectString(hostPrompt, timeout)
	return out
}

// expectString waits until the cooked text after the cursor contains s,
// moves the cursor past it and returns the text before it. Unlike expect
// it scans each byte once, for long outputs.
func (c *wsTerm) expectString(s string, timeout time.Duration) string {
	c.t.Helper()
	var before string
	scanned := c.mark()
	ok := c.waitUntil(timeout, func() bool {
		from := max(c.cursor, scanned-len(s)+1)
		i := bytes.Index(c.cooked[from:], []byte(s))
		if i < 0 {
			scanned = len(c.cooked)
			return false
		}
		before = string(c.cooked[c.cursor : from+i])
		c.cursor = from + i + len(s)
		return true
	})
	if !ok {
		c.failWait(strconv.Quote(s), timeout)
	}
	return before
}

// failWait ends the test after a wait timed out, showing what came.
func (c *wsTerm) failWait(what string, timeout time.Duration) {
	c.t.Helper()
	c.mu.Lock()
	tail, err := c.cooked[c.cursor:], c.closeErr
	c.mu.Unlock()
	if len(tail) > 2000 {
		tail = tail[len(tail)-2000:]
	}
	c.t.Fatalf("no %s within %v (session error: %v); text since the last match:\n%s", what, timeout, err, tail)
}

// markerSeq numbers the markers of run so that no two are alike.
var markerSeq e2eCounter

type e2eCounter struct {
	mu sync.Mutex
	n  int
}

func (c *e2eCounter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += 1000
	return c.n
}

// waitClosed waits until the gateway has closed the session and returns
// the status messages received and the error that ended reading (a
// *websocket.CloseError after a close frame).
func (c *wsTerm) waitClosed(timeout time.Duration) ([]map[string]any, error) {
	c.t.Helper()
	if !c.waitUntil(timeout, func() bool { return c.closeErr != nil }) {
		c.t.Fatalf("session not closed within %v", timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.status...), c.closeErr
}

// termCooker turns terminal output into plain text: it drops CR, NUL, BEL
// and escape sequences (CSI, OSC and two-byte ones), keeping its state
// across chunks.
type termCooker struct{ state int }

const (
	cookText = iota
	cookEsc
	cookCSI
	cookOSC
	cookOSCEsc
)

func (k *termCooker) append(dst, p []byte) []byte {
	for _, b := range p {
		switch k.state {
		case cookText:
			switch b {
			case 0x1b:
				k.state = cookEsc
			case '\r', 0, 0x07:
			default:
				dst = append(dst, b)
			}
		case cookEsc:
			switch b {
			case '[':
				k.state = cookCSI
			case ']':
				k.state = cookOSC
			default:
				k.state = cookText
			}
		case cookCSI:
			if b >= 0x40 && b <= 0x7e {
				k.state = cookText
			}
		case cookOSC:
			switch b {
			case 0x07:
				k.state = cookText
			case 0x1b:
				k.state = cookOSCEsc
			}
		case cookOSCEsc:
			if b == '\\' {
				k.state = cookText
			} else {
				k.state = cookOSC
			}
		}
	}
	return dst
}

// ---- processes --------------------------------------------------------

// processesMatching returns the pids of the processes whose command line
// (arguments joined by spaces) contains s.
func processesMatching(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		cmdline := strings.TrimRight(strings.ReplaceAll(string(data), "\x00", " "), " ")
		if strings.Contains(cmdline, s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitFor polls cond every 20ms until it is true or timeout passes.
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
