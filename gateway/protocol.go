package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"telgate/telnet"
)

// Control messages of WebSocket protocol v1, browser to gateway, sent in
// text frames:
//
//	{"type":"resize","cols":C,"rows":R}
//	{"type":"command","name":N}
//	{"type":"ping"}
//	{"type":"share"}, {"type":"unshare"}   (see sharing)
//	{"type":"hand-over","viewer":ID}, {"type":"take-back"}   (see handOver)
//	{"type":"transfer","on":B}   (see session.transfer)
//	{"type":"serial","baud":N,"data":N,"parity":P,"stop":S,"flow":F,"dtr":B,"rts":B}
//	    (any of them; see SerialRequest)
//
// Status messages, gateway to browser, in text frames:
//
//	{"type":"connected","target":T,"description":D}
//	{"type":"connected",...,"raw":true}   (a host that speaks plain TCP: no commands)
//	{"type":"connected",...,"cols":C,"rows":R}   (a target of fixed size: resizes are ignored)
//	{"type":"connected",...,"resume":TOKEN,"resume_grace":S}   (resumable)
//	{"type":"connected",...,"banner":B,"color":C}   (see Target.Banner)
//	{"type":"connected",...,"watch_only":true}   (see Target.WatchOnly)
//	{"type":"resumed","lost":L,"input":I,"controls":C}   (see Gateway.Resume)
//	{"type":"shared","watch":TOKEN}, {"type":"viewers","users":[U,...],"viewers":[...]}   (see sharing, handOver)
//	{"type":"serial","on":B,...}   (the host's serial port: see serialMsg)
//	{"type":"warning","reason":R,"in":S}   (the session ends for R in S seconds: see Limits)
//	{"type":"power","state":"asked|done|failed",...}   (see powerMsg)
//	{"type":"login","state":"failed","message":M}   (the automatic login failed: see Login)
//	{"type":"closed","reason":R}
//	{"type":"error","message":M}
//	{"type":"pong"}
//
// A viewer of a shared session is sent {"type":"watching",...} and
// {"type":"size",...} besides (see Gateway.Watch), and
// {"type":"typing","allowed":B} when it is handed the keyboard or loses
// it (see handOver).
//
// A ping is answered with a pong and is not activity for the idle
// timeout: the page sends them to notice a connection that died without
// a word (its script cannot see the WebSocket's own pings).
//
// Binary frames carry terminal bytes both ways.

// Window sizes are clamped to this range.
const (
	MinWindow = 1
	MaxWindow = 1000
)

// Commands maps the names of protocol v1's command message to the telnet
// command each sends.
var commands = map[string]byte{
	"break":         telnet.BRK,
	"interrupt":     telnet.IP,
	"abort-output":  telnet.AO,
	"are-you-there": telnet.AYT,
	"erase-char":    telnet.EC,
	"erase-line":    telnet.EL,
	"go-ahead":      telnet.GA,
	"nop":           telnet.NOP,
}

// CommandByte returns the telnet command a protocol command name sends.
func CommandByte(name string) (byte, bool) {
	c, ok := commands[name]
	return c, ok
}

// ErrBadControl is wrapped by every error about a malformed control
// message. Such messages are answered with an error message; they do not
// end the session.
var ErrBadControl = errors.New("bad control message")

// Control is a decoded control message.
type Control struct {
	Type string `json:"type"`
	Cols int    `json:"cols,omitempty"`
	Rows int    `json:"rows,omitempty"`
	Name string `json:"name,omitempty"`
	// Viewer names the viewer a hand-over is to.
	Viewer int `json:"viewer,omitempty"`
	// On turns a transfer on or off.
	On bool `json:"on,omitempty"`
	// Serial is a serial request's.
	Serial SerialRequest `json:"-"`
}

