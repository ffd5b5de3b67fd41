// Package gateway pairs browsers with telnet hosts: each session is one
// browser's WebSocket, speaking protocol v1 (see protocol.go), bridged to
// one telnet connection made with package telnet. It knows no HTTP routes
// and no page; package web upgrades the requests and hands them over.
//
// A caller makes a Gateway with New from Options (the Targets, the ad-hoc
// rules, the Limits, recording), asks Admit for a session's slot before
// the upgrade, and runs each session with Serve or Start. Reconfigure
// replaces the targets and rules while sessions run; Resume gives a
// session that lost its browser's connection a new one; Watch makes a
// browser a viewer of a session its user shared (share.go), read-only
// unless the user hands it the keyboard (handover.go);
// Sessions and EndSession are the session list; Recordings and
// OpenRecording give the recorded sessions (recordings.go); Shutdown ends every
// session, telling each browser why. Config and LoadConfig read
// the configuration file that main turns into Options.
//
// Within a session, one goroutine relays host output to the browser and
// is the only writer of its data frames but a resume's replay
// (hostrelay.go, resume.go); another reads the
// browser and writes to the host, per connection of the browser's; a
// target with a line delay paces pastes on a third (pacing.go); each
// viewer of a shared session has a writer and a reader of its own, which
// the relay only queues output for. A target's character set is
// converted on the way (charset.go), a raw target's bytes pass as they
// are (no telnet at all), and a session may be recorded in asciicast v2
// (recording.go). Every session's lifetime is
// bounded by the Gateway's context, its limits and its timers, which
// warn the browser before an idle timeout or a time limit ends it; a
// browser connection's silence is judged by keepalive (keepalive.go).
package gateway
