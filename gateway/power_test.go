package gateway

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pduRequest is what a scripted power controller was asked.
type pduRequest struct {
	method, path, auth, body string
}

// pdu is a scripted power controller: answer writes each request's
// answer, and the requests are kept.
func pdu(t *testing.T, answer func(w http.ResponseWriter)) (*httptest.Server, func() []pduRequest) {
	var mu sync.Mutex
	var got []pduRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, pduRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body)})
		mu.Unlock()
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pduRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]pduRequest(nil), got...)
	}
}

func powerTarget(addr, url string) Target {
	return Target{Name: "board", Address: addr, Power: &PowerHook{
		URL:         url + "/outlets/7/cycle",
		Headers:     map[string]string{"Authorization": "Bearer pdu-token"},
		Body:        `{"action":"cycle"}`,
		AllowGroups: []string{"labadmin"},
	}}
}

func TestPowerCycleAsksThePowerController(t *testing.T) {
	srv, asked := pdu(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) })
	host := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{powerTarget(host.Addr(), srv.URL)}})

	b := tg.open("target=board&user=alice&group=labadmin")
	if m := b.ExpectStatus("connected"); m["power"] != true {
		t.Fatalf("connected %v: want power true for a user the hook allows", m)
	}
	b.Control(`{"type":"power"}`)
	if m := b.ExpectStatus("power"); m["state"] != "asked" {
		t.Errorf("first answer %v, want asked", m)
	}
	if m := b.ExpectStatus("power"); m["state"] != "done" || m["status"] != "202 Accepted" {
		t.Errorf("answer %v, want done with 202 Accepted", m)
	}
	want := pduRequest{"POST", "/outlets/7/cycle", "Bearer pdu-token", `{"action":"cycle"}`}
	if got := asked(); len(got) != 1 || got[0] != want {
		t.Errorf("the power controller was asked %+v, want once %+v", got, want)
	}
	if e := tg.log.entries("power cycle done"); len(e) != 1 || e[0]["user"] != "alice" || e[0]["status"] != "202 Accepted" {
		t.Errorf("log %v", e)
	}
	if strings.Contains(tg.log.String(), "pdu-token") {
		t.Error("the token is in the log")
	}
}

