package telnet_test

import (
	"bytes"
	"strconv"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

func TestAppendComPortBaudRate(t *testing.T) {
	for _, tc := range []struct {
		baud uint32
		want []byte
	}{
		{9600, []byte{telnet.IAC, telnet.SB, 44, 1, 0, 0, 0x25, 0x80, telnet.IAC, telnet.SE}},
		{0, []byte{telnet.IAC, telnet.SB, 44, 1, 0, 0, 0, 0, telnet.IAC, telnet.SE}},
		// Every 255 doubled (RFC 2217 says so of every value).
		{0xff00ffff, []byte{telnet.IAC, telnet.SB, 44, 1, 255, 255, 0, 255, 255, 255, 255, telnet.IAC, telnet.SE}},
	} {
		if got := telnet.AppendComPortBaudRate(nil, tc.baud); !bytes.Equal(got, tc.want) {
			t.Errorf("AppendComPortBaudRate(%d) = % x, want % x", tc.baud, got, tc.want)
		}
	}
}

func TestParseComPort(t *testing.T) {
	for _, tc := range []struct {
		payload []byte
		cmd     byte
		value   []byte
		ok      bool
	}{
		{[]byte{44, 101, 0, 1, 0xc2, 0}, telnet.ComPortSetBaudRate, []byte{0, 1, 0xc2, 0}, true},
		{[]byte{44, 107, 0x30}, telnet.ComPortNotifyModemState, []byte{0x30}, true},
		{[]byte{44, 112}, telnet.ComPortPurgeData, []byte{}, true},
		{[]byte{44, 1, 0, 0, 0x25, 0x80}, 0, nil, false}, // a client's command
		{[]byte{44, 113}, 0, nil, false},                 // no such command
		{[]byte{44}, 0, nil, false},
		{[]byte{telnet.NAWS, 101, 0}, 0, nil, false},
		{nil, 0, nil, false},
	} {
		cmd, value, ok := telnet.ParseComPort(tc.payload)
		if ok != tc.ok || cmd != tc.cmd || !bytes.Equal(value, tc.value) {
			t.Errorf("ParseComPort(% x) = %d, % x, %v; want %d, % x, %v", tc.payload, cmd, value, ok, tc.cmd, tc.value, tc.ok)
		}
	}
	if baud, ok := telnet.ParseComPortBaudRate([]byte{0, 1, 0xc2, 0}); !ok || baud != 115200 {
		t.Errorf("ParseComPortBaudRate(115200) = %d, %v", baud, ok)
	}
	if _, ok := telnet.ParseComPortBaudRate([]byte{0, 1, 0xc2}); ok {
		t.Error("ParseComPortBaudRate took three bytes")
	}
}

// A client sets the port from OnChange once the server agrees to
// COM-PORT-OPTION, through the callback's Telnet, and reads the server's
// answers through OnOther: the exchange RFC 2217 describes, values with
// a 255 in them included.
func TestComPortExchange(t *testing.T) {
	const baud = 0x0001c2ff // 115,455: a 255 in the last byte
	tn := serve(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.DO, telnet.COM_PORT_OPTION)
		c.ExpectNegotiation(telnet.WILL, telnet.COM_PORT_OPTION)
		got := c.ExpectSubnegotiation(telnet.COM_PORT_OPTION)
		if want := []byte{1, 0, 1, 0xc2, 0xff}; !bytes.Equal(got, want) {
			t.Errorf("SET-BAUDRATE: % x, want % x", got, want)
		}
		got = c.ExpectSubnegotiation(telnet.COM_PORT_OPTION)
		if want := []byte{telnet.ComPortSetControl, telnet.ComPortDTRRequest}; !bytes.Equal(got, want) {
			t.Errorf("SET-CONTROL: % x, want % x", got, want)
		}
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{101, 0, 1, 0xc2, 0xff})
		c.SendSubnegotiation(telnet.COM_PORT_OPTION, []byte{105, telnet.ComPortDTROn})
		c.SendString("done\n")
	})
	n := telnet.NewNegotiator(telnet.Policy{Local: telnet.NewOptionSet(telnet.COM_PORT_OPTION)})
	n.OnChange(func(t *telnet.Telnet, opt byte, local, enabled bool) {
		if opt == telnet.COM_PORT_OPTION && local && enabled {
			frames := telnet.AppendComPortBaudRate(nil, baud)
			frames = telnet.AppendComPort(frames, telnet.ComPortSetControl, telnet.ComPortDTRRequest)
			_ = t.WriteRaw(frames)
		}
	})
	var answers []string
	n.OnOther(func(t *telnet.Telnet, cmd, opt byte) {
		if cmd != telnet.SE {
			return
		}
		c, value, ok := telnet.ParseComPort(t.ReadSBData())
		switch {
		case !ok:
			answers = append(answers, "not COM-PORT")
		case c == telnet.ComPortSetBaudRate:
			b, _ := telnet.ParseComPortBaudRate(value)
			answers = append(answers, "baud "+strconv.Itoa(int(b)))
		case c == telnet.ComPortSetControl && len(value) == 1:
			answers = append(answers, "control "+strconv.Itoa(int(value[0])))
		}
	})
	tn.SetOptionNegotiationCallback(n.Callback)
	readUntil(t, tn, "done\n")
	if got, want := len(answers), 2; got != want || answers[0] != "baud 115455" || answers[1] != "control 8" {
		t.Errorf("answers %q, want baud 115455, control 8", answers)
	}
}
