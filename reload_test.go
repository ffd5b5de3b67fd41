package main

import (
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// targetNames asks a running telgate for its targets.
func targetNames(t *testing.T, tg *telgateProc) []string {
	t.Helper()
	resp, err := http.Get(tg.URL + "api/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Targets []struct{ Name string } `json:"targets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tgt := range list.Targets {
		names = append(names, tgt.Name)
	}
	return names
}

// SIGHUP reloads the configuration file's targets while a session runs
// on; a file that does not load changes nothing and the log says why; a
// section that takes a restart is named.
func TestSIGHUPReloadsTargets(t *testing.T) {
	host := startTelnetHost(t, "inetutils")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "telgate.yaml")
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("targets:\n  - {name: one, address: %q}\n", host.Addr))
	tg := startTelgate(t, 1, "-config", cfg)
	c := dialTerm(t, tg, sessionQuery("one", 80, 24, "xterm-256color"))
	c.expectConnected("one")

	hup := func(want string) {
		t.Helper()
		before := strings.Count(tg.logs.String(), want)
		if err := tg.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the log line "+want, func() bool { return strings.Count(tg.logs.String(), want) > before })
	}
	write(fmt.Sprintf("limits: {max_sessions: 5}\ntargets:\n  - {name: one, address: %q}\n  - {name: two, address: %q}\n", host.Addr, host.Addr))
	hup("configuration reloaded")
	if got := strings.Join(targetNames(t, tg), ","); got != "one,two" {
		t.Errorf("targets after the reload: %s, want one,two", got)
	}
	if !strings.Contains(tg.logs.String(), `"changed":["limits"]`) {
		t.Errorf("the log does not name limits as taking a restart:\n%s", tg.logs.String())
	}
	// The session opened before goes on.
	c.line("echo STILL-$((40+2))")
	c.expect(`\nSTILL-42\n`, defaultTimeout)

	write("targets:\n  - {name: one, address: 'bad:address:here'}\n")
	hup("configuration not reloaded")
	if got := strings.Join(targetNames(t, tg), ","); got != "one,two" {
		t.Errorf("targets after a bad file: %s, want them as they were", got)
	}
	if !strings.Contains(tg.logs.String(), `bad address`) {
		t.Errorf("the log does not say why the file was refused:\n%s", tg.logs.String())
	}
}

