package mau

import (
	"fmt"
	"maps"
)

// OracleSummary is what the kickout oracle judged of one strategy's run:
// the full report (verdicts with their timelines) is the results file's
// kickout section, over every strategy; this is the strategy's share.
type OracleSummary struct {
	// Users judged: every Every-th user of the population (Every 1: all of
	// them), the sample the oracle kept the events of (see Target.Oracle).
	Users int64 `json:"users"`
	Every int   `json:"every"`
	// Logins and Kicks the oracle checked.
	Logins int64 `json:"logins"`
	Kicks  int64 `json:"kicks"`
	// Violations counts the verdicts of every violation class; Verdicts
	// every class with a count (undecided included, which is no
	// violation), by the oracle's class name.
	Violations int64            `json:"violations"`
	Verdicts   map[string]int64 `json:"verdicts,omitempty"`
}

// add merges o, a disjoint shard's summary, into s.
func (s *OracleSummary) add(o *OracleSummary) {
	s.Users += o.Users
	s.Every = max(s.Every, o.Every)
	s.Logins += o.Logins
	s.Kicks += o.Kicks
	s.Violations += o.Violations
	for k, v := range o.Verdicts {
		if s.Verdicts == nil {
			s.Verdicts = map[string]int64{}
		}
		s.Verdicts[k] += v
	}
}

// mergeOracle merges b into a (either may be nil: that shard had no
// oracle).
func mergeOracle(a, b *OracleSummary) *OracleSummary {
	switch {
	case b == nil:
		return a
	case a == nil:
		c := *b
		c.Verdicts = maps.Clone(b.Verdicts)
		return &c
	}
	a.add(b)
	return a
}

// String says what was judged and found, e.g. "100,000 users (every 10th):
// 0 violations".
func (s *OracleSummary) String() string {
	who := "all " + group(s.Users) + " users"
	if s.Every > 1 {
		who = fmt.Sprintf("%s users (every %s)", group(s.Users), ordinal(s.Every))
	}
	return fmt.Sprintf("%s, %s logins, %s kicks: %s violations", who, group(s.Logins), group(s.Kicks), group(s.Violations))
}

func ordinal(n int) string {
	suf := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suf = "st"
		case 2:
			suf = "nd"
		case 3:
			suf = "rd"
		}
	}
	return group(int64(n)) + suf
}

// TimingNote says what the times and latencies of a month simulation's
// events mean, for the report of a run whose app sessions emitted them.
func TimingNote(realtime bool) string {
	if realtime {
		return "operations of every strategy's app sessions, on the wall clock; latency is from the tick an action was due to its answer, as for any device"
	}
	return "operations of every strategy's app sessions, on the simulated clock (a day lasts mau.day; rates are per simulated second); " +
		"that clock stands still within a tick, so latency is the wall-clock time of each call into the target (its work, with no queueing)"
}

// OracleEvery returns k such that every k-th user of a population of users
// makes at most bound users (bound 0: DefaultOracleUsers): the oracle's
// sample, Target.OracleEvery.
func OracleEvery(users, bound int) int {
	if bound <= 0 {
		bound = DefaultOracleUsers
	}
	if users <= bound {
		return 1
	}
	return (users + bound - 1) / bound
}
