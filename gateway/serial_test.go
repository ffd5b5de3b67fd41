package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// comPort is the server side of RFC 2217 in a scripted host, as ser2net
// plays it: the port's settings, answered to every command.
type comPort struct {
	c    *telnettest.Conn
	baud uint32
	// control holds the answers to SET-CONTROL, by what they are about.
	flow, dtr, rts byte
	data, parity   byte
	stop           byte
}

func newComPort(c *telnettest.Conn) *comPort {
	return &comPort{c: c, baud: 9600, data: 8, parity: telnet.ComPortParityNone, stop: telnet.ComPortStop1,
		flow: telnet.ComPortFlowNone, dtr: telnet.ComPortDTROn, rts: telnet.ComPortRTSOn}
}

// answer answers a command (its payload after the option byte) with the
// port's setting after it.
func (p *comPort) answer(payload []byte) {
	if len(payload) < 2 {
		return // nothing to answer
	}
	cmd, v := payload[0], payload[1:]
	var value []byte
	switch cmd {
	case telnet.ComPortSetBaudRate:
		if b, _ := telnet.ParseComPortBaudRate(v); b != 0 {
			p.baud = b
		}
		value = []byte{byte(p.baud >> 24), byte(p.baud >> 16), byte(p.baud >> 8), byte(p.baud)}
	case telnet.ComPortSetDataSize:
		p.data = setOr(p.data, v[0])
		value = []byte{p.data}
	case telnet.ComPortSetParity:
		p.parity = setOr(p.parity, v[0])
		value = []byte{p.parity}
	case telnet.ComPortSetStopSize:
		p.stop = setOr(p.stop, v[0])
		value = []byte{p.stop}
	case telnet.ComPortSetControl:
		switch c := v[0]; {
		case c <= telnet.ComPortFlowHardware:
			p.flow = setOr(p.flow, c)
			value = []byte{p.flow}
		case c >= telnet.ComPortDTRRequest && c <= telnet.ComPortDTROff:
			if c != telnet.ComPortDTRRequest {
				p.dtr = c
			}
			value = []byte{p.dtr}
		case c >= telnet.ComPortRTSRequest && c <= telnet.ComPortRTSOff:
			if c != telnet.ComPortRTSRequest {
				p.rts = c
			}
			value = []byte{p.rts}
		}
	}
	p.c.SendSubnegotiation(telnet.COM_PORT_OPTION, append([]byte{cmd + telnet.ComPortServer}, value...))
}

// setOr returns v, or old for a question (0).
func setOr(old, v byte) byte {
	if v == telnet.ComPortRequest {
		return old
	}
	return v
}

// expectCommands answers n commands and returns them, "1 0 0 37 128"
// each.
func (p *comPort) expectCommands(n int) []string {
	var got []string
	for range n {
		payload := p.c.ExpectSubnegotiation(telnet.COM_PORT_OPTION)
		p.answer(payload)
		got = append(got, bytesString(payload))
	}
	return got
}

func bytesString(b []byte) string { return strings.Trim(fmt.Sprint(b), "[]") }

// serialHost plays an access server that agrees to COM-PORT-OPTION: it
// answers the gateway's first commands (before settings, then the
// questions), notifies the modem lines, prompts, and then answers
// whatever comes. It tells the test the first commands, then each
// later one, and the data it gets as "data ...".
func serialHost(t *testing.T, before int) (*telnettest.Server, <-chan []string) {
	got := make(chan []string, 100)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		c.Negotiate(telnet.DO, telnet.COM_PORT_OPTION)
		p := newComPort(c)
		got <- p.expectCommands(before + len(serialQueryCommands))
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{100 + telnet.ComPortNotifyModemState, telnet.ComPortCD | telnet.ComPortDSR})
		c.SendString("$ ")
		for {
			ev, err := c.ReadEvent()
			switch {
			case err != nil:
				return
			case ev.IsData():
				got <- []string{"data " + string(ev.Data)}
			case ev.Cmd == telnet.SB && ev.Opt == telnet.COM_PORT_OPTION:
				p.answer(ev.Payload)
				got <- []string{bytesString(ev.Payload)}
			}
		}
	})
	return host, got
}

