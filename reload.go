package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/rs/zerolog"

	"telgate/gateway"
	"telgate/web"
)

// A reloader re-reads the configuration file when telgate gets SIGHUP and
// applies what can change while sessions run: the targets, the ad-hoc
// rules, the users file, the client certificates' revocations and the
// operators. Sessions already running go on with the targets they were
// opened with. A file that does not load changes nothing; a change to
// anything else (listen, tls, http, limits, recording, auth but
// users_file, client_crl and the operators) takes a restart, and the log
// says which. Turning a users file, proxy_header or client_ca on or off,
// or changing proxy_header, refuses the whole reload.
type reloader struct {
	path    string
	running *gateway.Config // as loaded at start
	// certs are the client certificates' authorities at start, which
	// change only with a restart; their revocations are reloaded.
	certs   *web.ClientCerts
	applied *web.ClientCerts // the certs and revocations in use
	gw      *gateway.Gateway
	handler *web.Handler
	log     zerolog.Logger
}

// watch reloads on each SIGHUP until ctx ends. Without a configuration
// file there is nothing to reload, and SIGHUP keeps its default meaning:
// telgate in the foreground of a terminal that hangs up ends.
func (r *reloader) watch(ctx context.Context) {
	if r.path == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	if !notifyReload(hup) {
		return
	}
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := r.reload(); err != nil {
					r.log.Error().Err(err).Str("config", r.path).Msg("configuration not reloaded: still serving the targets, rules, users, revocation lists and operators it had")
				}
			}
		}
	}()
}

// reload loads the configuration file and applies its targets, ad-hoc
// rules, users and operators, all or none.
func (r *reloader) reload() error {
	cfg, err := gateway.LoadConfig(r.path)
	if err != nil {
		return err
	}
	var users *web.Users
	if cfg.Auth.UsersFile != "" {
		dir := settings{configDir: filepath.Dir(r.path)}
		if users, err = web.LoadUsers(dir.resolve(cfg.Auth.UsersFile)); err != nil {
			return err
		}
	}
	if (cfg.Auth.UsersFile == "") != (r.running.Auth.UsersFile == "") || cfg.Auth.ProxyHeader != r.running.Auth.ProxyHeader ||
		(cfg.Auth.ClientCA == "") != (r.running.Auth.ClientCA == "") {
		return errors.New("auth: turning a users file, proxy_header or client_ca on or off, or changing proxy_header, takes a restart")
	}
	if err := checkAllowLists(cfg, cfg.Auth.Enabled()); err != nil {
		return err
	}
	var certs *web.ClientCerts
	if r.certs != nil {
		dir := settings{configDir: filepath.Dir(r.path)}
		if certs, err = loadClientCerts(cfg, dir.resolve, r.certs); err != nil {
			return err
		}
	}
	if err := r.gw.Reconfigure(cfg.Targets, cfg.Adhoc); err != nil {
		if cfg.Recording.Dir != "" && r.running.Recording.Dir == "" {
			return fmt.Errorf("%w: recording.dir takes a restart", err)
		}
		return err
	}
	if users != nil {
		if err := r.handler.SetUsers(users); err != nil {
			return err
		}
	}
	if certs != nil {
		if err := r.handler.SetClientCerts(certs); err != nil {
			return err
		}
	}
	// Cannot fail: checkAllowLists refused operators without
	// authentication, and authentication cannot change here.
	if err := r.handler.SetOperators(cfg.Auth.OperatorUsers, cfg.Auth.OperatorGroups); err != nil {
		return err
	}
	// The warning first: once "configuration reloaded" is logged, all
	// the reload has to say is.
	if changed := restartOnly(r.running, cfg); len(changed) > 0 {
		r.log.Warn().Strs("changed", changed).Msg("configuration reloading, but these sections take a restart and are not applied")
	}
	ev := r.log.Info().Str("config", r.path).Int("targets", len(cfg.Targets)).Int("adhoc_rules", len(cfg.Adhoc))
	if users != nil {
		ev = ev.Int("users", users.Len())
	}
	if certs != nil {
		lists, revoked := certs.Revocations()
		ev = ev.Int("revocation_lists", lists).Int("revoked", revoked)
	}
	ev.Msg("configuration reloaded")
	if certs != nil {
		warnStaleRevocations(certs, r.log)
		before, _ := r.applied.Revocations()
		if now, _ := certs.Revocations(); before > 0 && now == 0 {
			r.log.Warn().Msg("auth: no client_crl any more: no client certificate is refused as revoked")
		}
		r.applied = certs
	}
	return nil
}

