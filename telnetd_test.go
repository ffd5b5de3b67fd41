package main

// Tier 1 end-to-end tests: the telgate binary between a Go WebSocket
// client (standing in for the browser) and real telnet daemons.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// inetutilsGateway starts an inetutils telnet host and a telgate whose
// configuration offers it as several targets: "sh" (defaults), "vt"
// (term: vt220), "crlf" (enter: crlf), "bs" (backspace: bs) and "slow"
// (line_delay: 200ms).
func inetutilsGateway(t *testing.T) (*telnetHost, *telgateProc) {
	t.Helper()
	host := startTelnetHost(t, "inetutils")
	cfg := writeConfig(t,
		e2eTarget{Name: "sh", Address: host.Addr, Description: "inetutils telnetd"},
		e2eTarget{Name: "vt", Address: host.Addr, Description: "inetutils telnetd as a VT220", Term: "vt220"},
		e2eTarget{Name: "crlf", Address: host.Addr, Description: "inetutils telnetd, Enter as CR LF", Enter: "crlf"},
		e2eTarget{Name: "bs", Address: host.Addr, Description: "inetutils telnetd, Backspace as Ctrl-H", Backspace: "bs"},
		e2eTarget{Name: "slow", Address: host.Addr, Description: "inetutils telnetd, pasted lines 200ms apart", LineDelay: "200ms"},
		e2eTarget{Name: "cp437", Address: host.Addr, Description: "inetutils telnetd, spoken to in CP437", Charset: "cp437"},
	)
	return host, startTelgate(t, 6, "-config", cfg)
}

func TestInetutilsWindowSize(t *testing.T) {
	_, tg := inetutilsGateway(t)
	t.Run("connect and resize", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("sh", 111, 37, "xterm-256color"))
		c.expectConnected("sh")
		checkSttySize(t, c, 37, 111)
		c.resize(100, 30)
		checkSttySize(t, c, 30, 100)
		// 255 is IAC: it must be doubled inside SB NAWS.
		c.resize(255, 40)
		checkSttySize(t, c, 40, 255)
		c.resize(90, 255)
		checkSttySize(t, c, 255, 90)
		c.resize(255, 255)
		checkSttySize(t, c, 255, 255)
		// More than a byte: 256 = 0x0100, 511 = 0x01ff (a 255 low byte).
		c.resize(511, 256)
		checkSttySize(t, c, 256, 511)
	})
	t.Run("255 at connect", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("sh", 255, 255, "xterm-256color"))
		c.expectConnected("sh")
		checkSttySize(t, c, 255, 255)
	})
	t.Run("clamped", func(t *testing.T) {
		t.Parallel()
		// Sizes are clamped to 1..1000 by the gateway.
		c := dialTerm(t, tg, sessionQuery("sh", 5000, 0, "xterm-256color"))
		c.expectConnected("sh")
		checkSttySize(t, c, 1, 1000)
	})
}

// checkSttySize runs stty size and checks it shows rows and cols.
func checkSttySize(t *testing.T, c *wsTerm, rows, cols int) {
	t.Helper()
	out := strings.TrimSpace(c.run("stty size", defaultTimeout))
	if want := fmt.Sprintf("%d %d", rows, cols); out != want {
		t.Errorf("stty size = %q, want %q (rows cols)", out, want)
	}
}

func TestInetutilsTerminalType(t *testing.T) {
	_, tg := inetutilsGateway(t)
	for _, tc := range []struct {
		name, target, term, want string
	}{
		{"browser type", "sh", "xterm-256color", "xterm-256color"},
		{"other browser type", "sh", "xterm", "xterm"},
		{"default type", "sh", "", "xterm-256color"},
		{"target override", "vt", "xterm-256color", "vt220"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dialTerm(t, tg, sessionQuery(tc.target, 80, 24, tc.term))
			c.expectConnected(tc.target)
			if got := strings.TrimSpace(c.run(`echo "T=$TERM"`, defaultTimeout)); got != "T="+tc.want {
				t.Errorf("the shell's TERM: got %q, want %q", got, "T="+tc.want)
			}
		})
	}
}