// serialQueryCommands are the questions the gateway asks once the host
// agrees, as comPort.expectCommands gives them.
var serialQueryCommands = []string{"1 0 0 0 0", "2 0", "3 0", "4 0", "5 0", "5 7", "5 10", "10 30"}

// nextSerial reads statuses until a serial one for which done holds,
// passing a connected message.
func nextSerial(t *testing.T, b *browser, done func(m map[string]any) bool) map[string]any {
	t.Helper()
	for {
		m := b.Status()
		if m["type"] == "serial" && done(m) {
			return m
		}
		if m["type"] != "serial" && m["type"] != "connected" {
			t.Fatalf("status %v while waiting for the serial port's", m)
		}
	}
}

func TestSerialPortSettingsAtConnect(t *testing.T) {
	host, got := serialHost(t, 4)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "port1", Address: host.Addr(),
		Serial: &SerialSettings{Baud: 115200, Data: 7, Parity: "even", Stop: "1"}}}})
	b := tg.open("target=port1&resumable=1")
	b.ExpectStatus("connected")
	want := append([]string{"1 0 1 194 0", "2 7", "3 3", "4 1"}, serialQueryCommands...)
	if cmds := <-got; strings.Join(cmds, ", ") != strings.Join(want, ", ") {
		t.Errorf("host got %q\nwant         %q", cmds, want)
	}
	m := nextSerial(t, b, func(m map[string]any) bool { return m["modem"] != nil })
	wantState := `{"baud":115200,"data":7,"dtr":true,"flow":"none","modem":{"cd":true,"cts":false,"dsr":true,"ri":false},"on":true,"parity":"even","rts":true,"stop":"1","type":"serial"}`
	if js, _ := json.Marshal(m); string(js) != wantState {
		t.Errorf("serial state %s\nwant         %s", js, wantState)
	}
	if e := tg.log.entries("serial port setting asked"); len(e) != 1 || e[0]["serial"] != "115200 7E1" {
		t.Errorf("serial port setting asked lines %v", e)
	}
}

// The page sets the port; the page is told the port's state as the
// access server answers, again after a resume; the setting is logged and
// marks the recording.
func TestSerialPortSetByThePage(t *testing.T) {
	host, got := serialHost(t, 0)
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "port1", Address: host.Addr(), Serial: &SerialSettings{}}}})
	b, token := openResumable(t, tg, "target=port1")
	<-got
	nextSerial(t, b, func(m map[string]any) bool { return m["modem"] != nil && m["baud"] == 9600.0 })
	b.WaitOutput([]byte("$ "))

	b.Control(`{"type":"serial","baud":57600,"data":8,"parity":"none","stop":"2","flow":"rtscts","dtr":false}`)
	want := []string{"1 0 0 225 0", "2 8", "3 1", "4 2", "5 3", "5 9"}
	for _, w := range want {
		if cmd := <-got; cmd[0] != w {
			t.Fatalf("host got %q, want %q", cmd, w)
		}
	}
	m := nextSerial(t, b, func(m map[string]any) bool { return m["dtr"] == false })
	if m["baud"] != 57600.0 || m["stop"] != "2" || m["flow"] != "rtscts" || m["rts"] != true {
		t.Errorf("serial state %v", m)
	}
	// Logged once written: the host's answer may come first.
	waitFor(t, "the log line", func() bool { return len(tg.log.entries("serial port setting asked")) > 0 })
	if e := tg.log.entries("serial port setting asked"); len(e) != 1 || e[0]["serial"] != "57600 8N2 rtscts DTR off" {
		t.Errorf("serial port setting asked lines %v", e)
	}

	dropConnection(t, tg, b)
	b2, _ := resume(t, tg, token, len("$ "))
	m = nextSerial(t, b2, func(map[string]any) bool { return true })
	if m["baud"] != 57600.0 || m["dtr"] != false || m["modem"] == nil {
		t.Errorf("serial state after a resume %v", m)
	}
	b2.Input("ok\r")
	if cmd := <-got; cmd[0] != "data ok\r" {
		t.Errorf("host got %q after the resume", cmd)
	}
}

