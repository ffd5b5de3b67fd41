package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"telgate/telnet/telnettest"
)

// The service unit in deploy/ is one systemd takes, sandboxes telgate
// well by systemd's own measure, and is one telgate runs in: every
// system call the binary makes while it serves (sessions, sharing and the
// keyboard handed over, recordings, the HTTP routes, a reload, a stop)
// and while it checks the configuration (the unit's ExecReload) is
// one the unit's system call filter allows, and every socket it opens is
// of a family the unit allows. (No systemd runs here as the init
// process, so the unit itself is checked by systemd-analyze, and the
// binary under strace.)
func TestServiceUnit(t *testing.T) {
	analyze := requireCommand(t, "systemd-analyze", "systemd")
	strace := requireCommand(t, "strace", "strace")
	unit, err := os.ReadFile(filepath.Join("deploy", "telgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	bin := telgateBinary(t)
	// The unit as installed, but for where the binary is.
	installed := filepath.Join(t.TempDir(), "telgate.service")
	if err := os.WriteFile(installed, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/telgate", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", installed).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Exposure is scored 0 (sandboxed) to 10 (not at all), "OK" up to
	// 2.0; the threshold is in tenths.
	security := func(unit string) string {
		t.Helper()
		out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", "--no-pager", unit).CombinedOutput()
		score := regexp.MustCompile(`Overall exposure level for [a-z0-9]+\.service: ([0-9.]+) (\w+)`).FindSubmatch(out)
		if err != nil || score == nil || string(score[2]) != "OK" {
			t.Errorf("systemd-analyze security %s: %v; exposure %q, want OK (at most 2.0)\n%s", unit, err, score, out)
		} else {
			t.Logf("%s: exposure level %s %s", filepath.Base(unit), score[1], score[2])
		}
		return string(out)
	}
	const bind = "CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)"
	if out := security(installed); !strings.Contains(out, "\u2713 "+bind) {
		t.Errorf("the unit can bind ports below 1024:\n%s", out)
	}
	// Its instructions for port 443 work: the two lines uncommented.
	on443 := filepath.Join(t.TempDir(), "telgate443.service")
	text := strings.ReplaceAll(string(unit), "# AmbientCapabilities=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE")
	text = strings.ReplaceAll(text, "# CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE")
	if err := os.WriteFile(on443, []byte(strings.ReplaceAll(text, "/usr/local/bin/telgate", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := security(on443); !strings.Contains(out, "\u2717 "+bind) {
		t.Errorf("with its CAP_NET_BIND_SERVICE lines uncommented, the unit still cannot bind port 443:\n%s", out)
	}

	allowed, families := unitSandbox(t, analyze, string(unit))
	trace := filepath.Join(t.TempDir(), "strace.log")
	calls, sockets := traceServing(t, strace, bin, trace)
	var refused []string
	for _, c := range calls {
		if !allowed[c] {
			refused = append(refused, c)
		}
	}
	if len(refused) > 0 {
		t.Errorf("telgate made system calls the unit's filter refuses: %v", refused)
	}
	for _, f := range sockets {
		if !slices.Contains(families, f) {
			t.Errorf("telgate opened an %s socket; the unit allows %v", f, families)
		}
	}
	if len(calls) < 30 || !slices.Contains(sockets, "AF_INET") {
		t.Errorf("the trace holds %d system calls and sockets %v: did strace see telgate serve?", len(calls), sockets)
	}
	t.Logf("%d system calls, sockets %v", len(calls), sockets)
}

// unitSandbox returns the system calls the unit's SystemCallFilter lines
// allow (a list, then ~lists taken from it; groups expanded by
// systemd-analyze) and the families of RestrictAddressFamilies.
func unitSandbox(t *testing.T, analyze, unit string) (map[string]bool, []string) {
	t.Helper()
	allowed := map[string]bool{}
	var families []string
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case key == "SystemCallFilter":
			deny := strings.HasPrefix(value, "~")
			for _, name := range strings.Fields(strings.TrimPrefix(value, "~")) {
				for _, c := range syscallGroup(t, analyze, name, map[string]bool{}) {
					allowed[c] = !deny
				}
			}
		case key == "RestrictAddressFamilies":
			families = append(families, strings.Fields(value)...)
		}
	}
	if len(allowed) == 0 || len(families) == 0 {
		t.Fatal("the unit has no SystemCallFilter or no RestrictAddressFamilies")
	}
	return allowed, families
}

// syscallGroup expands a system call or @group, with its nested groups.
func syscallGroup(t *testing.T, analyze, name string, seen map[string]bool) []string {
	if !strings.HasPrefix(name, "@") {
		return []string{name}
	}
	if seen[name] {
		return nil
	}
	seen[name] = true
	out, err := exec.Command(analyze, "syscall-filter", "--no-pager", name).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", name, err)
	}
	var calls []string
	for i, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if i == 0 || line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		calls = append(calls, syscallGroup(t, analyze, line, seen)...)
	}
	return calls
}

// traceServing runs telgate under strace while it serves: a session,
// shared, a viewer handed the keyboard, a recording, the HTTP routes,
// then SIGHUP and SIGTERM. It returns the system calls made and the
// families of the sockets opened, each once, sorted.
func traceServing(t *testing.T, strace, bin, trace string) (calls, families []string) {
	heard := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		c.ExpectData("typed\r")
		c.ExpectData("from the viewer\r")
		close(heard)
		_, _ = io.Copy(io.Discard, c.NetConn())
	})
	_, port, _ := net.SplitHostPort(promptHost(t).Addr())
	dir := t.TempDir()
	config := configFile(t, "targets:\n  - {name: lab, address: \""+host.Addr()+"\", record: true}\n"+
		"  - {name: named, address: \"localhost:"+port+"\"}\n"+
		"recording: {dir: "+dir+", input: true}\n"+
		"adhoc:\n  - {hosts: [192.0.2.0/24], ports: \"23\"}\n")
	p := startTelgateUnder(t, []string{strace, "-f", "-qq", "-o", trace, "--"}, 2, "-config", config)

	// A host by name: the resolver's way, whichever it is here.
	named := dialTerm(t, p, url.Values{"target": {"named"}, "cols": {"80"}, "rows": {"24"}, "term": {"xterm"}})
	named.expectString("$ ", defaultTimeout)

	owner := dialTerm(t, p, url.Values{"target": {"lab"}, "cols": {"80"}, "rows": {"24"}, "term": {"xterm"}, "resumable": {"1"}})
	owner.expectString("$ ", defaultTimeout)
	owner.send("typed\r")
	owner.resize(100, 30)
	owner.control(map[string]string{"type": "share"})
	token, _ := waitStatus(t, owner, "shared")["watch"].(string)
	viewer := dialTerm(t, p, url.Values{"watch": {token}})
	waitStatus(t, viewer, "watching")
	waitStatus(t, owner, "viewers")
	owner.control(map[string]any{"type": "hand-over", "viewer": 1})
	waitStatus(t, viewer, "typing")
	viewer.send("from the viewer\r")
	select {
	case <-heard:
	case <-time.After(defaultTimeout):
		t.Fatal("the host did not get the viewer's line")
	}
	for _, route := range []string{"", "api/targets", "healthz", "metrics", "static/app.js", "api/check?host=192.0.2.1:23"} {
		resp, err := http.Get(p.URL + route)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s: %s", route, resp.Status)
		}
	}
	// SIGHUP and SIGTERM go to telgate, strace's child: strace ends as
	// it does, with its status.
	reloads := strings.Count(p.logs.String(), "configuration reloaded")
	pid, err := p.pid()
	if err == nil {
		err = syscall.Kill(pid, syscall.SIGHUP)
	}
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return strings.Count(p.logs.String(), "configuration reloaded") > reloads })
	p.stop(t)
	// The unit's ExecReload checks the file first, in the same sandbox.
	checkTrace := trace + ".check"
	if out, err := exec.Command(strace, "-f", "-qq", "-o", checkTrace, "--", bin, "-check-config", "-config", config).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), ": ok: 2 target(s)") {
		t.Errorf("telgate -check-config under strace: %v\n%s", err, out)
	}

	call := regexp.MustCompile(`(?m)^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)\(`)
	socket := regexp.MustCompile(`(?m)^\d+\s+socket(?:pair)?\(([^,]*)`)
	for _, file := range []string{trace, checkTrace} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllSubmatch(data, -1) {
			calls = append(calls, string(m[1]))
		}
		for _, m := range socket.FindAllSubmatch(data, -1) {
			families = append(families, string(m[1]))
		}
	}
	slices.Sort(calls)
	slices.Sort(families)
	return slices.Compact(calls), slices.Compact(families)
}

// waitStatus waits for the first status message of type typ and returns
// it.
func waitStatus(t *testing.T, c *wsTerm, typ string) map[string]any {
	t.Helper()
	var found map[string]any
	if !c.waitUntil(defaultTimeout, func() bool {
		for _, st := range c.status {
			if st["type"] == typ {
				found = st
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no %q status message; got %v", typ, c.status)
	}
	return found
}
