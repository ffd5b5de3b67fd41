// Command telgate is a web-based telnet gateway: it serves a page with a
// terminal (xterm.js) and bridges each browser over a WebSocket to a telnet
// host, forwarding the browser's window size (NAWS) and terminal type
// (TTYPE).
//
// Usage:
//
//	telgate                          serve the built-in demo host
//	telgate -target host:port        serve one telnet host
//	telgate -config telgate.yaml     serve the configured targets
//
// Flags:
//
//	-listen addr      where to serve HTTP (default 127.0.0.1:8080)
//	-log-level level  debug, info, warn or error (default info)
//	-log-format fmt   auto, console or json (default auto: console on a
//	                  terminal, JSON otherwise)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"telgate/demo"
	"telgate/gateway"
	"telgate/web"
)

const defaultListen = "127.0.0.1:8080"

// shutdownTimeout bounds how long the gateway waits for sessions to end
// after SIGINT or SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status: 0 after a clean
// shutdown, 1 when serving failed, 2 for bad flags or configuration.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("telgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", defaultListen, "`address` to serve HTTP on")
	target := fs.String("target", "", "serve one telnet target at `host:port`")
	configPath := fs.String("config", "", "read targets from this YAML `file`")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	logFormat := fs.String("log-format", "auto", "log `format`: auto, console or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telgate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 2
	}
	listenSet := false
	fs.Visit(func(f *flag.Flag) { listenSet = listenSet || f.Name == "listen" })

	var targets []gateway.Target
	addr := *listen
	switch {
	case *target != "" && *configPath != "":
		fmt.Fprintln(stderr, "telgate: -target and -config cannot be used together")
		return 2
	case *configPath != "":
		cfg, err := gateway.LoadConfig(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "telgate: %v\n", err)
			return 2
		}
		targets = cfg.Targets
		if cfg.Listen != "" && !listenSet {
			addr = cfg.Listen
		}
	case *target != "":
		a, err := gateway.NormalizeAddress(*target)
		if err != nil {
			fmt.Fprintf(stderr, "telgate: -target: %v\n", err)
			return 2
		}
		targets = []gateway.Target{{Name: "default", Address: a, Description: a}}
	default:
		host, err := demo.Listen("127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "telgate: %v\n", err)
			return 1
		}
		defer host.Close()
		targets = []gateway.Target{{Name: "demo", Address: host.Addr(), Description: "Built-in demo host"}}
		log.Info().Str("address", host.Addr()).Msg("demo host started")
	}

	gw, err := gateway.New(gateway.Options{Targets: targets, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "telgate: %v\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           web.NewHandler(web.Options{Gateway: gw, Log: log}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          nil,
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "telgate: serving %d target(s) at %s\n", len(targets), url)
	log.Info().Str("url", url).Int("targets", len(targets)).Msg("listening")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		log.Error().Err(err).Msg("serving failed")
		return 1
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn().Err(err).Msg("http shutdown")
	}
	if err := gw.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Int("sessions", gw.Active()).Msg("sessions still open at exit")
	}
	log.Info().Msg("stopped")
	return 0
}

// newLogger builds the zerolog logger: human-readable on a terminal, JSON
// otherwise, unless the format says which.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("-log-level: unknown level %q (want debug, info, warn or error)", level)
	}
	console := false
	switch format {
	case "auto":
		f, ok := w.(*os.File)
		console = ok && isatty.IsTerminal(f.Fd())
	case "console":
		console = true
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("-log-format: unknown format %q (want auto, console or json)", format)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