// A line error the server notifies (a framing error: most often a wrong
// speed) reaches the page once.
func TestSerialLineErrorIsReported(t *testing.T) {
	done := make(chan struct{})
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		defer close(done)
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		c.Negotiate(telnet.DO, telnet.COM_PORT_OPTION)
		p := newComPort(c)
		p.expectCommands(len(serialQueryCommands))
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{100 + telnet.ComPortNotifyLineState, telnet.ComPortFraming})
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{100 + telnet.ComPortNotifyModemState, telnet.ComPortCTS})
		c.ExpectData("bye")
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "port1", Address: host.Addr(), Serial: &SerialSettings{}}}})
	b := tg.open("target=port1")
	m := nextSerial(t, b, func(m map[string]any) bool { return m["line"] != nil })
	if line, _ := m["line"].(map[string]any); line["framing"] != true || len(line) != 1 {
		t.Errorf("line %v, want framing alone", m["line"])
	}
	m = nextSerial(t, b, func(m map[string]any) bool { return m["modem"] != nil })
	if m["line"] != nil {
		t.Errorf("the framing error reported twice: %v", m)
	}
	b.Input("bye")
	<-done
}

// Requests the gateway cannot carry out are answered with an error, and
// the session goes on: a malformed one, one to a target without serial,
// one to a host that refused the option.
func TestSerialRequestsRefused(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{`{"type":"serial","baud":"fast"}`, "bad control message: serial: baud is not a whole number"},
		{`{"type":"serial","baud":10}`, "bad control message: serial: baud 10: want 50 to 20000000"},
		{`{"type":"serial","baud":1e12}`, "bad control message: serial: baud is not a whole number"},
		{`{"type":"serial","data":9}`, "bad control message: serial: data 9: want 5 to 8"},
		{`{"type":"serial","parity":"purple"}`, `bad control message: serial: parity "purple": want none, odd, even, mark or space`},
		{`{"type":"serial","stop":1}`, "bad control message: serial: stop is not a string"},
		{`{"type":"serial","flow":"cts"}`, `bad control message: serial: flow "cts": want none, xonxoff or rtscts`},
		{`{"type":"serial","dtr":"yes"}`, "bad control message: serial: dtr is not true or false"},
	} {
		if _, err := ParseControl([]byte(tc.msg)); err == nil || err.Error() != tc.want {
			t.Errorf("ParseControl(%s) = %v\nwant %s", tc.msg, err, tc.want)
		}
	}

	done := make(chan struct{})
	refusing := telnettest.NewServer(t, func(c *telnettest.Conn) {
		defer close(done)
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		c.Negotiate(telnet.DONT, telnet.COM_PORT_OPTION)
		c.SendString("$ ")
		c.ExpectData("still here")
	})
	plain := echoHost(t)
	tg := newTestGateway(t, Options{Targets: []Target{
		{Name: "refusing", Address: refusing.Addr(), Serial: &SerialSettings{Baud: 9600}},
		{Name: "plain", Address: plain.Addr()},
	}})
	b := tg.open("target=refusing")
	b.ExpectStatus("connected")
	b.WaitOutput([]byte("$ "))
	b.Control(`{"type":"serial","baud":9600}`)
	if m := b.ExpectStatus("error"); m["message"] != "the host has not agreed to let its serial port be set (RFC 2217)" {
		t.Errorf("error %v", m)
	}
	b.Input("still here")
	<-done

	p := tg.open("target=plain")
	p.ExpectStatus("connected")
	p.Control(`{"type":"serial","dtr":true}`)
	if m := p.ExpectStatus("error"); !strings.Contains(m["message"].(string), "no serial in its configuration") {
		t.Errorf("error %v", m)
	}
}

