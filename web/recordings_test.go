package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"telgate/gateway"
	"telgate/telnet/telnettest"
)

// The recordings are listed and served to operators only, each one
// served logged with who asked; a name that is not a recording's is not
// found.
func TestRecordingRoutes(t *testing.T) {
	dir := t.TempDir()
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("recorded output\r\n")
		c.ExpectEOF()
	})
	f := newFixture(t, fixtureOpts{
		web: Options{Auth: Auth{Users: loadTestUsers(t), OperatorGroups: []string{"ops"}}},
		gateway: gateway.Options{Targets: []gateway.Target{{Name: "lab", Address: host.Addr(), Record: true}},
			Recording: gateway.RecordingConfig{Dir: dir}},
	})
	alice, carol := basicAuth("alice", "alice-secret"), basicAuth("carol", "carol-secret") // carol is in ops
	ws := f.open("target=lab", alice)
	// The host's output is in the recording once the browser has it.
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the host's output: %v", err)
		}
		if typ == websocket.BinaryMessage && strings.Contains(string(data), "recorded output") {
			break
		}
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	ws.Close()

	var list struct {
		Recordings []gateway.RecordingInfo `json:"recordings"`
	}
	waitFor(t, "the recording written out", func() bool {
		resp, body := f.get("/api/recordings", carol)
		return resp.StatusCode == http.StatusOK && json.Unmarshal([]byte(body), &list) == nil &&
			len(list.Recordings) == 1 && !list.Recordings[0].Recording
	})
	rec := list.Recordings[0]
	if rec.User != "alice" || rec.Target != "lab" {
		t.Errorf("listed %+v", rec)
	}
	resp, body := f.get("/api/recordings/"+rec.Name, carol)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-asciicast" ||
		!strings.HasPrefix(body, `{"version":2`) || !strings.Contains(body, "recorded output") {
		t.Errorf("the recording: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("played, not saved: Content-Disposition %q", resp.Header.Get("Content-Disposition"))
	}
	resp, _ = f.get("/api/recordings/"+rec.Name+"?download=1", carol)
	if want := `attachment; filename="` + rec.Name + `"`; resp.Header.Get("Content-Disposition") != want {
		t.Errorf("download: Content-Disposition %q, want %q", resp.Header.Get("Content-Disposition"), want)
	}
	if opened := regexp.MustCompile(`"user":"carol","remote":"127\.0\.0\.1:\d+","recording":"` + regexp.QuoteMeta(rec.Name) +
		`","download":false,"message":"recording opened"`); !opened.MatchString(f.logs.String()) {
		t.Errorf("no log line says carol opened the recording:\n%s", f.logs)
	}
	// A part of it, too, is logged, with the part.
	if resp, _ := f.get("/api/recordings/"+rec.Name, withHeader(carol, "Range", "bytes=1-")); resp.StatusCode != http.StatusPartialContent {
		t.Errorf("a range: %d, want 206", resp.StatusCode)
	}
	if !strings.Contains(f.logs.String(), `"download":false,"range":"bytes=1-","message":"recording opened"`) {
		t.Errorf("no log line of the range read:\n%s", f.logs)
	}
	for _, path := range []string{"/api/recordings", "/api/recordings/" + rec.Name} {
		if resp, body := f.get(path, alice); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "operators") {
			t.Errorf("alice, not an operator, at %s: %d %s", path, resp.StatusCode, body)
		}
	}
	for _, name := range []string{"..%2F..%2Fetc%2Fpasswd", "missing-20231114T221320Z-00000001.cast", "notes.txt"} {
		if resp, _ := f.get("/api/recordings/"+name, carol); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, resp.StatusCode)
		}
	}
	for user, want := range map[string]bool{"alice": false, "carol": true} {
		var targets struct {
			Recordings bool `json:"recordings"`
		}
		_, body := f.get("/api/targets", basicAuth(user, user+"-secret"))
		if json.Unmarshal([]byte(body), &targets) != nil || targets.Recordings != want {
			t.Errorf("/api/targets for %s: %s, want recordings %v", user, body, want)
		}
	}
}

// Without a recording directory, or without authentication, there are
// no recordings to serve.
func TestRecordingsNeedADirectoryAndAnOperator(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t), OperatorGroups: []string{"ops"}}}})
	if resp, _ := f.get("/api/recordings", basicAuth("carol", "carol-secret")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("no recording.dir: %d, want 404", resp.StatusCode)
	}
	f = newFixture(t, fixtureOpts{gateway: gateway.Options{Recording: gateway.RecordingConfig{Dir: t.TempDir()}}})
	if resp, _ := f.get("/api/recordings", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no authentication: %d, want 403", resp.StatusCode)
	}
}
