package main

// Tier 2 end-to-end tests: Debian's chromium, driven by playwright-core
// from e2e/browser.mjs, against the telgate binary serving its demo host
// and a real inetutils telnetd.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"telgate/telnet/telnettest"
)

// browserTimeout bounds one scenario's node process.
const browserTimeout = 150 * time.Second

const chromiumPath = "/usr/bin/chromium"

// browserTools returns node's path, skipping (failing in CI) when node,
// playwright-core or chromium is missing.
func browserTools(t *testing.T) string {
	t.Helper()
	node := requireCommand(t, "node", "the Debian package nodejs")
	if _, err := os.Stat(filepath.Join("e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		missingTool(t, "e2e/node_modules/playwright-core", "the npm package playwright-core (cd e2e && npm ci)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missingTool(t, chromiumPath, "the Debian package chromium")
	}
	return node
}

// screenshotDir is $TELGATE_SCREENSHOTS, or e2e/screenshots.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TELGATE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("e2e", "screenshots")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBrowser runs one scenario of e2e/browser.mjs against the telgate at
// url and returns its RESULT object.
func runBrowser(t *testing.T, node, scenario, url string, env ...string) map[string]any {
	t.Helper()
	env = append([]string{"TELGATE_URL=" + url, "TELGATE_SCREENSHOTS=" + screenshotDir(t)}, env...)
	return runScenario(t, node, "browser.mjs", scenario, env...)
}

// runScenario runs one scenario of the node script e2e/<script>, which
// drives Chromium, with env added to its environment, and returns its
// RESULT object. The script's output is logged; the browser must be gone
// when it ends.
func runScenario(t *testing.T, node, script, scenario string, env ...string) map[string]any {
	t.Helper()
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", script), scenario)
	cmd.Env = append(os.Environ(),
		"TELGATE_USER_DATA_DIR="+profile,
		"CHROMIUM="+chromiumPath,
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
	)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// SIGTERM lets playwright close the browser; SIGKILL if it hangs.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t.Logf("node e2e/%s %s (%v):\n%s", script, scenario, time.Since(start).Round(time.Millisecond), out.String())

	// The browser (its own process group) must be gone with node.
	if !pollUntil(5*time.Second, func() bool { return len(processesMatching(profile)) == 0 }) {
		pids := processesMatching(profile)
		for _, pid := range pids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Errorf("browser processes %v left running after the scenario", pids)
	}
	if ctx.Err() != nil {
		t.Fatalf("scenario %s did not finish within %v", scenario, browserTimeout)
	}
	if err != nil {
		t.Fatalf("scenario %s failed: %v (output above)", scenario, err)
	}
	var result map[string]any
	for _, line := range strings.Split(out.String(), "\n") {
		if js, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(js), &result); err != nil {
				t.Fatalf("scenario %s: bad RESULT line: %v", scenario, err)
			}
		}
	}
	if result["scenario"] != scenario {
		t.Fatalf("scenario %s printed no RESULT line", scenario)
	}
	return result
}

// size reads {"rows":R,"cols":C} from a RESULT object.
func resultSize(t *testing.T, result map[string]any, key string) (rows, cols int) {
	t.Helper()
	m, ok := result[key].(map[string]any)
	if !ok {
		t.Fatalf("RESULT has no %s: %v", key, result)
	}
	r, _ := m["rows"].(float64)
	c, _ := m["cols"].(float64)
	if r < 1 || c < 1 {
		t.Fatalf("RESULT %s = %v: want positive rows and cols", key, m)
	}
	return int(r), int(c)
}

func TestBrowserDemo(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	result := runBrowser(t, node, "demo", tg.URL)
	rows, cols := resultSize(t, result, "size")
	rrows, rcols := resultSize(t, result, "resized")
	if rows == rrows || cols == rcols {
		t.Errorf("resizing the viewport changed the terminal from %dx%d to %dx%d: want both dimensions changed",
			cols, rows, rcols, rrows)
	}
}