// ParseControl decodes and checks a control message. Sizes are clamped
// to MinWindow..MaxWindow.
func ParseControl(data []byte) (Control, error) {
	var raw struct {
		Type string           `json:"type"`
		Cols *json.RawMessage `json:"cols"`
		Rows *json.RawMessage `json:"rows"`
		Name *string          `json:"name"`
		// A pointer, to tell a missing viewer from a malformed one.
		Viewer *json.RawMessage `json:"viewer"`
		On     *json.RawMessage `json:"on"`
		// A serial request's.
		Baud   *json.RawMessage `json:"baud"`
		Data   *json.RawMessage `json:"data"`
		Parity *json.RawMessage `json:"parity"`
		Stop   *json.RawMessage `json:"stop"`
		Flow   *json.RawMessage `json:"flow"`
		DTR    *json.RawMessage `json:"dtr"`
		RTS    *json.RawMessage `json:"rts"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Control{}, fmt.Errorf("%w: not a JSON object", ErrBadControl)
	}
	switch raw.Type {
	case "resize":
		cols, err := sizeField("cols", raw.Cols)
		if err != nil {
			return Control{}, err
		}
		rows, err := sizeField("rows", raw.Rows)
		if err != nil {
			return Control{}, err
		}
		return Control{Type: "resize", Cols: cols, Rows: rows}, nil
	case "ping", "share", "unshare", "take-back", "power":
		return Control{Type: raw.Type}, nil
	case "hand-over":
		var id int
		if raw.Viewer == nil || json.Unmarshal(*raw.Viewer, &id) != nil || id < 1 {
			return Control{}, fmt.Errorf("%w: hand-over without a viewer's id (a whole number from the viewers message)", ErrBadControl)
		}
		return Control{Type: "hand-over", Viewer: id}, nil
	case "transfer":
		var on bool
		if raw.On == nil || json.Unmarshal(*raw.On, &on) != nil {
			return Control{}, fmt.Errorf("%w: transfer without on (true or false)", ErrBadControl)
		}
		return Control{Type: "transfer", On: on}, nil
	case "serial":
		var r SerialRequest
		var baud int64
		var data int
		for _, f := range []struct {
			name string
			raw  *json.RawMessage
			into any
			want string
		}{
			{"baud", raw.Baud, &baud, "a whole number"},
			{"data", raw.Data, &data, "a whole number"},
			{"parity", raw.Parity, &r.Parity, "a string"},
			{"stop", raw.Stop, &r.Stop, "a string"},
			{"flow", raw.Flow, &r.Flow, "a string"},
			{"dtr", raw.DTR, &r.DTR, "true or false"},
			{"rts", raw.RTS, &r.RTS, "true or false"},
		} {
			if f.raw != nil && json.Unmarshal(*f.raw, f.into) != nil {
				return Control{}, fmt.Errorf("%w: serial: %s is not %s", ErrBadControl, f.name, f.want)
			}
		}
		if raw.Baud != nil && (baud < MinBaud || baud > MaxBaud) {
			return Control{}, fmt.Errorf("%w: serial: baud %d: want %d to %d", ErrBadControl, baud, MinBaud, MaxBaud)
		}
		if raw.Data != nil && (data < 5 || data > 8) {
			return Control{}, fmt.Errorf("%w: serial: data %d: want 5 to 8", ErrBadControl, data)
		}
		r.Baud, r.Data = uint32(baud), data
		if err := r.check(); err != nil {
			return Control{}, fmt.Errorf("%w: serial: %v", ErrBadControl, err)
		}
		return Control{Type: "serial", Serial: r}, nil
	case "command":
		if raw.Name == nil {
			return Control{}, fmt.Errorf("%w: command without name", ErrBadControl)
		}
		if _, ok := commands[*raw.Name]; !ok {
			return Control{}, fmt.Errorf("%w: unknown command %q", ErrBadControl, truncate(*raw.Name, 40))
		}
		return Control{Type: "command", Name: *raw.Name}, nil
	case "":
		return Control{}, fmt.Errorf("%w: no type", ErrBadControl)
	}
	return Control{}, fmt.Errorf("%w: unknown type %q", ErrBadControl, truncate(raw.Type, 40))
}

func sizeField(name string, raw *json.RawMessage) (int, error) {
	if raw == nil {
		return 0, fmt.Errorf("%w: resize without %s", ErrBadControl, name)
	}
	var f float64
	if err := json.Unmarshal(*raw, &f); err != nil {
		return 0, fmt.Errorf("%w: %s is not a number", ErrBadControl, name)
	}
	return ClampWindow(int(max(min(f, 1e6), -1e6))), nil
}

// ClampWindow clamps a window dimension to MinWindow..MaxWindow.
func ClampWindow(v int) int { return min(max(v, MinWindow), MaxWindow) }

// ParseWindow parses a window dimension from a query parameter, clamped
// (also a whole number too long for an int); empty means def.
func ParseWindow(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s) // out of range: the largest int of its sign
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("not a whole number: %q", truncate(s, 20))
	}
	return ClampWindow(v), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Status messages.
type connectedMsg struct {
	Type        string `json:"type"`
	Target      string `json:"target"`
	Description string `json:"description,omitempty"`
	Raw         bool   `json:"raw,omitempty"`  // plain TCP: no telnet commands
	Cols        int    `json:"cols,omitempty"` // the target's fixed size, when it has one
	Rows        int    `json:"rows,omitempty"`
	Resume      string `json:"resume,omitempty"`       // see Gateway.Resume
	ResumeGrace int    `json:"resume_grace,omitempty"` // seconds
	Banner      string `json:"banner,omitempty"`       // see Target.Banner
	Color       string `json:"color,omitempty"`
	WatchOnly   bool   `json:"watch_only,omitempty"` // see Target.WatchOnly
	Power       bool   `json:"power,omitempty"`      // the user may power-cycle the device (see Target.Power)
}

type warningMsg struct {
	Type   string  `json:"type"`
	Reason string  `json:"reason"` // ReasonIdle or ReasonMaxDuration
	In     float64 `json:"in"`     // seconds
}

type closedMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type sharedMsg struct {
	Type  string `json:"type"`
	Watch string `json:"watch"`
}

type viewersMsg struct {
	Type    string        `json:"type"`
	Users   []string      `json:"users"`
	Viewers []viewerEntry `json:"viewers"` // see handOver
}

// Status messages to a viewer (see Gateway.Watch).
type watchingMsg struct {
	Type        string `json:"type"`
	Target      string `json:"target"`
	Description string `json:"description,omitempty"`
	User        string `json:"user"`
	Cols        int    `json:"cols"`
	Rows        int    `json:"rows"`
	Raw         bool   `json:"raw,omitempty"` // plain TCP: no telnet commands
	Banner      string `json:"banner,omitempty"`
	Color       string `json:"color,omitempty"`
}

type sizeMsg struct {
	Type string `json:"type"`
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}
