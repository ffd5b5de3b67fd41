package gateway

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

const loginPassword = "n0t-for-browsers"

// loginHost is a host that asks for a user name and a password, as Unix
// login does (the password not echoed), then hands the connection to
// after. got receives what it was sent at each prompt.
func loginHost(t *testing.T, got chan<- string, after func(c *telnettest.Conn)) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Debian GNU/Linux 12\r\n\r\nlab login: ")
		got <- readLine(c, true)
		c.SendString("Password: ")
		got <- readLine(c, false)
		after(c)
	})
}

// readLine reads data up to a CR (CR NUL comes cooked as CR) and returns
// it without the CR, or the LF of a CR LF before it, echoing it if echo.
func readLine(c *telnettest.Conn, echo bool) string {
	var line []byte
	for {
		ev, err := c.ReadEvent()
		if err != nil {
			return string(line) + "<EOF>"
		}
		if !ev.IsData() {
			continue
		}
		if echo {
			c.Send(ev.Data)
		}
		line = append(line, ev.Data...)
		if i := strings.IndexByte(string(line), '\r'); i >= 0 {
			return strings.TrimPrefix(string(line[:i]), "\n")
		}
	}
}

// shellAfterLogin greets, then echoes what it is sent.
func shellAfterLogin(c *telnettest.Conn) {
	c.SendString("\r\nLast login: Thu Nov 26 09:00:00 2026\r\n$ ")
	echoData(c)
}

// openLoginTarget serves one target, lab, on host with login l, and
// opens a session on it with query.
func openLoginTarget(t *testing.T, host *telnettest.Server, l Login, query string) (*testGateway, *browser) {
	t.Helper()
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Login: &l}}})
	b := tg.open(query)
	b.ExpectStatus("connected")
	return tg, b
}

func loginTarget(addr string, l Login) Target {
	return Target{Name: "lab", Address: addr, Login: &l, Record: true}
}

// typeAt waits for b to be shown prompt, types line and Enter there, and
// waits for the host to get line.
func typeAt(t *testing.T, b *browser, got <-chan string, prompt, line string) {
	t.Helper()
	b.WaitOutput([]byte(prompt))
	b.Input(line + "\r")
	expectLine(t, got, line)
}

// expectLoginDone checks that the log has the login done once, and not
// failed.
func expectLoginDone(t *testing.T, tg *testGateway) {
	t.Helper()
	if e := tg.log.entries("automatic login done"); len(e) != 1 {
		t.Errorf("log %v: want the login done", e)
	}
	if e := tg.log.entries("automatic login failed"); len(e) != 0 {
		t.Errorf("log %v: want no failure", e)
	}
}

