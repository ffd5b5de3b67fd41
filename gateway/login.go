package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// A Login signs a target's sessions in to the host with an account the
// target holds: for equipment and hosts reached with a shared account (a
// lab switch's console, a legacy host's service user), whose password
// the browser's users are then never shown. The gateway watches the
// host's output from the start of the session, answers its user name
// prompt with User and its password prompt with Password, each at most
// once, and then leaves the session to its user: a prompt that comes
// again, or a refusal, ends the login as failed, and the page says so,
// where its user can log in by hand.
//
// A Login is for a named target only: its address is fixed, so the
// password goes nowhere else. Nothing of it reaches the page, the log or
// the recording but the user name.
type Login struct {
	// User answers the user name prompt; empty for a device that asks
	// for a password alone (a console's line password). "{user}" in it
	// stands for the session's user, as authenticated ("{user}" alone:
	// a host whose accounts are the gateway's users). Without a
	// password the login ends at the password prompt, which the
	// session's user answers.
	User string `yaml:"user"`
	// Password answers the password prompt. PasswordFile, in its stead
	// in a configuration file, names a file whose first line is the
	// password; LoadConfig reads it into Password (a relative name from
	// the configuration file's directory) at start and at every reload,
	// so that a password changed there takes effect on SIGHUP.
	Password     string `yaml:"password" json:"-"`
	PasswordFile string `yaml:"password_file"`
	// UserPrompt and PasswordPrompt are regular expressions (Go's, RE2)
	// that the host's output since the last answer is matched against;
	// anchor them at the end ($), where a prompt waits. Empty takes
	// DefaultUserPrompt and DefaultPasswordPrompt.
	UserPrompt     string `yaml:"user_prompt"`
	PasswordPrompt string `yaml:"password_prompt"`
	// Success, when set, matches what the host sends once logged in (a
	// shell's or a device's prompt): the login is done when it does, and
	// failed if it has not by the timeout. Unset, the login is done when
	// the host neither refuses nor asks again before the session's user
	// types or the timeout passes.
	Success string `yaml:"success"`
	// Failure matches the host's refusal of an answer; empty takes
	// DefaultLoginFailure.
	Failure string `yaml:"failure"`
	// Timeout bounds the login from the session's start; 0 takes
	// DefaultLoginTimeout.
	Timeout time.Duration `yaml:"timeout"`
}

// String describes l without its password, so that no %v prints it.
func (l Login) String() string {
	return fmt.Sprintf("login as %q", l.User)
}

// GoString is String, for %#v.
func (l Login) GoString() string { return l.String() }

// The defaults of Login's patterns and timeout: the prompts of Unix
// login, of Cisco, Juniper, HPE and most console servers, and their
// refusals.
const (
	DefaultUserPrompt     = `(?i)(^|\W)(login|user ?name|user)\s*:\s*$`
	DefaultPasswordPrompt = `(?i)(^|\W)pass(word|code|phrase)?\s*:\s*$`
	DefaultLoginFailure   = `(?im)^\W*(login incorrect|login invalid|incorrect password|authentication failed|access denied|bad passwords?)\W*$`
	DefaultLoginTimeout   = 30 * time.Second
)

// maxLoginTail bounds the host output a login keeps to match its
// patterns against: the end of what came since its last answer.
const maxLoginTail = 1024

// maxLoginSecret bounds a user name or password: a line typed at a
// prompt.
const maxLoginSecret = 256

// sessionUser is what Login.User holds for the session's user.
const sessionUser = "{user}"

// UsesSessionUser reports whether l logs in as the session's user, which
// takes authentication.
func (l *Login) UsesSessionUser() bool { return strings.Contains(l.User, sessionUser) }

// loginRules are a Login's patterns, compiled.
type loginRules struct {
	user, password       []byte
	userPrompt, pwPrompt *regexp.Regexp
	success, failure     *regexp.Regexp // success nil: none
	timeout              time.Duration
}

