package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"telgate/telnet"
)

// fakeResolver answers from a table, for a name asked as it is or as an
// absolute name (ending in a dot); a name with several answers gives them
// in turn, the last one repeating.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]string
	calls   map[string]int
	asked   []string // the names asked, as asked
	block   bool     // wait for the context instead
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.asked = append(r.asked, host)
	host = strings.TrimSuffix(host, ".")
	r.calls[host]++
	if r.block {
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	seq, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	ans := seq[min(r.calls[host], len(seq))-1]
	var out []netip.Addr
	for _, a := range ans {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// adhocGateway is a Gateway with rules and res, which takes this
// machine to have no addresses of its own (the tests name their own).
func adhocGateway(t *testing.T, rules []AdhocRule, res *fakeResolver) *Gateway {
	t.Helper()
	g, err := New(Options{Adhoc: rules, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	g.cat.Load().ownAddrs = nil
	return g
}

func mustCompile(t *testing.T, rules ...AdhocRule) []adhocRule {
	t.Helper()
	compiled, err := compileAdhoc(rules)
	if err != nil {
		t.Fatal(err)
	}
	return compiled
}

var testRules = []AdhocRule{
	{Hosts: []string{"*.lab.example.com", "Console.Example.com"}, Ports: "23,2000-2099", AllowGroups: []string{"netops"}},
	{Hosts: []string{"10.20.0.0/16", "2001:db8:20::/48"}, AllowUsers: []string{"alice"}},
	{Hosts: []string{"169.254.0.0/16"}, AllowUsers: []string{"linklocal"}},
	{Hosts: []string{"169.254.169.254"}, Ports: "80", AllowUsers: []string{"meta"}},
	{Hosts: []string{"127.0.0.1"}, Ports: "1-65535", AllowUsers: []string{"loop"}},
	{Hosts: []string{"0.0.0.0/0", "::/0"}, AllowUsers: []string{"any"}},
}

var testDNS = map[string][][]string{
	"sw1.lab.example.com":      {{"10.1.1.1"}},
	"dual.lab.example.com":     {{"2001:db8::2", "10.1.1.2"}},
	"meta.lab.example.com":     {{"169.254.169.254"}},
	"mixed.lab.example.com":    {{"10.1.1.3", "169.254.169.254"}},
	"loop.lab.example.com":     {{"127.0.0.1"}},
	"ll.lab.example.com":       {{"169.254.1.1"}},
	"nat64.lab.example.com":    {{"64:ff9b::a9fe:a9fe"}},
	"mapped.lab.example.com":   {{"::ffff:169.254.169.254"}},
	"mcast.lab.example.com":    {{"224.0.0.1"}},
	"zero.lab.example.com":     {{"0.0.0.0"}},
	"a.b.c.lab.example.com":    {{"10.1.1.4"}},
	"console.example.com":      {{"10.9.9.9"}},
	"lab.example.com":          {{"10.1.1.5"}},
	"inside.example.org":       {{"10.20.1.1"}},
	"partly.example.org":       {{"192.0.2.1", "10.20.1.2"}},
	"outside.example.org":      {{"192.0.2.1"}},
	"metadata.example.org":     {{"10.20.1.3", "fd00:ec2::254"}},
	"alibaba-meta.example.org": {{"100.100.100.200"}},
}

func TestAdhocRules(t *testing.T) {
	for _, tc := range []struct {
		hostport, user, group string
		want                  string // the address, or "!" and a piece of the error
	}{
		// Name patterns.
		{"sw1.lab.example.com", "bob", "netops", "10.1.1.1:23"},
		{"SW1.Lab.Example.COM.:2001", "bob", "netops", "10.1.1.1:2001"},
		{"a.b.c.lab.example.com:2099", "bob", "netops", "10.1.1.4:2099"},
		{"console.example.com", "bob", "netops", "10.9.9.9:23"},
		{"dual.lab.example.com", "bob", "netops", "[2001:db8::2]:23"},
		{"sw1.lab.example.com:22", "bob", "netops", "!port 22 is not allowed"},
		{"sw1.lab.example.com:2100", "bob", "netops", "!port 2100 is not allowed"},
		{"sw1.lab.example.com", "bob", "sales", "!you may not open hosts by name"},
		{"sw1.lab.example.com", "", "", "!you may not open hosts by name"},
		{"lab.example.com", "bob", "netops", "!lab.example.com:23 is not allowed"},
		{"evil-lab.example.com", "bob", "netops", "!is not allowed"},
		{"10.1.1.1", "bob", "netops", "!10.1.1.1:23 is not allowed"},
		{"nx.lab.example.com", "bob", "netops", `!no such host "nx.lab.example.com"`},
		// Names resolving to refused or guarded addresses.
		{"meta.lab.example.com", "bob", "netops", "!is not allowed"},
		{"mixed.lab.example.com", "bob", "netops", "!is not allowed"},
		{"loop.lab.example.com", "bob", "netops", "!is not allowed"},
		{"ll.lab.example.com", "bob", "netops", "!is not allowed"},
		{"nat64.lab.example.com", "bob", "netops", "!is not allowed"},
		{"mapped.lab.example.com", "bob", "netops", "!is not allowed"},
		{"mcast.lab.example.com", "bob", "netops", "!is not allowed"},
		{"zero.lab.example.com", "bob", "netops", "!is not allowed"},
		// CIDRs, for addresses typed or resolved.
		{"10.20.3.4", "alice", "", "10.20.3.4:23"},
		{"[2001:db8:20::5]:23", "alice", "", "[2001:db8:20::5]:23"},
		{"[::ffff:10.20.3.4]", "alice", "", "10.20.3.4:23"},
		{"10.21.0.1", "alice", "", "!10.21.0.1:23 is not allowed"},
		{"inside.example.org", "alice", "", "10.20.1.1:23"},
		{"partly.example.org", "alice", "", "10.20.1.2:23"},
		{"outside.example.org", "alice", "", "!outside.example.org:23 is not allowed"},
		{"metadata.example.org", "alice", "", "!is not allowed"},
		{"10.20.3.4:2323", "alice", "", "!port 2323 is not allowed"},
		// Guarded ranges, listed explicitly.
		{"169.254.1.1", "linklocal", "", "169.254.1.1:23"},
		{"ll.lab.example.com", "linklocal", "", "169.254.1.1:23"},
		{"169.254.169.254", "linklocal", "", "!is not allowed"},
		{"169.254.169.254:80", "meta", "", "169.254.169.254:80"},
		{"127.0.0.1:2323", "loop", "", "127.0.0.1:2323"},
		{"127.0.0.2", "loop", "", "!is not allowed"},
		// Everything, except what is refused or guarded.
		{"192.0.2.7", "any", "", "192.0.2.7:23"},
		{"[2001:db8::7]", "any", "", "[2001:db8::7]:23"},
		{"outside.example.org", "any", "", "192.0.2.1:23"},
		{"alibaba-meta.example.org", "any", "", "!is not allowed"},
		{"127.0.0.1", "any", "", "!is not allowed"},
		{"169.254.169.254", "any", "", "!is not allowed"},
		{"169.254.1.1", "any", "", "!is not allowed"},
		{"100.100.100.200", "any", "", "!is not allowed"},
		{"[fd00:ec2::254]", "any", "", "!is not allowed"},
		{"[fe80::1]", "any", "", "!is not allowed"},
		{"[::1]", "any", "", "!is not allowed"},
		{"[::]", "any", "", "!is not allowed"},
		{"0.0.0.0", "any", "", "!is not allowed"},
		{"0.1.2.3", "any", "", "!is not allowed"},
		{"224.0.0.1", "any", "", "!is not allowed"},
		{"[ff02::1]", "any", "", "!is not allowed"},
		{"255.255.255.255", "any", "", "!is not allowed"},
		{"[64:ff9b::7f00:1]", "any", "", "!is not allowed"},
		{"[64:ff9b:1::a9fe:a9fe]", "any", "", "!is not allowed"}, // local-use NAT64
		{"[fd20:ce::254]", "any", "", "!is not allowed"},         // GCP's metadata
		{"[::7f00:1]", "any", "", "!is not allowed"},             // IPv4-compatible 127.0.0.1
		{"[::c000:207]", "any", "", "!is not allowed"},           // IPv4-compatible 192.0.2.7
		{"[::ffff:127.0.0.1]", "any", "", "!is not allowed"},
		// Malformed.
		{"", "any", "", "!empty"},
		{"a b", "any", "", "!bad host name"},
		{"host:0", "any", "", "!port must be"},
		{"host:99999", "any", "", "!port must be"},
		{"host:", "any", "", "!port must be"},
		{"host:+23", "any", "", "!port must be"},
		{"::1", "any", "", "!in brackets"},
		{"[::1", "any", "", "!missing ]"},
		{"[fe80::1%eth0]", "any", "", "!in brackets"},
		{"[10.0.0.1]", "any", "", "!in brackets"},
		{"127.1", "any", "", "!not an IP address"},
		{"user@host", "any", "", "!bad host name"},
		{"host/path", "any", "", "!bad host name"},
	} {
		res := &fakeResolver{answers: testDNS}
		g := adhocGateway(t, testRules, res)
		var groups []string
		if tc.group != "" {
			groups = []string{tc.group}
		}
		target, err := g.AdhocTarget(t.Context(), tc.hostport, tc.user, groups)
		if want, refused := strings.CutPrefix(tc.want, "!"); refused {
			if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), want) {
				t.Errorf("%q as %s/%s: %+v, %v; want ErrNotAllowed with %q", tc.hostport, tc.user, tc.group, target, err, want)
				continue
			}
			// The message names only what was typed.
			for _, answers := range testDNS[strings.ToLower(strings.TrimSuffix(tc.hostport, "."))] {
				for _, a := range answers {
					if !strings.Contains(tc.hostport, a) && strings.Contains(err.Error(), a) {
						t.Errorf("%q: error %q reveals %s", tc.hostport, err, a)
					}
				}
			}
			continue
		}
		if err != nil || target.Address != tc.want {
			t.Errorf("%q as %s/%s: %+v, %v; want address %s", tc.hostport, tc.user, tc.group, target, err, tc.want)
		}
	}
}

func TestAdhocTargetFields(t *testing.T) {
	rules := []AdhocRule{{Hosts: []string{"*.lab.example.com"}, Ports: "2001", Record: true,
		Enter: "crlf", Backspace: "bs", LineDelay: 20 * time.Millisecond, Charset: "koi8-r",
		Banner: "Lab: book before use", Color: "#2f81f7", WatchOnly: true}}
	g, err := New(Options{Adhoc: rules, Resolver: &fakeResolver{answers: testDNS}, Recording: RecordingConfig{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	target, err := g.AdhocTarget(t.Context(), "SW1.lab.example.com.:2001", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if target.Name != "sw1.lab.example.com:2001" || target.Address != "10.1.1.1:2001" || !target.Record ||
		target.Enter != telnet.CRLF || target.Backspace != BS || target.LineDelay != 20*time.Millisecond ||
		target.Charset.String() != "koi8-r" || target.Banner != "Lab: book before use" || target.Color != "#2f81f7" ||
		!target.WatchOnly {
		t.Errorf("target %+v", target)
	}
	if _, err := New(Options{Adhoc: rules}); err == nil {
		t.Error("a recording rule without Recording.Dir was accepted")
	}
	bad := []AdhocRule{{Hosts: []string{"*.lab.example.com"}, Backspace: "^H"}}
	if _, err := New(Options{Adhoc: bad}); err == nil || err.Error() != `gateway: adhoc[0]: backspace "^H": want del or bs` {
		t.Errorf("a rule with backspace ^H: %v", err)
	}
	bad = []AdhocRule{{Hosts: []string{"*.lab.example.com"}, Color: "blue"}}
	if _, err := New(Options{Adhoc: bad}); err == nil || err.Error() != `gateway: adhoc[0]: color "blue": want #RGB or #RRGGBB` {
		t.Errorf("a rule with color blue: %v", err)
	}
	bad = []AdhocRule{{Hosts: []string{"*.lab.example.com"}, Charset: "utf-16"}}
	if _, err := New(Options{Adhoc: bad}); err == nil || !strings.HasPrefix(err.Error(), `gateway: adhoc[0]: charset "utf-16": it does not keep ASCII`) {
		t.Errorf("a rule with charset utf-16: %v", err)
	}
}

func TestAdhocNamesNoRuleMatchesAreNotLookedUp(t *testing.T) {
	res := &fakeResolver{answers: testDNS}
	g := adhocGateway(t, testRules[:1], res)
	for _, h := range []string{"lab.example.com", "attacker.example.net", "sw1.lab.example.com.evil.example"} {
		if _, err := g.AdhocTarget(t.Context(), h, "bob", []string{"netops"}); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: %v", h, err)
		}
		if n := res.count(h); n != 0 {
			t.Errorf("%s was looked up %d times", h, n)
		}
	}
}

func TestAdhocWithoutRules(t *testing.T) {
	g, err := New(Options{Targets: []Target{{Name: "a", Address: "127.0.0.1:23"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AdhocTarget(t.Context(), "127.0.0.1", "", nil); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("without rules: %v", err)
	}
	if _, err := New(Options{Adhoc: []AdhocRule{{Hosts: []string{"*"}}}}); err == nil {
		t.Error("a bad host pattern was accepted")
	}
}

// An IPv4-mapped CIDR allows the IPv4 addresses it maps, typed in either
// form or resolved; before, it was taken and matched nothing, as
// addresses are compared in IPv4 form.
func TestAdhocIPv4MappedCIDR(t *testing.T) {
	res := &fakeResolver{answers: testDNS}
	g := adhocGateway(t, []AdhocRule{{Hosts: []string{"::ffff:10.20.0.0/112", "::ffff:127.0.0.1"}}}, res)
	for hostport, want := range map[string]string{
		"10.20.3.4":          "10.20.3.4:23",
		"[::ffff:10.20.3.4]": "10.20.3.4:23",
		"inside.example.org": "10.20.1.1:23",
		"127.0.0.1":          "127.0.0.1:23",
		"10.21.0.1":          "",
	} {
		target, err := g.AdhocTarget(t.Context(), hostport, "", nil)
		if want == "" {
			if !errors.Is(err, ErrNotAllowed) {
				t.Errorf("%s: %+v, %v; want ErrNotAllowed", hostport, target, err)
			}
			continue
		}
		if err != nil || target.Address != want {
			t.Errorf("%s: %+v, %v; want %s", hostport, target, err, want)
		}
	}
}

// Host patterns that no host a user types can match are refused.
func TestAdhocRefusesPatternsThatCannotMatch(t *testing.T) {
	for _, h := range []string{"10.20.0", "10.20", "010.0.0.1", "1.2.3.4.5", "host.123", "*.10.20", "a!b", "*.", "::ffff:10.0.0.0/64"} {
		if _, err := New(Options{Adhoc: []AdhocRule{{Hosts: []string{h}}}}); err == nil {
			t.Errorf("pattern %q was accepted", h)
		}
	}
}

func TestAdhocLookupTimeout(t *testing.T) {
	res := &fakeResolver{block: true}
	g, err := New(Options{Adhoc: testRules[:1], Resolver: res, Limits: Limits{DialTimeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.AdhocTarget(t.Context(), "slow.lab.example.com", "bob", []string{"netops"})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "slow.lab.example.com") {
		t.Errorf("lookup timeout: %v", err)
	}
}

// A name a pattern allows is looked up as an absolute name, never under
// the resolver's search domains, whose zone could answer for a name the
// pattern's zone does not have; a name only a CIDR may allow is looked up
// as typed (its address is what is checked), and so are a name of one
// label, which a pattern naming it means relative, and an mDNS name
// (host.local).
func TestAdhocNamesAllowedByAPatternAreLookedUpAbsolute(t *testing.T) {
	res := &fakeResolver{answers: map[string][][]string{
		"sw1.lab.example.com":       {{"10.1.1.1"}},
		"printer":                   {{"10.9.0.5"}},
		"console.local":             {{"10.9.0.6"}},
		"term":                      {{"10.9.0.7"}},
		"con.tty.svc.cluster.local": {{"10.1.1.2"}},
	}}
	g := adhocGateway(t, []AdhocRule{
		{Hosts: []string{"*.lab.example.com", "*.local", "term"}},
		{Hosts: []string{"10.9.0.0/16"}},
	}, res)
	names := []string{"sw1.lab.example.com", "SW1.Lab.Example.Com.", "printer", "console.local", "term", "con.tty.svc.cluster.local"}
	for _, name := range names {
		if _, err := g.AdhocTarget(context.Background(), name, "", nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := []string{"sw1.lab.example.com.", "sw1.lab.example.com.", "printer", "console.local", "term", "con.tty.svc.cluster.local."}
	if !slices.Equal(res.asked, want) {
		t.Errorf("names looked up %q, want %q", res.asked, want)
	}
}

// The gateway's own addresses reach the services it runs (a metrics
// listener without authentication, say): a CIDR or name pattern that
// covers them does not allow them; a rule naming the very address does.
func TestAdhocGatewaysOwnAddressesAreGuarded(t *testing.T) {
	res := &fakeResolver{answers: map[string][][]string{
		"self.lab.example.com":  {{"10.1.1.1"}},
		"other.lab.example.com": {{"10.1.1.2"}},
	}}
	g := adhocGateway(t, []AdhocRule{
		{Hosts: []string{"10.0.0.0/8", "*.lab.example.com"}, Ports: "23"},
		{Hosts: []string{"10.1.1.1"}, Ports: "2323"},
	}, res)
	cat := g.cat.Load()
	cat.ownAddrs = []netip.Addr{netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("169.254.20.10")}
	cat.adhoc = append(cat.adhoc, mustCompile(t, AdhocRule{Hosts: []string{"169.254.0.0/16", "::/0"}, Ports: "2324"})...)
	for host, allowed := range map[string]bool{
		"10.1.1.1:23":              false,
		"self.lab.example.com:23":  false,
		"10.1.1.2:23":              true,
		"other.lab.example.com:23": true,
		"10.1.1.1:2323":            true,
		// Own addresses in a guarded range, or embedded in NAT64.
		"169.254.20.10:2324":      false,
		"169.254.20.11:2324":      true,
		"[64:ff9b::a01:101]:2324": false,
		"[64:ff9b::a01:102]:2324": true,
	} {
		_, err := g.AdhocTarget(context.Background(), host, "", nil)
		if (err == nil) != allowed {
			t.Errorf("%s: %v, want allowed %v", host, err, allowed)
		}
	}
}

// DNS rebinding: the name resolves to an allowed address, then to a
// forbidden one. The check and the dial use the one lookup, so the dial
// goes to the address that was checked, and a later session meets the
// forbidden answer and is refused.
func TestAdhocDNSRebinding(t *testing.T) {
	host := echoHost(t)
	hostIP, port, _ := net.SplitHostPort(host.Addr())
	res := &fakeResolver{answers: map[string][][]string{
		"flip.lab.test": {{hostIP}, {"169.254.169.254"}},
	}}
	var mu sync.Mutex
	var dialled []string
	var d net.Dialer
	tg := newTestGateway(t, Options{
		Adhoc:    []AdhocRule{{Hosts: []string{"*.lab.test", hostIP}, Ports: port}},
		Resolver: res,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			return d.DialContext(ctx, network, addr)
		},
	})
	b := tg.open("host=flip.lab.test:" + port)
	if m := b.ExpectStatus("connected"); m["target"] != "flip.lab.test:"+port {
		t.Errorf("connected %v", m)
	}
	b.WaitOutput([]byte("$ "))
	b.Input("rebound?")
	b.WaitOutput([]byte("rebound?"))
	mu.Lock()
	if len(dialled) != 1 || dialled[0] != net.JoinHostPort(hostIP, port) {
		t.Errorf("dialled %v, want only the checked %s", dialled, net.JoinHostPort(hostIP, port))
	}
	mu.Unlock()
	if n := res.count("flip.lab.test"); n != 1 {
		t.Errorf("looked up %d times for one session", n)
	}
	if b, code, body := tg.tryOpen("host=flip.lab.test:" + port); b != nil || code != http.StatusForbidden || strings.Contains(body, "169.254") {
		t.Errorf("after the rebinding: HTTP %d %q, want 403 without the address", code, body)
	}
}

func FuzzAdhocHostport(f *testing.F) {
	for _, s := range []string{
		"host", "host:23", "Host.Example.COM.:2001", "10.0.0.1", "10.0.0.1:65535",
		"[2001:db8::1]:23", "[::ffff:1.2.3.4]", "[fe80::1%eth0]:23", "::1", "host:", ":23",
		"127.1", "0x7f.1", "a..b", "-a.b", "a_b.c", "[::1]x", "h:0", "h:00023", "é.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, ip, port, err := parseAdhocHostport(s)
		if err != nil {
			if name != "" || ip.IsValid() || port != 0 {
				t.Fatalf("%q: error %v with results %q %v %d", s, err, name, ip, port)
			}
			return
		}
		if port < 1 || port > 65535 {
			t.Fatalf("%q: port %d", s, port)
		}
		if (name == "") == !ip.IsValid() {
			t.Fatalf("%q: name %q and ip %v: want exactly one", s, name, ip)
		}
		host := name
		if ip.IsValid() {
			if ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("%q: address %v", s, ip)
			}
			host = ip.String()
		} else {
			if name != strings.ToLower(name) || strings.HasSuffix(name, ".") || len(name) > 253 {
				t.Fatalf("%q: name %q", s, name)
			}
			if _, err := netip.ParseAddr(name); err == nil {
				t.Fatalf("%q: name %q is an address", s, name)
			}
			if strings.ContainsAny(name, ":/@?#[]% \t\r\n\x00") {
				t.Fatalf("%q: name %q", s, name)
			}
		}
		again := net.JoinHostPort(host, strconv.Itoa(port))
		name2, ip2, port2, err := parseAdhocHostport(again)
		if err != nil || name2 != name || ip2 != ip || port2 != port {
			t.Fatalf("%q -> %q -> %q %v %d %v", s, again, name2, ip2, port2, err)
		}
	})
}
