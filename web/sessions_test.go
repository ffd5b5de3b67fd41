package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"telgate/gateway"
)

// sessionList fetches /api/sessions as hdr's user.
func (f *fixture) sessionList(hdr http.Header) (operator bool, sessions []gateway.SessionInfo) {
	f.t.Helper()
	resp, body := f.get("/api/sessions", hdr)
	var list struct {
		Operator bool                  `json:"operator"`
		Sessions []gateway.SessionInfo `json:"sessions"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
		f.t.Fatalf("/api/sessions: %d %s", resp.StatusCode, body)
	}
	return list.Operator, list.Sessions
}

// withHeader returns hdr with one more header.
func withHeader(hdr http.Header, key, value string) http.Header {
	out := hdr.Clone()
	out.Set(key, value)
	return out
}

// /api/sessions lists a user's own sessions, and an operator's every
// one; POST /api/sessions/ID/end ends one of them, from the page's own
// origin only.
func TestSessionListRoutes(t *testing.T) {
	f := newFixture(t, fixtureOpts{web: Options{Auth: Auth{Users: loadTestUsers(t), OperatorGroups: []string{"ops"}}}})
	alice, bob, carol := basicAuth("alice", "alice-secret"), basicAuth("bob", "bob-secret"), basicAuth("carol", "carol-secret")
	f.open("target=public", alice)
	bobs := f.open("target=public", bob)

	op, own := f.sessionList(alice)
	// Addresses never leave the server but for operators.
	if op || len(own) != 1 || own[0].User != "alice" || own[0].Target != "public" || own[0].Address != "" {
		t.Fatalf("alice's list: operator %v, %+v; want her one session, without its address", op, own)
	}
	op, all := f.sessionList(carol) // in ops
	if !op || len(all) != 2 || all[0].Address == "" {
		t.Fatalf("carol's list: operator %v, %+v; want every session, addresses and all", op, all)
	}
	bobsID := all[1].ID
	if all[0].User == "bob" {
		bobsID = all[0].ID
	}
	end := "/api/sessions/" + bobsID + "/end"
	if resp, body := f.do("POST", end, alice); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alice ending bob's session: %d %s, want 404", resp.StatusCode, body)
	}
	if resp, _ := f.do("POST", end, withHeader(carol, "Origin", "https://evil.example")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator's end from another origin: %d, want 403", resp.StatusCode)
	}
	if resp, _ := f.do("GET", end, carol); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET of the end route: %d, want 405", resp.StatusCode)
	}
	if resp, body := f.do("POST", end, withHeader(carol, "Origin", f.srv.URL)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("carol ending bob's session: %d %s, want 204", resp.StatusCode, body)
	}
	if reason := nextStatus(t, bobs, "closed")["reason"]; reason != gateway.ReasonEnded {
		t.Errorf("bob's page was told %v, want %q", reason, gateway.ReasonEnded)
	}
}

// Without authentication every visitor would be the same user: there is
// no session list.
func TestSessionListNeedsAuthentication(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.open("target=public", nil)
	if resp, body := f.get("/api/sessions", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("/api/sessions without authentication: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, _ := f.do("POST", "/api/sessions/x/end", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an end without authentication: %d, want 403", resp.StatusCode)
	}
}