// expectLine waits for the host to be sent line at its next prompt.
func expectLine(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case line := <-got:
		if line != want {
			t.Fatalf("the host was sent %q, want %q", line, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the host was sent nothing; want %q", want)
	}
}

// The gateway answers the host's prompts with the target's account: the
// page shows the prompts and what follows, never the password, and the
// recording marks the steps without the password, even with its input
// recorded.
func TestLoginAnswersTheHostsPrompts(t *testing.T) {
	got := make(chan string, 2)
	host := loginHost(t, got, shellAfterLogin)
	dir := t.TempDir()
	tg := newTestGateway(t, Options{
		Targets:   []Target{loginTarget(host.Addr(), Login{User: "labuser", Password: loginPassword})},
		Recording: RecordingConfig{Dir: dir, Input: true},
	})
	b := tg.open("target=lab&user=alice")
	b.ExpectStatus("connected")
	expectLine(t, got, "labuser")
	expectLine(t, got, loginPassword)
	b.WaitOutput([]byte("Last login"))
	b.WaitOutput([]byte("$ "))
	b.Input("id\r")
	b.WaitOutput([]byte("id\r"))
	for _, out := range []string{"lab login: labuser", "Password: \r\nLast login"} {
		if !strings.Contains(string(b.Output), out) {
			t.Errorf("page output %q lacks %q", b.Output, out)
		}
	}
	_ = b.Conn.Close()
	tg.waitIdle()

	if strings.Contains(string(b.Output), loginPassword) {
		t.Error("the page was sent the password")
	}
	if strings.Contains(tg.log.String(), loginPassword) {
		t.Error("the password is in the log")
	}
	if e := tg.log.entries("automatic login done"); len(e) != 1 || e[0]["confirmed"] != false {
		t.Errorf("log %v: want one unconfirmed login done", e)
	}
	data, err := os.ReadFile(onlyFile(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), loginPassword) {
		t.Error("the recording holds the password")
	}
	_, events := readCast(t, onlyFile(t, dir))
	marks := joined(events, "m")
	for _, want := range []string{"automatic login: user name sent: labuser", "automatic login: password sent", "automatic login done"} {
		if !strings.Contains(marks, want) {
			t.Errorf("recording markers %q lack %q", marks, want)
		}
	}
	if in := joined(events, "i"); in != "id\r" {
		t.Errorf("recorded input %q, want only the user's", in)
	}
	checkMetrics(t, scrape(t, tg.gw), map[string]float64{`telgate_logins_total{result="done"}`: 1, `telgate_logins_total{result="failed"}`: 0})
}

// A refusal, or a prompt that comes again, ends the login as failed: the
// page is told why, the log warns, and nothing is sent a second time, so
// the user types at the prompt themselves.
func TestLoginFailures(t *testing.T) {
	cases := []struct {
		name  string
		login Login
		after string // what the host sends after the password
		why   string
	}{
		{"refused", Login{User: "labuser", Password: "wrong"}, "\r\nLogin incorrect\r\nlab login: ", "the host refused the login"},
		{"asked again", Login{User: "labuser", Password: "wrong"}, "\r\nTry again.\r\nPassword: ", "the host asked for the password again"},
		{"own failure pattern", Login{User: "labuser", Password: "wrong", Failure: `(?i)go away`}, "\r\nGo away!\r\n", "the host refused the login"},
		{"not confirmed", Login{User: "labuser", Password: "wrong", Success: `\$ $`, Timeout: 300 * time.Millisecond}, "\r\nwelcome\r\n", "the host did not confirm the login within 300ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := make(chan string, 2)
			host := loginHost(t, got, func(conn *telnettest.Conn) {
				conn.SendString(c.after)
				// What comes next is what the page's user types: no
				// second answer comes before it.
				got <- readLine(conn, true)
			})
			tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Login: &c.login}}})
			b := tg.open("target=lab&user=alice")
			b.ExpectStatus("connected")
			expectLine(t, got, "labuser")
			expectLine(t, got, "wrong")
			m := b.ExpectStatus("login")
			if m["state"] != "failed" || m["message"] != "automatic login failed: "+c.why {
				t.Errorf("login message %v, want failed: %s", m, c.why)
			}
			b.Input("by hand\r")
			expectLine(t, got, "by hand")
			if e := tg.log.entries("automatic login failed"); len(e) != 1 || e[0]["why"] != c.why || e[0]["user_sent"] != "labuser" {
				t.Errorf("log %v", e)
			}
			checkMetrics(t, scrape(t, tg.gw), map[string]float64{`telgate_logins_total{result="failed"}`: 1})
		})
	}
}

// A host that never prompts: the login ends at its timeout, and the page
// says so.
func TestLoginTimesOutWithoutAPrompt(t *testing.T) {
	got := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Press RETURN to get started.\r\n")
		got <- readLine(c, true)
	})
	_, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword, Timeout: 200 * time.Millisecond}, "target=lab")
	if m := b.ExpectStatus("login"); m["message"] != "automatic login failed: the host did not ask for a user name or password within 200ms" {
		t.Errorf("login message %v", m)
	}
	b.Input("\r")
	expectLine(t, got, "")
}

// A console that asks for a password alone gets it; the success pattern
// confirms the login. Enter goes as the target sends it (CR LF here), in
// its character set.
func TestLoginPasswordOnlyConfirmed(t *testing.T) {
	got := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("\r\nUser Access Verification\r\n\r\nPassword: ")
		c.ExpectData("p\xe4ss\r\n") // ä in Latin-1
		c.SendString("\r\nswitch>")
		got <- readLine(c, true)
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(), Enter: telnet.CRLF,
		Charset: mustCharset(t, "iso-8859-1"), Login: &Login{Password: "päss", Success: `switch>$`}}}})
	b := tg.open("target=lab")
	b.ExpectStatus("connected")
	typeAt(t, b, got, "switch>", "en")
	if e := tg.log.entries("automatic login done"); len(e) != 1 || e[0]["confirmed"] != true {
		t.Errorf("log %v: want one confirmed login", e)
	}
}

