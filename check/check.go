package check

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imload/imload/policy"
)

// Mode chooses how the oracle orders a user's logins.
type Mode uint8

const (
	// Auto uses Sequence for a user whose every successful login carries a
	// sequence number, Search for the others.
	Auto Mode = iota
	// Sequence trusts the target's per-user login sequence (Seq). A user
	// with a login lacking one is ordered by login ok time instead.
	Sequence
	// Search ignores sequence numbers and searches for an order of logins
	// consistent with real time that explains every kick.
	Search
)

func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case Sequence:
		return "sequence"
	case Search:
		return "search"
	}
	return fmt.Sprintf("mode(%d)", m)
}

// ParseMode accepts auto, sequence or search.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Auto, Sequence, Search} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown oracle mode %q (allowed: auto, sequence, search)", s)
}

// Defaults used for zero Options fields.
const (
	DefaultGrace        = time.Second
	DefaultLateAfter    = time.Second
	DefaultExamples     = 3
	DefaultSearchBudget = time.Second
)

// Options tune the oracle. Zero fields take the defaults above; to ask for
// no grace at all, give a nanosecond.
type Options struct {
	// Grace: how long devices may hold more instances online than the
	// policy allows (a kick in flight) before it is an over-limit verdict.
	Grace time.Duration
	// LateAfter: a kick notice later than this after the displacing login's
	// ok is a late-kick verdict.
	LateAfter time.Duration
	// Examples kept per verdict class (negative: none).
	Examples int
	// SearchBudget: time the order search may take per user before the user
	// is counted undecided.
	SearchBudget time.Duration
	Mode         Mode
	// End of the run; zero: the latest event the history holds.
	End time.Time
	// StatusAt is when the target's online statuses (SetServerOnline) were
	// taken; zero: End. Take them before devices are stopped (an app killed
	// by the end of the run leaves its instance's status unknown).
	StatusAt time.Time
	// Workers checking users in parallel; zero: GOMAXPROCS.
	Workers int
	// AnonymousKicks says that the target's kicks name no displacer (an
	// XMPP <conflict/> stream error names neither the session nor the login
	// that replaced it). In search mode a kick naming no displacer is then
	// taken as sent by some earlier login of the user, which the order
	// search picks, instead of as an administrative kick: a kick that no
	// login explains under the policy is a violation. Such kicks are not
	// judged late (their displacer is unknown).
	AnonymousKicks bool
	// HarnessLag, when set, says how long imload's own process was
	// starved (its scheduler's worst wake-up delay, package health) between
	// two times. A kick notice late by no more than LateAfter plus that lag
	// is undecided, not a late kick: the delay may be imload's.
	HarnessLag func(from, to time.Time) time.Duration
	// Windows are spans of the run (a storm's recovery window) over which
	// the report counts, in Report.Windows, the kicks judged and the
	// verdicts found: a kick by its notice's arrival, a verdict by the time
	// it is about.
	Windows []Window
	// RefusalCodes are the login codes with which the target refuses a
	// login because it conflicts with the sessions online (a device limit
	// full, the instance or resource online). Such a refused login is
	// judged (wrong refusal); a login failed with any other code is not.
	// Nil: DefaultRefusalCodes.
	RefusalCodes []int
}

// DefaultRefusalCodes: 1008, the refusal code of imload's protocol
// (protocol.CodeLoginRefused, which the ws and xmpp drivers report).
var DefaultRefusalCodes = []int{1008}

// WithDefaults returns o with what it leaves unset filled in as Check and
// Settle fill it (DefaultGrace, DefaultLateAfter, ...).
func (o Options) WithDefaults() Options {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.LateAfter <= 0 {
		o.LateAfter = DefaultLateAfter
	}
	switch {
	case o.Examples == 0:
		o.Examples = DefaultExamples
	case o.Examples < 0:
		o.Examples = 0
	}
	if o.SearchBudget <= 0 {
		o.SearchBudget = DefaultSearchBudget
	}
	if o.RefusalCodes == nil {
		o.RefusalCodes = DefaultRefusalCodes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Check judges every user of h against pol and returns the report. Call it
// after the run: events observed while it runs may or may not be judged.
// What Settle judged during the run is merged in: the report is the one
// Check alone would have given for the whole history (see Settle).
func Check(h *History, pol *policy.Policy, opts Options) *Report {
	opts = opts.WithDefaults()
	end := unixNano(opts.End)
	if end == 0 {
		end = h.end()
	}
	webhooks := h.judgesCallbacks()
	workers := opts.Workers
	if workers > numShards {
		workers = numShards
	}
	reports := make([]*Report, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		rep := newReport(pol.Name, opts)
		reports[w] = rep
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAnalyzer(pol, opts, end, webhooks, rep)
			var users []userSnap
			for {
				i := int(next.Add(1) - 1)
				if i >= numShards {
					return
				}
				users = h.snapshot(i, users[:0])
				for k := range users {
					a.check(&users[k])
				}
				clear(users)
			}
		}()
	}
	wg.Wait()
	out := reports[0]
	for _, r := range reports[1:] {
		out.Merge(r)
	}
	h.settled.mergeInto(out, webhooks)
	return out
}
