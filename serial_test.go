package main

// A serial port behind a real access server: ser2net's telnet(rfc2217)
// on one end of a pseudo-terminal pair that socat makes, a device played
// by the test on the other end.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serialLab is ser2net serving a pseudo-terminal as an RFC 2217 port,
// and the device at the pseudo-terminal's other end.
type serialLab struct {
	Addr string // ser2net's telnet port
	Port string // the pseudo-terminal ser2net opened: the "serial port"

	mu     sync.Mutex
	checks []string // what the device answered to "check", in order
}

// startSerialLab starts socat, ser2net (at 9600 8N1 until told
// otherwise) and the device: it echoes what it reads and answers a line
// "check" with the port's speed and format as the kernel holds them
// (stty), which ser2net sets as RFC 2217 asks it to.
func startSerialLab(t *testing.T) *serialLab {
	t.Helper()
	socat := requireCommand(t, "socat", "socat")
	ser2net := requireCommand(t, "ser2net", "ser2net")
	stty := requireCommand(t, "stty", "coreutils")
	dir := t.TempDir()
	port, device := filepath.Join(dir, "ttyS"), filepath.Join(dir, "device")
	pair := exec.Command(socat, "pty,raw,echo=0,link="+port, "pty,raw,echo=0,link="+device)
	pair.Stderr = &e2eBuffer{}
	if err := pair.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pair.Process.Kill(); _ = pair.Wait() })
	waitPath(t, port, pair)
	waitPath(t, device, pair)

	tcp, err := e2eFreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ser2net.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `%%YAML 1.1
---
connection: &port
  accepter: telnet(rfc2217),tcp,127.0.0.1,%d
  connector: serialdev,%s,9600n81,local
  options:
    kickolduser: true
`, tcp, port), 0o600); err != nil {
		t.Fatal(err)
	}
	lab := &serialLab{Addr: fmt.Sprintf("127.0.0.1:%d", tcp), Port: port}
	srv := exec.Command(ser2net, "-n", "-d", "-c", cfg)
	out := &e2eBuffer{}
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("ser2net:\n%s", out)
		}
	})
	for deadline := time.Now().Add(startTimeout); ; {
		c, err := net.DialTimeout("tcp", lab.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ser2net is not listening on %s: %v\n%s", lab.Addr, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}

	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	go func() {
		r := bufio.NewReader(f)
		var line []byte
		for {
			c, err := r.ReadByte()
			if err != nil {
				return
			}
			switch c {
			case 0, '\n':
			case '\r':
				if string(line) == "check" {
					got, err := exec.Command(stty, "-F", port, "-a").Output()
					answer := sttySummary(string(got))
					if err != nil {
						answer = "stty: " + err.Error()
					}
					lab.mu.Lock()
					lab.checks = append(lab.checks, answer)
					lab.mu.Unlock()
					fmt.Fprintf(f, "\r\nport %s\r\n", answer)
				} else {
					fmt.Fprint(f, "\r\n")
				}
				fmt.Fprint(f, "device> ")
				line = line[:0]
			default:
				line = append(line, c)
				_, _ = f.Write([]byte{c})
			}
		}
	}()
	return lab
}

// waitPath waits until socat has made a pseudo-terminal's link.
func waitPath(t *testing.T, path string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("socat made no %s: %s", path, cmd.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sttySummary picks the speed and the character format out of stty -a:
// "speed=115200 cs7 parenb -parodd -cstopb -crtscts".
func sttySummary(out string) string {
	var speed string
	if _, err := fmt.Sscanf(out, "speed %s baud", &speed); err != nil {
		return "unreadable: " + strings.SplitN(out, "\n", 2)[0]
	}
	parts := []string{"speed=" + speed}
	fields := strings.Fields(out)
	for _, want := range []string{"cs5", "cs6", "cs7", "cs8", "parenb", "parodd", "cstopb", "crtscts"} {
		for _, f := range fields {
			if strings.TrimPrefix(f, "-") == want {
				parts = append(parts, f)
			}
		}
	}
	return strings.Join(parts, " ")
}

// TestBrowserSerial: a target with serial: "19200 8N1" in front of
// ser2net. The page shows the port as ser2net reports it, and its Serial
// panel sets another speed, stop bits and flow control, which the
// kernel's settings of the port then hold: checked by the device,
// through the terminal, and here. (A pseudo-terminal keeps 8 data bits
// and no parity whatever it is told, so those are not checked here.)
func TestBrowserSerial(t *testing.T) {
	node := browserTools(t)
	lab := startSerialLab(t)
	cfg := configFile(t, fmt.Sprintf("targets:\n  - name: port\n    address: %q\n    description: ser2net\n    serial: 19200 8N1\n", lab.Addr))
	tg := startTelgate(t, 1, "-config", cfg)
	runBrowser(t, node, "serial", "http://"+tg.Addr+"/")
	lab.mu.Lock()
	defer lab.mu.Unlock()
	want := []string{
		"speed=19200 cs8 -parenb -parodd -cstopb -crtscts",
		"speed=115200 cs8 -parenb -parodd cstopb crtscts",
	}
	if strings.Join(lab.checks, "\n") != strings.Join(want, "\n") {
		t.Errorf("the device found its port set to\n%s\nwant\n%s", strings.Join(lab.checks, "\n"), strings.Join(want, "\n"))
	}
}
