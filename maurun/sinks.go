package maurun

import (
	"context"
	"sync"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/clock"
	"github.com/imload/imload/mau"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
	"github.com/imload/imload/shard"
	"github.com/imload/imload/target"
)

// mauSinks are the sinks of a month simulation's app sessions: one metrics
// recorder over every strategy, and per strategy a kickout oracle over the
// sampled users, whose reports merge into the results file's kickout
// section.
type mauSinks struct {
	sc       *scenario.Scenario
	pol      *policy.Policy
	realtime bool
	oracle   bool // checks.kickout.enabled
	every    int  // the oracle judges every every-th user
	shard    shard.Shard
	users    int // the population
	userID   func(int) string

	rec    *metrics.Recorder
	recClk *clock.Fake // simulated time: the recorder's clock, set to each month's end
	mu     sync.Mutex
	kick   *check.Report // merged over the strategies (nil: none judged)
}

// recorder returns the run's recorder, made at the first strategy's
// calendar: in simulated time its seconds are the simulated clock's.
func (m *mauSinks) recorder(cal mau.Calendar) *metrics.Recorder {
	if m.rec != nil {
		return m.rec
	}
	if m.realtime {
		m.rec = metrics.NewRecorder(metrics.WithStart(cal.Epoch))
	} else {
		m.recClk = clock.NewFake(cal.Epoch)
		// No per-second latency histograms: a simulated second lasts no
		// time, and the first day's 86,400 of them per shard cost more
		// memory and collector work than the whole month's totals.
		m.rec = metrics.NewRecorder(metrics.WithStart(cal.Epoch), metrics.WithClock(m.recClk),
			metrics.WithSeriesHistograms())
	}
	return m.rec
}

// snapshot is the metrics of every strategy, ending when the last month
// ended.
func (m *mauSinks) snapshot(start time.Time) *metrics.Snapshot {
	if m.rec == nil {
		return metrics.NewRecorder(metrics.WithStart(start)).Snapshot()
	}
	return m.rec.Snapshot()
}

// wire gives one strategy's target its sinks: the recorder, and a fresh
// history for the oracle judged by Finish once the month has ended.
func (m *mauSinks) wire(t *mau.Target, st mau.Strategy, cal mau.Calendar, tgt *target.Target, clk clock.Clock) {
	t.Sink = m.recorder(cal)
	var hist *check.History
	if m.oracle {
		hist = check.NewHistory()
		t.Oracle, t.OracleEvery = hist, m.every
	}
	srv := tgt.Server
	traits := tgt.Traits
	t.Finish = func(ctx context.Context, res *mau.StrategyResult) error {
		end := clk.Now()
		if m.recClk != nil && end.After(m.recClk.Now()) {
			m.recClk.Set(end)
		}
		if hist == nil {
			return nil
		}
		// The target's view of who is online once the month has ended,
		// for the sampled users: sessions kept in the background are
		// still registered; a session the target lists that no device
		// holds is a ghost.
		if srv != nil && traits.ServerTime {
			for k := range m.shard.Users(m.users) {
				u := m.shard.User(k)
				if u%m.every != 0 {
					continue
				}
				uid := m.userID(u)
				sessions := srv.OnlineStatus(uid)
				inst := make([]policy.Instance, 0, len(sessions))
				for _, s := range sessions {
					inst = append(inst, policy.Instance{ID: s.Instance, Platform: s.Platform, Seq: s.Seq})
				}
				hist.SetServerOnlineAt(uid, inst, end, end)
			}
		}
		k := m.sc.Checks.Kickout
		rep := check.Check(hist, m.pol, check.Options{
			Grace:          k.Grace.D(),
			LateAfter:      k.LateAfter.D(),
			Examples:       k.Examples,
			End:            end,
			StatusAt:       end,
			Mode:           run.OracleMode(traits),
			AnonymousKicks: traits.AnonymousKicks,
			RefusalCodes:   traits.RefusalCodes,
		})
		res.Oracle = oracleSummary(rep, m.every)
		// The examples name their strategy: the same user runs under each.
		for c := range rep.Verdicts {
			for i := range rep.Verdicts[c].Examples {
				ex := &rep.Verdicts[c].Examples[i]
				ex.User = st.Name + "/" + ex.User
			}
		}
		m.mu.Lock()
		if m.kick == nil {
			m.kick = &check.Report{}
		}
		m.kick.Merge(rep)
		m.mu.Unlock()
		return nil
	}
}

// oracleSummary is a strategy's share of the oracle's verdicts.
func oracleSummary(rep *check.Report, every int) *mau.OracleSummary {
	s := &mau.OracleSummary{Users: rep.Checks.Users, Every: every, Logins: rep.Checks.Logins,
		Kicks: rep.Checks.Kicks, Violations: rep.Violations()}
	for c := check.Class(0); c < check.NumClasses; c++ {
		if n := rep.Count(c); n > 0 {
			if s.Verdicts == nil {
				s.Verdicts = map[string]int64{}
			}
			s.Verdicts[c.String()] = n
		}
	}
	return s
}

// kickout is the oracle's report over every strategy (nil: none judged).
func (m *mauSinks) kickout() *check.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kick
}