// restartOnly names the sections of the configuration that differ
// between a and b and that only a restart applies.
func restartOnly(a, b *gateway.Config) []string {
	var changed []string
	authA, authB := a.Auth, b.Auth
	authA.UsersFile, authB.UsersFile = "", ""
	authA.ClientCRL, authB.ClientCRL = "", ""
	authA.OperatorUsers, authB.OperatorUsers = nil, nil
	authA.OperatorGroups, authB.OperatorGroups = nil, nil
	authA.TrustedProxies, authB.TrustedProxies = normalPrefixes(a.Auth.TrustedProxies), normalPrefixes(b.Auth.TrustedProxies)
	for _, s := range []struct {
		key  string
		a, b any
	}{
		{"listen", a.Listen, b.Listen},
		{"tls", a.TLS, b.TLS},
		{"auth", authA, authB},
		{"http", a.HTTP, b.HTTP},
		{"limits", a.Limits.WithDefaults(), b.Limits.WithDefaults()},
		{"recording", a.Recording, b.Recording},
	} {
		if !reflect.DeepEqual(s.a, s.b) {
			changed = append(changed, s.key)
		}
	}
	return changed
}

// normalPrefixes writes a list of addresses and CIDRs (checked already)
// the one way, in order, so that "10.0.0.1" and "10.0.0.1/32" compare
// equal.
func normalPrefixes(list []string) []string {
	var out []string
	for _, p := range list {
		if pre, err := gateway.ParsePrefix(p); err == nil {
			p = pre.String()
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// checkAllowLists refuses allow lists where nobody is authenticated:
// nobody could open the target, use the rule or be an operator.
func checkAllowLists(cfg *gateway.Config, authOn bool) error {
	if authOn {
		return nil
	}
	if len(cfg.Auth.OperatorUsers)+len(cfg.Auth.OperatorGroups) > 0 {
		return errors.New("auth has operator_users or operator_groups, but no authentication is configured " +
			"(auth: users_file, proxy_header or client_ca): nobody could be an operator")
	}
	for _, t := range cfg.Targets {
		if len(t.AllowUsers)+len(t.AllowGroups) > 0 {
			return fmt.Errorf("target %q has allow_users or allow_groups, but no authentication is configured "+
				"(auth: users_file, proxy_header or client_ca): nobody could open it", t.Name)
		}
		if l := t.Login; l != nil && l.UsesSessionUser() {
			return fmt.Errorf("target %q: login's user names {user}, but no authentication is configured "+
				"(auth: users_file, proxy_header or client_ca): no session would have a user", t.Name)
		}
		if p := t.Power; p != nil && len(p.AllowUsers)+len(p.AllowGroups) > 0 {
			return fmt.Errorf("target %q: power has allow_users or allow_groups, but no authentication is configured "+
				"(auth: users_file, proxy_header or client_ca): nobody could power-cycle it", t.Name)
		}
	}
	for i, r := range cfg.Adhoc {
		if len(r.AllowUsers)+len(r.AllowGroups) > 0 {
			return fmt.Errorf("adhoc[%d] has allow_users or allow_groups, but no authentication is configured "+
				"(auth: users_file, proxy_header or client_ca): nobody could use it", i)
		}
	}
	return nil
}
