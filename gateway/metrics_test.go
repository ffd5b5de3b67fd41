package gateway

import (
	"bufio"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// scrape reads the gateway's metrics as "name{labels}" -> value.
func scrape(t *testing.T, g *Gateway) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	g.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: HTTP %d", rec.Code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func checkMetrics(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// negotiatingHost enables NAWS on our side and ECHO on its own, then
// echoes what it reads once.
func negotiatingHost(t *testing.T) *telnettest.Server {
	return telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.NAWS)
		c.ExpectNegotiation(telnet.WILL, telnet.NAWS)
		c.ExpectSubnegotiation(telnet.NAWS)
		c.Negotiate(telnet.WILL, telnet.ECHO)
		c.ExpectNegotiation(telnet.DO, telnet.ECHO)
		c.SendString("$ ")
		c.ExpectData("abc")
		c.SendString("abc")
		c.ExpectEOF()
	})
}

func TestMetricsAfterSomeSessions(t *testing.T) {
	host := negotiatingHost(t)
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "lab", Address: host.Addr()}, {Name: "dead", Address: closedPort(t)}},
		Limits:  Limits{ConnectRate: 0.001, ConnectBurst: 5},
	})
	b := tg.open("target=lab&client=192.0.2.1")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	b.Input("abc")
	b.WaitOutput([]byte("$ abc"))
	checkMetrics(t, scrape(t, tg.gw), map[string]float64{"telgate_sessions_active": 1})
	_ = b.Conn.Close()
	tg.waitIdle()

	tg.open("target=dead&client=192.0.2.1").ExpectClosed(ReasonRefused)
	tg.waitIdle()
	for i := 0; i < 3; i++ {
		tk, err := tg.gw.Admit("192.0.2.1", "")
		if err != nil {
			t.Fatal(err)
		}
		tk.Release()
	}
	if _, err := tg.gw.Admit("192.0.2.1", ""); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("sixth admission: %v", err)
	}

	got := scrape(t, tg.gw)
	checkMetrics(t, got, map[string]float64{
		"telgate_sessions_active":                                      0,
		`telgate_sessions_closed_total{reason="browser_closed"}`:       1,
		`telgate_sessions_closed_total{reason="dial_refused"}`:         1,
		`telgate_sessions_closed_total{reason="other"}`:                0,
		`telgate_dial_errors_total{reason="refused"}`:                  1,
		`telgate_dial_errors_total{reason="timeout"}`:                  0,
		"telgate_dial_duration_seconds_count":                          1,
		`telgate_bytes_total{direction="to_host"}`:                     3,
		`telgate_bytes_total{direction="to_browser"}`:                  5,
		`telgate_options_enabled_total{option="NAWS",side="local"}`:    1,
		`telgate_options_enabled_total{option="ECHO",side="remote"}`:   1,
		`telgate_options_enabled_total{option="TTYPE",side="local"}`:   0,
		`telgate_options_enabled_total{option="BINARY",side="remote"}`: 0,
		`telgate_admission_refused_total{limit="rate"}`:                1,
		`telgate_admission_refused_total{limit="client"}`:              0,
		`telgate_recordings_total{result="started"}`:                   0,
	})
	// The label sets are bounded and fixed.
	reasons, options := 0, 0
	for k := range got {
		switch {
		case strings.HasPrefix(k, "telgate_sessions_closed_total{"):
			reasons++
		case strings.HasPrefix(k, "telgate_options_enabled_total{"):
			options++
		}
	}
	if reasons != 21 || options != 8 { // COM-PORT-OPTION's, local, for serial targets, among the options
		t.Errorf("%d close reason series, %d option series; want 21 and 8", reasons, options)
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	// Each gateway counts for itself.
	other := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	checkMetrics(t, scrape(t, other.gw), map[string]float64{
		`telgate_sessions_closed_total{reason="browser_closed"}`: 0,
		`telgate_bytes_total{direction="to_browser"}`:            0,
	})
}

func TestReasonLabelsAreBounded(t *testing.T) {
	for _, r := range []string{ReasonHostClosed, ReasonIdle, ReasonRefused, ReasonNetUnreach} {
		if reasonLabel(r) == "other" {
			t.Errorf("%q has no label", r)
		}
	}
	if reasonLabel("connection to 10.1.2.3 failed: something new") != "other" {
		t.Error("a free-form reason became a label")
	}
}

// The session log says who, where, how much, how long and why; never
// what was typed.
func TestAuditLog(t *testing.T) {
	const secret = "s3cret-Passw0rd"
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("Password: ")
		c.ExpectData(secret + "\r")
		c.SendString("\r\nok\r\n")
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: host.Addr()}}})
	b := tg.open("target=lab&user=alice")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("Password: "))
	b.Input(secret + "\r")
	b.ExpectClosed(ReasonHostClosed)
	tg.waitIdle()
	start, end := tg.log.entries("session start"), tg.log.entries("session end")
	if len(start) != 1 || len(end) != 1 {
		t.Fatalf("log:\n%s", tg.log)
	}
	e := end[0]
	if e["user"] != "alice" || e["target"] != "lab" || e["address"] != host.Addr() ||
		!strings.HasPrefix(e["remote"].(string), "127.0.0.1:") || e["bytes_in"] != float64(len(secret)+1) ||
		e["bytes_out"] != float64(len("Password: \r\nok\r\n")) || e["reason"] != ReasonHostClosed || e["duration"] == nil {
		t.Errorf("session end %v", e)
	}
	if strings.Contains(tg.log.String(), secret) {
		t.Errorf("the log holds what was typed:\n%s", tg.log)
	}
}