func TestBrowserTelnetd(t *testing.T) {
	node := browserTools(t)
	host := startTelnetHost(t, "inetutils")
	cfg := writeConfig(t, e2eTarget{Name: "sh", Address: host.Addr, Description: "inetutils telnetd"})
	tg := startTelgate(t, 1, "-config", cfg)
	result := runBrowser(t, node, "telnetd", tg.URL,
		"TELGATE_WORKDIR="+host.Dir,
		"TELGATE_HOST_PGID="+strconv.Itoa(host.cmd.Process.Pid),
	)
	// What the shell wrote, checked here too against what the page said
	// its terminal's size was.
	rows, cols := resultSize(t, result, "size1")
	checkFile(t, filepath.Join(host.Dir, "size1.txt"), fmt.Sprintf("%d %d\nxterm-256color\n", rows, cols))
	rows2, cols2 := resultSize(t, result, "size2")
	checkFile(t, filepath.Join(host.Dir, "size2.txt"), fmt.Sprintf("%d %d\n", rows2, cols2))
	if rows == rows2 && cols == cols2 {
		t.Errorf("resizing the viewport left the terminal at %dx%d", cols, rows)
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the shell did not write %s: %v", filepath.Base(path), err)
	}
	if string(data) != want {
		t.Errorf("%s = %q, want %q", filepath.Base(path), data, want)
	}
}

// TestBrowserRefused: a second page turned away by the session limit,
// then by the connect rate, says which, with the retry time.
func TestBrowserRefused(t *testing.T) {
	node := browserTools(t)
	cfg := configFile(t, fmt.Sprintf("limits: {max_sessions: 1, connect_rate: 0.001, connect_burst: 2}\n"+
		"targets:\n  - {name: hold, address: %q}\n", holdingHost(t)))
	tg := startTelgate(t, 1, "-config", cfg)
	result := runBrowser(t, node, "refused", tg.URL)
	if full, _ := result["full"].(string); !strings.Contains(full, "the gateway is full") {
		t.Errorf("RESULT full = %q", full)
	}
	if limited, _ := result["limited"].(string); !strings.Contains(limited, "slow down (try again in") {
		t.Errorf("RESULT limited = %q", limited)
	}
}

// TestBrowserAdhoc: the picker's host field opens a host an ad-hoc rule
// allows, and a host it does not says why.
func TestBrowserAdhoc(t *testing.T) {
	node := browserTools(t)
	hold := holdingHost(t)
	_, port, err := net.SplitHostPort(hold)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configFile(t, fmt.Sprintf("targets:\n  - {name: hold, address: %q}\n"+
		"adhoc:\n  - {hosts: [127.0.0.1/32], ports: %q}\n", hold, port))
	tg := startTelgate(t, 1, "-config", cfg)
	result := runBrowser(t, node, "adhoc", tg.URL, "TELGATE_ADHOC_HOST="+hold)
	if shown, _ := result["shown"].(string); shown != hold {
		t.Errorf("RESULT shown = %q, want %q", shown, hold)
	}
}

// TestBrowserKeepalive: a gateway that stops answering (its process
// stopped: the connection stays open and silent, as over a link that
// died) is found lost by the page's keepalive, which says so and offers
// Reconnect.
func TestBrowserKeepalive(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	result := runBrowser(t, node, "keepalive", tg.URL, "TELGATE_PID="+strconv.Itoa(tg.cmd.Process.Pid))
	if status, _ := result["status"].(string); !strings.Contains(status, "no answer from the gateway") {
		t.Errorf("RESULT status = %q", status)
	}
}

// TestBrowserBasePath: the page works under a path prefix, whether
// telgate serves it there (-base-path) or a reverse proxy in front strips
// a prefix of its own, and asks for nothing outside it.
func TestBrowserBasePath(t *testing.T) {
	node := browserTools(t)
	based := startTelgate(t, 1, "-base-path", "/console")
	if !strings.HasSuffix(based.URL, "/console/") {
		t.Fatalf("telgate -base-path /console serves at %s: want the URL to end in /console/", based.URL)
	}
	plain := startTelgate(t, 1)
	upstream, err := url.Parse(plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	// As nginx's "location /tg/ { proxy_pass http://telgate/; }" does,
	// with the Host header kept, port and all (proxy_set_header Host
	// $http_host).
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(upstream)
		r.Out.Host = r.In.Host
	}}
	mux := http.NewServeMux()
	mux.Handle("/tg/", http.StripPrefix("/tg", proxy))
	front := httptest.NewServer(mux)
	t.Cleanup(front.Close)

	result := runBrowser(t, node, "prefixed", based.URL, "TELGATE_PROXY_URL="+front.URL+"/tg/")
	for _, name := range []string{"base", "proxied"} {
		if n, _ := result[name].(float64); n < 5 {
			t.Errorf("RESULT %s = %v requests: want the page, its assets, api/targets and ws", name, result[name])
		}
	}
}

