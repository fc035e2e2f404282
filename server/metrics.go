package server

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where the server serves its Prometheus metrics, on the same
// listener as the gateway.
const MetricsPath = "/metrics"

// statsCollector exports Stats at scrape time, so the hot path pays nothing
// for the metrics: the counters it reads are the ones the server keeps
// anyway.
type statsCollector struct {
	s *Server

	logins, repeat, logouts, switches, kicks, resumes, sigExpired, timedOut, frameErrors *prometheus.Desc
	online, connected, conns                                                             *prometheus.Desc
	dayLogins, dayUsers, dayMaxOnline, monthUsers                                        *prometheus.Desc
}

func newStatsCollector(s *Server) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("imload_server_"+name, help, labels, nil)
	}
	return &statsCollector{
		s:            s,
		logins:       d("logins_total", "Login answers by code: 0 for success (repeat logins included), else the error code.", "code"),
		repeat:       d("repeat_logins_total", "Successful logins answered with repeat_login."),
		logouts:      d("logouts_total", "Logouts, explicit and implicit (account switch)."),
		switches:     d("account_switches_total", "Implicit logouts by an account switch."),
		kicks:        d("kicks_total", "Sessions ended by a kick: multi_device (displaced by the policy) or admin_kick (REST kick).", "reason"),
		resumes:      d("resumes_total", "Resume answers by code: 0 for success (never a login), else the error code.", "code"),
		sigExpired:   d("sig_expired_total", "user_sig_expired notices sent to online sessions."),
		timedOut:     d("sessions_timed_out_total", "Sessions removed after their resume window."),
		frameErrors:  d("frame_errors_total", "Error frames sent, by code (1001 ... 1007).", "code"),
		online:       d("sessions_online", "Sessions logged in, connected or within the resume window."),
		connected:    d("sessions_connected", "Sessions logged in with a live transport."),
		conns:        d("connections", "Transport connections attached."),
		dayLogins:    d("day_logins", "Successful logins on the latest calendar day with activity."),
		dayUsers:     d("day_login_users", "Distinct users with a successful login on the latest calendar day with activity (DAU)."),
		dayMaxOnline: d("day_max_online", "Most sessions logged in at once on the latest calendar day with activity."),
		monthUsers:   d("month_active_users", "Distinct users with a successful login in the latest month with activity (MAU)."),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.logins, c.repeat, c.logouts, c.switches, c.kicks, c.resumes,
		c.sigExpired, c.timedOut, c.frameErrors, c.online, c.connected, c.conns,
		c.dayLogins, c.dayUsers, c.dayMaxOnline, c.monthUsers} {
		ch <- d
	}
}

func codeLabel(code int) string {
	if code < 0 {
		return "other"
	}
	return strconv.Itoa(code)
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(c.logins, st.LoginsOK, "0")
	for code, n := range st.LoginsFailed {
		counter(c.logins, n, codeLabel(code))
	}
	counter(c.repeat, st.RepeatLogins)
	counter(c.logouts, st.Logouts)
	counter(c.switches, st.Switches)
	counter(c.kicks, st.Kicks, KickMultiDevice)
	counter(c.kicks, st.AdminKicks, KickAdmin)
	counter(c.resumes, st.Resumes, "0")
	for code, n := range st.ResumeFailed {
		counter(c.resumes, n, codeLabel(code))
	}
	counter(c.sigExpired, st.SigExpired)
	counter(c.timedOut, st.TimedOut)
	for code, n := range st.FrameErrors {
		counter(c.frameErrors, n, codeLabel(code))
	}
	gauge(c.online, float64(st.Online))
	gauge(c.connected, float64(st.Connected))
	gauge(c.conns, float64(st.Conns))
	if n := len(st.Days); n > 0 {
		day := st.Days[n-1]
		gauge(c.dayLogins, float64(day.Logins))
		gauge(c.dayUsers, float64(day.LoginUsers))
		gauge(c.dayMaxOnline, float64(day.MaxOnline))
	}
	if n := len(st.Months); n > 0 {
		gauge(c.monthUsers, float64(st.Months[n-1].MAU))
	}
}

// Collector returns a prometheus.Collector of the server's statistics (the
// imload_server_* metrics), read from Stats at each scrape; a harness that
// runs the server in process can add it to its own registry.
func (s *Server) Collector() prometheus.Collector { return newStatsCollector(s) }

// metricsHandler serves the server's statistics with the Go runtime and
// process metrics at MetricsPath.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
