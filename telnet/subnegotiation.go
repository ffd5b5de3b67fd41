package telnet

// Subnegotiation codes shared by TTYPE (RFC 1091) and NEW-ENVIRON.
const (
	SubIS   = 0 // IS: here is the value
	SubSEND = 1 // SEND: please send the value
)

// AppendNAWS appends the frame IAC SB NAWS width height IAC SE (RFC 1073)
// to dst: each dimension as 16 bits, clamped to 0..65535, with every 255
// byte doubled as the RFC demands. 0 means "unknown".
func AppendNAWS(dst []byte, cols, rows int) []byte {
	c, r := clamp16(cols), clamp16(rows)
	return AppendSubnegotiation(dst, NAWS, []byte{byte(c >> 8), byte(c), byte(r >> 8), byte(r)})
}

// ParseNAWS decodes a NAWS subnegotiation payload (NAWS first, as
// ReadSBData returns it).
func ParseNAWS(payload []byte) (cols, rows int, ok bool) {
	if len(payload) != 5 || payload[0] != NAWS {
		return 0, 0, false
	}
	return int(payload[1])<<8 | int(payload[2]), int(payload[3])<<8 | int(payload[4]), true
}

// AppendTTypeIs appends the frame IAC SB TTYPE IS name IAC SE (RFC 1091).
func AppendTTypeIs(dst []byte, name string) []byte {
	payload := make([]byte, 0, 1+len(name))
	payload = append(payload, SubIS)
	payload = append(payload, name...)
	return AppendSubnegotiation(dst, TTYPE, payload)
}

// AppendTTypeSend appends the frame IAC SB TTYPE SEND IAC SE, a server's
// request for the terminal type.
func AppendTTypeSend(dst []byte) []byte {
	return AppendSubnegotiation(dst, TTYPE, []byte{SubSEND})
}

// ParseTTypeIs decodes a TTYPE IS payload (TTYPE first).
func ParseTTypeIs(payload []byte) (name string, ok bool) {
	if len(payload) < 2 || payload[0] != TTYPE || payload[1] != SubIS {
		return "", false
	}
	return string(payload[2:]), true
}

func clamp16(v int) int {
	return min(max(v, 0), 0xffff)
}
