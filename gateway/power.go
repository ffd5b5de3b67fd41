package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
	// CA names a PEM file of the certificates an https controller's
	// must verify against in place of the system's authorities: a
	// private authority's, or the controller's own self-signed one (as
	// most PDUs ship). LoadConfig reads it into RootCAs, a relative
	// name from the configuration file's directory.
	CA      string         `yaml:"ca"`
	RootCAs *x509.CertPool `yaml:"-"`
}

// powerTimeout bounds a power request, its answer included (see
// Gateway.powerTimeout).
const powerTimeout = 15 * time.Second

// maxPowerBody bounds a hook's body in the configuration.
const maxPowerBody = 64 << 10

// errNoPowerAnswer is a power controller's silence past the timeout, or
// a request cut short by the gateway's shutdown: it may have arrived.
var errNoPowerAnswer = errors.New("the power controller did not answer: the device may or may not have been power-cycled")

// newPowerClient returns the client power requests are sent with: no
// proxy (one named in the environment would be handed the request's
// token), no redirects (they would carry the headers elsewhere), and
// roots (nil: the system's) to verify an https controller against.
func newPowerClient(roots *x509.CertPool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	if roots != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// check refuses a hook that could not be sent as written. Its messages
// never quote the URL, whose path or query may hold a token.
func (p *PowerHook) check() error {
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		return errors.New("power: url is missing")
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return errors.New("power: url: want http://HOST/... or https://HOST/...")
	case p.Method != "" && !isToken(p.Method):
		return fmt.Errorf("power: method %q is not an HTTP method", p.Method)
	case len(p.Body) > maxPowerBody:
		return fmt.Errorf("power: body is over %d bytes", maxPowerBody)
	case (p.CA != "" || p.RootCAs != nil) && u.Scheme != "https":
		return errors.New("power: ca is for an https url")
	}
	seen := map[string]bool{}
	for k, v := range p.Headers {
		name := http.CanonicalHeaderKey(k)
		switch {
		case !isToken(k):
			return fmt.Errorf("power: header name %q is not an HTTP token", k)
		case seen[name]:
			return fmt.Errorf("power: header %s is given twice", name)
		case name == "Host" || name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection":
			return fmt.Errorf("power: header %s is the gateway's to set", name)
		case !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0:
			return fmt.Errorf("power: header %s: the value holds a control character or is not UTF-8", name)
		}
		seen[name] = true
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

// powerMsg answers the page's {"type":"power"}: asked, then the API's
// answer. The page is told the status alone: an answer's body, which may
// name internal hosts or echo a credential, goes to the log.
type powerMsg struct {
	Type   string `json:"type"`
	State  string `json:"state"`            // "asked", "done" or "failed"
	Status string `json:"status,omitempty"` // the API's HTTP status
	Error  string `json:"error,omitempty"`
}

// powerHook is the session's target's hook as configured now, and
// whether the session's user may use it: a reload that takes the hook
// away, or takes the user off its allow lists or the target's, applies
// to sessions already open.
func (s *session) powerHook() (hook *PowerHook, allowed bool) {
	t, ok := s.g.cat.Load().targets[s.req.Target.Name]
	if !ok || t.Power == nil {
		return nil, false
	}
	return t.Power, t.Allows(s.req.User, s.req.Groups) && t.Power.allows(s.req.User, s.req.Groups)
}

// mayPower reports whether the session's user may power-cycle its
// target's device.
func (s *session) mayPower() bool {
	_, allowed := s.powerHook()
	return allowed
}

// power carries out the page's power request: one at a time, on a
// goroutine of its own, so that the page's other messages (a Break, its
// pings) go on meanwhile. Only the session's page asks: a viewer handed
// the keyboard types, it does not power-cycle.
func (s *session) power() {
	hook, allowed := s.powerHook()
	switch {
	case hook == nil:
		_, _ = s.send(errorMsg{Type: "error", Message: "this target has no power control"})
		return
	case !allowed:
		_, _ = s.send(errorMsg{Type: "error", Message: "you may not power-cycle this target's device"})
		return
	case !s.g.claimPower(s.req.Target.Name):
		_, _ = s.send(errorMsg{Type: "error", Message: "a power cycle of this device is already being asked for"})
		return
	}
	s.log().Info().Msg("power cycle asked")
	if s.req.User != "" {
		s.rec.marker("power cycle asked by " + s.req.User)
	} else {
		s.rec.marker("power cycle asked")
	}
	s.sendPowerState(powerMsg{Type: "power", State: "asked"})
	go func() {
		status, err := s.g.sendPower(hook)
		msg := powerMsg{Type: "power", State: "done", Status: status}
		switch {
		case err == nil:
			s.log().Info().Str("status", status).Msg("power cycle done")
			s.rec.marker("power cycle done: " + status)
		default:
			s.log().Warn().Str("status", status).Err(err).Msg("power cycle failed")
			s.rec.marker("power cycle failed: " + err.Error())
			msg.State = "failed"
			switch {
			case status != "":
				msg.Error = "the power controller answered " + status + " (the gateway's log has its answer)"
			case errors.Is(err, errNoPowerAnswer):
				msg.Error = errNoPowerAnswer.Error()
			default:
				// Not its address, which users are not shown, nor
				// the network's words: the log has them.
				msg.Error = "the power controller could not be reached (the gateway's log says why)"
			}
		}
		s.g.releasePower(s.req.Target.Name) // before the page hears, so that it may ask again
		s.sendPowerState(msg)
	}()
}

// claimPower claims the device of the target named name for a power
// request, reporting false when one is out already.
func (g *Gateway) claimPower(name string) bool {
	g.powerMu.Lock()
	defer g.powerMu.Unlock()
	if g.powerBusy[name] {
		return false
	}
	g.powerBusy[name] = true
	return true
}

// releasePower ends claimPower's claim.
func (g *Gateway) releasePower(name string) {
	g.powerMu.Lock()
	defer g.powerMu.Unlock()
	delete(g.powerBusy, name)
}

// sendPowerState sends a power message and keeps it for a page that
// resumes: "asked" is sent again whatever its age.
func (s *session) sendPowerState(msg powerMsg) {
	data, _ := json.Marshal(msg)
	s.sendKept(&s.powerLast, data, msg.State == "asked")
}

// sendPower sends hook's request. A status other than 2xx is an error
// with the start of the answer's body (for the log).
func (g *Gateway) sendPower(hook *PowerHook) (status string, err error) {
	ctx, cancel := context.WithTimeout(g.ctx, g.powerTimeout)
	defer cancel()
	method := strings.ToUpper(hook.Method)
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, hook.URL, strings.NewReader(hook.Body))
	if err != nil {
		return "", errors.New("the power request could not be made")
	}
	for k, v := range hook.Headers {
		req.Header.Set(k, v)
	}
	client := g.powerClient
	if hook.RootCAs != nil {
		client = newPowerClient(hook.RootCAs)
		defer client.CloseIdleConnections()
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		if ctx.Err() != nil {
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

// readCA reads p.CA, a relative name from dir, into p.RootCAs.
func (p *PowerHook) readCA(dir string) error {
	name, data, err := readNamedFile(dir, p.CA)
	if err != nil {
		return fmt.Errorf("power: ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return fmt.Errorf("power: ca %s: no PEM certificate in it", name)
	}
	p.RootCAs = pool
	return nil
}
