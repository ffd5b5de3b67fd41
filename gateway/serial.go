package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"go.yaml.in/yaml/v3"

	"telgate/telnet"
)

// SerialSettings are a serial port's line settings, as RFC 2217 sets
// them on the port behind an access server (ser2net's telnet(rfc2217), a
// console server). A zero field leaves the port's setting as it is.
type SerialSettings struct {
	Baud   uint32 // bits per second, MinBaud to MaxBaud
	Data   int    // data bits, 5 to 8
	Parity string // "none", "odd", "even", "mark" or "space"
	Stop   string // stop bits: "1", "1.5" or "2"
	Flow   string // flow control: "none", "xonxoff" or "rtscts"
}

// SerialConfig is the serial key of a target or an ad-hoc rule: false
// or absent offers no serial port control; true offers it; settings
// ("9600 8N1", see ParseSerialSettings) offer it and make them at
// connect.
type SerialConfig struct {
	On       bool
	Settings SerialSettings
}

// UnmarshalYAML reads true, false or settings.
func (c *SerialConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var on bool
		if err := n.Decode(&on); err != nil {
			return err
		}
		*c = SerialConfig{On: on}
		return nil
	}
	// As yaml.v3 reads YAML 1.1's words for a bool key.
	switch strings.ToLower(n.Value) {
	case "yes", "on":
		*c = SerialConfig{On: true}
		return nil
	case "no", "off":
		*c = SerialConfig{}
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return fmt.Errorf("line %d: serial: want true, false or the port's settings, as in \"9600 8N1\"", n.Line)
	}
	p, err := ParseSerialSettings(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*c = SerialConfig{On: true, Settings: p}
	return nil
}

// errSerialRaw refuses serial for a host of protocol raw.
var errSerialRaw = errors.New("serial: RFC 2217 is a telnet option, and protocol raw speaks no telnet")

// target returns what Target.Serial holds for c.
func (c SerialConfig) target() *SerialSettings {
	if !c.On {
		return nil
	}
	p := c.Settings
	return &p
}

// The speeds a page or a configuration may set.
const (
	MinBaud = 50
	MaxBaud = 20_000_000
)

// The values of SerialSettings' fields, with their RFC 2217 codes.
var (
	serialParities = map[string]byte{"none": telnet.ComPortParityNone, "odd": telnet.ComPortParityOdd,
		"even": telnet.ComPortParityEven, "mark": telnet.ComPortParityMark, "space": telnet.ComPortParitySpace}
	serialStops = map[string]byte{"1": telnet.ComPortStop1, "1.5": telnet.ComPortStop1_5, "2": telnet.ComPortStop2}
	serialFlows = map[string]byte{"none": telnet.ComPortFlowNone, "xonxoff": telnet.ComPortFlowXonXoff,
		"rtscts": telnet.ComPortFlowHardware}
	// parityLetters are the letters of "8N1".
	parityLetters = map[byte]string{'N': "none", 'O': "odd", 'E': "even", 'M': "mark", 'S': "space"}
)

// ParseSerialSettings parses a port's settings as a configuration writes
// them: any of a speed ("9600"), a character format ("8N1": data bits 5
// to 8, parity N, E, O, M or S, stop bits 1, 1.5 or 2) and a flow
// control ("none", "xonxoff", "rtscts"), separated by spaces, in any
// order, each at most once. "" sets nothing.
func ParseSerialSettings(s string) (SerialSettings, error) {
	var p SerialSettings
	for _, f := range strings.Fields(s) {
		switch {
		case f[0] >= '0' && f[0] <= '9' && strings.IndexFunc(f, notDigit) < 0:
			n, err := strconv.ParseUint(f, 10, 32)
			if p.Baud != 0 || err != nil || n < MinBaud || n > MaxBaud {
				return SerialSettings{}, fmt.Errorf("serial %q: speed %q: want one, from %d to %d", s, f, MinBaud, MaxBaud)
			}
			p.Baud = uint32(n)
		case serialFlows[strings.ToLower(f)] != 0:
			if p.Flow != "" {
				return SerialSettings{}, fmt.Errorf("serial %q: two flow controls", s)
			}
			p.Flow = strings.ToLower(f)
		default:
			data, parity, stop, ok := parseFormat(f)
			if !ok || p.Data != 0 {
				return SerialSettings{}, fmt.Errorf("serial %q: %q: want a speed (9600), a format (8N1: data bits 5-8, parity N, E, O, M or S, stop bits 1, 1.5 or 2) or a flow control (none, xonxoff, rtscts), each once", s, f)
			}
			p.Data, p.Parity, p.Stop = data, parity, stop
		}
	}
	return p, nil
}

func notDigit(r rune) bool { return r < '0' || r > '9' }

