package gateway

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"telgate/telnet/telnettest"
)

// The list describes each recording from its header (target, user, the
// browser's and the host's address, start), says which are still being
// written, and OpenRecording serves the file itself.
func TestRecordingsListAndOpen(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendString("$ ")
		<-release
		c.SendString("bye\r\n")
	})
	var once sync.Once
	releaseHost := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseHost) // before the host's own cleanup waits for it
	tg := newTestGateway(t, Options{
		Targets:   []Target{{Name: "lab", Address: host.Addr(), Record: true}},
		Recording: RecordingConfig{Dir: dir},
	})
	b := tg.open("target=lab&user=alice")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))

	list, err := tg.gw.Recordings()
	if err != nil || len(list) != 1 {
		t.Fatalf("Recordings: %v, %v", list, err)
	}
	r := list[0]
	if r.Target != "lab" || r.User != "alice" || r.Address != host.Addr() || !strings.HasPrefix(r.Remote, "127.0.0.1:") ||
		time.Since(r.Started) > time.Minute || !r.Recording {
		t.Errorf("while the session runs: %+v", r)
	}

	releaseHost()
	b.ExpectClosed(ReasonHostClosed)
	tg.waitIdle()
	waitFor(t, "the recording written out", func() bool {
		list, err := tg.gw.Recordings()
		return err == nil && len(list) == 1 && !list[0].Recording
	})
	if list, _ := tg.gw.Recordings(); list[0].User != "alice" || list[0].Address != host.Addr() || list[0].Size == 0 {
		t.Errorf("from the file's header: %+v", list[0])
	}
	f, err := tg.gw.OpenRecording(r.Name)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	want, _ := os.ReadFile(filepath.Join(dir, r.Name))
	if string(data) != string(want) || !strings.Contains(string(data), `"bye\r\n"`) {
		t.Errorf("OpenRecording read %q, the file holds %q", data, want)
	}
}

// Only names telgate gives are listed or opened: no paths, no other
// files, no links out of the directory; the newest come first.
func TestRecordingsOnlyServeRecordings(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.cast")
	header := `{"version":2,"width":80,"height":24,"timestamp":1700000000,"env":{"TERM":"xterm"},"title":"%s"}` + "\n"
	write := func(name, content string, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write("old-20231114T221320Z-00000001.cast", strings.Replace(header, "%s", "old", 1), time.Hour)
	write("new-20231114T221320Z-00000002.cast", strings.Replace(header, "%s", "new", 1), time.Minute)
	write("notes.txt", "not a recording", 0)
	write("v1-20231114T221320Z-00000003.cast", `{"version":1}`+"\n", 0)
	write("bad-20231114T221320Z-00000004.cast", "not json\n", 0)
	if err := os.WriteFile(outside, []byte(strings.Replace(header, "%s", "secret", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link-20231114T221320Z-00000005.cast")); err != nil {
		t.Fatal(err)
	}
	// A FIFO would block the open (and the request) for good.
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo-20231114T221320Z-00000007.cast"), 0o600); err != nil {
		t.Fatal(err)
	}
	rule := []AdhocRule{{Hosts: []string{"192.0.2.1"}}}
	g, err := New(Options{Adhoc: rule, Recording: RecordingConfig{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := g.Recordings()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Target)
	}
	if strings.Join(names, ",") != "new,old" {
		t.Errorf("listed %v, want new,old", names)
	}
	for _, name := range []string{"../" + filepath.Base(outside), outside, "notes.txt", ".hidden.cast", "a/b.cast",
		"link-20231114T221320Z-00000005.cast", "missing-20231114T221320Z-00000006.cast",
		"fifo-20231114T221320Z-00000007.cast", ""} {
		if f, err := g.OpenRecording(name); !errors.Is(err, ErrNoRecording) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenRecording(%q): %v, want ErrNoRecording", name, err)
		}
	}
	if f, err := g.OpenRecording("old-20231114T221320Z-00000001.cast"); err != nil {
		t.Errorf("OpenRecording of a recording: %v", err)
	} else {
		f.Close()
	}

	// No directory configured, or not made yet: no recordings.
	for _, d := range []string{"", filepath.Join(dir, "missing")} {
		g, err := New(Options{Adhoc: rule, Recording: RecordingConfig{Dir: d}})
		if err != nil {
			t.Fatal(err)
		}
		if list, err := g.Recordings(); err != nil || len(list) != 0 {
			t.Errorf("dir %q: %v, %v", d, list, err)
		}
	}
}