// TestBrowserResume: a connection reset between the browser and telgate
// (as a network that fails resets it) is resumed: one session, which
// goes on where it was.
func TestBrowserResume(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	page, env := severedTelgate(t, tg)
	result := runBrowser(t, node, "resume", page, env...)
	if n, _ := result["received"].(float64); n <= 0 {
		t.Errorf("RESULT received = %v", result["received"])
	}
	waitFor(t, "the session resumed line", func() bool { return strings.Contains(tg.logs.String(), "session resumed") })
	if logs := tg.logs.String(); strings.Count(logs, "session start") != 1 {
		t.Errorf("%d session start lines, want 1 (the resume is the same session):\n%s", strings.Count(logs, "session start"), logs)
	}
}

// severedTelgate puts a severingProxy in front of tg, and returns the
// page's address through it and the environment that tells a scenario
// how to sever, stall and release it (TELGATE_SEVER_URL,
// TELGATE_STALL_URL, TELGATE_RELEASE_URL).
func severedTelgate(t *testing.T, tg *telgateProc) (page string, env []string) {
	t.Helper()
	upstream, err := url.Parse(tg.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startSeveringProxy(t, upstream.Host)
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/release":
			proxy.release()
			fmt.Fprint(w, "released")
			return
		case "/stall":
			proxy.stalled.Store(true)
			fmt.Fprint(w, "stalled")
			return
		}
		fmt.Fprintf(w, "%d connections reset", proxy.sever())
	}))
	t.Cleanup(control.Close)
	return "http://" + proxy.addr() + "/", []string{
		"TELGATE_SEVER_URL=" + control.URL + "/sever", "TELGATE_RELEASE_URL=" + control.URL + "/release",
		"TELGATE_STALL_URL=" + control.URL + "/stall"}
}

// severingProxy relays TCP connections to an address and resets them all
// on demand, as a failing network does; after that, new connections wait
// until it is released, as over a network that is not back yet. Stalled,
// it drops what the browser sends without a word, as a link that died
// does before anyone notices, until it is released.
type severingProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []*net.TCPConn
	gate    chan struct{} // closed while connections are relayed at once
	stalled atomic.Bool
}

func startSeveringProxy(t *testing.T, upstream string) *severingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &severingProxy{ln: ln, gate: make(chan struct{})}
	close(p.gate)
	t.Cleanup(func() {
		_ = ln.Close()
		p.release()
		p.sever()
		p.release()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			go func() {
				<-gate
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					_ = c.Close()
					return
				}
				p.mu.Lock()
				p.conns = append(p.conns, c.(*net.TCPConn), u.(*net.TCPConn))
				p.mu.Unlock()
				go func() {
					buf := make([]byte, 32<<10)
					for {
						n, err := c.Read(buf)
						if n > 0 && !p.stalled.Load() {
							if _, werr := u.Write(buf[:n]); werr != nil {
								break
							}
						}
						if err != nil {
							break
						}
					}
					_ = u.Close()
				}()
				go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
			}()
		}
	}()
	return p
}

// release lets new connections through again, and what they send.
func (p *severingProxy) release() {
	p.stalled.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

func (p *severingProxy) addr() string { return p.ln.Addr().String() }

// sever resets every connection relayed so far, both sides, holds new
// ones until release, and returns how many pairs there were.
func (p *severingProxy) sever() int {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default:
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.SetLinger(0)
		_ = c.Close()
	}
	return len(conns) / 2
}

// TestBrowserMacOptionMeta: on a Mac the page offers Option as Meta and
// remembers the choice.
func TestBrowserMacOptionMeta(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	if result := runBrowser(t, node, "mac", tg.URL); result["kept"] != true {
		t.Errorf("RESULT %v", result)
	}
}

// TestBrowserKeyBar: on a phone the key bar's keys reach a real shell
// byte for byte, in the cursor mode the host chose, and the bar can be
// hidden for good.
func TestBrowserKeyBar(t *testing.T) {
	node := browserTools(t)
	host := startTelnetHost(t, "inetutils")
	cfg := writeConfig(t, e2eTarget{Name: "sh", Address: host.Addr, Description: "inetutils telnetd"})
	tg := startTelgate(t, 1, "-config", cfg)
	runBrowser(t, node, "keys", tg.URL, "TELGATE_WORKDIR="+host.Dir)
	// What dd wrote, checked here too.
	checkFile(t, filepath.Join(host.Dir, "normal.bin"), "\x1b[A\x1b[H\x1b\x1bls\x18\t\x1b[6~\x03")
	checkFile(t, filepath.Join(host.Dir, "app.bin"), "\x1bOA\x1b[1;5C\x1bOF\x1bb\x1b[5;7~\x1b[1;5D")
}