// parseFormat parses "8N1", "7E2", "8N1.5".
func parseFormat(f string) (data int, parity, stop string, ok bool) {
	if len(f) < 3 || f[0] < '5' || f[0] > '8' {
		return 0, "", "", false
	}
	parity = parityLetters[strings.ToUpper(f[1:2])[0]]
	if parity == "" || serialStops[f[2:]] == 0 {
		return 0, "", "", false
	}
	return int(f[0] - '0'), parity, f[2:], true
}

// String writes the settings as ParseSerialSettings reads them.
func (p SerialSettings) String() string {
	var parts []string
	if p.Baud != 0 {
		parts = append(parts, strconv.FormatUint(uint64(p.Baud), 10))
	}
	if p.Data != 0 && p.Parity != "" && p.Stop != "" {
		parts = append(parts, strconv.Itoa(p.Data)+strings.ToUpper(p.Parity[:1])+p.Stop)
	} else {
		if p.Data != 0 {
			parts = append(parts, strconv.Itoa(p.Data)+" data bits")
		}
		if p.Parity != "" {
			parts = append(parts, p.Parity+" parity")
		}
		if p.Stop != "" {
			parts = append(parts, p.Stop+" stop bits")
		}
	}
	if p.Flow != "" {
		parts = append(parts, p.Flow)
	}
	return strings.Join(parts, " ")
}

// check reports the first field out of range, for settings not parsed
// from text (a page's).
func (p SerialSettings) check() error {
	switch {
	case p.Baud != 0 && (p.Baud < MinBaud || p.Baud > MaxBaud):
		return fmt.Errorf("baud %d: want %d to %d", p.Baud, MinBaud, MaxBaud)
	case p.Data != 0 && (p.Data < 5 || p.Data > 8):
		return fmt.Errorf("data %d: want 5 to 8", p.Data)
	case p.Parity != "" && serialParities[p.Parity] == 0:
		return fmt.Errorf("parity %q: want none, odd, even, mark or space", truncate(p.Parity, 10))
	case p.Stop != "" && serialStops[p.Stop] == 0:
		return fmt.Errorf("stop %q: want 1, 1.5 or 2", truncate(p.Stop, 10))
	case p.Flow != "" && serialFlows[p.Flow] == 0:
		return fmt.Errorf("flow %q: want none, xonxoff or rtscts", truncate(p.Flow, 10))
	}
	return nil
}

// appendFrames appends the RFC 2217 commands that make the settings.
func (p SerialSettings) appendFrames(dst []byte) []byte {
	if p.Baud != 0 {
		dst = telnet.AppendComPortBaudRate(dst, p.Baud)
	}
	if p.Data != 0 {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetDataSize, byte(p.Data))
	}
	if p.Parity != "" {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetParity, serialParities[p.Parity])
	}
	if p.Stop != "" {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetStopSize, serialStops[p.Stop])
	}
	if p.Flow != "" {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetControl, serialFlows[p.Flow])
	}
	return dst
}

// SerialRequest is a page's {"type":"serial",...}: settings to make and
// modem lines to raise (true) or drop (false); nil leaves a line as it is.
type SerialRequest struct {
	SerialSettings
	DTR, RTS *bool
}

// empty reports whether r asks for nothing.
func (r SerialRequest) empty() bool {
	return r.SerialSettings == SerialSettings{} && r.DTR == nil && r.RTS == nil
}

// appendFrames appends the RFC 2217 commands that carry out r.
func (r SerialRequest) appendFrames(dst []byte) []byte {
	dst = r.SerialSettings.appendFrames(dst)
	if r.DTR != nil {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetControl, pick[byte](*r.DTR, telnet.ComPortDTROn, telnet.ComPortDTROff))
	}
	if r.RTS != nil {
		dst = telnet.AppendComPort(dst, telnet.ComPortSetControl, pick[byte](*r.RTS, telnet.ComPortRTSOn, telnet.ComPortRTSOff))
	}
	return dst
}