// Once the password went, the session's user typing ends the login:
// a prompt the host sends them afterwards (passwd's) is theirs to answer.
func TestLoginStepsAsideWhenTheUserTypes(t *testing.T) {
	got := make(chan string, 3)
	host := loginHost(t, got, func(c *telnettest.Conn) {
		c.SendString("\r\n$ ")
		got <- readLine(c, true)
		c.SendString("Changing password for labuser.\r\nCurrent password: ")
		got <- readLine(c, false)
	})
	tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword}, "target=lab")
	expectLine(t, got, "labuser")
	expectLine(t, got, loginPassword)
	typeAt(t, b, got, "$ ", "passwd")
	typeAt(t, b, got, "Current password: ", "typed")
	expectLoginDone(t, tg)
}

func TestParseConfigReadsLogin(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte(`targets:
  - name: sw
    address: sw.lab.test
    login:
      user: admin
      password: "s3cret"
      success: 'sw1#$'
      timeout: 10s
  - name: open
    address: h
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Login{User: "admin", Password: "s3cret", Success: "sw1#$", Timeout: 10 * time.Second}
	if l := cfg.Targets[0].Login; l == nil || *l != want {
		t.Errorf("login %#v, want %#v", l, want)
	}
	if cfg.Targets[1].Login != nil {
		t.Errorf("a target without login has one")
	}
	if s := fmt.Sprintf("%v %+v %#v", *cfg.Targets[0].Login, *cfg.Targets[0].Login, *cfg.Targets[0].Login); strings.Contains(s, "s3cret") {
		t.Errorf("printing a login shows its password: %s", s)
	}
}

func TestParseConfigRefusesBadLogins(t *testing.T) {
	const head = "targets:\n  - name: a\n    address: h\n    login:\n"
	refusals{
		{head + "      user: u\n      password: p\n      password_file: f\n", `c.yaml:4: target "a": login: give password or password_file, not both`},
		{head + "      timeout: 5s\n", `c.yaml:4: target "a": login: give a user, a password or password_file`},
		{head + "      user: u\n      user_prompt: '(login'\n", `c.yaml:4: target "a": login: user_prompt: error parsing regexp`},
		{head + "      user: u\n      success: '[a-'\n", `c.yaml:4: target "a": login: success: error parsing regexp`},
		{head + "      password: \"a\\nb\"\n", `c.yaml:4: target "a": login: password holds a control character`},
		{head + "      user: u\n      timeout: -1s\n", `c.yaml:4: target "a": login: timeout: want a positive duration`},
		{head + "      user: u\n      pasword: p\n", `c.yaml:6: unknown key "pasword"`},
		{"adhoc:\n  - hosts: [10.0.0.0/8]\n    login: {user: u}\n", `c.yaml:3: unknown key "login"`},
		{"targets:\n  - name: a\n    address: h\n    charset: iso-8859-1\n    login: {user: u, password: \"p\u20ac\"}\n",
			`c.yaml:5: target "a": login: password holds a character the target's charset (iso-8859-1) lacks`},
		// A password written in the login's place is not quoted back.
		{"targets:\n  - name: a\n    address: h\n    login: hunter2\n", "c.yaml:4: a single value where settings (key: value lines) go"},
		{"targets:\n  - name: a\n    address: h\n    login: |\n      hunter2\n", "c.yaml:4: a single value where settings (key: value lines) go"},
		{"targets:\n  - name: a\n    address: h\n    login: !vault hunter2\n", "c.yaml:4: a single value where settings (key: value lines) go"},
		{"targets:\n  - name: a\n    address: h\n    power: {url: \"https://pdu/\", headers: t0ken}\n", "c.yaml:4: a single value where settings (key: value lines) go"},
	}.check(t)
}

