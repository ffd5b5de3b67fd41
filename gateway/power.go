package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// PowerHook lets a target's users power-cycle the device behind it (a
// board that hung, a switch stuck in its boot loader) through an HTTP
// API: a switched PDU's, or a lab's own power service. The page offers
// a Power button; asked to, the gateway sends one request and tells the
// page the answer. Nothing else is sent to the URL, and nothing from the
// browser goes into the request.
type PowerHook struct {
	// URL is requested: http or https.
	URL string `yaml:"url"`
	// Method is the request's method; POST when empty.
	Method string `yaml:"method"`
	// Headers are sent with the request (an API token, say: keep the
	// configuration readable by telgate alone).
	Headers map[string]string `yaml:"headers"`
	// Body is the request's body, sent as it is.
	Body string `yaml:"body"`
	// AllowUsers and AllowGroups say who may power-cycle the device;
	// both empty means whoever may open the target.
	AllowUsers  []string `yaml:"allow_users"`
	AllowGroups []string `yaml:"allow_groups"`
}

// powerTimeout bounds a power request, its answer included.
const powerTimeout = 15 * time.Second

// errNoPowerAnswer is a power controller's silence past powerTimeout.
var errNoPowerAnswer = fmt.Errorf("the power controller did not answer within %v", powerTimeout)

// maxPowerBody bounds a hook's body in the configuration.
const maxPowerBody = 64 << 10

// check refuses a hook that could not be sent as written.
func (p *PowerHook) check() error {
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		return errors.New("power: url is missing")
	case err != nil:
		return fmt.Errorf("power: url: %v", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("power: url %q: want http://HOST/... or https://HOST/...", p.URL)
	case p.Method != "" && !isToken(p.Method):
		return fmt.Errorf("power: method %q is not an HTTP method", p.Method)
	case len(p.Body) > maxPowerBody:
		return fmt.Errorf("power: body is over %d bytes", maxPowerBody)
	}
	for k, v := range p.Headers {
		if !isToken(k) {
			return fmt.Errorf("power: header name %q: want letters, digits and -", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") || !utf8.ValidString(v) {
			return fmt.Errorf("power: header %s: the value holds a line break or a NUL", k)
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110): a method or a
// header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// allows reports whether user (in groups) may power-cycle the device.
func (p *PowerHook) allows(user string, groups []string) bool {
	if len(p.AllowUsers) == 0 && len(p.AllowGroups) == 0 {
		return true
	}
	return Target{AllowUsers: p.AllowUsers, AllowGroups: p.AllowGroups}.Allows(user, groups)
}

// powerMsg answers the page's {"type":"power"}: sent, then the API's
// answer.
type powerMsg struct {
	Type   string `json:"type"`
	State  string `json:"state"`            // "asked", "done" or "failed"
	Status string `json:"status,omitempty"` // the API's HTTP status
	Error  string `json:"error,omitempty"`
}

// mayPower reports whether the session's user may power-cycle its
// target's device.
func (s *session) mayPower() bool {
	p := s.req.Target.Power
	return p != nil && p.allows(s.req.User, s.req.Groups)
}

// power carries out the page's power request: one at a time, on a
// goroutine of its own, so that the page's other messages (a Break, its
// pings) go on meanwhile.
func (s *session) power() {
	switch {
	case s.req.Target.Power == nil:
		_, _ = s.send(errorMsg{Type: "error", Message: "this target has no power control"})
		return
	case !s.mayPower():
		_, _ = s.send(errorMsg{Type: "error", Message: "you may not power-cycle this target's device"})
		return
	case !s.powering.CompareAndSwap(false, true):
		_, _ = s.send(errorMsg{Type: "error", Message: "a power cycle is already being asked for"})
		return
	}
	s.log().Info().Msg("power cycle asked")
	s.rec.marker("power cycle asked by " + s.req.User)
	_, _ = s.send(powerMsg{Type: "power", State: "asked"})
	go func() {
		defer s.powering.Store(false)
		status, err := s.g.sendPower(s.req.Target.Power)
		msg := powerMsg{Type: "power", State: "done", Status: status}
		if err != nil {
			// The page is not told the controller's address (which
			// users are not shown) nor the network's words: the log is.
			msg.State, msg.Error = "failed", err.Error()
			if status == "" {
				msg.Error = "the power controller could not be reached (the gateway's log says why)"
				if errors.Is(err, errNoPowerAnswer) {
					msg.Error = err.Error()
				}
			}
			s.log().Warn().Str("status", status).Err(err).Msg("power cycle failed")
			s.rec.marker("power cycle failed: " + err.Error())
		} else {
			s.log().Info().Str("status", status).Msg("power cycle done")
			s.rec.marker("power cycle done: " + status)
		}
		_, _ = s.send(msg)
	}()
}

// sendPower sends hook's request. A status other than 2xx is an error,
// with the start of the answer's body; a redirect is not followed (it
// would take the request, headers and all, elsewhere).
func (g *Gateway) sendPower(hook *PowerHook) (status string, err error) {
	ctx, cancel := context.WithTimeout(g.ctx, powerTimeout)
	defer cancel()
	method := hook.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, hook.URL, strings.NewReader(hook.Body))
	if err != nil {
		return "", err
	}
	for k, v := range hook.Headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return "", errNoPowerAnswer
		}
		return "", fmt.Errorf("the power controller: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.Status, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(head), "?")), " ")
	if text != "" {
		text = ": " + printableText(text)
	}
	return resp.Status, fmt.Errorf("the power controller answered %s%s", resp.Status, text)
}

// printableText drops control characters from s.
func printableText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
