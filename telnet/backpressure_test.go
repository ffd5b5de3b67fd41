package telnet_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"telgate/telnet"
	"telgate/telnet/telnettest"
)

// A host that sends 100 MiB while nobody reads is stopped by TCP flow
// control: its writes block (here until a write deadline), our memory
// stays bounded, and when we read, every byte comes.
func TestBackpressure(t *testing.T) {
	const total = 100 << 20
	stalled := make(chan int64, 1)
	tn := serve(t, func(c *telnettest.Conn) {
		c.ExpectData("go")
		nc := c.NetConn()
		block := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		var sent int64
		_ = nc.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		for sent < total {
			n, err := nc.Write(block)
			sent += int64(n)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Errorf("host: %v", err)
				return
			}
		}
		stalled <- sent
		_ = nc.SetWriteDeadline(time.Time{})
		for sent < total {
			off := sent % int64(len(block))
			n, err := nc.Write(block[off:min(int64(len(block)), off+total-sent)])
			sent += int64(n)
			if err != nil {
				t.Errorf("host: %v", err)
				return
			}
		}
	})
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tn.Write([]byte("go"))
	sent := <-stalled
	runtime.GC()
	runtime.ReadMemStats(&after)
	if sent >= total/2 {
		t.Errorf("the host wrote %d MiB while we did not read; want its writes blocked", sent>>20)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 16<<20 {
		t.Errorf("the heap grew by %d MiB while the host's writes were blocked", grown>>20)
	}
	n, err := io.Copy(io.Discard, tn)
	if n != total || err != nil {
		t.Errorf("read %d bytes, %v; want all %d", n, err, total)
	}
}

// A host that stops reading and keeps asking DO TIMING-MARK cannot block
// our reader: it goes on reading while the replies pile up, until the
// backlog passes MaxOutputBacklog; then the connection is closed and
// reads and writes report ErrOutputBacklog.
func TestStalledPeerCannotBlockReader(t *testing.T) {
	const perBatch = 1000
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		batch := append(bytes.Repeat([]byte{telnet.IAC, telnet.DO, telnet.TM}, perBatch), "batch\n"...)
		nc := c.NetConn()
		for {
			_ = nc.SetWriteDeadline(time.Now().Add(wait))
			if _, err := nc.Write(batch); err != nil {
				return // we closed the connection, or stopped reading
			}
		}
	})
	tn := dialSmallBuffers(t, srv.Addr())
	batches := 0
	var err error
	within(t, 60*time.Second, "reading the flood", func() { tn.Close() }, func() {
		for {
			var got []byte
			got, err = tn.ReadUntil([]byte("batch\n"), wait)
			if err != nil {
				return
			}
			if string(got) == "batch\n" {
				batches++
			}
		}
	})
	if !errors.Is(err, telnet.ErrOutputBacklog) {
		t.Errorf("reading ended with %v, want ErrOutputBacklog", err)
	}
	if replies := batches * perBatch * 3; replies <= telnet.MaxOutputBacklog {
		t.Errorf("the reader read %d batches (%d bytes of replies) before the end, want more than MaxOutputBacklog", batches, replies)
	}
	if _, err := tn.Write([]byte("x")); !errors.Is(err, telnet.ErrOutputBacklog) {
		t.Errorf("Write after the backlog: %v, want ErrOutputBacklog", err)
	}
	if tn.Conn() != nil {
		t.Error("the connection is still open")
	}
}

