package gateway

import (
	"errors"
	"fmt"
	"net/netip"
)

// A catalog is what a Gateway lets browsers open: the configured targets
// and the ad-hoc rules. Reconfigure replaces it whole; a session already
// running keeps the Target it was opened with.
type catalog struct {
	targets map[string]Target
	order   []Target
	adhoc   []adhocRule
	// ownAddrs are this machine's addresses, taken when the catalog was
	// made: the ad-hoc rules reach them only by naming them.
	ownAddrs []netip.Addr
	recorded bool // some target or rule records its sessions
}

// newCatalog checks and compiles targets and ad-hoc rules.
func newCatalog(targets []Target, adhoc []AdhocRule, rec RecordingConfig) (*catalog, error) {
	if len(targets) == 0 && len(adhoc) == 0 {
		return nil, errors.New("gateway: no targets")
	}
	c := &catalog{targets: map[string]Target{}}
	for _, t := range targets {
		if _, dup := c.targets[t.Name]; dup {
			return nil, fmt.Errorf("gateway: duplicate target %q", t.Name)
		}
		if t.Power != nil {
			err := t.Power.check()
			if err == nil && t.Power.CA != "" && t.Power.RootCAs == nil {
				err = errors.New("power: ca was not read (LoadConfig reads it)")
			}
			if err != nil {
				return nil, fmt.Errorf("gateway: target %q: %w", t.Name, err)
			}
		}
		if l := t.Login; l != nil {
			_, err := l.compile("")
			if err == nil && l.PasswordFile != "" && l.Password == "" {
				err = errPasswordFileUnread
			}
			if err == nil {
				err = l.checkCharset(t.Charset)
			}
			if err != nil {
				return nil, fmt.Errorf("gateway: target %q: %w", t.Name, err)
			}
		}
		c.targets[t.Name] = t
		c.order = append(c.order, t)
		c.recorded = c.recorded || t.Record
	}
	rules, err := compileAdhoc(adhoc)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	c.adhoc = rules
	if len(rules) > 0 {
		c.ownAddrs = ownAddrs()
	}
	for _, r := range rules {
		c.recorded = c.recorded || r.record
	}
	if c.recorded && rec.Dir == "" {
		return nil, errors.New("gateway: sessions are to be recorded but Recording.Dir is empty")
	}
	return c, nil
}

// Reconfigure replaces the targets and ad-hoc rules the gateway lets
// browsers open, as New takes them, and returns an error, leaving them as
// they were, where New would. Sessions already running go on as they
// are, with the targets they were opened with.
func (g *Gateway) Reconfigure(targets []Target, adhoc []AdhocRule) error {
	c, err := newCatalog(targets, adhoc, g.opts.Recording)
	if err != nil {
		return err
	}
	if old := g.cat.Swap(c); c.recorded && !old.recorded {
		g.warnInputRecorded()
	}
	return nil
}

// warnInputRecorded warns, when input is recorded, that passwords are.
func (g *Gateway) warnInputRecorded() {
	if g.opts.Recording.Input {
		g.opts.Log.Warn().Str("dir", g.opts.Recording.Dir).
			Msg("recording input: what users type is written to recordings, passwords included")
	}
}

// Targets returns the configured targets in configuration order.
func (g *Gateway) Targets() []Target { return append([]Target(nil), g.cat.Load().order...) }

// Target looks a target up by name. With an empty name and exactly one
// target configured, it returns that target.
func (g *Gateway) Target(name string) (Target, bool) {
	c := g.cat.Load()
	if name == "" && len(c.order) == 1 {
		return c.order[0], true
	}
	t, ok := c.targets[name]
	return t, ok
}

// AdhocOpenTo reports whether some ad-hoc rule is open to a user with the
// given groups: whether the page should offer its host field.
func (g *Gateway) AdhocOpenTo(user string, groups []string) bool {
	for _, r := range g.cat.Load().adhoc {
		if r.who.Allows(user, groups) {
			return true
		}
	}
	return false
}