// compile checks l and compiles its patterns, for a session of user
// (which "{user}" stands for). Its messages never quote the password.
func (l *Login) compile(user string) (*loginRules, error) {
	r := &loginRules{user: []byte(strings.ReplaceAll(l.User, sessionUser, user)), password: []byte(l.Password), timeout: l.Timeout}
	switch {
	case l.User == "" && l.Password == "" && l.PasswordFile == "":
		return nil, errors.New("login: give a user, a password or password_file")
	case l.Timeout < 0:
		return nil, errors.New("login: timeout: want a positive duration, or leave it out for 30s")
	}
	for _, v := range []struct{ key, value string }{{"user", string(r.user)}, {"password", l.Password}} {
		if err := checkSecret(v.value); err != nil {
			return nil, fmt.Errorf("login: %s %w", v.key, err)
		}
	}
	if r.timeout == 0 {
		r.timeout = DefaultLoginTimeout
	}
	for _, p := range []struct {
		key, pattern, def string
		re                **regexp.Regexp
	}{
		{"user_prompt", l.UserPrompt, DefaultUserPrompt, &r.userPrompt},
		{"password_prompt", l.PasswordPrompt, DefaultPasswordPrompt, &r.pwPrompt},
		{"success", l.Success, "", &r.success},
		{"failure", l.Failure, DefaultLoginFailure, &r.failure},
	} {
		pattern := p.pattern
		if pattern == "" {
			pattern = p.def
		}
		if pattern == "" {
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("login: %s: %w", p.key, err)
		}
		*p.re = re
	}
	return r, nil
}

