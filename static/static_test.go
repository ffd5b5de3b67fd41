package static

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Files(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func TestEmbeddedFiles(t *testing.T) {
	for _, name := range []string{
		"index.html",
		"app.js",
		"player.js",
		"xmodem.js",
		"style.css",
		"favicon.svg",
		"vendor/xterm/xterm.js",
		"vendor/xterm/xterm.css",
		"vendor/xterm/LICENSE",
		"vendor/addon-fit/addon-fit.js",
		"vendor/addon-fit/LICENSE",
		"vendor/addon-web-links/addon-web-links.js",
		"vendor/addon-web-links/LICENSE",
		"vendor/addon-search/addon-search.js",
		"vendor/addon-search/LICENSE",
		"vendor/addon-webgl/addon-webgl.js",
		"vendor/addon-webgl/LICENSE",
		"vendor/addon-unicode11/addon-unicode11.js",
		"vendor/addon-unicode11/LICENSE",
	} {
		info, err := fs.Stat(Files(), name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if info.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	for _, name := range []string{"update-vendor.sh", "static.go"} {
		if _, err := fs.Stat(Files(), name); err == nil {
			t.Errorf("%s must not be embedded", name)
		}
	}
}

// TestIndexReferences checks that every local resource the page loads is
// embedded, that nothing is loaded from another host, and that every
// reference is relative to the page, which may be served under a path
// prefix.
func TestIndexReferences(t *testing.T) {
	html := readFile(t, "index.html")
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1)
	if len(refs) == 0 {
		t.Fatal("no src/href attributes found in index.html")
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "static/") {
			t.Errorf("index.html references %q; want a relative path under static/", ref)
			continue
		}
		if _, err := fs.Stat(Files(), strings.TrimPrefix(ref, "static/")); err != nil {
			t.Errorf("index.html references %q, which is not embedded", ref)
		}
	}
}

// TestAppAsksForRelativeURLs: app.js names none of the gateway's routes
// by an absolute path, which would leave a path prefix.
func TestAppAsksForRelativeURLs(t *testing.T) {
	js := readFile(t, "app.js")
	if m := regexp.MustCompile(`["'\x60]/(?:api|ws|static)\b`).FindString(js); m != "" {
		t.Errorf("app.js asks for an absolute path: %s...", m)
	}
}

// TestNoInlineScript guards the Content-Security-Policy script-src 'self'.
func TestNoInlineScript(t *testing.T) {
	html := readFile(t, "index.html")
	for _, tag := range regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(tag[0], ` src="`) || strings.TrimSpace(tag[1]) != "" {
			t.Errorf("inline script in index.html: %s", tag[0])
		}
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=`).FindString(html); m != "" {
		t.Errorf("inline event handler in index.html: %q", m)
	}
	if strings.Contains(strings.ToLower(html), "javascript:") {
		t.Error("javascript: URL in index.html")
	}
}

// TestTestHooks keeps the element ids and attributes end-to-end tests use.
func TestTestHooks(t *testing.T) {
	html := readFile(t, "index.html")
	for _, want := range []string{
		`id="terminal"`,
		`id="status"`,
		`data-state="connecting"`,
		`id="reconnect"`,
		`id="target-picker"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	for _, cmd := range []string{"break", "interrupt", "abort-output", "are-you-there", "erase-char", "erase-line", "go-ahead", "nop"} {
		if !strings.Contains(html, `data-command="`+cmd+`"`) {
			t.Errorf("index.html lacks a button for command %q", cmd)
		}
	}
	if !strings.Contains(readFile(t, "app.js"), "window.telgate") {
		t.Error("app.js does not define window.telgate")
	}
}