// password_file is read by LoadConfig, relative to the configuration's
// directory: its first line, without the line ending.
func TestLoadConfigReadsPasswordFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sw.pass"), []byte("from-file\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.pass"), []byte("\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(file string) (*Config, error) {
		path := filepath.Join(dir, "telgate.yaml")
		yaml := "targets:\n  - name: sw\n    address: h\n    login: {user: admin, password_file: " + file + "}\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(path)
	}
	cfg, err := load("sw.pass")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets[0].Login.Password; got != "from-file" {
		t.Errorf("password %q, want from-file", got)
	}
	// The gateway takes the targets as loaded, the password read.
	if _, err := newCatalog(cfg.Targets, nil, RecordingConfig{}); err != nil {
		t.Errorf("the gateway refuses the loaded targets: %v", err)
	}
	if _, err := load("missing.pass"); err == nil || !strings.Contains(err.Error(), `target "sw": login: password_file: open `) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := load("empty.pass"); err == nil || !strings.Contains(err.Error(), "the first line is empty") {
		t.Errorf("empty first line: %v", err)
	}
}

// "{user}" logs in as the session's user, whose password the host then
// asks them for: the login ends there, and they type it. A session
// without a user has no login.
func TestLoginAsTheSessionsUser(t *testing.T) {
	got := make(chan string, 2)
	host := loginHost(t, got, shellAfterLogin)
	tg, b := openLoginTarget(t, host, Login{User: "{user}", Success: `\$ $`}, "target=lab&user=alice")
	expectLine(t, got, "alice")
	typeAt(t, b, got, "Password: ", "typed-by-alice")
	b.WaitOutput([]byte("$ "))
	expectLoginDone(t, tg)

	anonymous := tg.open("target=lab")
	anonymous.ExpectStatus("connected")
	typeAt(t, anonymous, got, "lab login: ", "by-hand")
	typeAt(t, anonymous, got, "Password: ", "pw")
	anonymous.WaitOutput([]byte("$ "))
	if e := tg.log.entries("automatic login not started"); len(e) != 1 || e[0]["error"] != "login: user names {user}, and the session has no user" {
		t.Errorf("log %v", e)
	}
}

// The default prompts match the prompts of login programs and devices,
// and not text that merely ends in "user:" or "pass:".
func TestLoginDefaultPrompts(t *testing.T) {
	rules, err := (&Login{User: "u", Password: "p"}).compile("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, want string }{
		{"Debian GNU/Linux 12\r\n\r\nlab login: ", "user"},
		{"\r\nUser Access Verification\r\n\r\nUsername: ", "user"},
		{"User Name:", "user"},
		{"user:", "user"},
		{"Password: ", "password"},
		{"admin@10.0.0.2's password: ", "password"},
		{"Enter passcode :", "password"},
		{"[sudo] password for labuser: ", ""},
		{"bypass: ", ""},
		{"labuser:", ""},
		{"Last login: Thu Nov 26 09:00:00 2026", ""},
		{"login: incorrect\r\n$ ", ""},
	} {
		got := ""
		switch {
		case rules.pwPrompt.MatchString(c.text):
			got = "password"
		case rules.userPrompt.MatchString(c.text):
			got = "user"
		}
		if got != c.want {
			t.Errorf("%q: taken for a %q prompt, want %q", c.text, got, c.want)
		}
	}
}

