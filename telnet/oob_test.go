//go:build linux

package telnet_test

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// urgentHost sends "abc IAC IP", then IAC, then the DM byte as TCP urgent
// data, then "xyz": what BSD telnetd sends after an interrupt (P-6).
func urgentHost(t *testing.T) func(c *telnettest.Conn) {
	return func(c *telnettest.Conn) {
		c.ExpectData("go")
		c.Send(seq("abc", telnet.IAC, telnet.IP))
		c.Send([]byte{telnet.IAC})
		raw, err := c.NetConn().(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Errorf("host: %v", err)
			return
		}
		var serr error
		err = raw.Write(func(fd uintptr) bool {
			serr = syscall.Sendto(int(fd), []byte{telnet.DM}, syscall.MSG_OOB, nil)
			return serr != syscall.EAGAIN
		})
		if err != nil || serr != nil {
			t.Errorf("host: send urgent: %v %v", err, serr)
			return
		}
		c.SendString("xyz")
	}
}

// With SO_OOBINLINE the urgent DM stays in the stream: the cooked data is
// the input without IAC IP and IAC DM, and both commands reach the
// callback (B34).
func TestUrgentDataMark(t *testing.T) {
	tn := serve(t, urgentHost(t))
	tr := traceCommands(tn)
	tn.Write([]byte("go"))
	got, err := tn.ReadAll()
	if string(got) != "abcxyz" || err != nil {
		t.Errorf("ReadAll = %q, %v; want abcxyz", got, err)
	}
	want := []byte{telnet.IP, telnet.NOOPT, telnet.DM, telnet.NOOPT}
	if cmds := tr.commands(); !bytes.Equal(cmds, want) {
		t.Errorf("callback got %s, want %s", names(cmds), names(want))
	}

	// The control: a plain socket loses the urgent byte, so the test
	// above would see a dangling IAC without SO_OOBINLINE.
	srv := telnettest.NewServer(t, urgentHost(t))
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("go"))
	raw, _ := io.ReadAll(conn)
	if bytes.IndexByte(raw, telnet.DM) >= 0 {
		t.Logf("this system keeps urgent data inline by default: %q", raw)
	} else if string(raw) != "abc\xff\xf4\xffxyz" {
		t.Errorf("plain socket read %q", raw)
	}
}
