package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A proc is a relay the benchmark started: telgate or websockify. It runs
// in a process group of its own, so that stopping it stops the
// processes it forked (websockify forks one per connection) and nothing
// else.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves
	log  string // file with its standard error
	done chan struct{}
}

func startProc(name string, args []string, logFile string) (*proc, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	return p, nil
}

// startTelgate runs the telgate binary with a configuration serving the
// given targets on a loopback port it chooses, and waits until it serves.
func startTelgate(bin, dir string, targets map[string]string) (*proc, error) {
	var cfg strings.Builder
	cfg.WriteString("listen: 127.0.0.1:0\n")
	// Lift the per-client limits: every session comes from one address.
	cfg.WriteString("limits: {max_sessions: -1, max_sessions_per_user: -1, max_sessions_per_client: -1, connect_rate: -1}\n")
	cfg.WriteString("targets:\n")
	for _, name := range []string{"bulk", "echo"} {
		if a, ok := targets[name]; ok {
			fmt.Fprintf(&cfg, "  - {name: %s, address: %q}\n", name, a)
		}
	}
	cfgFile := filepath.Join(dir, "telgate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc("telgate", []string{bin, "-config", cfgFile, "-log-format", "json"},
		filepath.Join(dir, fmt.Sprintf("telgate-%d.log", time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	// "telgate: serving 2 target(s) at http://127.0.0.1:PORT/"
	err = p.startAnnounced(func(line string) (string, bool) {
		i := strings.Index(line, "http://")
		if i < 0 {
			return "", false
		}
		return strings.TrimSuffix(line[i+len("http://"):], "/"), true
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// startAnnounced starts p and waits, 10s at most, for the line of its
// standard output from which addrOf takes the address it serves; the
// rest of the output is read and dropped.
func (p *proc) startAnnounced(addrOf func(line string) (string, bool)) error {
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := p.start(); err != nil {
		return err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := addrOf(sc.Text()); ok {
				found <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case p.addr = <-found:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited at start; see %s", p.name, p.log)
	case <-time.After(10 * time.Second):
		p.stop()
		return fmt.Errorf("%s did not start in 10s; see %s", p.name, p.log)
	}
}

// startWebsockify runs websockify relaying a loopback port to target.
func startWebsockify(bin, dir, target string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProc("websockify", []string{bin, addr, target},
		filepath.Join(dir, fmt.Sprintf("websockify-%d.log", time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.start(); err != nil {
		return nil, err
	}
	p.addr = addr
	for i := 0; i < 200; i++ {
		select {
		case <-p.done:
			return nil, fmt.Errorf("websockify exited at start; see %s", p.log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("websockify did not start in 10s; see %s", p.log)
}

func (p *proc) start() error {
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return nil
}

// stop ends the process group with SIGTERM, then SIGKILL after 10s.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// websockify's children may outlive their parent for a moment.
	for i := 0; i < 100 && len(descendants(pgid)) > 0; i++ {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// rssKiB is a process's resident set (VmRSS).
func rssKiB(pid int) (int64, error) {
	return procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
}

// pssKiB is the proportional set size of a process and every process
// descended from it: shared pages are divided among the processes that
// share them, so forked children are not counted many times over.
func pssKiB(pid int) (int64, error) {
	var total int64
	for _, p := range append([]int{pid}, descendants(pid)...) {
		v, err := procField(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		total += v
	}
	return total, nil
}

func procField(file, field string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, field)
}

// descendants lists the processes below pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for q, n := parent[p], 0; q > 1 && n < 64; q, n = parent[q], n+1 {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command
// (field 3, the state, first), or nil. The command, in parentheses, may
// hold spaces and parentheses itself.
func statFields(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

// fdCount is the number of descriptors a process has open.
func fdCount(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// cpuTime is the CPU time (user and system) a process and its
// descendants have used so far, those that have ended and been waited
// for included.
func cpuTime(pid int) time.Duration {
	var ticks int64
	for i, p := range append([]int{pid}, descendants(pid)...) {
		// utime, stime, cutime, cstime are fields 14 to 17 of stat.
		f := statFields(p)
		if len(f) < 15 {
			continue
		}
		last := 14
		if i > 0 {
			last = 12 // a live child's own time only; its children are not ours to count twice
		}
		for k := 11; k <= last; k++ {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += v
		}
	}
	// USER_HZ is 100 on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// goMemory reads a telgate's Go memory figures from its /metrics, for
// the log: heap and goroutine stacks in use, goroutines.
func goMemory(p *proc) string {
	if p.name != "telgate" {
		return ""
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		for _, m := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes ", "go_goroutines "} {
			if v, ok := strings.CutPrefix(line, m); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if strings.HasSuffix(m, "bytes ") {
					out = append(out, fmt.Sprintf("%s %.0f KiB", strings.TrimSuffix(strings.TrimPrefix(m, "go_memstats_"), "_bytes "), f/1024))
				} else {
					out = append(out, fmt.Sprintf("goroutines %.0f", f))
				}
			}
		}
	}
	return " (" + strings.Join(out, ", ") + ")"
}
