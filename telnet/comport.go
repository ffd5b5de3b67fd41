package telnet

// COM-PORT-OPTION (RFC 2217) lets a client set the serial port behind an
// access server (ser2net, a console server): its speed, character format,
// flow control and modem lines. The client offers the option (WILL
// COM_PORT_OPTION); once the server agrees (DO), the client sends commands
// in subnegotiations, and the server answers each with the setting it
// made, under the command's code plus ComPortServer, and notifies changes
// of the line and modem state it is asked to watch.

// COM-PORT-OPTION commands, client to server. A server's subnegotiation
// carries the same code plus ComPortServer.
const (
	ComPortSignature          = 0
	ComPortSetBaudRate        = 1
	ComPortSetDataSize        = 2
	ComPortSetParity          = 3
	ComPortSetStopSize        = 4
	ComPortSetControl         = 5
	ComPortNotifyLineState    = 6
	ComPortNotifyModemState   = 7
	ComPortFlowControlSuspend = 8
	ComPortFlowControlResume  = 9
	ComPortSetLineStateMask   = 10
	ComPortSetModemStateMask  = 11
	ComPortPurgeData          = 12

	ComPortServer = 100
)

// Values of SET-DATASIZE, SET-PARITY, SET-STOPSIZE and SET-CONTROL. In a
// command, ComPortRequest asks for the current setting without changing
// it (for SET-CONTROL: the outbound flow control).
const (
	ComPortRequest = 0

	ComPortParityNone  = 1
	ComPortParityOdd   = 2
	ComPortParityEven  = 3
	ComPortParityMark  = 4
	ComPortParitySpace = 5

	ComPortStop1   = 1
	ComPortStop2   = 2
	ComPortStop1_5 = 3

	ComPortFlowNone     = 1
	ComPortFlowXonXoff  = 2
	ComPortFlowHardware = 3
	ComPortBreakRequest = 4
	ComPortBreakOn      = 5
	ComPortBreakOff     = 6
	ComPortDTRRequest   = 7
	ComPortDTROn        = 8
	ComPortDTROff       = 9
	ComPortRTSRequest   = 10
	ComPortRTSOn        = 11
	ComPortRTSOff       = 12
)

// Bits of NOTIFY-MODEMSTATE and SET-MODEMSTATE-MASK: the modem lines and
// their changes since the last notification.
const (
	ComPortCD         = 0x80 // carrier detect
	ComPortRI         = 0x40 // ring indicator
	ComPortDSR        = 0x20 // data set ready
	ComPortCTS        = 0x10 // clear to send
	ComPortDeltaCD    = 0x08
	ComPortRIEnded    = 0x04 // trailing edge of RI
	ComPortDeltaDSR   = 0x02
	ComPortDeltaCTS   = 0x01
	ComPortModemLines = ComPortCD | ComPortRI | ComPortDSR | ComPortCTS
)

// Bits of NOTIFY-LINESTATE and SET-LINESTATE-MASK: the state of the
// port's line, errors among it. A server notifies none until a mask asks.
const (
	ComPortTimeout      = 0x80 // time-out error
	ComPortTxShiftEmpty = 0x40 // transfer shift register empty
	ComPortTxHoldEmpty  = 0x20 // transfer holding register empty
	ComPortBreak        = 0x10 // break detected
	ComPortFraming      = 0x08 // framing error
	ComPortParityError  = 0x04 // parity error
	ComPortOverrun      = 0x02 // overrun error
	ComPortDataReady    = 0x01
)

// AppendComPort appends the frame IAC SB COM-PORT-OPTION cmd value IAC SE
// to dst, with every 255 doubled.
func AppendComPort(dst []byte, cmd byte, value ...byte) []byte {
	payload := make([]byte, 0, 2+len(value))
	payload = append(payload, cmd)
	payload = append(payload, value...)
	return AppendSubnegotiation(dst, COM_PORT_OPTION, payload)
}

// AppendComPortBaudRate appends SET-BAUDRATE with baud in four bytes,
// most significant first; 0 asks for the current rate.
func AppendComPortBaudRate(dst []byte, baud uint32) []byte {
	return AppendComPort(dst, ComPortSetBaudRate, byte(baud>>24), byte(baud>>16), byte(baud>>8), byte(baud))
}

// ParseComPort decodes a server's COM-PORT-OPTION subnegotiation payload
// (COM_PORT_OPTION first, as ReadSBData returns it): cmd is the command
// it answers or the notification it is, as the client's code (the
// server's minus ComPortServer), and value the bytes after it, which
// share payload's memory. A client's command (a code under ComPortServer)
// or a code past ComPortPurgeData is not ok.
func ParseComPort(payload []byte) (cmd byte, value []byte, ok bool) {
	if len(payload) < 2 || payload[0] != COM_PORT_OPTION {
		return 0, nil, false
	}
	code := payload[1]
	if code < ComPortServer || code > ComPortServer+ComPortPurgeData {
		return 0, nil, false
	}
	return code - ComPortServer, payload[2:], true
}

// ParseComPortBaudRate decodes SET-BAUDRATE's value, as ParseComPort
// returns it.
func ParseComPortBaudRate(value []byte) (baud uint32, ok bool) {
	if len(value) != 4 {
		return 0, false
	}
	return uint32(value[0])<<24 | uint32(value[1])<<16 | uint32(value[2])<<8 | uint32(value[3]), true
}