// A prompt that follows the user's keys is theirs: on a console already
// logged in, an ssh to another host asks for a password, and the
// target's must not go there. A bare Enter before the first prompt (to
// wake a console) is let through.
func TestLoginLeavesPromptsAfterTheUsersKeysToThem(t *testing.T) {
	t.Run("already logged in", func(t *testing.T) {
		got := make(chan string, 2)
		host := telnettest.NewServer(t, func(c *telnettest.Conn) {
			c.SendString("\r\nswitch# ")
			got <- readLine(c, true)
			c.SendString("\r\nadmin@10.0.0.2's password: ")
			got <- readLine(c, false)
		})
		tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword}, "target=lab")
		typeAt(t, b, got, "switch# ", "ssh admin@10.0.0.2")
		typeAt(t, b, got, "password: ", "typed")
		if e := tg.log.entries("automatic login stepped aside"); len(e) != 1 || e[0]["why"] != "the user typed" {
			t.Errorf("log %v: want the login stepped aside", e)
		}
		checkMetrics(t, scrape(t, tg.gw), map[string]float64{`telgate_logins_total{result="stepped_aside"}`: 1})
	})
	t.Run("Enter wakes the console", func(t *testing.T) {
		got := make(chan string, 3)
		host := telnettest.NewServer(t, func(c *telnettest.Conn) {
			c.SendString("Press RETURN to get started.\r\n")
			got <- readLine(c, false)
			c.SendString("\r\nUsername: ")
			got <- readLine(c, true)
			c.SendString("Password: ")
			got <- readLine(c, false)
			shellAfterLogin(c)
		})
		tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword, Success: `\$ $`}, "target=lab")
		typeAt(t, b, got, "get started", "")
		expectLine(t, got, "labuser")
		expectLine(t, got, loginPassword)
		b.WaitOutput([]byte("$ "))
		if e := tg.log.entries("automatic login done"); len(e) != 1 || e[0]["confirmed"] != true {
			t.Errorf("log %v: want the login confirmed", e)
		}
	})
	t.Run("a user name alone, then enable", func(t *testing.T) {
		got := make(chan string, 2)
		host := telnettest.NewServer(t, func(c *telnettest.Conn) {
			c.SendString("Username: ")
			got <- readLine(c, true)
			c.SendString("\r\nswitch>")
			got <- readLine(c, true)
			c.SendString("\r\nPassword: ")
			got <- readLine(c, false)
		})
		tg, b := openLoginTarget(t, host, Login{User: "labuser"}, "target=lab")
		expectLine(t, got, "labuser")
		typeAt(t, b, got, "switch>", "enable")
		typeAt(t, b, got, "Password: ", "enable-secret")
		expectLoginDone(t, tg)
	})
}

// A viewer handed the keyboard typing counts as the session's user
// typing: the sudo password prompt it brings is not taken for the
// host asking again.
func TestLoginCountsAViewersKeys(t *testing.T) {
	got := make(chan string, 4)
	host := loginHost(t, got, func(c *telnettest.Conn) {
		c.SendString("\r\n$ ")
		got <- readLine(c, true)
		c.SendString("Password: ")
		got <- readLine(c, false)
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(),
		Login: &Login{User: "labuser", Password: loginPassword}}}})
	owner, _ := openResumable(t, tg, "target=lab&user=alice")
	expectLine(t, got, "labuser")
	expectLine(t, got, loginPassword)
	owner.WaitOutput([]byte("$ "))
	token := share(t, owner)
	bob, _ := watch(t, tg, token, "bob")
	expectViewerList(t, owner, "1 bob")
	owner.Control(`{"type":"hand-over","viewer":1}`)
	expectTyping(t, bob, true)
	bob.Input("sudo -i\r")
	expectLine(t, got, "sudo -i")
	typeAt(t, bob, got, "Password: ", "bobs")
	expectLoginDone(t, tg)
}

// While a resumable session's browser is away the relay does not read
// the host, so its prompt waits: the login's timeout waits too, and the
// prompt is answered once the browser is back.
func TestLoginWaitsForABrowserAway(t *testing.T) {
	prompt := make(chan struct{})
	got := make(chan string, 2)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Welcome\r\n")
		<-prompt
		c.SendString("login: ")
		got <- readLine(c, true)
		c.SendString("Password: ")
		got <- readLine(c, false)
		shellAfterLogin(c)
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(),
		Login: &Login{User: "labuser", Password: loginPassword, Timeout: 100 * time.Millisecond}}}})
	b, token := openResumable(t, tg, "target=lab")
	b.WaitOutput([]byte("Welcome\r\n"))
	dropConnection(t, tg, b)
	close(prompt)
	// Past the timeout, away: a login that expired now would fail.
	time.Sleep(300 * time.Millisecond)
	r, _ := resume(t, tg, token, len("Welcome\r\n"))
	expectLine(t, got, "labuser")
	expectLine(t, got, loginPassword)
	r.WaitOutput([]byte("$ "))
	if e := tg.log.entries("automatic login failed"); len(e) != 0 {
		t.Errorf("log %v: want no failure", e)
	}
}

