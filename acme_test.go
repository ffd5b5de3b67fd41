package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// acmeName is the name telgate gets its certificate for in
// TestACMECertificate; Pebble's DNS server answers it with 127.0.0.1.
const acmeName = "console.telgate.test"

// telgate gets its certificate from Pebble, a real ACME server (RFC
// 8555), which checks with the TLS-ALPN-01 challenge on telgate's own
// listener that telgate answers for the name; browsers then get a
// certificate of Pebble's for it. A restart takes the certificate from
// the cache, with Pebble gone.
func TestACMECertificate(t *testing.T) {
	pebble := requireCommand(t, "pebble", "the Debian package pebble")
	challtest := requireCommand(t, "pebble-challtestsrv", "the Debian package pebble")
	ports := make([]int, 5)
	for i := range ports {
		p, err := e2eFreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	dnsPort, dnsAdmin, acmePort, acmeAdmin, tgPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	local := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

	// Pebble's DNS answers every name with 127.0.0.1 (and no IPv6).
	startDaemon(t, challtest, nil, "-dns01", local(dnsPort), "-management", local(dnsAdmin),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	dir := t.TempDir()
	certPEM, keyPEM, pool := accessCert(t) // Pebble's own HTTPS, for 127.0.0.1
	files := map[string]string{"pebble-cert.pem": certPEM, "pebble-key.pem": keyPEM,
		"pebble.json": fmt.Sprintf(`{"pebble": {"listenAddress": %q, "managementListenAddress": %q,
			"certificate": %q, "privateKey": %q,
			"httpPort": %d, "tlsPort": %d, "ocspResponderURL": "", "externalAccountBindingRequired": false}}`,
			local(acmePort), local(acmeAdmin), filepath.Join(dir, "pebble-cert.pem"), filepath.Join(dir, "pebble-key.pem"), dnsAdmin, tgPort),
		"telgate.yaml": fmt.Sprintf("tls:\n  acme:\n    domains: [%s]\n    email: ops@telgate.test\n"+
			"    directory: https://%s/dir\n    cache: acme-cache\n    ca: pebble-cert.pem\ntargets:\n  - {name: lab, address: %q}\n",
			acmeName, local(acmePort), promptHost(t).Addr()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// No random waits before validations, no nonces refused at random.
	pebbleEnv := []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}
	stopPebble := startDaemon(t, pebble, pebbleEnv, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", local(dnsPort))
	adminClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: defaultTimeout}
	var roots []byte
	if !pollUntil(startTimeout, func() bool {
		resp, err := adminClient.Get("https://" + local(acmeAdmin) + "/roots/0")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		roots, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK
	}) {
		t.Fatal("Pebble did not give its root certificate")
	}
	issuers := x509.NewCertPool()
	if !issuers.AppendCertsFromPEM(roots) {
		t.Fatalf("Pebble's root is not PEM: %q", roots)
	}

	config := filepath.Join(dir, "telgate.yaml")
	check := func(tg *telgateProc, when string) {
		t.Helper()
		waitFor(t, "the certificate", func() bool { return strings.Contains(tg.logs.String(), "tls: acme: certificate ready") })
		browser := &http.Client{Timeout: defaultTimeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: issuers, ServerName: acmeName},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, local(tgPort))
			},
		}}
		resp, err := browser.Get("https://" + acmeName + ":" + strconv.Itoa(tgPort) + "/")
		if err != nil {
			t.Fatalf("%s: the page over the ACME certificate: %v\n%s", when, err, tg.logs.String())
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "telgate") {
			t.Errorf("%s: %s %q", when, resp.Status, page)
		}
		// A probe by IP address names no server: it gets the first name's.
		if conn, err := tls.Dial("tcp", local(tgPort), &tls.Config{RootCAs: issuers, InsecureSkipVerify: true}); err != nil {
			t.Errorf("%s: a client without SNI: %v", when, err)
		} else {
			if names := conn.ConnectionState().PeerCertificates[0].DNSNames; len(names) != 1 || names[0] != acmeName {
				t.Errorf("%s: a client without SNI got a certificate for %v", when, names)
			}
			conn.Close()
		}
		leaf := resp.TLS.PeerCertificates[0]
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != acmeName || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
			t.Errorf("%s: certificate for %v from %q, want %s from Pebble", when, leaf.DNSNames, leaf.Issuer.CommonName, acmeName)
		}
	}
	// On the port Pebble validates on.
	tg := startTelgate(t, 1, "-config", config, "-listen", local(tgPort))
	check(tg, "issued")
	tg.stop(t)

	stopPebble()
	tg = startTelgate(t, 1, "-config", config, "-listen", local(tgPort))
	check(tg, "from the cache")
}

// startDaemon runs a helper program until the test ends; the function
// returned stops it sooner.
func startDaemon(t *testing.T, path string, env []string, args ...string) (stop func()) {
	t.Helper()
	out := &e2eBuffer{}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), out.String())
		}
	})
	return stop
}