func TestPowerCycleFailuresAndRefusals(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	answer := http.StatusInternalServerError
	var mu sync.Mutex
	srv, asked := pdu(t, func(w http.ResponseWriter) {
		mu.Lock()
		code := answer
		mu.Unlock()
		if code == 0 {
			<-release
			return
		}
		if code == http.StatusFound {
			w.Header().Set("Location", "http://elsewhere.test/")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "outlet\x1b[31m locked\n\nby maintenance")
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	host := echoHost(t)
	target := powerTarget(host.Addr(), srv.URL)
	plain := Target{Name: "plain", Address: host.Addr()}
	tg := newTestGateway(t, Options{Targets: []Target{target, plain}})

	b := tg.open("target=board&user=alice&group=labadmin")
	b.ExpectStatus("connected")
	// An error answer: the page is told, with the start of the body.
	b.Control(`{"type":"power"}`)
	b.ExpectStatus("power")
	m := b.ExpectStatus("power")
	if m["state"] != "failed" || m["error"] != "the power controller answered 500 Internal Server Error (the gateway's log has its answer)" {
		t.Errorf("answer %v", m)
	}
	if e := tg.log.entries("power cycle failed"); len(e) != 1 ||
		!strings.Contains(fmt.Sprint(e[0]["error"]), "answered 500 Internal Server Error: outlet[31m locked by maintenance") {
		t.Errorf("the log does not have the answer's start, without its escape: %v", e)
	}
	// A redirect is not followed.
	mu.Lock()
	answer = http.StatusFound
	mu.Unlock()
	b.Control(`{"type":"power"}`)
	b.ExpectStatus("power")
	if m := b.ExpectStatus("power"); m["state"] != "failed" || !strings.Contains(m["error"].(string), "302 Found") {
		t.Errorf("a redirect: %v", m)
	}
	// One at a time.
	mu.Lock()
	answer = 0
	mu.Unlock()
	b.Control(`{"type":"power"}`)
	b.ExpectStatus("power")
	b.Control(`{"type":"power"}`)
	if m := b.ExpectStatus("error"); !strings.Contains(m["message"].(string), "already being asked") {
		t.Errorf("a second request while one is out: %v", m)
	}
	// From another session on the same device too.
	other := tg.open("target=board&user=carol&group=labadmin")
	other.ExpectStatus("connected")
	other.Control(`{"type":"power"}`)
	if m := other.ExpectStatus("error"); m["message"] != "a power cycle of this device is already being asked for" {
		t.Errorf("another session's request while one is out: %v", m)
	}
	once.Do(func() { close(release) })
	if m := b.ExpectStatus("power"); m["state"] != "done" {
		t.Errorf("the released request: %v", m)
	}
	if n := len(asked()); n != 3 {
		t.Errorf("the power controller was asked %d times, want 3", n)
	}

	// A controller that cannot be reached: the page is not told its
	// address, the log is.
	srv.Close()
	b.Control(`{"type":"power"}`)
	b.ExpectStatus("power")
	if m := b.ExpectStatus("power"); m["state"] != "failed" || m["error"] != "the power controller could not be reached (the gateway's log says why)" {
		t.Errorf("an unreachable controller: %v", m)
	}
	// Why (a refused connection, or the end of a connection kept from
	// before) is the log's.
	if e := tg.log.entries("power cycle failed"); len(e) == 0 || !strings.HasPrefix(fmt.Sprint(e[len(e)-1]["error"]), "the power controller: ") {
		t.Errorf("the log does not say why: %v", e)
	}

	// A user the hook does not allow, and a target without one.
	for _, q := range []string{"target=board&user=bob&group=ops", "target=plain&user=alice&group=labadmin"} {
		c := tg.open(q)
		if m := c.ExpectStatus("connected"); m["power"] != nil {
			t.Errorf("%s: connected %v, want no power", q, m)
		}
		c.Control(`{"type":"power"}`)
		if m := c.ExpectStatus("error"); !strings.Contains(m["message"].(string), "power") {
			t.Errorf("%s: %v", q, m)
		}
	}
	if n := len(asked()); n != 3 {
		t.Errorf("refused requests reached the power controller (%d)", n)
	}
	if strings.Contains(tg.log.String(), "/outlets/7") {
		t.Error("the controller's URL is in the log")
	}
}

func TestPowerHookCheck(t *testing.T) {
	for _, tc := range []struct {
		hook PowerHook
		want string
	}{
		{PowerHook{URL: "https://pdu.test/x"}, ""},
		{PowerHook{URL: "http://pdu.test/x", Method: "PUT", Headers: map[string]string{"X-Token": "a b"}}, ""},
		{PowerHook{}, "url is missing"},
		{PowerHook{URL: "ftp://pdu.test/"}, "want http://HOST"},
		{PowerHook{URL: "http://pdu.test/", CA: "pdu.pem"}, "ca is for an https url"},
		{PowerHook{URL: "https://pdu.test/", CA: "pdu.pem"}, ""},
		{PowerHook{URL: "https:///x"}, "want http://HOST"},
		{PowerHook{URL: "https://pdu.test/", Method: "PO ST"}, "not an HTTP method"},
		{PowerHook{URL: "https://pdu.test/", Headers: map[string]string{"X Token": "a"}}, "not an HTTP token"},
		{PowerHook{URL: "https://pdu.test/", Headers: map[string]string{"X-Token": "a\r\nEvil: 1"}}, "control character"},
		{PowerHook{URL: "https://pdu.test/", Headers: map[string]string{"X-Token": "a\x01"}}, "control character"},
		{PowerHook{URL: "https://pdu.test/", Headers: map[string]string{"host": "elsewhere"}}, "Host is the gateway's"},
		{PowerHook{URL: "https://pdu.test/", Headers: map[string]string{"X-Token": "a", "x-token": "b"}}, "given twice"},
		{PowerHook{URL: "https://pdu.test/?token=SECRET x"}, ""},
		{PowerHook{URL: "ftp://pdu.test/?token=SECRET"}, "want http://HOST"},
		{PowerHook{URL: "https://pdu.test/", Body: strings.Repeat("x", maxPowerBody+1)}, "body is over"},
	} {
		err := tc.hook.check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+.60v: %v, want %q", tc.hook, err, tc.want)
		}
	}
}

// The answer to a power request reaches a page that resumed after it
// came; a request the controller leaves unanswered is reported as
// possibly done; a reload that takes the hook away applies to the open
// session.
func TestPowerAcrossResumeTimeoutAndReload(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	hang := make(chan bool, 4)
	srv, _ := pdu(t, func(w http.ResponseWriter) {
		if <-hang {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	host := echoHost(t)
	target := powerTarget(host.Addr(), srv.URL)
	tg := newTestGateway(t, Options{Targets: []Target{target}})
	tg.gw.powerTimeout = time.Second // before any session reads it

	b, token := openResumable(t, tg, "target=board&user=alice&group=labadmin")
	b.WaitOutput([]byte("$ "))
	hang <- true
	b.Control(`{"type":"power"}`)
	b.ExpectStatus("power")
	_ = b.Conn.NetConn().Close() // dropped while the controller thinks
	once.Do(func() { close(release) })
	// The answer comes while no connection is there to take it.
	waitFor(t, "the answer", func() bool {
		tg.gw.mu.Lock()
		defer tg.gw.mu.Unlock()
		for s := range tg.gw.sessions {
			if last := s.powerLast.Load(); last != nil && strings.Contains(string(last.data), `"state":"done"`) {
				return true
			}
		}
		return false
	})
	r := tg.open(fmt.Sprintf("resume=%s&received=%d&user=alice&group=labadmin", token, len("$ ")))
	r.ExpectStatus("resumed")
	for {
		m := r.Status()
		if m["type"] != "power" {
			continue
		}
		if m["state"] == "done" {
			break
		}
		if m["state"] != "asked" {
			t.Fatalf("after the resume: %v", m)
		}
	}

	// A controller that does not answer in time.
	release = make(chan struct{})
	once = sync.Once{}
	hang <- true
	r.Control(`{"type":"power"}`)
	r.ExpectStatus("power")
	if m := r.ExpectStatus("power"); m["state"] != "failed" || !strings.Contains(m["error"].(string), "may or may not have been power-cycled") {
		t.Errorf("no answer in time: %v", m)
	}
	once.Do(func() { close(release) })

	// An answer older than a dead connection can go unnoticed is not
	// sent again on the next resume.
	tg.gw.mu.Lock()
	for s := range tg.gw.sessions {
		last := s.powerLast.Load()
		s.powerLast.Store(&keptStatus{data: last.data, at: last.at.Add(-time.Hour), pending: last.pending})
	}
	tg.gw.mu.Unlock()
	_ = r.Conn.NetConn().Close()
	r = tg.open(fmt.Sprintf("resume=%s&received=%d&user=alice&group=labadmin", token, len(r.Output)+len("$ ")))
	r.ExpectStatus("resumed")
	r.Control(`{"type":"ping"}`)
	if m := r.Status(); m["type"] != "pong" {
		t.Errorf("after a second resume: %v, want only the pong", m)
	}

	// A reload that leaves alice off the target's own allow list.
	barred := powerTarget(host.Addr(), srv.URL)
	barred.AllowUsers = []string{"bob"}
	if err := tg.gw.Reconfigure([]Target{barred}, nil); err != nil {
		t.Fatal(err)
	}
	r.Control(`{"type":"power"}`)
	if m := r.ExpectStatus("error"); !strings.Contains(m["message"].(string), "you may not") {
		t.Errorf("after the reload barring alice: %v", m)
	}

	// The hook taken away by a reload.
	if err := tg.gw.Reconfigure([]Target{{Name: "board", Address: host.Addr()}}, nil); err != nil {
		t.Fatal(err)
	}
	r.Control(`{"type":"power"}`)
	if m := r.ExpectStatus("error"); !strings.Contains(m["message"].(string), "no power control") {
		t.Errorf("after the reload: %v", m)
	}
}

// A controller with a certificate of its own (as most PDUs ship) is
// reached with ca naming it, and only then.
func TestPowerCycleWithTheControllersOwnCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "pdu.pem"), pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := echoHost(t)
	load := func(ca string) (*Config, error) {
		path := filepath.Join(dir, "telgate.yaml")
		yaml := fmt.Sprintf("targets:\n  - name: pinned\n    address: %q\n    power: {url: %q, ca: %s}\n"+
			"  - name: system\n    address: %q\n    power: {url: %q}\n", host.Addr(), srv.URL+"/cycle", ca, host.Addr(), srv.URL+"/cycle")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(path)
	}
	if _, err := load("missing.pem"); err == nil || !strings.Contains(err.Error(), `target "pinned": power: ca: open `) {
		t.Errorf("a missing ca file: %v", err)
	}
	if _, err := load("junk.pem"); err == nil || !strings.Contains(err.Error(), "no PEM certificate in it") {
		t.Errorf("a ca file without a certificate: %v", err)
	}
	cfg, err := load("pdu.pem")
	if err != nil {
		t.Fatal(err)
	}
	tg := newTestGateway(t, Options{Targets: cfg.Targets})
	for _, c := range []struct{ target, state string }{{"pinned", "done"}, {"system", "failed"}} {
		b := tg.open("target=" + c.target)
		b.ExpectStatus("connected")
		b.Control(`{"type":"power"}`)
		b.ExpectStatus("power")
		if m := b.ExpectStatus("power"); m["state"] != c.state {
			t.Errorf("%s: %v, want %s", c.target, m, c.state)
		}
	}
	if e := tg.log.entries("power cycle failed"); len(e) != 1 || !strings.Contains(fmt.Sprint(e[0]["error"]), "certificate") {
		t.Errorf("the log does not say the certificate was not trusted: %v", e)
	}
}
