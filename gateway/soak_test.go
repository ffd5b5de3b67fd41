package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// soakByte is byte i of session id's stream: printable, so that neither
// IAC nor CR NUL comes into play, and different at every position.
func soakByte(id, i int) byte { return byte(32 + (i*31+id*17+i/95)%95) }

// soakHost is a loopback host for the soak test: each connection asks,
// in a line "id n mode", for n bytes of stream id; mode "ok" sends them
// all and closes, "rst" sends half and resets the connection.
func soakHost(t *testing.T) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\r')
				if err != nil {
					return
				}
				var id, n int
				var mode string
				if _, err := fmt.Sscan(strings.TrimSpace(line), &id, &n, &mode); err != nil {
					return
				}
				if mode == "rst" {
					n /= 2
				}
				buf := make([]byte, 0, 8<<10)
				for i := 0; i < n; i++ {
					buf = append(buf, soakByte(id, i))
					if len(buf) == cap(buf) || i == n-1 {
						if _, err := c.Write(buf); err != nil {
							return
						}
						buf = buf[:0]
					}
				}
				if mode == "rst" {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

type soakResult struct {
	mode   string
	want   int
	got    int
	reason string
	err    error
}

// TestSoak opens and closes many sessions on loopback, some at a time,
// while hosts reset connections and browsers vanish at random, then checks
// that everything it started has ended: goroutines, file descriptors,
// memory; and that every session that was left alone got every byte, in
// order.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped with -short")
	}
	const (
		sessions    = 300
		concurrency = 24
		timeLimit   = 20 * time.Second
	)
	addr, stopHost := soakHost(t)
	tg := newTestGateway(t, Options{
		Targets: []Target{{Name: "soak", Address: addr}},
		Limits:  Limits{MaxSessions: -1, MaxSessionsPerUser: -1, MaxSessionsPerClient: -1, ConnectRate: -1},
	})
	dialer := &websocket.Dialer{HandshakeTimeout: waitLimit}
	run := func(id int, mode string, n int) soakResult {
		res := soakResult{mode: mode, want: n}
		ws, _, err := dialer.Dial(tg.url("target=soak"), nil)
		if err != nil {
			res.err = err
			return res
		}
		defer ws.Close()
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		hostMode := mode
		if mode != "rst" {
			hostMode = "ok"
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, fmt.Appendf(nil, "%d %d %s\r", id, n, hostMode)); err != nil {
			res.err = err
			return res
		}
		for {
			typ, data, err := ws.ReadMessage()
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				return res
			case err != nil:
				res.err = err
				return res
			case typ == websocket.TextMessage:
				var m map[string]string
				_ = json.Unmarshal(data, &m)
				if m["type"] == "closed" {
					res.reason = m["reason"]
				}
				continue
			}
			for _, c := range data {
				if c != soakByte(id, res.got) {
					res.err = fmt.Errorf("byte %d out of order", res.got)
					return res
				}
				res.got++
			}
			switch {
			case mode == "vanish" && res.got >= n/3:
				_ = ws.NetConn().Close() // no close frame
				return res
			case mode == "leave" && res.got >= n/3:
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			}
		}
	}

	// Warm up, then take the baseline.
	if r := run(0, "ok", 10); r.err != nil || r.got != 10 {
		t.Fatalf("warm-up: %+v", r)
	}
	tg.waitIdle()
	time.Sleep(50 * time.Millisecond) // let the warm-up's goroutines finish exiting
	baseGoroutines, baseFDs, baseHeap := runtime.NumGoroutine(), openFDs(t), heapInUse()

	rng := rand.New(rand.NewSource(42))
	type job struct {
		id   int
		mode string
		n    int
	}
	jobs := make(chan job)
	results := make([]soakResult, sessions+1)
	var wg sync.WaitGroup
	var peak atomic.Int64
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results[j.id] = run(j.id, j.mode, j.n)
				if a := int64(tg.gw.Active()); a > peak.Load() {
					peak.Store(a)
				}
			}
		}()
	}
	began := time.Now()
	started := 0
	for id := 1; id <= sessions && time.Since(began) < timeLimit; id++ {
		mode := "ok"
		switch p := rng.Intn(100); {
		case p < 15:
			mode = "rst"
		case p < 30:
			mode = "vanish"
		case p < 40:
			mode = "leave"
		}
		jobs <- job{id, mode, 1 + rng.Intn(128<<10)}
		started++
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(began)

	counts := map[string]int{}
	var bytesIn int
	for id := 1; id <= started; id++ {
		r := results[id]
		counts[r.mode]++
		bytesIn += r.got
		if r.err != nil {
			t.Errorf("session %d (%s): %v after %d of %d bytes", id, r.mode, r.err, r.got, r.want)
			continue
		}
		if r.mode == "ok" && (r.got != r.want || r.reason != ReasonHostClosed) {
			t.Errorf("session %d: %d of %d bytes, closed %q", id, r.got, r.want, r.reason)
		}
		if r.mode == "rst" && r.got > r.want/2 {
			t.Errorf("session %d: %d bytes from a host that sent %d", id, r.got, r.want/2)
		}
	}
	tg.waitIdle()
	stopHost()

	// Everything settles back.
	deadline := time.Now().Add(10 * time.Second)
	var goroutines, fds int
	for {
		goroutines, fds = runtime.NumGoroutine(), openFDs(t)
		if goroutines <= baseGoroutines+2 && fds <= baseFDs+2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the soak: %d goroutines (baseline %d), %d fds (baseline %d)\n%s",
				goroutines, baseGoroutines, fds, baseFDs, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	heap := heapInUse()
	if heap > baseHeap+32<<20 {
		t.Errorf("heap in use %d MiB after the soak, %d MiB before", heap>>20, baseHeap>>20)
	}
	ends := len(tg.log.entries("session end"))
	if ends != started+1 {
		t.Errorf("%d session end lines for %d sessions", ends, started+1)
	}
	t.Logf("soak: %d sessions (%v) in %v, peak %d at once, %.1f MiB to browsers; goroutines %d -> %d, fds %d -> %d, heap %d -> %d KiB",
		started, counts, elapsed.Round(time.Millisecond), peak.Load(), float64(bytesIn)/(1<<20),
		baseGoroutines, goroutines, baseFDs, fds, baseHeap>>10, heap>>10)
}