// SIGHUP applies the operators: a user made one is one from the next
// request, by name or by group, one no longer named is not, and the log
// names no section as taking a restart.
func TestSIGHUPReloadsOperators(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(accessUsers(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "telgate.yaml")
	host := holdingHost(t)
	write := func(operators string) {
		t.Helper()
		yaml := fmt.Sprintf("auth: {users_file: users.yaml, %s}\ntargets:\n  - {name: lab, address: %q}\n", operators, host)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("operator_users: [bob]")
	tg := startTelgate(t, 1, "-config", cfg)
	operator := func(user string) bool {
		t.Helper()
		req, _ := http.NewRequest("GET", tg.URL+"api/sessions", nil)
		req.SetBasicAuth(user, user+"-pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct{ Operator bool }
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatalf("/api/sessions: %d: %v", resp.StatusCode, err)
		}
		return list.Operator
	}
	reloads := 0
	hup := func() {
		t.Helper()
		if err := tg.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		reloads++
		waitFor(t, "the reload", func() bool {
			return strings.Count(tg.logs.String(), `"message":"configuration reloaded"`) == reloads
		})
	}
	if operator("alice") || !operator("bob") {
		t.Fatal("before the reload, bob should be the operator, alice not")
	}
	write("operator_users: [alice]")
	hup()
	if !operator("alice") || operator("bob") {
		t.Error("after the reload, alice should be the operator, bob no longer")
	}
	write("operator_groups: [netops]") // alice's group
	hup()
	if !operator("alice") || operator("bob") {
		t.Error("after the second reload, alice should be an operator by her group, bob not")
	}
	if strings.Contains(tg.logs.String(), "take a restart") {
		t.Errorf("the log names a section as taking a restart:\n%s", tg.logs.String())
	}
}

// SIGHUP reads the client certificates' revocation list again: a
// certificate revoked since is refused from the next request, one no
// longer listed is let in, a list from another authority changes
// nothing, and one past its next update is used with a warning.
func TestSIGHUPReloadsClientRevocations(t *testing.T) {
	certPEM, keyPEM, pool := accessCert(t)
	pki := accessClientCerts(t, pkix.Name{CommonName: "alice"}, pkix.Name{CommonName: "bob"})
	dir := accessFiles(t, map[string]string{
		"cert.pem": certPEM, "key.pem": keyPEM, "clients-ca.pem": pki.caPEM,
		"revoked.pem": pki.revocationList(t, 1, time.Now().Add(time.Hour), 1),
		"telgate.yaml": fmt.Sprintf("tls: {cert: cert.pem, key: key.pem}\n"+
			"auth: {client_ca: clients-ca.pem, client_crl: revoked.pem}\ntargets:\n  - {name: lab, address: %q}\n", holdingHost(t)),
	})
	tg := startTelgate(t, 1, "-config", filepath.Join(dir, "telgate.yaml"))
	status := func(i int) (int, string) {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.tlsConfig(t, pool, i)}}
		defer client.CloseIdleConnections()
		resp, body := accessGet(t, client, tg.URL+"api/targets", "", "")
		return resp.StatusCode, body
	}
	expect := func(when string, alice, bob int) {
		t.Helper()
		for i, want := range []int{alice, bob} {
			code, body := status(i)
			if code != want {
				t.Errorf("%s: %s gets %d %s, want %d", when, []string{"alice", "bob"}[i], code, body, want)
			}
			if code == http.StatusForbidden && !strings.Contains(body, "it has been revoked") {
				t.Errorf("%s: the refusal says %s, want that it has been revoked", when, body)
			}
		}
	}
	expect("bob revoked", http.StatusOK, http.StatusForbidden)

	hup := func(file, want string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "revoked.pem"), []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		before := strings.Count(tg.logs.String(), want)
		if err := tg.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the log line "+want, func() bool { return strings.Count(tg.logs.String(), want) > before })
	}
	hup(pki.revocationList(t, 2, time.Now().Add(time.Hour), 0), "configuration reloaded")
	expect("alice revoked instead", http.StatusForbidden, http.StatusOK)
	if strings.Contains(tg.logs.String(), `"changed"`) {
		t.Errorf("a new revocation list is named as taking a restart:\n%s", tg.logs.String())
	}

	other := accessClientCerts(t, pkix.Name{CommonName: "mallory"})
	hup(other.revocationList(t, 1, time.Now().Add(time.Hour)), "configuration not reloaded")
	expect("after another authority's list", http.StatusForbidden, http.StatusOK)
	if !strings.Contains(tg.logs.String(), "is not signed by an authority of client_ca") {
		t.Errorf("the log does not say why the list was refused:\n%s", tg.logs.String())
	}

	hup(pki.revocationList(t, 3, time.Now().Add(-time.Minute), 1), "is past its next update")
	expect("bob revoked by a stale list", http.StatusOK, http.StatusForbidden)
	if !strings.Contains(tg.logs.String(), `"revocation_lists":1,"revoked":1,`) {
		t.Errorf("the reload does not count the lists and the certificates revoked:\n%s", tg.logs.String())
	}

	// The list taken out of the configuration: everyone is let in, and
	// the log says so.
	if err := os.WriteFile(filepath.Join(dir, "telgate.yaml"), []byte(fmt.Sprintf("tls: {cert: cert.pem, key: key.pem}\n"+
		"auth: {client_ca: clients-ca.pem}\ntargets:\n  - {name: lab, address: %q}\n", holdingHost(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	hup(pki.revocationList(t, 4, time.Now().Add(time.Hour), 0, 1), "no client_crl any more")
	expect("without a list", http.StatusOK, http.StatusOK)
}
