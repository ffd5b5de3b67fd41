// Command bench measures telgate against websockify, a plain copy relay
// and raw TCP on loopback: bulk host-to-browser throughput, keystroke
// round trips and the memory of idle sessions. It starts the telgate
// binary it is given, websockify (a raw WebSocket-to-TCP relay that does
// no telnet parsing), the copy relay (itself, run with -copy-relay) and
// its own telnet hosts, runs the measurements interleaved, checks that
// every byte of every bulk run arrived in order, prints a table and stops.
//
// Usage (bench/run.sh builds telgate and runs this):
//
//	go run ./bench -telgate ./telgate [-websockify websockify] [-rounds 11]
//	    [-mib 64] [-keys 2000] [-sessions 1000,9000] [-websockify-sessions 1000]
//	    [-only telgate,websockify,copy,tcp] [-parts bulk,keys,memory]
//	    [-telgate-b ./telgate-other]
//
// Everything runs on 127.0.0.1; every loop is bounded in count and time.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	telgate := flag.String("telgate", "", "the telgate `binary` to measure (required)")
	telgateB := flag.String("telgate-b", "", "another telgate `binary`, measured alongside as \"telgate B\" (to compare two builds in one run; bulk and keystrokes only)")
	websockify := flag.String("websockify", "websockify", "the websockify `command`; empty to leave it out")
	rounds := flag.Int("rounds", 11, "bulk runs per relay, interleaved")
	mib := flag.Int("mib", 64, "MiB per bulk run")
	keys := flag.Int("keys", 2000, "keystrokes per relay")
	sessions := flag.String("sessions", "1000,9000", "idle session counts for telgate, comma-separated")
	wsSessions := flag.String("websockify-sessions", "1000", "idle session counts for websockify")
	only := flag.String("only", "", "measure only these relays (telgate, websockify, copy, tcp; telgate includes telgate B), comma-separated; all when empty")
	parts := flag.String("parts", "bulk,keys,memory", "what to measure, comma-separated")
	timeout := flag.Duration("timeout", 12*time.Minute, "stop with a failure after this long")
	copyRelay := flag.String("copy-relay", "", "run as the reference copy relay to this `host:port` (used by the benchmark itself)")
	flag.Parse()
	if *copyRelay != "" {
		if err := runCopyRelay(*copyRelay); err != nil {
			fmt.Fprintf(os.Stderr, "bench: copy relay: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if *telgate == "" {
		fmt.Fprintln(os.Stderr, "bench: -telgate is required")
		os.Exit(2)
	}
	if *websockify != "" {
		if _, err := exec.LookPath(*websockify); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v (apt-get install websockify, or -websockify '' to leave it out)\n", err)
			os.Exit(2)
		}
	}
	counts, err := parseCounts(*sessions)
	if err == nil && *websockify != "" {
		var wc []int
		wc, err = parseCounts(*wsSessions)
		wsCounts = wc
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	watchdog := time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "bench: FAIL: still running after %v\n", *timeout)
		stopAll()
		os.Exit(1)
	})
	defer watchdog.Stop()

	b := &bench{telgateBin: *telgate, telgateB: *telgateB, websockifyBin: *websockify, rounds: *rounds,
		bytes: *mib << 20, keys: *keys, counts: counts, parts: map[string]bool{}}
	if *only != "" {
		b.only = map[string]bool{}
		for _, p := range strings.Split(*only, ",") {
			b.only[strings.TrimSpace(p)] = true
		}
	}
	for _, p := range strings.Split(*parts, ",") {
		b.parts[strings.TrimSpace(p)] = true
	}
	if err := b.run(); err != nil {
		stopAll()
		fmt.Fprintf(os.Stderr, "bench: FAIL: %v\n", err)
		os.Exit(1)
	}
	stopAll()
}

var wsCounts []int

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad session count %q", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// Every process started is stopped on the way out, failure or not.
var (
	procsMu sync.Mutex
	procs   []*proc
)

func track(p *proc) *proc {
	procsMu.Lock()
	defer procsMu.Unlock()
	procs = append(procs, p)
	return p
}

func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		p.stop()
	}
	procs = nil
}

