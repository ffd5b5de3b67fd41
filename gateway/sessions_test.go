package gateway

import (
	"errors"
	"testing"
)

// The session list shows a user their own sessions and an operator every
// one, with who, where to and how much; a session is ended from it by its
// user or an operator only, its browser told why.
func TestSessionListAndEnd(t *testing.T) {
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "lab", Address: echoHost(t).Addr()}}})
	alice := tg.open("target=lab&user=alice")
	alice.ExpectStatus("connected")
	alice.WaitOutput([]byte("$ "))
	alice.Input("hello")
	alice.WaitOutput([]byte("hello"))
	bob := tg.open("target=lab&user=bob&resumable=1")
	bob.ExpectStatus("connected")
	token := share(t, bob)
	v, _ := watch(t, tg, token, "carol")
	expectViewers(t, bob, "carol")

	own := tg.gw.Sessions("alice", false)
	if len(own) != 1 || own[0].User != "alice" || own[0].Target != "lab" || own[0].Address == "" ||
		own[0].BytesIn != 5 || own[0].BytesOut != int64(len("$ hello")) || own[0].Shared || own[0].Away || len(own[0].ID) < 16 {
		t.Fatalf("alice's sessions %+v: want her one session on lab, 5 bytes in, 7 out", own)
	}
	all := tg.gw.Sessions("alice", true)
	if len(all) != 2 || all[0].User != "alice" || all[1].User != "bob" || !all[1].Shared ||
		len(all[1].Viewers) != 1 || all[1].Viewers[0] != "carol" {
		t.Fatalf("every session %+v: want alice's then bob's, shared with carol", all)
	}

	if err := tg.gw.EndSession(all[1].ID, "alice", false, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("alice ending bob's session: %v, want ErrNoSession", err)
	}
	if err := tg.gw.EndSession(all[1].ID, "dave", true, "dave"); err != nil {
		t.Fatalf("an operator ending bob's session: %v", err)
	}
	bob.ExpectClosed(ReasonEnded)
	v.ExpectClosed(ReasonEnded)
	if err := tg.gw.EndSession(own[0].ID, "alice", false, "alice"); err != nil {
		t.Fatalf("alice ending her own session: %v", err)
	}
	alice.ExpectClosed(ReasonEnded)
	tg.waitIdle()
	if ended := tg.log.entries("session ended from the session list"); len(ended) != 2 || ended[0]["by"] != "dave" {
		t.Errorf("log lines %v: want two, the first by dave", ended)
	}
	if err := tg.gw.EndSession(own[0].ID, "alice", false, "alice"); !errors.Is(err, ErrNoSession) {
		t.Errorf("ending an ended session: %v, want ErrNoSession", err)
	}
}
