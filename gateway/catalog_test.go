package gateway

import (
	"net/http"
	"strings"
	"testing"

	"telgate/telnet/telnettest"
)

// Reconfigure changes what new sessions may open; a session already
// running goes on; a catalog New would refuse leaves the old one.
func TestReconfigure(t *testing.T) {
	echo := func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectString("still here")
		c.SendString("yes\r\n")
		c.ExpectEOF()
	}
	old := telnettest.NewServer(t, echo)
	fresh := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("hi\r\n")
		c.ExpectEOF()
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "old", Address: old.Addr()}}})
	running := tg.open("target=old")
	running.ExpectStatus("connected")
	running.WaitOutput([]byte("hi\r\n"))

	if err := tg.gw.Reconfigure([]Target{{Name: "new", Address: fresh.Addr(), Description: "added"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := tg.gw.Target("old"); ok {
		t.Error("a removed target is still there")
	}
	if ts := tg.gw.Targets(); len(ts) != 1 || ts[0].Name != "new" {
		t.Errorf("targets %+v", ts)
	}
	if _, code, _ := tg.tryOpen("target=old"); code != http.StatusNotFound {
		t.Errorf("opening a removed target: HTTP %d", code)
	}
	b := tg.open("target=new")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("hi\r\n"))
	running.Input("still here")
	running.WaitOutput([]byte("yes\r\n"))

	for _, tc := range []struct {
		targets []Target
		adhoc   []AdhocRule
		want    string
	}{
		{nil, nil, "no targets"},
		{[]Target{{Name: "a", Address: "h:23"}, {Name: "a", Address: "i:23"}}, nil, `duplicate target "a"`},
		{[]Target{{Name: "a", Address: "h:23", Record: true}}, nil, "Recording.Dir is empty"},
		{nil, []AdhocRule{{Hosts: []string{"*.x"}, Ports: "0"}}, "ports"},
	} {
		if err := tg.gw.Reconfigure(tc.targets, tc.adhoc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Reconfigure(%v, %v) = %v, want an error saying %q", tc.targets, tc.adhoc, err, tc.want)
		}
	}
	if ts := tg.gw.Targets(); len(ts) != 1 || ts[0].Name != "new" {
		t.Errorf("after refused changes, targets %+v", ts)
	}
	closeWebSocket(b)
	closeWebSocket(running)
	tg.waitIdle()
}
