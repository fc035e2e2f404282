package check

import (
	"testing"
	"time"

	"github.com/imload/imload/policy"
)

// benchHistory: users with about ten logins each over four devices on four
// platforms, under the dual-platform policy, with churn.
func benchHistory(b *testing.B, users int, noSeq bool) (*History, *policy.Policy, simStats) {
	return benchHistoryT(b, users, noSeq)
}

func benchHistoryT(b testing.TB, users int, noSeq bool) (*History, *policy.Policy, simStats) {
	b.Helper()
	pol := mustTencent(b, policy.DualPlatform, 1, 1)
	h, st := simulate(simConfig{pol: pol, users: users, devices: 4, acts: 10,
		platforms: []policy.Platform{policy.Android, policy.IPhone, policy.Windows, policy.Web},
		fixedMix:  true, seed: 1, noSeq: noSeq, churn: true, status: true})
	return h, pol, st
}

func benchCheck(b *testing.B, noSeq bool) {
	const users = 2000
	h, pol, st := benchHistory(b, users, noSeq)
	opts := Options{SearchBudget: 10 * time.Second}
	b.ResetTimer()
	var r *Report
	for b.Loop() {
		r = Check(h, pol, opts)
	}
	b.StopTimer()
	if r.Violations() != 0 || r.Count(Undecided) != 0 {
		b.Fatalf("%d violations, %d undecided on a correct history", r.Violations(), r.Count(Undecided))
	}
	b.ReportMetric(float64(users)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	b.ReportMetric(float64(st.logins)/users, "logins/user")
	b.ReportMetric(float64(st.kicks)/users, "kicks/user")
}

func BenchmarkCheckSequence(b *testing.B) { benchCheck(b, false) }

func BenchmarkCheckSearch(b *testing.B) { benchCheck(b, true) }
