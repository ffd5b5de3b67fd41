package web

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// nextStatus reads until a status message of type typ and returns it.
func nextStatus(t *testing.T, ws *websocket.Conn, typ string) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitLimit))
	defer func() { _ = ws.SetReadDeadline(time.Time{}) }()
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m map[string]any
		if mt == websocket.TextMessage && json.Unmarshal(data, &m) == nil && m["type"] == typ {
			return m
		}
	}
}

// A shared session is watched at /ws?watch=, by users who may open its
// target, and /api/check says why a watch would be refused.
func TestWatchRoute(t *testing.T) {
	f := basicFixture(t)
	alice := basicAuth("alice", "alice-secret")
	ws := f.open("target=lab", alice)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"share"}`)); err != nil {
		t.Fatal(err)
	}
	token, _ := nextStatus(t, ws, "shared")["watch"].(string)
	if token == "" {
		t.Fatal("no watch token")
	}
	for _, tc := range []struct {
		name, query string
		hdr         http.Header
		code        int
		want        string
	}{
		{"no token", "watch=", alice, http.StatusBadRequest, "watch: bad token"},
		{"unknown token", "watch=AAAAAAAAAAAAAAAAAAAAAA", alice, http.StatusNotFound, "no such shared session"},
		// lab is open to netops, which bob is not in.
		{"a user who may not open the target", "watch=" + token, basicAuth("bob", "bob-secret"), http.StatusForbidden, "may not open"},
		{"no credentials", "watch=" + token, nil, http.StatusUnauthorized, ""},
	} {
		_, resp, body, err := f.dial(tc.query, tc.hdr)
		expectRefused(t, tc.name, resp, body, err, tc.code, tc.want)
		if resp, body := f.get("/api/check?"+tc.query, tc.hdr); resp.StatusCode != tc.code {
			t.Errorf("%s: /api/check %d %s, want %d", tc.name, resp.StatusCode, body, tc.code)
		}
	}
	carol := basicAuth("carol", "carol-secret") // in netops
	if resp, body := f.get("/api/check?watch="+token, carol); resp.StatusCode != http.StatusOK {
		t.Errorf("/api/check of carol's watch: %d %s", resp.StatusCode, body)
	}
	v, resp, body, err := f.dial("watch="+token, carol)
	if err != nil {
		t.Fatalf("watch: %v %v %s", err, resp, body)
	}
	if st := nextStatus(t, v, "watching"); st["user"] != "alice" || st["target"] != "lab" {
		t.Errorf("watching %v: want alice's session on lab", st)
	}
	if st := nextStatus(t, ws, "viewers"); st["users"] == nil || len(st["users"].([]any)) != 1 || st["users"].([]any)[0] != "carol" {
		t.Errorf("viewers %v, want carol", st)
	}
}