// TestBrowserXmodem: Send file sends files to lrzsz's rx in a shell over
// inetutils telnetd, with CRCs and 1 KiB blocks and with checksums,
// with YMODEM (the name and size sent: no padding), and
// through a connection reset midway (the page resumes, and the transfer
// goes on); what rx wrote is the file, byte for byte, padded with SUB to
// its last (128-byte) block. A transfer cancelled midway stops rx.
func TestBrowserXmodem(t *testing.T) {
	node := browserTools(t)
	requireCommand(t, "rx", "lrzsz")
	host := startTelnetHost(t, "inetutils")
	cfg := writeConfig(t, e2eTarget{Name: "sh", Address: host.Addr, Description: "inetutils telnetd"})
	tg := startTelgate(t, 1, "-config", cfg)
	page, env := severedTelgate(t, tg)
	runBrowser(t, node, "xmodem", page, env...)
	for _, f := range []struct {
		name      string
		n         int
		seed      uint32
		lastBlock int
	}{{"crc.bin", 70003, 1, 128}, {"sum.bin", 1000, 2, 128}, {"severed.bin", 300000, 4, 128},
		{"named.bin", 5000, 5, 1},        // YMODEM: the size is sent, no padding
		{"fallback.bin", 3000, 6, 128}} { // YMODEM to rx: block 0 taken for a repeat, and padding
		got, err := os.ReadFile(filepath.Join(host.Dir, f.name))
		if err != nil {
			t.Errorf("rx wrote no %s: %v", f.name, err)
			continue
		}
		want := xmodemData(f.n, f.seed)
		padded := (f.n + f.lastBlock - 1) / f.lastBlock * f.lastBlock
		if len(got) != padded || !bytes.Equal(got[:f.n], want) || strings.Trim(string(got[f.n:]), "\x1a") != "" {
			t.Errorf("%s: rx wrote %d bytes, the file's %d bytes padded with SUB to %d wanted; first difference at %d",
				f.name, len(got), f.n, padded, firstDifference(got, want))
		}
	}
}