func untrack(p *proc) {
	p.stop()
	procsMu.Lock()
	defer procsMu.Unlock()
	procs = slices.DeleteFunc(procs, func(q *proc) bool { return q == p })
}

type bench struct {
	telgateBin, websockifyBin string
	telgateB                  string // a second build to compare, or ""
	rounds, bytes, keys       int
	counts                    []int
	parts                     map[string]bool
	only                      map[string]bool // nil: all
	dir                       string

	raw, cooked []byte
	bulkHost    *host
	echoHost    *host

	// results, by peer name
	mbps     map[string][]float64
	frames   map[string][2]int           // data messages, bytes in messages of 16 KiB or more
	cpu      map[string][2]time.Duration // in bulk runs: the relay's, the benchmark's (host and client)
	rtts     map[string][]time.Duration
	mem      map[string][]memResult
	peerSeq  []string
	plainTCP map[string]bool // peers the client reads as plain TCP
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

func (b *bench) run() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "telgate-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.dir)
	b.raw, b.cooked = makeStream(b.bytes)
	b.logf("stream: %d bytes raw, %d cooked, %.1f IAC sequences per KiB", len(b.raw), len(b.cooked), iacPerKiB(b.raw))
	if b.bulkHost, err = startHost(bulkHost(b.raw)); err != nil {
		return err
	}
	defer b.bulkHost.close()
	if b.echoHost, err = startHost(echoHost); err != nil {
		return err
	}
	defer b.echoHost.close()
	b.mbps, b.frames, b.cpu = map[string][]float64{}, map[string][2]int{}, map[string][2]time.Duration{}
	b.rtts, b.mem = map[string][]time.Duration{}, map[string][]memResult{}

	if err := b.speed(); err != nil {
		return err
	}
	if b.parts["memory"] {
		if err := b.memory(); err != nil {
			return err
		}
	}
	b.report(os.Stdout)
	return nil
}

