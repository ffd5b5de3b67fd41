package gateway

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// A SessionInfo describes a running session: what the session list shows
// its user and operators (see Gateway.Sessions).
type SessionInfo struct {
	ID      string    `json:"id"`                // what EndSession takes
	User    string    `json:"user"`              // "" without authentication
	Remote  string    `json:"remote"`            // the browser's address, as logged
	Target  string    `json:"target"`            // a target's name, or an ad-hoc host
	Address string    `json:"address,omitempty"` // what was dialled (the session list shows it operators only)
	Started time.Time `json:"started"`
	// BytesIn and BytesOut count input to the host and output to the
	// browser, as the session's log line does.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// Viewers lists the users of the viewers watching it, when shared
	// (see sharing); Shared says it is, and Typing names the viewer
	// handed the keyboard, if any (see handOver: its user, or "viewer N"
	// without authentication).
	Shared  bool     `json:"shared"`
	Viewers []string `json:"viewers"`
	Typing  string   `json:"typing,omitempty"`
	// Away says the browser's connection dropped and the session waits
	// for it to resume (see Gateway.Resume).
	Away bool `json:"away"`
}

// Sessions describes the running sessions, oldest first; with all false,
// only those of user (an operator sees every one, a user their own).
func (g *Gateway) Sessions(user string, all bool) []SessionInfo {
	g.mu.Lock()
	running := make([]*session, 0, len(g.sessions))
	for s := range g.sessions {
		if all || s.req.User == user {
			running = append(running, s)
		}
	}
	g.mu.Unlock()
	out := make([]SessionInfo, 0, len(running))
	for _, s := range running {
		info := SessionInfo{ID: s.id, User: s.req.User, Remote: s.req.Remote,
			Target: s.req.Target.Name, Address: s.req.Target.Address, Started: s.start,
			BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(), Viewers: []string{},
			Away: s.res != nil && s.att.Load() == nil && s.ctx.Err() == nil}
		if sh := s.sharing.Load(); sh != nil {
			entries, users := sh.list()
			info.Shared, info.Viewers = true, users
			for _, e := range entries {
				if e.Typing {
					info.Typing = e.User
					if e.User == "" {
						info.Typing = "viewer " + strconv.Itoa(e.ID)
					}
				}
			}
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// EndSession ends the session id names, telling its browser and viewers
// it was ended from the session list, by by (for the log): one of user's,
// or any with all (an operator's). It returns an error wrapping
// ErrNoSession when there is no such session of theirs, or it is ending
// already, for another reason. The session ends on its own goroutines:
// a dial in progress is cut short.
func (g *Gateway) EndSession(id, user string, all bool, by string) error {
	g.mu.Lock()
	var found *session
	for s := range g.sessions {
		if s.id == id && (all || s.req.User == user) {
			found = s
			break
		}
	}
	g.mu.Unlock()
	if found == nil || id == "" {
		return ErrNoSession
	}
	// Not stop: s.tn is the session goroutine's, nil while it dials
	// (and written without a lock). Cancelling ends a dial in progress,
	// and run's stopOnCancel stops a dialled session; the reason set
	// first is the one its page and log get.
	if !found.reason.set(ReasonEnded) {
		return ErrNoSession // ending already, for another reason
	}
	found.cancel()
	found.log().Info().Str("by", by).Msg("session ended from the session list")
	return nil
}