// TestXmodemSender runs e2e/xmodem.mjs: the page's XMODEM sender against
// scripted receivers that refuse blocks, fall silent, cancel, or print
// a "C" in a word, in node.
func TestXmodemSender(t *testing.T) {
	node := requireCommand(t, "node", "the Debian package nodejs")
	out, err := exec.Command(node, filepath.Join("e2e", "xmodem.mjs")).CombinedOutput()
	if err != nil {
		t.Fatalf("node e2e/xmodem.mjs: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "ok - "); n < 15 {
		t.Errorf("%d cases passed, want every one:\n%s", n, out)
	}
}

// xmodemData is the xmodem scenario's file (e2e/browser.mjs).
func xmodemData(n int, seed uint32) []byte {
	data := make([]byte, n)
	x := seed
	for i := range data {
		if i < 512 {
			data[i] = byte(i)
			continue
		}
		x = x*1664525 + 1013904223
		data[i] = byte(x >> 24)
	}
	return data
}

// firstDifference is the index of the first byte where a and b differ,
// or the shorter's length.
func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestBrowserClipboard: a shell's printf asks the terminal to copy (OSC
// 52); the page asks first, then copies; a request to read the clipboard
// is not answered.
func TestBrowserClipboard(t *testing.T) {
	node := browserTools(t)
	host := startTelnetHost(t, "inetutils")
	cfg := writeConfig(t, e2eTarget{Name: "sh", Address: host.Addr, Description: "inetutils telnetd"})
	tg := startTelgate(t, 1, "-config", cfg)
	if result := runBrowser(t, node, "clipboard", tg.URL); result["copied"] != "third" {
		t.Errorf("RESULT %v", result)
	}
}

// TestBrowserIdleWarning: the page warns of an idle timeout a second
// before it (a quarter of a 4-second limit), and a key keeps the session.
func TestBrowserIdleWarning(t *testing.T) {
	node := browserTools(t)
	host := promptHost(t)
	cfg := configFile(t, fmt.Sprintf("limits: {idle_timeout: 4s}\ntargets:\n  - {name: lab, address: %q}\n", host.Addr()))
	tg := startTelgate(t, 1, "-config", cfg)
	runBrowser(t, node, "idle", tg.URL)
}

// TestBrowserPasteGuard: a paste of several lines into the demo host
// asks first; one line goes at once.
func TestBrowserPasteGuard(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	if result := runBrowser(t, node, "paste", tg.URL); result["asked"] == nil {
		t.Errorf("RESULT %v", result)
	}
}

// TestBrowserTargetBannerAndColor: a target's banner and color show in
// the picker and on its page, and not on another target's.
func TestBrowserTargetBannerAndColor(t *testing.T) {
	node := browserTools(t)
	host := promptHost(t)
	cfg := configFile(t, fmt.Sprintf("targets:\n"+
		"  - {name: core, address: %[1]q, banner: \"Production: changes need a ticket\", color: \"#c0392b\"}\n"+
		"  - {name: lab, address: %[1]q}\n", host.Addr()))
	tg := startTelgate(t, 2, "-config", cfg)
	runBrowser(t, node, "marked", tg.URL)
}

// The Power button of a target with a power hook asks the power
// controller (an HTTP server here) once, after the user confirms.
func TestBrowserPower(t *testing.T) {
	node := browserTools(t)
	host := promptHost(t)
	var mu sync.Mutex
	var asked []string
	pdu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(pdu.Close)
	cfg := configFile(t, fmt.Sprintf("targets:\n"+
		"  - name: board\n    address: %q\n    power:\n      url: %s/outlets/7/cycle\n"+
		"      headers: {Authorization: \"Bearer pdu-token\"}\n      body: cycle\n", host.Addr(), pdu.URL))
	tg := startTelgate(t, 1, "-config", cfg)
	runBrowser(t, node, "power", tg.URL)
	mu.Lock()
	defer mu.Unlock()
	if want := "POST /outlets/7/cycle Bearer pdu-token cycle"; len(asked) != 1 || asked[0] != want {
		t.Errorf("the power controller was asked %q, want once %q", asked, want)
	}
	if !strings.Contains(tg.logs.String(), `"message":"power cycle done"`) {
		t.Errorf("no log line of the power cycle:\n%s", tg.logs.String())
	}
}

// A target's automatic login refused by inetutils-telnetd's real login
// (a wrong password): the page says so, and its user logs in by hand
// (see the login scenario).
func TestBrowserLoginFailed(t *testing.T) {
	node := browserTools(t)
	loginUser, password := addLoginUser(t)
	host := startTelnetHost(t, "login")
	cfg := configFile(t, fmt.Sprintf("targets:\n  - name: console\n    address: %q\n    login: {user: %s, password: not-the-password}\n",
		host.Addr, loginUser))
	tg := startTelgate(t, 1, "-config", cfg)
	runBrowser(t, node, "login", tg.URL, "TELGATE_LOGIN_USER="+loginUser, "TELGATE_LOGIN_PASSWORD="+password)
	if !strings.Contains(tg.logs.String(), `"message":"automatic login failed"`) {
		t.Errorf("no log line of the failed login:\n%s", tg.logs.String())
	}
}

// A session shared from one page is watched from another, read-only,
// until sharing stops (see the share scenario).
func TestBrowserShare(t *testing.T) {
	node := browserTools(t)
	tg := startTelgate(t, 1)
	result := runBrowser(t, node, "share", tg.URL)
	if link, _ := result["link"].(string); result["watched"] != true || !strings.HasPrefix(link, tg.URL+"?watch=") {
		t.Errorf("RESULT %v: want watched, by a link to this gateway's page", result)
	}
	count := func(msg string) int { return strings.Count(tg.logs.String(), `"message":"`+msg+`"`) }
	waitFor(t, "the viewer left line", func() bool { return count("viewer left") == 1 })
	for _, msg := range []string{"session shared", "viewer joined", "keyboard handed to viewer", "keyboard taken back from viewer",
		"viewer left", "session no longer shared"} {
		if n := count(msg); n != 1 {
			t.Errorf("%d %q lines in the log, want 1", n, msg)
		}
	}
}

// configFile writes a configuration file and returns its path.
func configFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "telgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// promptHost is a telnet host that prints a prompt and reads what comes.
func promptHost(t *testing.T) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
}

// holdingHost accepts TCP connections on loopback and holds them open,
// silent, until the test ends; it returns its address.
func holdingHost(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