// speed measures throughput and keystrokes, the relays interleaved.
func (b *bench) speed() error {
	tg, err := startTelgate(b.telgateBin, b.dir, map[string]string{"bulk": b.bulkHost.addr(), "echo": b.echoHost.addr()})
	if err != nil {
		return err
	}
	track(tg)
	defer untrack(tg)
	peers := []*peer{{name: "telgate", key: "telgate", cooked: true, pid: tg.cmd.Process.Pid,
		bulkURL: "ws://" + tg.addr + "/ws?target=bulk", echoURL: "ws://" + tg.addr + "/ws?target=echo"}}
	if b.telgateB != "" {
		tb, err := startTelgate(b.telgateB, b.dir, map[string]string{"bulk": b.bulkHost.addr(), "echo": b.echoHost.addr()})
		if err != nil {
			return err
		}
		track(tb)
		defer untrack(tb)
		peers = append(peers, &peer{name: "telgate B", key: "telgate", cooked: true, pid: tb.cmd.Process.Pid,
			bulkURL: "ws://" + tb.addr + "/ws?target=bulk", echoURL: "ws://" + tb.addr + "/ws?target=echo"})
	}
	if b.websockifyBin != "" {
		wb, err := startWebsockify(b.websockifyBin, b.dir, b.bulkHost.addr())
		if err != nil {
			return err
		}
		track(wb)
		defer untrack(wb)
		we, err := startWebsockify(b.websockifyBin, b.dir, b.echoHost.addr())
		if err != nil {
			return err
		}
		track(we)
		defer untrack(we)
		peers = append(peers, &peer{name: "websockify", key: "websockify", pid: wb.cmd.Process.Pid, bulkURL: "ws://" + wb.addr + "/", echoURL: "ws://" + we.addr + "/"})
	}
	cb, err := startCopyRelay(b.dir, b.bulkHost.addr())
	if err != nil {
		return err
	}
	track(cb)
	defer untrack(cb)
	ce, err := startCopyRelay(b.dir, b.echoHost.addr())
	if err != nil {
		return err
	}
	track(ce)
	defer untrack(ce)
	peers = append(peers,
		&peer{name: "copy relay", key: "copy", raw: true, pid: cb.cmd.Process.Pid, bulkURL: cb.addr, echoURL: ce.addr},
		&peer{name: "raw TCP", key: "tcp", raw: true, bulkURL: b.bulkHost.addr(), echoURL: b.echoHost.addr()})
	if b.only != nil {
		peers = slices.DeleteFunc(peers, func(p *peer) bool { return !b.only[p.key] })
	}
	b.plainTCP = map[string]bool{}
	for _, p := range peers {
		b.peerSeq = append(b.peerSeq, p.name)
		b.plainTCP[p.name] = p.raw
	}

	// Bulk: one warm-up run each, then the rounds, the order rotating so
	// that no relay always runs right after the same other one.
	for r := -1; r < b.rounds && b.parts["bulk"]; r++ {
		for i := range peers {
			p := peers[(i+max(r, 0))%len(peers)]
			want := b.raw
			if p.cooked {
				want = b.cooked
			}
			relay0, self0 := p.cpu(), selfCPU()
			res, err := p.bulk(want, 60*time.Second)
			relay, self := p.cpu()-relay0, selfCPU()-self0
			if err != nil {
				return fmt.Errorf("%s bulk run %d: %w", p.name, r+1, err)
			}
			mbps := float64(len(b.raw)) / res.elapsed.Seconds() / 1e6
			if r < 0 {
				b.logf("%-10s warm-up bulk: %.0f MB/s", p.name, mbps)
				continue
			}
			b.mbps[p.name] = append(b.mbps[p.name], mbps)
			c := b.cpu[p.name]
			b.cpu[p.name] = [2]time.Duration{c[0] + relay, c[1] + self}
			f := b.frames[p.name]
			b.frames[p.name] = [2]int{f[0] + res.frames, f[1] + res.big}
			b.logf("%-10s bulk %d: %.0f MB/s, %d messages, every byte in order", p.name, r+1, mbps, res.frames)
		}
	}

	if !b.parts["keys"] {
		return nil
	}
	// Keystrokes: one session per relay, in blocks taking turns.
	sess := map[string]*echoSession{}
	for _, p := range peers {
		e, err := p.openEcho(10 * time.Second)
		if err != nil {
			return fmt.Errorf("%s echo session: %w", p.name, err)
		}
		defer e.close()
		sess[p.name] = e
		for i := 0; i < 50; i++ { // warm-up
			if _, err := e.keystroke('a'+byte(i%26), 2*time.Second); err != nil {
				return fmt.Errorf("%s warm-up keystroke: %w", p.name, err)
			}
		}
	}
	const blocks = 4
	for blk := 0; blk < blocks; blk++ {
		for _, p := range peers {
			e := sess[p.name]
			for i := 0; i < b.keys/blocks; i++ {
				// A pause between keystrokes, as a typist makes: each
				// one finds the relay idle.
				time.Sleep(time.Millisecond)
				rtt, err := e.keystroke('a'+byte(i%26), 2*time.Second)
				if err != nil {
					return fmt.Errorf("%s keystroke: %w", p.name, err)
				}
				b.rtts[p.name] = append(b.rtts[p.name], rtt)
			}
		}
	}
	for _, p := range peers {
		b.logf("%-10s keystrokes: p50 %v p99 %v", p.name, pct(b.rtts[p.name], 50), pct(b.rtts[p.name], 99))
	}
	return nil
}

// memResult is the memory of one relay with a number of idle sessions.
type memResult struct {
	sessions int // open when measured
	kib      float64
	total    int64 // KiB above the baseline
	failed   int   // sessions that could not be opened, or failed the check
	open     time.Duration
}

// memory opens idle sessions on a fresh relay, measures its memory
// growth per session at each count, then checks that every session still
// echoes a keystroke.
func (b *bench) memory() error {
	tg, err := startTelgate(b.telgateBin, b.dir, map[string]string{"echo": b.echoHost.addr()})
	if err != nil {
		return err
	}
	track(tg)
	p := &peer{name: "telgate", echoURL: "ws://" + tg.addr + "/ws?target=echo"}
	// The whole process's resident memory: telgate is one process.
	res, err := b.idle(p, tg, b.counts, rssKiB)
	untrack(tg)
	if err != nil {
		return err
	}
	b.mem["telgate"] = res
	if b.websockifyBin != "" && len(wsCounts) > 0 {
		ws, err := startWebsockify(b.websockifyBin, b.dir, b.echoHost.addr())
		if err != nil {
			return err
		}
		track(ws)
		p := &peer{name: "websockify", echoURL: "ws://" + ws.addr + "/"}
		// websockify forks a process per connection: their proportional
		// set sizes, summed, count shared pages once.
		res, err := b.idle(p, ws, wsCounts, pssKiB)
		untrack(ws)
		if err != nil {
			return err
		}
		b.mem["websockify"] = res
	}
	return nil
}