// Writes made from the callback are queued: a host that does not read
// cannot stall the reader, and once it reads it gets them all, in order.
func TestCallbackWritesWhilePeerStalls(t *testing.T) {
	big := bytes.Repeat([]byte("z\xff"), 64<<10) // 192 KiB on the wire
	resume := make(chan struct{})
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.Negotiate(telnet.WILL, 200)
		c.SendString("after\n")
		<-resume
		c.ExpectNegotiation(telnet.DONT, 200)
		c.ExpectData(string(big))
		if got := c.ExpectSubnegotiation(200); !bytes.Equal(got, []byte{1, 255, 2}) {
			t.Errorf("host: SB %v", got)
		}
		c.ExpectCommand(telnet.NOP)
		c.ExpectData("bye")
	})
	tn := dialSmallBuffers(t, srv.Addr())
	var errs []error
	tn.SetOptionNegotiationCallback(func(tn *telnet.Telnet, cmd, opt byte) {
		if cmd != telnet.WILL || opt != 200 {
			return
		}
		errs = append(errs, tn.SendNegotiation(telnet.DONT, 200))
		_, err := tn.Write(big)
		errs = append(errs, err,
			tn.SendSubnegotiation(200, []byte{1, 255, 2}),
			tn.SendCommand(telnet.NOP))
	})
	within(t, wait, "ReadUntil while the host does not read", func() { tn.Close() }, func() {
		readUntil(t, tn, "after\n")
	})
	close(resume)
	for _, err := range errs {
		if err != nil {
			t.Errorf("write from the callback: %v", err)
		}
	}
	if _, err := tn.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
}

// A large Write from another goroutine while the callback runs is not
// taken for a backlog of replies.
func TestWriteDuringCallback(t *testing.T) {
	big := bytes.Repeat([]byte("w"), 2*telnet.MaxOutputBacklog)
	tn := serve(t, func(c *telnettest.Conn) {
		c.Send(seq(telnet.IAC, telnet.NOP, "after\n"))
		c.ExpectData(string(big))
		c.ExpectData("bye")
	})
	inCallback := make(chan struct{})
	written := make(chan error)
	go func() {
		<-inCallback
		_, err := tn.Write(big)
		written <- err
	}()
	var err error
	tn.SetOptionNegotiationCallback(func(tn *telnet.Telnet, cmd, opt byte) {
		if cmd == telnet.NOP {
			close(inCallback)
			err = <-written
		}
	})
	readUntil(t, tn, "after\n")
	if err != nil {
		t.Fatalf("Write during the callback: %v", err)
	}
	if _, err := tn.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
}

// A Write from another goroutine while the callback runs waits for the
// peer, as any other Write: against a peer that reads slowly it returns as
// the peer takes the data, and all of it arrives. It had been queued like
// the callback's own writes and returned at once, with no backpressure,
// so that a few of them passed MaxOutputBacklog and the package closed a
// healthy connection, losing data Write had reported written. (The
// gateway writes the browser's input while the reader runs the callback
// for the NOPs and GAs in bulk output.)
func TestWriteDuringCallbackWaitsForThePeer(t *testing.T) {
	const blocks, size = 16, 64 << 10 // 4 x MaxOutputBacklog
	var reading atomic.Bool
	startReading := make(chan struct{})
	srv := telnettest.NewServer(t, func(c *telnettest.Conn) {
		c.SendCommand(telnet.NOP)
		<-startReading
		reading.Store(true)
		c.ExpectData(strings.Repeat("w", blocks*size))
		c.ExpectData("bye")
	})
	tn := dialSmallBuffers(t, srv.Addr())
	inCallback := make(chan struct{})
	release := make(chan struct{})
	tn.SetOptionNegotiationCallback(func(_ *telnet.Telnet, cmd, _ byte) {
		if cmd == telnet.NOP {
			close(inCallback)
			<-release
		}
	})
	readDone := make(chan error, 1)
	go func() {
		_, err := tn.ReadAll()
		readDone <- err
	}()
	<-inCallback
	time.AfterFunc(100*time.Millisecond, func() { close(startReading) }) // slow, not stalled
	block := bytes.Repeat([]byte("w"), size)
	for i := range blocks {
		if _, err := tn.Write(block); err != nil {
			t.Errorf("Write %d of %d while the callback runs: %v", i+1, blocks, err)
			break
		}
	}
	if !reading.Load() {
		t.Error("the Writes returned before the host read anything: no backpressure")
	}
	close(release)
	if _, err := tn.Write([]byte("bye")); err != nil {
		t.Error(err)
	}
	if err := <-readDone; err != nil { // the host has read all, and closed
		t.Errorf("ReadAll: %v", err)
	}
	tn.Close()
	srv.Close() // waits for the host's checks
}
