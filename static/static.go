// Package static holds the browser side of telgate: the terminal page
// (index.html, app.js, its XMODEM sender xmodem.js, the recordings'
// player.js, style.css, favicon.svg) and the vendored xterm.js
// libraries under vendor/, all embedded into the binary at build time.
//
// The page expects to be served with index.html at a path ending in "/"
// (the root, or a prefix such as "/console/") and the contents of Files()
// under "static/" below it (so app.js is fetched from "static/app.js" and
// xterm.js from "static/vendor/xterm/xterm.js"). It talks to the gateway
// through GET api/targets, GET api/check and the WebSocket endpoint ws,
// all below the same path: every URL it asks for is relative to its own.
// It uses no inline scripts, so it works under a
// Content-Security-Policy with script-src 'self'; xterm.js does inject
// <style> elements and style attributes, so style-src needs
// 'unsafe-inline'.
//
// The vendored files are refreshed with update-vendor.sh, which is not
// embedded.
package static

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js player.js xmodem.js style.css favicon.svg vendor
var files embed.FS

// Files returns the embedded page assets as a read-only file system
// rooted at this directory: "index.html", "app.js", "style.css",
// "favicon.svg" and "vendor/...".
func Files() fs.FS {
	return files
}