func (b *bench) idle(p *peer, pr *proc, counts []int, measure func(int) (int64, error)) ([]memResult, error) {
	pid := pr.cmd.Process.Pid
	// Warm up: a few sessions opened and closed, so that the baseline
	// includes what any first session brings (code paged in, pools).
	for i := 0; i < 20; i++ {
		e, err := p.openEcho(10 * time.Second)
		if err != nil {
			return nil, fmt.Errorf("%s warm-up session: %w", p.name, err)
		}
		e.close()
	}
	time.Sleep(3 * time.Second)
	base, err := measure(pid)
	if err != nil {
		return nil, err
	}
	baseFDs := fdCount(pid)
	b.logf("%-10s idle baseline: %d KiB, %d descriptors", p.name, base, baseFDs)

	var (
		mu      sync.Mutex
		open    []*echoSession
		failed  atomic.Int64
		errShow atomic.Int64
		out     []memResult
	)
	defer func() {
		for _, e := range open {
			e.close()
		}
	}()
	for _, n := range counts {
		start := time.Now()
		todo := make(chan struct{}, n)
		for i := len(open) + int(failed.Load()); i < n; i++ {
			todo <- struct{}{}
		}
		close(todo)
		var wg sync.WaitGroup
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range todo {
					e, err := p.openEcho(30 * time.Second)
					if err != nil {
						failed.Add(1)
						if errShow.Add(1) <= 5 {
							b.logf("%s: opening a session: %v", p.name, err)
						}
						continue
					}
					mu.Lock()
					open = append(open, e)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		opened := time.Since(start)
		time.Sleep(5 * time.Second) // settle
		m, err := measure(pid)
		if err != nil {
			return nil, err
		}
		r := memResult{sessions: len(open), total: m - base, failed: int(failed.Load()), open: opened}
		if len(open) > 0 {
			r.kib = float64(m-base) / float64(len(open))
		}
		b.logf("%-10s %d idle sessions (%d failed) opened in %v: %d KiB, %.1f KiB per session, %d descriptors%s",
			p.name, len(open), r.failed, opened.Round(time.Millisecond), m, r.kib, fdCount(pid), goMemory(pr))
		out = append(out, r)
	}

	// Every session still works: one keystroke each.
	todo := make(chan *echoSession, len(open))
	for _, e := range open {
		todo <- e
	}
	close(todo)
	var dead atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range todo {
				if _, err := e.keystroke('z', 10*time.Second); err != nil {
					if dead.Add(1) <= 5 {
						b.logf("%s: keystroke on an idle session: %v", p.name, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	out[len(out)-1].failed += int(dead.Load())
	if out[len(out)-1].failed > 0 {
		b.logf("%s: its log ends with:\n%s", p.name, tail(pr.log, 5))
	}
	b.logf("%-10s keystroke check: %d of %d sessions echoed", p.name, len(open)-int(dead.Load()), len(open))
	for _, e := range open {
		e.close()
	}
	open = nil
	// The relay lets go of every session's descriptors.
	for i := 0; i < 100 && fdCount(pid) > baseFDs+4; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	b.logf("%-10s after closing: %d descriptors (baseline %d)", p.name, fdCount(pid), baseFDs)
	return out, nil
}

// tail returns the last n lines of a file.
func tail(file string, n int) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// report prints the machine and the table, in Markdown.
func (b *bench) report(w io.Writer) {
	model := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	wsVersion := "—"
	if b.websockifyBin != "" {
		if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "websockify").Output(); err == nil {
			wsVersion = string(out)
		}
	}
	fmt.Fprintf(w, "\nMachine: %d CPUs (%s), Linux %s, %s, websockify %s.\n", runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), runtime.Version(), wsVersion)
	fmt.Fprintf(w, "Stream: %.0f MiB of numbered text lines, %.1f IAC sequences per KiB; %d bulk runs per relay, interleaved; %d keystrokes per relay.\n\n",
		float64(len(b.raw))/(1<<20), iacPerKiB(b.raw), b.rounds, len(b.rtts["telgate"]))

	cols := b.peerSeq
	fmt.Fprintf(w, "| measure | %s | telgate ÷ websockify |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|%s---:|\n", strings.Repeat("---:|", len(cols)))
	row := func(name string, cell func(p string) string, r string) {
		cells := make([]string, len(cols))
		for i, p := range cols {
			cells[i] = cell(p)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", name, strings.Join(cells, " | "), r)
	}
	row("bulk throughput, MB/s (median; min–max)", func(p string) string {
		v := b.mbps[p]
		if len(v) == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f (%.0f–%.0f)", median(v), slices.Min(v), slices.Max(v))
	}, ratio(median(b.mbps["telgate"]), median(b.mbps["websockify"])))
	gb := float64(len(b.raw)) * float64(b.rounds) / 1e9
	row("bulk: relay CPU seconds per GB", func(p string) string {
		if b.cpu[p][0] == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", b.cpu[p][0].Seconds()/gb)
	}, ratio(b.cpu["telgate"][0].Seconds(), b.cpu["websockify"][0].Seconds()))
	row("bulk: host and client CPU seconds per GB", func(p string) string {
		if b.cpu[p][1] == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", b.cpu[p][1].Seconds()/gb)
	}, "")
	row("bulk: average data message, KiB", func(p string) string {
		f := b.frames[p]
		if f[0] == 0 || b.plainTCP[p] {
			return "—"
		}
		return fmt.Sprintf("%.1f", float64(len(b.raw))*float64(b.rounds)/float64(f[0])/1024)
	}, "")
	row("bulk: bytes in messages ≥ 16 KiB", func(p string) string {
		f := b.frames[p]
		if f[0] == 0 || b.plainTCP[p] {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(f[1])/(float64(len(b.raw))*float64(b.rounds)))
	}, "")
	for _, q := range []int{50, 99} {
		row(fmt.Sprintf("keystroke round trip, p%d", q), func(p string) string {
			if len(b.rtts[p]) == 0 {
				return "—"
			}
			return us(pct(b.rtts[p], q))
		}, ratio(float64(pct(b.rtts["telgate"], q)), float64(pct(b.rtts["websockify"], q))))
	}
	counts := map[int]bool{}
	for _, rs := range b.mem {
		for _, r := range rs {
			counts[r.sessions+r.failed] = true
		}
	}
	var all []int
	for n := range counts {
		all = append(all, n)
	}
	slices.Sort(all)
	find := func(p string, n int) *memResult {
		for i, r := range b.mem[p] {
			if r.sessions+r.failed == n {
				return &b.mem[p][i]
			}
		}
		return nil
	}
	for _, n := range all {
		row(fmt.Sprintf("memory per idle session, %d sessions, KiB", n), func(p string) string {
			r := find(p, n)
			if r == nil {
				return "—"
			}
			return fmt.Sprintf("%.1f", r.kib)
		}, func() string {
			a, c := find("telgate", n), find("websockify", n)
			if a == nil || c == nil {
				return ""
			}
			return ratio(a.kib, c.kib)
		}())
		row(fmt.Sprintf("sessions failed of %d", n), func(p string) string {
			r := find(p, n)
			if r == nil {
				return "—"
			}
			return strconv.Itoa(r.failed)
		}, "")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Throughput counts the host's bytes (raw) per second from the request to the last byte; telgate delivers them cooked, the others raw.")
	fmt.Fprintln(w, "Copy relay: the reference relay (bench -copy-relay), a Go program that reads each byte into a 1 MiB buffer and writes it out again, one goroutine per direction, sending with Reno as telgate does on loopback, with no WebSocket and no telnet: what a relay costs here before it does any work of its own.")
	fmt.Fprintln(w, "Relay CPU: user and system time of the relay's processes during the bulk runs (10 ms ticks), per GB of host bytes.")
	fmt.Fprintln(w, "Memory: telgate's whole-process RSS growth over its baseline, divided by the sessions open; websockify's summed PSS over its process tree (one process per connection), likewise. Failed sessions include those that did not echo a keystroke afterwards.")
}
