package telnet

import "strconv"

// Telnet commands (RFC 854), with telnetlib's names.
const (
	IAC  = 255 // interpret as command
	DONT = 254 // you are not to use option
	DO   = 253 // please, you use option
	WONT = 252 // I won't use option
	WILL = 251 // I will use option
	SB   = 250 // subnegotiation begin
	GA   = 249 // go ahead
	EL   = 248 // erase line
	EC   = 247 // erase character
	AYT  = 246 // are you there
	AO   = 245 // abort output
	IP   = 244 // interrupt process
	BRK  = 243 // break
	DM   = 242 // data mark
	NOP  = 241 // no operation
	SE   = 240 // subnegotiation end
	// EOR_CMD is the End of Record command (RFC 885). telnetlib has no
	// name for it; its EOR is the option of the same name, 25.
	EOR_CMD = 239

	// NOOPT is the option byte passed to the negotiation callback for
	// commands that carry no option.
	NOOPT = 0
)

// TelnetPort is the standard telnet port, used when a port of 0 is given.
const TelnetPort = 23

// Telnet options, with telnetlib's names (arpa/telnet.h without TELOPT_,
// then the IANA registry).
const (
	BINARY              = 0   // 8-bit data path (RFC 856)
	ECHO                = 1   // echo (RFC 857)
	RCP                 = 2   // prepare to reconnect
	SGA                 = 3   // suppress go ahead (RFC 858)
	NAMS                = 4   // approximate message size
	STATUS              = 5   // give status (RFC 859)
	TM                  = 6   // timing mark (RFC 860)
	RCTE                = 7   // remote controlled transmission and echo
	NAOL                = 8   // negotiate about output line width
	NAOP                = 9   // negotiate about output page size
	NAOCRD              = 10  // negotiate about CR disposition
	NAOHTS              = 11  // negotiate about horizontal tabstops
	NAOHTD              = 12  // negotiate about horizontal tab disposition
	NAOFFD              = 13  // negotiate about formfeed disposition
	NAOVTS              = 14  // negotiate about vertical tab stops
	NAOVTD              = 15  // negotiate about vertical tab disposition
	NAOLFD              = 16  // negotiate about output LF disposition
	XASCII              = 17  // extended ascii character set
	LOGOUT              = 18  // force logout
	BM                  = 19  // byte macro
	DET                 = 20  // data entry terminal
	SUPDUP              = 21  // supdup protocol
	SUPDUPOUTPUT        = 22  // supdup output
	SNDLOC              = 23  // send location
	TTYPE               = 24  // terminal type (RFC 1091)
	EOR                 = 25  // end of record (RFC 885)
	TUID                = 26  // TACACS user identification
	OUTMRK              = 27  // output marking
	TTYLOC              = 28  // terminal location number
	VT3270REGIME        = 29  // 3270 regime
	X3PAD               = 30  // X.3 PAD
	NAWS                = 31  // window size (RFC 1073)
	TSPEED              = 32  // terminal speed (RFC 1079)
	LFLOW               = 33  // remote flow control (RFC 1372)
	LINEMODE            = 34  // linemode option (RFC 1184)
	XDISPLOC            = 35  // X display location
	OLD_ENVIRON         = 36  // old environment variables
	AUTHENTICATION      = 37  // authenticate
	ENCRYPT             = 38  // encryption option
	NEW_ENVIRON         = 39  // new environment variables (RFC 1572)
	TN3270E             = 40  // TN3270E
	XAUTH               = 41  // XAUTH
	CHARSET             = 42  // CHARSET (RFC 2066)
	RSP                 = 43  // telnet remote serial port
	COM_PORT_OPTION     = 44  // com port control option (RFC 2217)
	SUPPRESS_LOCAL_ECHO = 45  // telnet suppress local echo
	TLS                 = 46  // telnet start TLS
	KERMIT              = 47  // KERMIT
	SEND_URL            = 48  // SEND-URL
	FORWARD_X           = 49  // FORWARD_X
	PRAGMA_LOGON        = 138 // TELOPT PRAGMA LOGON
	SSPI_LOGON          = 139 // TELOPT SSPI LOGON
	PRAGMA_HEARTBEAT    = 140 // TELOPT PRAGMA HEARTBEAT
	EXOPL               = 255 // extended-options-list
)

var commandNames = [...]string{
	"EOR", "SE", "NOP", "DM", "BRK", "IP", "AO", "AYT", "EC", "EL", "GA", "SB",
	"WILL", "WONT", "DO", "DONT", "IAC",
}

// CommandName returns the name of a telnet command byte, such as "NOP" or
// "WILL", or its decimal value when it has no name.
func CommandName(cmd byte) string {
	if cmd >= EOR_CMD {
		return commandNames[cmd-EOR_CMD]
	}
	return strconv.Itoa(int(cmd))
}

var optionNames = map[byte]string{
	BINARY: "BINARY", ECHO: "ECHO", RCP: "RCP", SGA: "SGA", NAMS: "NAMS",
	STATUS: "STATUS", TM: "TM", RCTE: "RCTE", NAOL: "NAOL", NAOP: "NAOP",
	NAOCRD: "NAOCRD", NAOHTS: "NAOHTS", NAOHTD: "NAOHTD", NAOFFD: "NAOFFD",
	NAOVTS: "NAOVTS", NAOVTD: "NAOVTD", NAOLFD: "NAOLFD", XASCII: "XASCII",
	LOGOUT: "LOGOUT", BM: "BM", DET: "DET", SUPDUP: "SUPDUP",
	SUPDUPOUTPUT: "SUPDUPOUTPUT", SNDLOC: "SNDLOC", TTYPE: "TTYPE",
	EOR: "EOR", TUID: "TUID", OUTMRK: "OUTMRK", TTYLOC: "TTYLOC",
	VT3270REGIME: "VT3270REGIME", X3PAD: "X3PAD", NAWS: "NAWS",
	TSPEED: "TSPEED", LFLOW: "LFLOW", LINEMODE: "LINEMODE",
	XDISPLOC: "XDISPLOC", OLD_ENVIRON: "OLD_ENVIRON",
	AUTHENTICATION: "AUTHENTICATION", ENCRYPT: "ENCRYPT",
	NEW_ENVIRON: "NEW_ENVIRON", TN3270E: "TN3270E", XAUTH: "XAUTH",
	CHARSET: "CHARSET", RSP: "RSP", COM_PORT_OPTION: "COM_PORT_OPTION",
	SUPPRESS_LOCAL_ECHO: "SUPPRESS_LOCAL_ECHO", TLS: "TLS", KERMIT: "KERMIT",
	SEND_URL: "SEND_URL", FORWARD_X: "FORWARD_X",
	PRAGMA_LOGON: "PRAGMA_LOGON", SSPI_LOGON: "SSPI_LOGON",
	PRAGMA_HEARTBEAT: "PRAGMA_HEARTBEAT", EXOPL: "EXOPL",
}

// OptionName returns telnetlib's name of an option, such as "NAWS", or its
// decimal value when it has none.
func OptionName(opt byte) string {
	if name, ok := optionNames[opt]; ok {
		return name
	}
	return strconv.Itoa(int(opt))
}

// NegotiationName names a command and its option for logs: "DO NAWS",
// "WILL 200". For commands that take no option it is CommandName(cmd).
func NegotiationName(cmd, opt byte) string {
	switch cmd {
	case DO, DONT, WILL, WONT:
		return CommandName(cmd) + " " + OptionName(opt)
	}
	return CommandName(cmd)
}
