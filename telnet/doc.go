// Package telnet is a telnet client (RFC 854) with the API of Python's
// telnetlib, rendered in Go: exact where telnetlib is right, correct where
// it is wrong, and fast.
//
// A script logs in and runs a command:
//
//	t, err := telnet.Dial("router.example", 23, 10*time.Second)
//	if err != nil { ... }
//	defer t.Close()
//	t.ReadUntil([]byte("login: "), 5*time.Second)
//	t.Write([]byte("admin\r\n"))
//	t.ReadUntil([]byte("Password: "), 5*time.Second)
//	t.Write([]byte(password + "\r\n"))
//	t.Write([]byte("show version\r\nexit\r\n"))
//	out, err := t.ReadAll()
//
// # From telnetlib to Go
//
//	telnetlib                          telnet
//	Telnet()                           New()
//	Telnet(host, port, timeout)        Dial(host, port, timeout)
//	open(host, port, timeout)          (*Telnet).Open, OpenContext
//	read_until(expected, timeout)      ReadUntil(match, timeout)
//	read_all()                         ReadAll()
//	read_some()                        ReadSome()
//	read_very_eager()                  ReadVeryEager()
//	read_eager()                       ReadEager()
//	read_lazy()                        ReadLazy()
//	read_very_lazy()                   ReadVeryLazy()
//	read_sb_data()                     ReadSBData()
//	expect(list, timeout)              Expect(patterns, timeout)
//	write(buffer)                      Write(p)
//	set_option_negotiation_callback()  SetOptionNegotiationCallback(cb)
//	set_debuglevel(level)              SetDebugLevel(level)
//	msg(msg, *args)                    Msg(format, args...)
//	close()                            Close()
//	get_socket()                       Conn()
//	fileno()                           Fileno()
//	interact()                         Interact(in, out)
//	mt_interact()                      MtInteract(in, out)
//	EOFError                           io.EOF
//	socket.timeout from a read         (no equivalent: see Timeouts)
//
// The constants keep telnetlib's names (IAC, DO, SB, NAWS, TTYPE, ...),
// with one addition: EOR is the option (25), as in telnetlib, and EOR_CMD
// the End of Record command (239). CommandName, OptionName and
// NegotiationName name them for logs ("DO NAWS", "WILL 200").
//
// Added for Go users and for the gateway built on this package: Read (an
// io.Reader of cooked data, the fastest way to read), TryRead and WaitRead
// (for a relay: read what has arrived, wait for it without a buffer), NewConn (a Telnet
// over any net.Conn), DialContext and OpenContext, SendCommand (IAC BRK and
// the other commands, which Write cannot send because it escapes IAC),
// SendNegotiation, SendSubnegotiation and WriteRaw, SetDebugOutput,
// SetReceiveBinary, SetMaxSubnegotiation, SetRaw (no telnet at all, for a
// host that speaks plain TCP); a Decoder with no I/O; a
// Negotiator implementing RFC 1143's Q method with NAWS, TTYPE and BINARY;
// encoders for NAWS and TTYPE frames, and for RFC 2217's COM-PORT-OPTION
// (AppendComPort, ParseComPort) that sets a serial port behind an access
// server; LineEnding and AppendLineEndings for a terminal's Enter key.
//
// # Timeouts
//
// A timeout of 0 means none (block), as with net.Dialer; a positive one is
// a deadline for the whole call; a negative one means "do not wait",
// telnetlib's timeout=0. ReadUntil and Expect return what they have when
// the timeout passes, with a nil error, as telnetlib does. Do not set
// deadlines on Conn(): the package sets and clears read deadlines itself
// for these timeouts, and a deadline error of its own reading ends the
// stream.
//
// # Where this package differs from telnetlib
//
//   - NUL bytes: telnetlib drops every NUL and every DC1 (0x11), in data
//     and inside subnegotiations, so a NAWS payload loses its zero bytes.
//     Here no byte is dropped except the NUL of a CR NUL pair (RFC 854's
//     bare carriage return), and that only while the peer is not sending
//     in BINARY mode. Subnegotiation payloads are kept whole.
//   - Default negotiation: with no callback both answer DO with WONT and
//     WILL with DONT, but telnetlib also answers DONT with WONT and WONT
//     with DONT for options that are already off, which RFC 854 forbids
//     and which loops against a peer that does the same. Here those get
//     no answer.
//   - Reads from the callback: as in telnetlib, the data of a received
//     chunk becomes readable only after the whole chunk is parsed, so a
//     callback cannot see the data that came before its command in the
//     same chunk. telnetlib lets the callback call read methods; here it
//     may call only ReadSBData (and the methods that are safe alongside a
//     read): the callback runs inside the read that met the command.
//   - The callback receives a Telnet, not the socket, so it can answer
//     with SendNegotiation and SendSubnegotiation (which escape IAC)
//     instead of raw socket writes. It is the callback's own Telnet, which
//     shares the connection of the one the callback was set on but is not
//     equal to it: the writes made through it are the callback's (see
//     Telnet).
//   - Subnegotiations: telnetlib processes commands found inside a
//     subnegotiation and stays in it, so one that never ends swallows the
//     rest of the session. Here a command other than IAC IAC and IAC SE
//     inside a subnegotiation ends it (discarding its payload, without an
//     SE callback) and is then handled as usual. A payload longer than
//     SetMaxSubnegotiation's limit (64 KiB by default) is discarded up to
//     its IAC SE, never leaked into the data, and not reported. A partial
//     payload is not visible through ReadSBData before its IAC SE.
//   - Expect: telnetlib stops matching once it has seen EOF, even when the
//     data it holds contains a match. Here data held at EOF is matched;
//     once none is left, Expect returns io.EOF as telnetlib raises
//     EOFError, even for a pattern that matches empty text.
//   - Reads: telnetlib receives 50 bytes per call and parses byte by byte;
//     its read_all is quadratic. Here reads take up to 32 KiB (Read and
//     TryRead into a slice of 4 KiB or more: as much as it holds, read
//     straight into it and decoded in place), runs of plain data are
//     copied at once, and every read is linear.
//   - Backpressure: a TCP or Unix connection (*net.TCPConn, *net.UnixConn)
//     is read directly, on the goroutine that calls a read method and only
//     then, so what nobody reads waits in the kernel and TCP flow control
//     stops the peer; such a Telnet has no goroutine of its own and, while
//     nothing arrives, holds no read buffer. Any other net.Conn, and any
//     connection on a platform without Unix system calls, is read by a
//     goroutine of the Telnet's, at most two 32 KiB chunks ahead of the
//     reader.
//   - Urgent data: connections are set to SO_OOBINLINE, so an IAC DM sent
//     as TCP urgent data (BSD telnetd after an interrupt) stays in the
//     stream and is decoded as a command.
//   - Writes are whole units that never interleave. Writes the callback
//     makes through the Telnet it receives are queued, so the reader never
//     waits for the peer (telnetlib's callback blocks the reader in
//     sendall); every other write, also one made while the callback runs,
//     waits until the peer takes it, so that a slow peer slows its writers
//     down instead of filling memory. (A write through the callback's
//     Telnet from another goroutine is queued too while the reader decodes
//     a chunk that has run callbacks; see Telnet.)
//   - Interact and MtInteract are byte-transparent (telnetlib's decode and
//     encode ASCII and fail on any other byte) and are one implementation.
//     They print "*** Connection closed by remote host ***" only when the
//     host closed the connection, not after a local Close.
//   - Raw data waits to be parsed only in the chunk WaitRead set aside
//     (telnetlib's raw queue), and in the rest of a chunk whose callback
//     panicked; every other chunk is decoded as it is taken from the
//     connection. A panic of the callback loses no data (telnetlib loses
//     the data decoded before the command): see
//     SetOptionNegotiationCallback. ReadLazy decodes that chunk, and
//     ReadVeryLazy reports io.EOF only once it is decoded too. From Close
//     on, reads take nothing more from the connection (a pump's
//     read-ahead is dropped, as the kernel's buffer is).
//   - Open refuses a Telnet that is already connected (telnetlib's doc
//     says not to do it; its code lets you).
//   - Reads that do not wait: ReadUntil with a negative timeout searches
//     everything already received, as ReadVeryEager and Expect take it
//     (on Linux, for a connection read directly, all the kernel holds;
//     elsewhere up to three 32 KiB chunks); telnetlib's read_until with
//     timeout=0 looks at one receive of at most 50 bytes.
//   - Errors: a read error other than EOF (a reset, say) ends the stream
//     like EOF, and the reads that would raise EOFError return it instead,
//     wrapped; ReadAll returns the data together with it. ReadSome returns
//     an empty slice with io.EOF at the end of the stream, where
//     telnetlib's read_some returns b"". Every read of a Telnet never
//     opened returns ErrNotConnected, where telnetlib raises
//     AttributeError.
//
// # Speed
//
// See the package's benchmarks (go test -bench . ./telnet) and the figures
// in the README.md beside this package's source.
package telnet