// FuzzParseSerialSettings: settings a configuration may hold are in
// range and written back as they were read.
func FuzzParseSerialSettings(f *testing.F) {
	for _, s := range []string{"9600 8N1", "rtscts 7e1.5 115200", "50", "8N3", "xonxoff none", "20000001", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSerialSettings(s)
		if err != nil {
			return
		}
		if err := p.check(); err != nil {
			t.Fatalf("%q parsed to %+v: %v", s, p, err)
		}
		if (p.Data != 0) != (p.Parity != "") || (p.Data != 0) != (p.Stop != "") {
			t.Fatalf("%q parsed to half a format: %+v", s, p)
		}
		back, err := ParseSerialSettings(p.String())
		if err != nil || back != p {
			t.Fatalf("%q parsed to %+v, written %q, read back %+v, %v", s, p, p.String(), back, err)
		}
	})
}

// FuzzSerialNotice: whatever an access server answers, the state the
// page is told holds only values it knows.
func FuzzSerialNotice(f *testing.F) {
	f.Add([]byte{101, 0, 0, 0x25, 0x80, 103, 9, 105, 8, 107, 0xff, 106, 0x1e})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m serialMsg
		for len(data) > 0 {
			// Each notice: a code, a length and a value.
			code := data[0] % (telnet.ComPortPurgeData + 1)
			n := 1
			if len(data) > 1 {
				n = int(data[1] % 6)
			}
			data = data[min(2, len(data)):]
			n = min(n, len(data))
			m.update(code, data[:n])
			data = data[n:]
		}
		if m.Parity != "" && serialParities[m.Parity] == 0 || m.Stop != "" && serialStops[m.Stop] == 0 ||
			m.Flow != "" && serialFlows[m.Flow] == 0 || m.Data != 0 && (m.Data < 5 || m.Data > 8) {
			t.Fatalf("state %+v", m)
		}
	})
}

// A host that turns the option off and on again gets the target's
// settings once (the questions again), with nothing more logged at Info;
// an answer of 1 to a DTR command (sredird's) is not taken for the flow
// control.
func TestSerialOptionToggledAndStrayAnswers(t *testing.T) {
	done := make(chan []string, 1)
	host := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		c.Negotiate(telnet.DO, telnet.COM_PORT_OPTION)
		p := newComPort(c)
		p.flow = telnet.ComPortFlowXonXoff
		first := p.expectCommands(1 + len(serialQueryCommands))
		c.Negotiate(telnet.DONT, telnet.COM_PORT_OPTION)
		c.ExpectNegotiation(telnet.WONT, telnet.COM_PORT_OPTION)
		c.Negotiate(telnet.DO, telnet.COM_PORT_OPTION)
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		again := p.expectCommands(len(serialQueryCommands))
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{100 + telnet.ComPortSetControl, telnet.ComPortFlowNone})
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{100 + telnet.ComPortNotifyModemState, telnet.ComPortCTS})
		done <- append(first[:1], again...)
		c.ExpectData("bye")
		close(done)
	})
	tg := newTestGateway(t, Options{Targets: []Target{{Name: "port1", Address: host.Addr(), Serial: &SerialSettings{Baud: 9600}}}})
	b := tg.open("target=port1")
	nextSerial(t, b, func(m map[string]any) bool { return m["on"] == false })
	m := nextSerial(t, b, func(m map[string]any) bool { return m["modem"] != nil })
	if m["flow"] != "xonxoff" || m["baud"] != 9600.0 {
		t.Errorf("state %v: want flow xonxoff (the stray 1 ignored) and the speed", m)
	}
	if cmds := <-done; strings.Join(cmds, ", ") != "1 0 0 37 128, "+strings.Join(serialQueryCommands, ", ") {
		t.Errorf("host got %q: the settings once, the questions again", cmds)
	}
	if e := tg.log.entries("serial port setting asked"); len(e) != 1 {
		t.Errorf("serial port setting asked lines %v", e)
	}
	b.Input("bye")
	<-done
}
