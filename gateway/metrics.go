package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"telgate/telnet"
)

// Metrics, each Gateway with its own registry:
//
//	telgate_sessions_active                        gauge
//	telgate_sessions_closed_total{reason}          counter; reason is one of reasonLabels' values or "other"
//	telgate_bytes_total{direction}                 counter; direction "to_host" or "to_browser"
//	telgate_dial_errors_total{reason}              counter; the dial_* reasons without their prefix, or "canceled"
//	telgate_dial_duration_seconds                  histogram of successful dials
//	telgate_options_enabled_total{side,option}     counter; side "local" or "remote", options of serialPolicy
//	telgate_admission_refused_total{limit}         counter; "rate", "total", "descriptors", "user", "client", "shutdown"
//	telgate_adhoc_requests_total{result}           counter; "allowed" or "refused"
//	telgate_recordings_total{result}               counter; "started", "failed" (a write failed or the disk was too slow), "truncated"; one result a recording
//	telgate_browser_connections_lost_total         counter; browser connections lost by resumable sessions, which then waited for a resume
//	telgate_sessions_resumed_total                 counter; resumes of sessions by their browsers
//	telgate_viewers_active                         gauge; viewers watching shared sessions
//	telgate_logins_total{result}                   counter; automatic logins (see Login), "done", "failed" or "stepped_aside"
//
// plus the Go runtime's and the process's own (go_*, process_*).
type metrics struct {
	reg         *prometheus.Registry
	closed      *prometheus.CounterVec
	toHost      prometheus.Counter
	toBrowser   prometheus.Counter
	dialErrors  *prometheus.CounterVec
	dialSeconds prometheus.Histogram
	options     *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	adhocReqs   *prometheus.CounterVec
	recordings  *prometheus.CounterVec
	detached    prometheus.Counter
	resumed     prometheus.Counter
	viewers     prometheus.Gauge
	logins      *prometheus.CounterVec
}

func newMetrics(g *Gateway) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.closed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_sessions_closed_total",
		Help: "Sessions ended, by reason.",
	}, []string{"reason"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_bytes_total",
		Help: "Terminal bytes relayed, by direction: to_host (typed) or to_browser (host output).",
	}, []string{"direction"})
	m.toHost = bytes.WithLabelValues("to_host")
	m.toBrowser = bytes.WithLabelValues("to_browser")
	m.dialErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_dial_errors_total",
		Help: "Failed connections to telnet hosts, by reason.",
	}, []string{"reason"})
	m.dialSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "telgate_dial_duration_seconds",
		Help:    "Time to connect to a telnet host, successful connections only.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.options = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_options_enabled_total",
		Help: "Telnet options enabled by negotiation, by side (local: ours; remote: the host's) and option.",
	}, []string{"side", "option"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_admission_refused_total",
		Help: "Sessions refused before they started, by the limit that refused them.",
	}, []string{"limit"})
	m.adhocReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_adhoc_requests_total",
		Help: "Hosts users asked for by name, by result.",
	}, []string{"result"})
	m.recordings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_recordings_total",
		Help: "Session recordings started, failed (not started, or stopped by a write error) and truncated at the size limit.",
	}, []string{"result"})
	m.detached = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telgate_browser_connections_lost_total",
		Help: "Browser connections lost by resumable sessions, which then waited for their browsers to resume them.",
	})
	m.viewers = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "telgate_viewers_active",
		Help: "Viewers watching shared sessions.",
	})
	m.resumed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telgate_sessions_resumed_total",
		Help: "Sessions resumed by their browsers on a new connection.",
	})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telgate_logins_total",
		Help: "Automatic logins to hosts, by result: done, failed (refused, asked again, or no prompt or confirmation in time), or stepped_aside (the user typed first).",
	}, []string{"result"})
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telgate_sessions_active",
		Help: "Sessions running.",
	}, func() float64 { return float64(g.Active()) })

	// Every label value exists from the start, so that rates and
	// alerts see zeros rather than missing series.
	for _, l := range reasonLabels {
		m.closed.WithLabelValues(l)
		if r, ok := dialErrorLabel(l); ok {
			m.dialErrors.WithLabelValues(r)
		}
	}
	m.closed.WithLabelValues("other")
	m.dialErrors.WithLabelValues("canceled")
	for opt := 0; opt < 256; opt++ {
		if serialPolicy.Local.Has(byte(opt)) {
			m.options.WithLabelValues("local", telnet.OptionName(byte(opt)))
		}
		if serialPolicy.Remote.Has(byte(opt)) {
			m.options.WithLabelValues("remote", telnet.OptionName(byte(opt)))
		}
	}
	for _, l := range []string{"rate", "total", "descriptors", "user", "client", "shutdown"} {
		m.refusals.WithLabelValues(l)
	}
	for _, l := range []string{"allowed", "refused"} {
		m.adhocReqs.WithLabelValues(l)
	}
	for _, l := range []string{"started", "failed", "truncated"} {
		m.recordings.WithLabelValues(l)
	}
	for _, l := range []string{"done", "failed", "stepped_aside"} {
		m.logins.WithLabelValues(l)
	}
	m.reg.MustRegister(m.closed, bytes, m.dialErrors, m.dialSeconds, m.options,
		m.refusals, m.adhocReqs, m.recordings, m.detached, m.resumed, m.viewers, m.logins, active,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// dialErrorLabel returns the dial error label of a close reason label.
func dialErrorLabel(reasonLabel string) (string, bool) {
	const prefix = "dial_"
	if len(reasonLabel) > len(prefix) && reasonLabel[:len(prefix)] == prefix {
		return reasonLabel[len(prefix):], true
	}
	return "", false
}

func (m *metrics) sessionClosed(reason string) {
	m.closed.WithLabelValues(reasonLabel(reason)).Inc()
}

func (m *metrics) dialed(d time.Duration, err error) {
	if err == nil {
		m.dialSeconds.Observe(d.Seconds())
		return
	}
	l, ok := dialErrorLabel(reasonLabel(DialReason(err)))
	if !ok {
		l = "canceled"
	}
	m.dialErrors.WithLabelValues(l).Inc()
}

func (m *metrics) optionChanged(opt byte, local, enabled bool) {
	if !enabled {
		return
	}
	side, set := "remote", serialPolicy.Remote
	if local {
		side, set = "local", serialPolicy.Local
	}
	if set.Has(opt) {
		m.options.WithLabelValues(side, telnet.OptionName(opt)).Inc()
	}
}

func (m *metrics) refused(err error) {
	l := "rate"
	switch {
	case errors.Is(err, errGatewayFull):
		l = "total"
	case errors.Is(err, errNoDescriptors):
		l = "descriptors"
	case errors.Is(err, errUserFull):
		l = "user"
	case errors.Is(err, errClientFull):
		l = "client"
	case errors.Is(err, ErrShuttingDown):
		l = "shutdown"
	}
	m.refusals.WithLabelValues(l).Inc()
}

func (m *metrics) adhoc(err error) {
	if err != nil {
		m.adhocReqs.WithLabelValues("refused").Inc()
	} else {
		m.adhocReqs.WithLabelValues("allowed").Inc()
	}
}

func (m *metrics) recording(result string) { m.recordings.WithLabelValues(result).Inc() }

// MetricsHandler serves the gateway's Prometheus metrics (see the list in
// metrics.go) from its own registry.
func (g *Gateway) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{})
}
