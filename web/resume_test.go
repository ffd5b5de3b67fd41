package web

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// connectedStatus reads until the gateway's "connected" status and
// returns it.
func connectedStatus(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	defer func() { _ = ws.SetReadDeadline(time.Time{}) }()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for connected: %v", err)
		}
		var m map[string]any
		if typ == websocket.TextMessage && json.Unmarshal(data, &m) == nil && m["type"] == "connected" {
			return m
		}
	}
}

// A session opened with ?resumable=1 is resumed at /ws?resume=, by its
// user only, and /api/check says why a resume would be refused.
func TestResumeRoute(t *testing.T) {
	f := basicFixture(t)
	alice := basicAuth("alice", "alice-secret")
	ws, resp, body, err := f.dial("target=public&resumable=1", alice)
	if err != nil {
		t.Fatalf("dial: %v %v %s", err, resp, body)
	}
	token, _ := connectedStatus(t, ws)["resume"].(string)
	if token == "" {
		t.Fatal("no resume token")
	}
	for _, tc := range []struct {
		name, query string
		hdr         http.Header
		code        int
		want        string
	}{
		{"no token", "resume=&received=0", alice, http.StatusBadRequest, "resume: bad token"},
		{"bad count", "resume=" + token + "&received=-1", alice, http.StatusBadRequest, "received: want the count"},
		{"unknown token", "resume=AAAAAAAAAAAAAAAAAAAAAA&received=0", alice, http.StatusNotFound, "no such session"},
		{"another user", "resume=" + token + "&received=0", basicAuth("bob", "bob-secret"), http.StatusForbidden, "another user's"},
	} {
		_, resp, body, err := f.dial(tc.query, tc.hdr)
		expectRefused(t, tc.name, resp, body, err, tc.code, tc.want)
		if resp, body := f.get("/api/check?"+tc.query, tc.hdr); resp.StatusCode != tc.code {
			t.Errorf("%s: /api/check %d %s, want %d", tc.name, resp.StatusCode, body, tc.code)
		}
	}
	if resp, body := f.get("/api/check?resume="+token+"&received=0", alice); resp.StatusCode != http.StatusOK {
		t.Errorf("/api/check of alice's resume: %d %s", resp.StatusCode, body)
	}
	// Alice's own resume takes the session over.
	ws2, resp, body, err := f.dial("resume="+token+"&received=0", alice)
	if err != nil {
		t.Fatalf("resume: %v %v %s", err, resp, body)
	}
	_ = ws2.SetReadDeadline(time.Now().Add(waitLimit))
	var m map[string]any
	if err := ws2.ReadJSON(&m); err != nil || m["type"] != "resumed" {
		t.Errorf("resume answered %v, %v; want resumed", m, err)
	}
}