// String describes r for logs and recordings: "115200 8N1 DTR off".
func (r SerialRequest) String() string {
	parts := []string{r.SerialSettings.String()}
	if r.DTR != nil {
		parts = append(parts, "DTR "+pick(*r.DTR, "on", "off"))
	}
	if r.RTS != nil {
		parts = append(parts, "RTS "+pick(*r.RTS, "on", "off"))
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

func pick[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}

// serialQuery asks the access server for every setting it answers, the
// page showing the port as the server reports it, and for notices of
// line errors. It asks about the flow control once (see
// serialPort.flowAsked).
var serialQuery = func() []byte {
	dst := telnet.AppendComPortBaudRate(nil, 0)
	for _, c := range [][2]byte{
		{telnet.ComPortSetDataSize, telnet.ComPortRequest},
		{telnet.ComPortSetParity, telnet.ComPortRequest},
		{telnet.ComPortSetStopSize, telnet.ComPortRequest},
		{telnet.ComPortSetControl, telnet.ComPortRequest},
		{telnet.ComPortSetControl, telnet.ComPortDTRRequest},
		{telnet.ComPortSetControl, telnet.ComPortRTSRequest},
		// Servers notify no line state unless asked (the mask starts
		// at 0): breaks and the errors that show a wrong speed or
		// format.
		{telnet.ComPortSetLineStateMask, telnet.ComPortBreak | telnet.ComPortFraming | telnet.ComPortParityError | telnet.ComPortOverrun},
	} {
		dst = telnet.AppendComPort(dst, c[0], c[1])
	}
	return dst
}()

// serialMsg is {"type":"serial",...}, gateway to page: whether the host
// lets the page set its serial port (on), and the port as the access
// server last reported it. A field it has not reported is left out.
type serialMsg struct {
	Type   string     `json:"type"`
	On     bool       `json:"on"`
	Baud   uint32     `json:"baud,omitempty"`
	Data   int        `json:"data,omitempty"`
	Parity string     `json:"parity,omitempty"`
	Stop   string     `json:"stop,omitempty"`
	Flow   string     `json:"flow,omitempty"`
	DTR    *bool      `json:"dtr,omitempty"`
	RTS    *bool      `json:"rts,omitempty"`
	Modem  *modemMsg  `json:"modem,omitempty"`
	Line   *lineState `json:"line,omitempty"`
}

// modemMsg is the modem lines the access server notified.
type modemMsg struct {
	CD  bool `json:"cd"`
	DSR bool `json:"dsr"`
	CTS bool `json:"cts"`
	RI  bool `json:"ri"`
}

// lineState is the errors the access server notified on the port's
// receiving line: a break, a framing or parity error (most often a wrong
// speed or format), an overrun.
type lineState struct {
	Break   bool `json:"break,omitempty"`
	Framing bool `json:"framing,omitempty"`
	Parity  bool `json:"parity,omitempty"`
	Overrun bool `json:"overrun,omitempty"`
}

// serialPort is a session's serial port: nil for a target without
// Target.Serial.
//
// on is set by the host reading goroutine, in the negotiator's OnChange,
// and read by readBrowser; state is changed by the reading goroutine, in
// OnOther, and sent by it and by the goroutine a resume starts, under mu,
// so that the page gets the states in order.
type serialPort struct {
	on    atomic.Bool
	mu    sync.Mutex
	state serialMsg
	// set says the target's settings were made: they are made, and
	// logged, at the first enable only, so that a host turning the
	// option on and off floods neither the port nor the log.
	set bool
	// flowAsked counts flow control commands and questions sent and not
	// answered: SET-CONTROL's answers 1 to 3 are taken for the flow
	// control only then, since some servers (sredird) answer a DTR or
	// RTS command with 1.
	flowAsked int
}

// serialOptionChanged acts on a change of COM-PORT-OPTION (RFC 2217) on
// our side, in the negotiator's OnChange, on the host reading goroutine:
// once the host agrees, the target's settings and the questions for the
// port's state are queued, and the page is told.
func (s *session) serialOptionChanged(t *telnet.Telnet, enabled bool) {
	sp := s.serial
	sp.on.Store(enabled)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if enabled {
		var frames []byte
		if !sp.set {
			sp.set = true
			frames = s.req.Target.Serial.appendFrames(nil)
			if set := s.req.Target.Serial; set.Flow != "" {
				sp.flowAsked++
			}
			if set := s.req.Target.Serial.String(); set != "" {
				s.log().Info().Str("serial", set).Msg("serial port setting asked")
			}
		} else {
			s.log().Debug().Msg("host turned serial port control on again")
		}
		sp.flowAsked++
		_ = t.WriteRaw(append(frames, serialQuery...)) // fails only on a connection that is gone
	} else {
		s.log().Debug().Msg("host turned serial port control off")
	}
	sp.state = serialMsg{Type: "serial", On: enabled}
	s.sendSerial()
}

// serialNotice reads a COM-PORT-OPTION subnegotiation of the access
// server's, in the negotiator's OnOther, on the host reading goroutine,
// and tells the page what changed. Other subnegotiations are dropped, as
// the negotiator drops them without OnOther.
func (s *session) serialNotice(t *telnet.Telnet, cmd, _ byte) {
	if cmd != telnet.SE {
		return
	}
	code, value, ok := telnet.ParseComPort(t.ReadSBData())
	sp := s.serial
	if !ok || !sp.on.Load() {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if code == telnet.ComPortSetControl && len(value) == 1 && value[0] >= telnet.ComPortFlowNone && value[0] <= telnet.ComPortFlowHardware {
		if sp.flowAsked == 0 {
			return // not an answer about the flow control
		}
		sp.flowAsked--
	}
	before := sp.state
	sp.state.update(code, value)
	if !sp.state.equal(&before) {
		s.sendSerial()
	}
}

// update takes in an access server's answer or notification (code, the
// client's code, and value, as telnet.ParseComPort gives them). Values
// it cannot read are ignored, as RFC 2217 asks of unknown ones.
func (m *serialMsg) update(code byte, value []byte) {
	if code == telnet.ComPortSetBaudRate {
		if b, ok := telnet.ParseComPortBaudRate(value); ok && b != 0 {
			m.Baud = b
		}
		return
	}
	if len(value) != 1 {
		return
	}
	v := value[0]
	switch code {
	case telnet.ComPortSetDataSize:
		if v >= 5 && v <= 8 {
			m.Data = int(v)
		}
	case telnet.ComPortSetParity:
		m.Parity = nameOf(serialParities, v, m.Parity)
	case telnet.ComPortSetStopSize:
		m.Stop = nameOf(serialStops, v, m.Stop)
	case telnet.ComPortSetControl:
		on, off := true, false
		switch v {
		case telnet.ComPortFlowNone, telnet.ComPortFlowXonXoff, telnet.ComPortFlowHardware:
			m.Flow = nameOf(serialFlows, v, m.Flow)
		case telnet.ComPortDTROn:
			m.DTR = &on
		case telnet.ComPortDTROff:
			m.DTR = &off
		case telnet.ComPortRTSOn:
			m.RTS = &on
		case telnet.ComPortRTSOff:
			m.RTS = &off
		}
	case telnet.ComPortNotifyModemState:
		m.Modem = &modemMsg{CD: v&telnet.ComPortCD != 0, DSR: v&telnet.ComPortDSR != 0,
			CTS: v&telnet.ComPortCTS != 0, RI: v&telnet.ComPortRI != 0}
	case telnet.ComPortNotifyLineState:
		l := lineState{Break: v&telnet.ComPortBreak != 0, Framing: v&telnet.ComPortFraming != 0,
			Parity: v&telnet.ComPortParityError != 0, Overrun: v&telnet.ComPortOverrun != 0}
		if l != (lineState{}) {
			m.Line = &l
		}
	}
}

// nameOf returns the name of code in names, or old when it has none.
func nameOf(names map[string]byte, code byte, old string) string {
	for name, c := range names {
		if c == code {
			return name
		}
	}
	return old
}

// equal reports whether m and o say the same.
func (m *serialMsg) equal(o *serialMsg) bool {
	return m.On == o.On && m.Baud == o.Baud && m.Data == o.Data && m.Parity == o.Parity && m.Stop == o.Stop &&
		m.Flow == o.Flow && equalPtr(m.DTR, o.DTR) && equalPtr(m.RTS, o.RTS) && equalPtr(m.Modem, o.Modem) &&
		equalPtr(m.Line, o.Line)
}

// equalPtr reports whether a and b are both nil or point to equal values.
func equalPtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

// sendSerial sends the serial port's state to the page, which may be
// away (a resume sends it again). Called with serial.mu held.
func (s *session) sendSerial() {
	// Not activity: a modem line that flaps keeps no idle session open.
	if data, err := json.Marshal(&s.serial.state); err == nil && !s.finishing.Load() {
		_, _ = s.write(websocket.TextMessage, data, s.g.opts.WriteTimeout, false)
	}
	// A line error is news once: the next state says nothing of it
	// unless the server notifies it again.
	s.serial.state.Line = nil
}

// resendSerial sends the serial port's state to a page that resumed.
func (s *session) resendSerial() {
	sp := s.serial
	if sp == nil || !sp.on.Load() {
		return
	}
	go func() {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		s.sendSerial()
	}()
}

// setSerial carries out a page's serial request on readBrowser's
// goroutine; the page learns the result from the server's answers.
func (s *session) setSerial(r SerialRequest) {
	switch {
	case s.serial == nil:
		_, _ = s.send(errorMsg{Type: "error", Message: "this target's serial port cannot be set from here (no serial in its configuration)"})
		return
	case !s.serial.on.Load():
		_, _ = s.send(errorMsg{Type: "error", Message: "the host has not agreed to let its serial port be set (RFC 2217)"})
		return
	case r.empty():
		return
	}
	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	s.waitResize()
	if r.Flow != "" {
		s.serial.mu.Lock()
		s.serial.flowAsked++
		s.serial.mu.Unlock()
	}
	if err := s.tn.WriteRaw(r.appendFrames(nil)); err != nil {
		return // the host is gone: the session ends
	}
	// Asked: the access server's answers, which the page shows, say
	// what it made of it.
	s.log().Info().Str("serial", r.String()).Msg("serial port setting asked")
	s.rec.marker("serial port setting asked: " + r.String())
}