func TestInetutilsTyping(t *testing.T) {
	_, tg := inetutilsGateway(t)
	checkEnterAndUTF8(t, tg, "sh", "crlf")
	t.Run("long output", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("sh", 80, 24, "xterm-256color"))
		c.expectConnected("sh")
		const n = 200000
		out := c.run(fmt.Sprintf("seq 1 %d", n), 30*time.Second)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != n {
			t.Errorf("got %d lines of seq output, want %d", len(lines), n)
		}
		for i, l := range lines {
			if l != strconv.Itoa(i+1) {
				t.Fatalf("line %d of seq output is %q, want %d (out of order or lost data)", i+1, l, i+1)
			}
		}
	})
}

// checkTyping types command lines as a browser does, Enter as a bare CR,
// and checks that each runs once.
func checkTyping(t *testing.T, c *wsTerm) {
	t.Helper()
	// A bare CR, as a browser's Enter key sends it.
	c.line("echo MARK-$((6*7))")
	c.expect(`\nMARK-42\n`, defaultTimeout)
	c.expect(regexp.QuoteMeta(hostPrompt), defaultTimeout)
	// Two lines in one frame, as a paste sends them.
	c.send("echo A-$((1+1))\recho B-$((2+2))\r")
	c.expect(`\nA-2\n`, defaultTimeout)
	c.expect(`(?:^|\n|\$ )B-4\n`, defaultTimeout)
	// Enter typed on its own, in a frame of its own.
	c.send("echo C-$((3+3))")
	c.send("\r")
	c.expect(`\nC-6\n`, defaultTimeout)
	c.expect(regexp.QuoteMeta(hostPrompt), defaultTimeout)
	// Enter must become exactly one newline: a second one
	// would show as an empty command line, a second prompt.
	pos := c.mark()
	c.line("echo D-$((4+4))")
	c.expect(`\nD-8\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	c.line("")
	c.expect(`^\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	c.line("echo E-$((5+5))")
	c.expect(`\nE-10\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	want := "echo D-$((4+4))\nD-8\n" + hostPrompt + "\n" + hostPrompt + "echo E-$((5+5))\nE-10\n" + hostPrompt
	if got := c.since(pos); got != want {
		t.Errorf("transcript:\n%q\nwant:\n%q", got, want)
	}
	// What a program reading the raw terminal gets for Enter: a CR, as
	// from a real terminal, whatever telnet carried it as.
	c.line("stty raw -echo; echo RAW-$((2+3)); head -c 5 | od -An -c; stty sane")
	c.expect(`\nRAW-5\n`, defaultTimeout)
	c.send("a\rb\rc")
	m := c.expect(`^\s*(.*?)\s*\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	if got := strings.Join(strings.Fields(m[1]), " "); got != `a \r b \r c` {
		t.Errorf("a program in raw mode read %q (od -c) for a Enter b Enter c, want %q", got, `a \r b \r c`)
	}
}

// checkUTF8 checks that UTF-8 text typed and printed comes back unchanged.
func checkUTF8(t *testing.T, c *wsTerm) {
	t.Helper()
	const text = "Grüße ☃ 😀"
	// Typed: the text goes in as UTF-8 and must come back unchanged,
	// both in the terminal's echo and in the program's output.
	c.line(fmt.Sprintf("printf '%%s|%%s\\n' 'U-%s' $((2*21))", text))
	c.expect(regexp.QuoteMeta("printf '%s|%s\\n' 'U-"+text+"' $((2*21))")+`\n`, defaultTimeout)
	c.expect(`^`+regexp.QuoteMeta("U-"+text+"|42")+`\n`, defaultTimeout)
	// Program output only (the command line itself is ASCII).
	c.line(`printf 'V-\303\274\342\230\203\360\237\230\200-%s\n' $((3*7))`)
	c.expect(`\n`+regexp.QuoteMeta("V-ü☃😀-21")+`\n`, defaultTimeout)
}

func TestInetutilsInterrupt(t *testing.T) {
	_, tg := inetutilsGateway(t)
	c := dialTerm(t, tg, sessionQuery("sh", 80, 24, "xterm-256color"))
	c.expectConnected("sh")
	// A unique duration names the sleep among the machine's processes.
	arg := fmt.Sprintf("100.%06d", rand.IntN(1000000))
	c.line("sleep " + arg)
	c.expectString("sleep "+arg+"\n", defaultTimeout)
	if !pollUntil(defaultTimeout, func() bool { return len(processesMatching("sleep "+arg)) > 0 }) {
		t.Fatalf("sleep %s did not start", arg)
	}
	start := time.Now()
	c.command("interrupt")
	// The pty echoes ^C; the Data Mark telnetd sends as urgent data
	// after it must not show.
	if out := c.expectString(hostPrompt, 10*time.Second); out != "^C\n" {
		t.Errorf("after the interrupt, before the prompt: %q, want %q", out, "^C\n")
	}
	c.line("echo AFTER-$((5*5))")
	c.expect(`\nAFTER-25\n`, 10*time.Second)
	t.Logf("prompt back %v after the interrupt", time.Since(start).Round(time.Millisecond))
	if pids := processesMatching("sleep " + arg); len(pids) > 0 {
		t.Errorf("sleep %s still running (pids %v) after the interrupt", arg, pids)
	}
}

// TestInetutilsCommands checks what inetutils telnetd makes of the other
// Backspace (DEL from the browser) reaches a program in raw mode as DEL,
// or as BS through a target with backspace: bs, where a host whose erase
// character is Ctrl-H erases with it.
func TestInetutilsBackspace(t *testing.T) {
	_, tg := inetutilsGateway(t)
	for _, tc := range []struct{ target, want string }{
		{"sh", `a 177 b`},
		{"bs", `a \b b`},
	} {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			c := dialTerm(t, tg, sessionQuery(tc.target, 80, 24, "xterm-256color"))
			c.expectConnected(tc.target)
			c.line("stty raw -echo; echo RAW-$((2+3)); head -c 3 | od -An -c; stty sane")
			c.expect(`\nRAW-5\n`, defaultTimeout)
			c.send("a\x7fb")
			m := c.expect(`^\s*(.*?)\s*\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
			if got := strings.Join(strings.Fields(m[1]), " "); got != tc.want {
				t.Errorf("a program in raw mode read %q (od -c) for a Backspace b, want %q", got, tc.want)
			}
		})
	}
	t.Run("erase with Ctrl-H", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("bs", 80, 24, "xterm-256color"))
		c.expectConnected("bs")
		c.line("stty erase '^H'; echo ERASE-$((3+4))")
		c.expect(`\nERASE-7\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
		c.send("echo abcX\x7f")
		c.expectString("echo abcX", defaultTimeout)
		c.line("")
		if out := c.expectString(hostPrompt, defaultTimeout); !strings.HasSuffix(out, "\nabc\n") {
			t.Errorf("after typing echo abcX, Backspace and Enter the shell printed %q, want it to end in %q", out, "\nabc\n")
		}
	})
}

// A host in another character set: what it prints reaches the browser
// as UTF-8, and what the browser types reaches the host in its set.
func TestInetutilsCharset(t *testing.T) {
	_, tg := inetutilsGateway(t)
	c := dialTerm(t, tg, sessionQuery("cp437", 80, 24, "xterm-256color"))
	c.expectConnected("cp437")
	// The box corners and é, as a CP437 host writes them.
	c.line(`printf 'BOX \311\315\273 caf\202\n'`)
	c.expect(`\nBOX ╔═╗ café\n`, defaultTimeout)
	c.line("stty raw -echo; echo RAW-$((2+3)); head -c 4 | od -An -tx1; stty sane")
	c.expect(`\nRAW-5\n`, defaultTimeout)
	c.send("é░€a") // € is not in CP437
	m := c.expect(`^\s*(.*?)\s*\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	if got := strings.Join(strings.Fields(m[1]), " "); got != "82 b0 3f 61" {
		t.Errorf("a program in raw mode read %q (od -tx1) for é░€a typed, want %q", got, "82 b0 3f 61")
	}
}

// A target of protocol raw reaches a shell served on a pty over plain
// TCP, as a console server's raw port or a virtual machine's serial
// console serves one: Enter goes as a bare CR, which the pty takes as a
// line's end; bytes that look like telnet commands reach the browser as
// they are and are not answered; an IAC typed reaches the program alone.
func TestRawConsole(t *testing.T) {
	host := startTelnetHost(t, "raw")
	tg := startTelgate(t, 1, "-config", writeConfig(t,
		e2eTarget{Name: "serial", Address: host.Addr, Description: "a shell on a pty over plain TCP", Protocol: "raw"}))
	c := dialTerm(t, tg, sessionQuery("serial", 80, 24, "xterm-256color"))
	c.expectConnected("serial")
	c.mu.Lock()
	raw := c.status[0]["raw"]
	c.mu.Unlock()
	if raw != true {
		t.Errorf("connected %v: want raw true", c.status[0])
	}
	c.line("echo RAW-$((6*7))")
	c.expect(`\nRAW-42\n`, defaultTimeout)
	c.line(`printf 'IAC[\377\375\037]\n'`)
	c.expectString("\nIAC[\xff\xfd\x1f]\n", defaultTimeout)
	c.line("stty raw -echo; echo READY-$((2+3)); head -c 3 | od -An -tx1; stty sane")
	c.expect(`\nREADY-5\n`, defaultTimeout)
	c.send("\xff\r\x7f")
	m := c.expect(`^\s*(.*?)\s*\n`+regexp.QuoteMeta(hostPrompt), defaultTimeout)
	if got := strings.Join(strings.Fields(m[1]), " "); got != "ff 0d 7f" {
		t.Errorf("a program in raw mode read %q (od -tx1) for IAC, Enter and Backspace typed, want %q", got, "ff 0d 7f")
	}
}

// A paste into a target with a line delay reaches the shell line by line,
// the delay apart: a loop that reads three lines stamps each with the
// time it got it.
func TestInetutilsLineDelay(t *testing.T) {
	_, tg := inetutilsGateway(t)
	c := dialTerm(t, tg, sessionQuery("slow", 80, 24, "xterm-256color"))
	c.expectConnected("slow")
	c.line("echo READY-$((1+1)); for i in 1 2 3; do read l; echo STAMP-$l-$(date +%s%N); done")
	// The loop's first read follows at once.
	c.expect(`\nREADY-2\n`, defaultTimeout)
	c.send("a\rb\rc\r")
	var stamps []int64
	for _, l := range []string{"a", "b", "c"} {
		m := c.expect(`STAMP-`+l+`-(\d+)\n`, defaultTimeout)
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		stamps = append(stamps, n)
	}
	// The shell reads each line some time after telgate wrote it; the
	// writes are 200ms apart, the reads at least nearly so.
	for i := 1; i < len(stamps); i++ {
		if gap := time.Duration(stamps[i] - stamps[i-1]); gap < 150*time.Millisecond {
			t.Errorf("line %d read %v after line %d, want about 200ms", i+1, gap, i)
		}
	}
}

// toolbar commands: AYT is answered, EC and EL edit the line being typed,
// BREAK stops a command (telnetd sends the pty's quit character), NOP and
// GA change nothing.
func TestInetutilsCommands(t *testing.T) {
	_, tg := inetutilsGateway(t)
	c := dialTerm(t, tg, sessionQuery("sh", 80, 24, "xterm-256color"))
	c.expectConnected("sh")

	c.command("are-you-there")
	c.expect(`\n\[Yes\]\n`, defaultTimeout)

	c.send("echo abcX")
	c.expectString("echo abcX", defaultTimeout)
	c.command("erase-char")
	c.expectString("\b \b", defaultTimeout)
	c.line("")
	if out := c.expectString(hostPrompt, defaultTimeout); out != "\nabc\n" {
		t.Errorf("erase-char: after typing echo abcX and Enter the shell printed %q, want %q", out, "\nabc\n")
	}

	c.send("echo junk")
	c.expectString("echo junk", defaultTimeout)
	c.command("erase-line")
	c.expectString(strings.Repeat("\b \b", len("echo junk")), defaultTimeout)
	c.line("echo EL-$((1+2))")
	if out := c.expectString(hostPrompt, defaultTimeout); out != "echo EL-$((1+2))\nEL-3\n" {
		t.Errorf("erase-line: the next line printed %q, want %q", out, "echo EL-$((1+2))\nEL-3\n")
	}

	c.send("echo ab")
	c.command("nop")
	c.command("go-ahead")
	c.line("c-$((2+2))")
	if out := c.expectString(hostPrompt, defaultTimeout); out != "echo abc-$((2+2))\nabc-4\n" {
		t.Errorf("nop, go-ahead: the line printed %q, want %q", out, "echo abc-$((2+2))\nabc-4\n")
	}

	arg := fmt.Sprintf("100.%06d", rand.IntN(1000000))
	c.line("sleep " + arg)
	c.expectString("sleep "+arg+"\n", defaultTimeout)
	if !pollUntil(defaultTimeout, func() bool { return len(processesMatching("sleep "+arg)) > 0 }) {
		t.Fatalf("sleep %s did not start", arg)
	}
	c.command("break")
	c.expectString("^\\", 10*time.Second)
	c.expectString(hostPrompt, 10*time.Second)
	if pids := processesMatching("sleep " + arg); len(pids) > 0 {
		t.Errorf("sleep %s still running (pids %v) after break", arg, pids)
	}
}

func TestInetutilsSessionEnd(t *testing.T) {
	_, tg := inetutilsGateway(t)
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("sh", 80, 24, "xterm-256color"))
		c.expectConnected("sh")
		c.line("exit")
		status, err := c.waitClosed(defaultTimeout)
		checkClosed(t, status, err, "Connection closed by foreign host", websocket.CloseNormalClosure)
	})
	t.Run("browser closes", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("sh", 80, 24, "xterm-256color"))
		c.expectConnected("sh")
		shell, err := strconv.Atoi(strings.TrimSpace(c.run("echo $$", defaultTimeout)))
		if err != nil {
			t.Fatalf("shell pid: %v", err)
		}
		arg := fmt.Sprintf("%d", 1000000+rand.IntN(1000000))
		c.line("sleep " + arg)
		if !pollUntil(defaultTimeout, func() bool { return len(processesMatching("sleep "+arg)) > 0 }) {
			t.Fatalf("sleep %s did not start", arg)
		}
		if !processAlive(shell) {
			t.Fatalf("shell pid %d is not running", shell)
		}
		// The browser goes away: a close frame, then the TCP connection.
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
		start := time.Now()
		defer func() { t.Logf("shell gone %v after the browser closed", time.Since(start).Round(time.Millisecond)) }()
		if !pollUntil(10*time.Second, func() bool {
			return !processAlive(shell) && len(processesMatching("sleep "+arg)) == 0
		}) {
			t.Errorf("10s after the browser closed: shell %d alive=%v, sleep %s pids %v",
				shell, processAlive(shell), arg, processesMatching("sleep "+arg))
		}
	})
}

// checkClosed checks that a session ended with one "closed" status
// message giving reason, then a close frame with code.
func checkClosed(t *testing.T, status []map[string]any, err error, reason string, code int) {
	t.Helper()
	if len(status) == 0 || status[len(status)-1]["type"] != "closed" {
		t.Errorf("status messages %v: want the last to be closed", status)
	} else if got := status[len(status)-1]["reason"]; got != reason {
		t.Errorf("closed reason %q, want %q", got, reason)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Errorf("session ended with %v, want a close frame", err)
	} else if ce.Code != code {
		t.Errorf("close frame code %d (%q), want %d", ce.Code, ce.Text, code)
	}
}

// checkEnterAndUTF8 types a command line through each of targets (the
// same host with a different Enter) and UTF-8 through the first, in
// parallel subtests.
func checkEnterAndUTF8(t *testing.T, tg *telgateProc, targets ...string) {
	for _, target := range targets {
		t.Run("enter "+target, func(t *testing.T) {
			t.Parallel()
			c := dialTerm(t, tg, sessionQuery(target, 80, 24, "xterm-256color"))
			c.expectConnected(target)
			checkTyping(t, c)
		})
	}
	t.Run("utf-8", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery(targets[0], 80, 24, "xterm-256color"))
		c.expectConnected(targets[0])
		checkUTF8(t, c)
	})
}

// TestBusybox runs the basic checks against busybox telnetd, which does
// not ask for BINARY (so Enter goes as the target's line ending), never
// asks for the terminal type, ignores IAC IP and does not undouble 255 in
// NAWS: sizes with a 255 byte are left out.
func TestBusybox(t *testing.T) {
	host := startTelnetHost(t, "busybox")
	cfg := writeConfig(t,
		e2eTarget{Name: "bb", Address: host.Addr, Description: "busybox telnetd"},
		e2eTarget{Name: "bb-crlf", Address: host.Addr, Description: "busybox telnetd, Enter as CR LF", Enter: "crlf"},
	)
	tg := startTelgate(t, 2, "-config", cfg)
	checkEnterAndUTF8(t, tg, "bb", "bb-crlf")
	t.Run("window size", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("bb", 111, 37, "xterm-256color"))
		c.expectConnected("bb")
		checkSttySize(t, c, 37, 111)
		c.resize(132, 43)
		checkSttySize(t, c, 43, 132)
		c.resize(300, 256)
		checkSttySize(t, c, 256, 300)
	})
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("bb", 80, 24, "xterm-256color"))
		c.expectConnected("bb")
		c.line("exit")
		status, err := c.waitClosed(defaultTimeout)
		checkClosed(t, status, err, "Connection closed by foreign host", websocket.CloseNormalClosure)
	})
}

// TestTelgateShutdown checks that SIGTERM ends open sessions, telling the
// browser why, and that telgate then exits with status 0 (-target mode).
func TestTelgateShutdown(t *testing.T) {
	host := startTelnetHost(t, "inetutils")
	tg := startTelgate(t, 1, "-target", host.Addr)
	c := dialTerm(t, tg, sessionQuery("default", 80, 24, "xterm-256color"))
	c.expectConnected("default")
	shell, err := strconv.Atoi(strings.TrimSpace(c.run("echo $$", defaultTimeout)))
	if err != nil {
		t.Fatalf("shell pid: %v", err)
	}
	if err := tg.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	status, err := c.waitClosed(stopTimeout)
	checkClosed(t, status, err, "server shutting down", websocket.CloseGoingAway)
	select {
	case <-tg.done:
		if code := tg.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("telgate exited with status %d after SIGTERM, want 0", code)
		}
	case <-time.After(stopTimeout):
		t.Fatalf("telgate still running %v after SIGTERM", stopTimeout)
	}
	if !pollUntil(10*time.Second, func() bool { return !processAlive(shell) }) {
		t.Errorf("shell %d still running after telgate stopped", shell)
	}
}

// TestTelgateShutdownIsNotHeldByAnIdleConnection: an HTTP connection that
// has sent no request yet (a browser's preconnect) holds the HTTP
// server's shutdown for up to five seconds; the sessions are told why at
// once all the same, not left to the end of the grace.
func TestTelgateShutdownIsNotHeldByAnIdleConnection(t *testing.T) {
	host := startTelnetHost(t, "inetutils")
	tg := startTelgate(t, 1, "-target", host.Addr)
	c := dialTerm(t, tg, sessionQuery("default", 80, 24, "xterm-256color"))
	c.expectConnected("default")
	idle, err := net.Dial("tcp", tg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := tg.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	status, err := c.waitClosed(2 * time.Second)
	checkClosed(t, status, err, "server shutting down", websocket.CloseGoingAway)
}

// TestTelgateServesPage checks the built binary serves the page, its
// assets and its API (the demo host as its only target).
func TestTelgateServesPage(t *testing.T) {
	tg := startTelgate(t, 1)
	client := &http.Client{Timeout: defaultTimeout}
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `<div id="terminal">`},
		{"/static/app.js", "javascript", "window.telgate"},
		{"/static/vendor/xterm/xterm.js", "javascript", "Terminal"},
		{"/healthz", "text/plain", "ok"},
		{"/api/targets", "application/json", `{"targets":[{"name":"demo","description":"Built-in demo host"}]}`},
	} {
		resp, err := client.Get(strings.TrimSuffix(tg.URL, "/") + tc.path)
		if err != nil {
			t.Errorf("GET %s: %v", tc.path, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s, %v", tc.path, resp.Status, err)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tc.contentType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.contentType)
		}
		if !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: body does not contain %q", tc.path, tc.contains)
		}
	}
}

// addLoginUser adds a user of a fresh name, with a fresh password, for
// the test's duration, and returns both. An account of that name already
// there is not taken over. Adding a user takes root.
func addLoginUser(t *testing.T) (user, password string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if e2eInCI() {
			t.Fatal("CI=true: this test adds a user and must run as root")
		}
		t.Skip("adding a user to log in with takes root")
	}
	useradd := requireCommand(t, "useradd", "the Debian package passwd")
	chpasswd := requireCommand(t, "chpasswd", "the Debian package passwd")
	userdel := requireCommand(t, "userdel", "the Debian package passwd")
	user = fmt.Sprintf("tge2e-%08x", rand.Uint32())
	if out, err := exec.Command(useradd, "-M", "-N", "-d", "/", "-s", "/bin/sh", user).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", user, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(userdel, user).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", user, err, out)
		}
	})
	password = fmt.Sprintf("pw-%016x", rand.Uint64())
	cmd := exec.Command(chpasswd)
	cmd.Stdin = strings.NewReader(user + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	return user, password
}

// A target with a login is logged in to the real login program behind
// inetutils telnetd: its user gets a shell as the target's account and
// never sees the password. A wrong password ends in "Login incorrect":
// the page is told, nothing more is sent, and the user logs in by hand.
func TestInetutilsAutomaticLogin(t *testing.T) {
	loginUser, password := addLoginUser(t)
	host := startTelnetHost(t, "login")
	dir := t.TempDir()
	passFile := filepath.Join(dir, "e2e.pass")
	if err := os.WriteFile(passFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "telgate.yaml")
	yaml := fmt.Sprintf(`targets:
  - name: auto
    address: %q
    login: {user: %s, password_file: e2e.pass, success: '\$ $'}
  - name: wrong
    address: %q
    login: {user: %s, password: not-the-password}
`, host.Addr, loginUser, host.Addr, loginUser)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := startTelgate(t, 2, "-config", cfg)

	t.Run("logged in", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("auto", 80, 24, "xterm-256color"))
		c.expectString("login: "+loginUser, defaultTimeout)
		c.expectString("Password: ", defaultTimeout)
		c.expectString("$ ", defaultTimeout)
		setPrompt(c)
		if got := strings.TrimSpace(c.run("id -un", defaultTimeout)); got != loginUser {
			t.Errorf("id -un: %q, want %q", got, loginUser)
		}
		c.mu.Lock()
		seen := string(c.cooked)
		c.mu.Unlock()
		if strings.Contains(seen, password) {
			t.Error("the page was sent the password")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		c := dialTerm(t, tg, sessionQuery("wrong", 80, 24, "xterm-256color"))
		var failed map[string]any
		// login waits a few seconds before it says "Login incorrect".
		c.waitUntil(20*time.Second, func() bool {
			for _, m := range c.status {
				if m["type"] == "login" {
					failed = m
					return true
				}
			}
			return false
		})
		if failed["state"] != "failed" || failed["message"] != "automatic login failed: the host refused the login" {
			t.Fatalf("login status %v, want failed: the host refused the login", failed)
		}
		c.expectString("Login incorrect", defaultTimeout)
		c.expectString("login: ", defaultTimeout)
		// Nothing was sent at the second prompt: the user types there.
		c.line(loginUser)
		c.expectString("Password: ", defaultTimeout)
		c.line(password)
		c.expectString("$ ", 20*time.Second)
		setPrompt(c)
		if got := strings.TrimSpace(c.run("id -un", defaultTimeout)); got != loginUser {
			t.Errorf("id -un: %q, want %q", got, loginUser)
		}
	})
}

// setPrompt sets the shell's prompt to hostPrompt, for run; the line
// typed does not hold the prompt, so its echo is not taken for it.
func setPrompt(c *wsTerm) {
	c.t.Helper()
	c.line(`PS1='t''g$ '`)
	c.expectString(hostPrompt, defaultTimeout)
}