// checkSecret refuses a user name or password that could not be typed
// at a prompt as one line.
func checkSecret(s string) error {
	switch {
	case len(s) > maxLoginSecret:
		return fmt.Errorf("is over %d bytes", maxLoginSecret)
	case !utf8.ValidString(s):
		return errors.New("is not UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return errors.New("holds a control character (a line ending among them)")
	}
	return nil
}

// checkCharset refuses a user name or password that cs, the target's
// character set (nil: UTF-8), cannot carry: it would reach the host with
// a '?' in its place. Its messages never quote the password.
func (l *Login) checkCharset(cs *Charset) error {
	if cs == nil {
		return nil
	}
	for _, v := range []struct{ key, value string }{{"user", strings.ReplaceAll(l.User, sessionUser, "")}, {"password", l.Password}} {
		if !cs.encodes(v.value) {
			return fmt.Errorf("login: %s holds a character the target's charset (%s) lacks", v.key, cs)
		}
	}
	return nil
}

// readPassword reads l.PasswordFile, a relative name from dir, into
// l.Password: its first line, without the line ending. The error names
// the file, not what it holds.
func (l *Login) readPassword(dir string) error {
	name, data, err := readNamedFile(dir, l.PasswordFile)
	if err != nil {
		return fmt.Errorf("login: password_file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return fmt.Errorf("login: password_file %s: the first line is empty", name)
	}
	if err := checkSecret(line); err != nil {
		return fmt.Errorf("login: password_file %s: the password %w", name, err)
	}
	l.Password = line
	return nil
}

// loginMsg tells the page that the login failed, and why; the page's
// user can then log in by hand.
type loginMsg struct {
	Type    string `json:"type"` // "login"
	State   string `json:"state"`
	Message string `json:"message"`
}

// An autoLogin is a session's login while it runs. observe runs on the
// relay's goroutine, typed on the goroutines that read the page and a
// viewer handed the keyboard, the timeout on a timer's; the answers are
// written to the host each on a goroutine of its own, in order, so that
// the relay never waits for the host to take input (a host that does not
// read while it writes would hold both).
//
// The login answers prompts only while the session's user has not typed
// since its last answer (a bare Enter before the first is let through,
// to wake a console): a prompt that comes after their keys is theirs (an
// ssh to another host, a sudo), and the target's password must not go
// there.
type autoLogin struct {
	s     *session
	rules *loginRules
	timer *time.Timer

	// over is set, under mu, when the login ends: the relay looks at
	// it for every frame, without the lock. halted is set when the
	// session ends or a file transfer starts: an answer not yet written
	// is dropped.
	over   atomic.Bool
	halted atomic.Bool

	mu           sync.Mutex
	tail         []byte // the host's output since the last answer, its end
	sinceAnswer  int    // bytes of output since the last answer
	userSent     bool
	passwordSent bool
	lastWrite    chan struct{} // closed when the last answer is written
	writes       sync.WaitGroup
}

// startLogin starts the session's login, if its target has one.
func (s *session) startLogin() {
	l := s.req.Target.Login
	if l == nil || s.req.Target.byName {
		return
	}
	rules, err := l.compile(s.req.User)
	switch {
	case err != nil:
	case l.PasswordFile != "" && l.Password == "":
		err = errPasswordFileUnread
	case l.UsesSessionUser() && s.req.User == "":
		err = errors.New("login: user names {user}, and the session has no user")
	}
	if err != nil {
		s.log().Error().Err(err).Msg("automatic login not started")
		return
	}
	done := make(chan struct{})
	close(done)
	a := &autoLogin{s: s, rules: rules, lastWrite: done}
	a.mu.Lock()
	a.timer = time.AfterFunc(rules.timeout, a.expire)
	a.mu.Unlock()
	s.login = a
}

// errPasswordFileUnread is a Login whose PasswordFile was not read into
// Password: one from ParseConfig rather than LoadConfig.
var errPasswordFileUnread = errors.New("login: password_file was not read (LoadConfig reads it)")

// observe matches the host's output, out, against the login's patterns
// and answers a prompt.
func (a *autoLogin) observe(out []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.over.Load() {
		return
	}
	r := a.rules
	a.sinceAnswer += len(out)
	a.tail = append(a.tail, out...)
	if len(a.tail) > maxLoginTail {
		a.tail = append(a.tail[:0], a.tail[len(a.tail)-maxLoginTail:]...)
	}
	switch {
	case (a.userSent || a.passwordSent) && r.success != nil && r.success.Match(a.tail):
		a.end("done", "", true)
	// A refusal comes right after the answer it refuses: later text is
	// not one.
	case (a.userSent || a.passwordSent) && a.sinceAnswer <= maxLoginTail && r.failure.Match(a.tail):
		a.end("failed", "the host refused the login", true)
	default:
		a.answerPrompt()
	}
}

// allSent reports whether every answer the login has went. Called with
// mu held.
func (a *autoLogin) allSent() bool {
	return a.passwordSent || a.userSent && len(a.rules.password) == 0
}

// answerPrompt answers the prompt the output ends with, if any. Called
// with mu held.
func (a *autoLogin) answerPrompt() {
	r := a.rules
	switch {
	case r.pwPrompt.Match(a.tail):
		switch {
		case a.passwordSent:
			a.end("failed", "the host asked for the password again", true)
		case len(r.password) == 0:
			// The session's user types it.
			a.end("done", "", false)
		default:
			a.answer(r.password, "password sent")
			a.passwordSent = true
		}
	case r.userPrompt.Match(a.tail):
		switch {
		case a.userSent:
			a.end("failed", "the host asked for the user name again", true)
		case len(r.user) == 0:
			a.end("failed", "the host asked for a user name, and the target's login has none", true)
		default:
			a.answer(r.user, "user name sent: "+string(r.user))
			a.userSent = true
		}
	}
}

// answer sends line and Enter to the host as the session's input goes
// (the target's Enter and character set), after the answer before it,
// and notes step in the recording. Called with mu held.
func (a *autoLogin) answer(line []byte, step string) {
	a.tail = a.tail[:0]
	a.sinceAnswer = 0
	a.s.rec.marker("automatic login: " + step)
	prev, done := a.lastWrite, make(chan struct{})
	a.lastWrite = done
	s := a.s
	a.writes.Add(1)
	go func() {
		defer a.writes.Done()
		defer close(done)
		<-prev
		input := append(append(make([]byte, 0, len(line)+1), line...), '\r')
		s.inputMu.Lock()
		defer s.inputMu.Unlock()
		// A file transfer sets halted before it starts, under inputMu
		// (see transferStarted).
		if a.halted.Load() || s.ctx.Err() != nil {
			return
		}
		s.input(input, s.browserText, false, nil)
	}()
}

// typed tells the login that the session's user typed data (from the
// page, or as the viewer handed the keyboard): past a bare Enter before
// the first answer, the login ends, done if every answer went, else
// stepping aside.
func (a *autoLogin) typed(data []byte) {
	if a == nil || a.over.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.over.Load() {
		return
	}
	switch {
	case !a.userSent && !a.passwordSent && len(bytes.Trim(data, "\r\n\x00")) == 0:
	case a.allSent():
		// At the host's shell, or whatever the login led to.
		a.end("done", "", false)
	default:
		a.stepAside("the user typed")
	}
}

// stepAside ends the login for the session's user, who took over (typed,
// or started a file transfer): neither done nor failed. Called with mu
// held.
func (a *autoLogin) stepAside(why string) {
	a.over.Store(true)
	a.tail = nil
	a.timer.Stop()
	a.s.g.metrics.logins.WithLabelValues("stepped_aside").Inc()
	a.s.log().Info().Str("why", why).Bool("user_sent", a.userSent).Bool("password_sent", a.passwordSent).Msg("automatic login stepped aside")
	a.s.rec.marker("automatic login stepped aside: " + why)
}

// transferStarted ends the login as a file transfer starts. Called with
// the session's inputMu held.
func (a *autoLogin) transferStarted() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// An answer waiting for inputMu is dropped, not sent into the file.
	a.halted.Store(true)
	if !a.over.Load() {
		a.stepAside("a file transfer started")
	}
}

// expire ends the login at its timeout. While a resumable session's
// browser is away the relay does not read the host, so no prompt can be
// seen: the timeout waits for the browser.
func (a *autoLogin) expire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.over.Load() {
		return
	}
	if a.s.res != nil && a.s.att.Load() == nil && a.s.ctx.Err() == nil {
		a.timer.Reset(time.Second)
		return
	}
	switch {
	case a.allSent() && a.rules.success != nil:
		a.end("failed", fmt.Sprintf("the host did not confirm the login within %v", a.rules.timeout), true)
	case a.allSent():
		a.end("done", "", false)
	case a.userSent:
		a.end("failed", fmt.Sprintf("the host did not ask for the password within %v", a.rules.timeout), true)
	default:
		a.end("failed", fmt.Sprintf("the host did not ask for a user name or password within %v", a.rules.timeout), true)
	}
}

// end ends the login with result, "done" or "failed" (why: for the page
// and the log); confirmed says the host's output showed it. Called with
// mu held.
func (a *autoLogin) end(result, why string, confirmed bool) {
	a.over.Store(true)
	a.tail = nil
	a.timer.Stop()
	s := a.s
	s.g.metrics.logins.WithLabelValues(result).Inc()
	if result == "failed" {
		ev := s.log().Warn()
		if a.userSent {
			ev = ev.Str("user_sent", string(a.rules.user))
		}
		ev.Str("why", why).Msg("automatic login failed")
		s.rec.marker("automatic login failed: " + why)
		data, _ := json.Marshal(loginMsg{Type: "login", State: "failed", Message: "automatic login failed: " + why})
		go s.sendKept(&s.loginLast, data, false)
		return
	}
	s.log().Info().Bool("confirmed", confirmed).Msg("automatic login done")
	s.rec.marker("automatic login done")
}

// stop ends the login as its session ends, before the session's last
// words, and waits for its answers to be written or dropped.
func (a *autoLogin) stop() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.over.Store(true)
	a.halted.Store(true)
	a.timer.Stop()
	a.mu.Unlock()
	a.writes.Wait()
}