// The failure is told again to a page that resumes soon after: a write
// into a connection that has just died succeeds, so the page may have
// missed it.
func TestLoginFailureToldAgainAfterAResume(t *testing.T) {
	got := make(chan string, 2)
	host := loginHost(t, got, func(c *telnettest.Conn) {
		c.SendString("\r\nLogin incorrect\r\nlab login: ")
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr(),
		Login: &Login{User: "labuser", Password: "wrong"}}}})
	b, token := openResumable(t, tg, "target=lab")
	expectLine(t, got, "labuser")
	expectLine(t, got, "wrong")
	want := "automatic login failed: the host refused the login"
	if m := b.ExpectStatus("login"); m["message"] != want {
		t.Fatalf("login message %v", m)
	}
	out := b.WaitOutput([]byte("lab login: "))
	dropConnection(t, tg, b)
	r, _ := resume(t, tg, token, len(out))
	if m := r.ExpectStatus("login"); m["message"] != want {
		t.Errorf("after the resume: %v", m)
	}
}

// A file transfer started before a prompt ends the login: the prompt is
// the user's, and the file's bytes are not interleaved with answers.
func TestLoginStepsAsideForAFileTransfer(t *testing.T) {
	got := make(chan string, 2)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Welcome\r\n")
		c.ExpectData("x")
		c.SendString("login: ")
		c.ExpectData("y")
		got <- "y"
	})
	tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword}, "target=lab")
	b.WaitOutput([]byte("Welcome\r\n"))
	b.Control(`{"type":"transfer","on":true}`)
	b.Input("x")
	b.WaitOutput([]byte("login: "))
	b.Input("y")
	expectLine(t, got, "y")
	if e := tg.log.entries("automatic login stepped aside"); len(e) != 1 || e[0]["why"] != "a file transfer started" {
		t.Errorf("log %v", e)
	}
}

// A refusal is a line of its own right after the answer: a banner that
// speaks of authentication failures is not one, whether it comes at once
// or after a KiB.
func TestLoginFailurePatternOnlyRightAfterAnAnswer(t *testing.T) {
	for _, banner := range []string{"", strings.Repeat("This system is for authorised use only.\r\n", 40)} {
		t.Run(fmt.Sprintf("after %d bytes", len(banner)), func(t *testing.T) {
			got := make(chan string, 3)
			host := loginHost(t, got, func(c *telnettest.Conn) {
				c.SendString("\r\n" + banner + "Authentication failures are logged.\r\n$ ")
				got <- readLine(c, true)
			})
			tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword}, "target=lab")
			expectLine(t, got, "labuser")
			expectLine(t, got, loginPassword)
			typeAt(t, b, got, "$ ", "id")
			expectLoginDone(t, tg)
		})
	}
}

// An answer decided while input waits (here: held) and a file transfer
// that starts before it is written: the answer is dropped, not sent into
// the file.
func TestLoginAnswerNotSentIntoAFileTransfer(t *testing.T) {
	prompt := make(chan struct{})
	got := make(chan string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Welcome\r\n")
		<-prompt
		c.SendString("login: ")
		ev, err := c.ReadEvent()
		for err == nil && !ev.IsData() {
			ev, err = c.ReadEvent()
		}
		got <- string(ev.Data)
	})
	tg, b := openLoginTarget(t, host, Login{User: "labuser", Password: loginPassword}, "target=lab")
	b.WaitOutput([]byte("Welcome\r\n"))
	var s *session
	tg.gw.mu.Lock()
	for s = range tg.gw.sessions {
	}
	tg.gw.mu.Unlock()
	s.inputMu.Lock()
	close(prompt)
	waitFor(t, "the user name to be decided", func() bool {
		s.login.mu.Lock()
		defer s.login.mu.Unlock()
		return s.login.userSent
	})
	// What control does for {"type":"transfer","on":true}.
	s.login.transferStarted()
	s.transfer = true
	s.inputMu.Unlock()
	b.Input("x")
	if line := <-got; line != "x" {
		t.Errorf("the host got %q first, want the file's x", line)
	}
}
