package check

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"
)

// Class is a verdict class of the oracle.
type Class int

// The verdict classes. Every class but Undecided is a violation.
const (
	WrongVictim     Class = iota // a login kicked another device than the policy displaces
	MissingKick                  // the policy displaces a session that was never told
	SpuriousKick                 // a device was kicked by a login that displaces nothing of it
	OverLimit                    // devices held more instances online than allowed, past Grace
	LateKick                     // a kick notice arrived later than LateAfter
	GhostSession                 // the target lists an instance online that devices hold offline
	LostSession                  // devices hold an instance online that the target does not list
	WebhookMismatch              // a Login callback's kicked platforms differ from the kicks seen
	WrongRefusal                 // the target refused a login (conflict or limit code) that the policy admits
	NoOrder                      // search mode: no order of the logins explains the kicks
	Undecided                    // the oracle could not decide within its budget (not a violation)
	NumClasses
)

var classNames = [NumClasses]string{"wrong_victim", "missing_kick", "spurious_kick",
	"over_limit", "late_kick", "ghost_session", "lost_session", "webhook_mismatch",
	"wrong_refusal", "no_order", "undecided"}

func (c Class) String() string {
	if c >= 0 && c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Violation reports whether verdicts of class c are violations.
func (c Class) Violation() bool { return c >= 0 && c < NumClasses && c != Undecided }

// ParseClass returns the class named s (as in the JSON report).
func ParseClass(s string) (Class, error) {
	for i, n := range classNames {
		if n == s {
			return Class(i), nil
		}
	}
	return 0, fmt.Errorf("unknown verdict class %q (allowed: %s)", s, strings.Join(classNames[:], ", "))
}

// Example is the evidence of one verdict: the user and a readable timeline.
type Example struct {
	User string `json:"user"`
	Text string `json:"text"`
}

// Verdict counts the verdicts of one class and keeps some examples: those of
// the users with the smallest IDs, one per user, so that merging shards
// keeps the same examples whatever their order.
type Verdict struct {
	Count    int64     `json:"count"`
	Examples []Example `json:"examples,omitempty"`
}

// wants reports whether an example of user would be kept under limit.
func (v *Verdict) wants(user string, limit int) bool {
	if limit <= 0 {
		return false
	}
	i := sort.Search(len(v.Examples), func(i int) bool { return v.Examples[i].User >= user })
	if i < len(v.Examples) && v.Examples[i].User == user {
		return false
	}
	return i < limit
}

// add keeps ex if it is among the limit smallest users.
func (v *Verdict) add(ex Example, limit int) {
	if !v.wants(ex.User, limit) {
		return
	}
	i := sort.Search(len(v.Examples), func(i int) bool { return v.Examples[i].User >= ex.User })
	v.Examples = append(v.Examples, Example{})
	copy(v.Examples[i+1:], v.Examples[i:])
	v.Examples[i] = ex
	if len(v.Examples) > limit {
		v.Examples = v.Examples[:limit]
	}
}

// Verdicts holds one Verdict per class; in JSON an object keyed by class
// name.
type Verdicts [NumClasses]Verdict

func (vs Verdicts) MarshalJSON() ([]byte, error) {
	m := make(map[string]Verdict, NumClasses)
	for i := range vs {
		m[classNames[i]] = vs[i]
	}
	return json.Marshal(m)
}

func (vs *Verdicts) UnmarshalJSON(b []byte) error {
	var m map[string]Verdict
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("check: verdicts: %w", err)
	}
	*vs = Verdicts{}
	for k, v := range m {
		c, err := ParseClass(k)
		if err != nil {
			return fmt.Errorf("check: verdicts: %w", err)
		}
		slices.SortStableFunc(v.Examples, func(x, y Example) int { return strings.Compare(x.User, y.User) })
		vs[c] = v
	}
	return nil
}

// Checks says how much the oracle checked.
type Checks struct {
	Users          int64 `json:"users"`
	SequenceUsers  int64 `json:"sequence_users"`
	SearchUsers    int64 `json:"search_users"`
	Logins         int64 `json:"logins"`
	InferredLogins int64 `json:"inferred_logins"`
	Kicks          int64 `json:"kicks"`
	// UnnamedKicks name no displacer: an administrative (REST) kick, or a
	// resume answered 6208 (kicked while offline). Counted, not judged.
	UnnamedKicks  int64 `json:"unnamed_kicks"`
	Displacements int64 `json:"displacements"`
	// Refusals: logins the target refused with a conflict or limit code
	// (Options.RefusalCodes), each judged against the policy.
	Refusals    int64 `json:"refusals"`
	StatusUsers int64 `json:"status_users"`
	Webhooks    int64 `json:"webhooks"`
	// SettleCrossings: users whose history after a cut (History.Settle)
	// names what lay before it (a login sequence, a kick or callback of a
	// login judged then, an operation sent before it): their later part is
	// judged without the part dropped, which may change its verdicts. Zero
	// when nothing crossed a cut.
	SettleCrossings int64 `json:"settle_crossings,omitempty"`
}

func (c *Checks) add(o *Checks) {
	c.Users += o.Users
	c.SequenceUsers += o.SequenceUsers
	c.SearchUsers += o.SearchUsers
	c.Logins += o.Logins
	c.InferredLogins += o.InferredLogins
	c.Kicks += o.Kicks
	c.UnnamedKicks += o.UnnamedKicks
	c.Displacements += o.Displacements
	c.Refusals += o.Refusals
	c.StatusUsers += o.StatusUsers
	c.Webhooks += o.Webhooks
	c.SettleCrossings += o.SettleCrossings
}

// Latency is an HDR histogram of durations in microseconds; in JSON its
// V2-compressed encoding plus a few percentiles for readers.
type Latency struct {
	h *hdrhistogram.Histogram
}

const (
	latencyMaxMicros = int64(time.Hour / time.Microsecond)
	latencyDigits    = 3
)

func newLatency() Latency {
	return Latency{h: hdrhistogram.New(1, latencyMaxMicros, latencyDigits)}
}

func (l *Latency) hist() *hdrhistogram.Histogram {
	if l.h == nil {
		l.h = hdrhistogram.New(1, latencyMaxMicros, latencyDigits)
	}
	return l.h
}

// Record adds one duration (clamped to 1 µs .. 1 h).
func (l *Latency) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < 1 {
		us = 1
	}
	if us > latencyMaxMicros {
		us = latencyMaxMicros
	}
	_ = l.hist().RecordValue(us)
}

// Count returns the number of recorded durations.
func (l *Latency) Count() int64 {
	if l.h == nil {
		return 0
	}
	return l.h.TotalCount()
}

// Quantile returns the duration at quantile q (0..100).
func (l *Latency) Quantile(q float64) time.Duration {
	if l.h == nil {
		return 0
	}
	return time.Duration(l.h.ValueAtPercentile(q)) * time.Microsecond
}

// Max returns the largest recorded duration.
func (l *Latency) Max() time.Duration {
	if l.h == nil || l.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(l.h.Max()) * time.Microsecond
}

// Histogram returns the underlying histogram (values in microseconds).
func (l *Latency) Histogram() *hdrhistogram.Histogram { return l.hist() }

// Merge adds o's values; it is exact (same geometry).
func (l *Latency) Merge(o *Latency) {
	if o.h == nil || o.h.TotalCount() == 0 {
		return
	}
	l.hist().Merge(o.h)
}

type latencyJSON struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	HDR   string  `json:"hdr"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l Latency) MarshalJSON() ([]byte, error) {
	enc, err := l.hist().Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("check: encode kick latency: %w", err)
	}
	return json.Marshal(latencyJSON{
		Count: l.Count(),
		P50:   ms(l.Quantile(50)),
		P99:   ms(l.Quantile(99)),
		Max:   ms(l.Max()),
		HDR:   string(enc),
	})
}

func (l *Latency) UnmarshalJSON(b []byte) error {
	var j latencyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("check: kick latency: %w", err)
	}
	if j.HDR == "" {
		*l = newLatency()
		return nil
	}
	h, err := hdrhistogram.Decode([]byte(j.HDR))
	if err != nil {
		return fmt.Errorf("check: kick latency: hdr: %w", err)
	}
	l.h = h
	return nil
}

// Report is the oracle's result; JSON-serialisable and mergeable across
// shards of users.
type Report struct {
	// Mode is "sequence", "search", "mixed" (users of both) or "" (no user).
	Mode        string   `json:"mode"`
	Policy      string   `json:"policy,omitempty"`
	GraceMS     float64  `json:"grace_ms"`
	LateAfterMS float64  `json:"late_after_ms"`
	Checks      Checks   `json:"checks"`
	Verdicts    Verdicts `json:"verdicts"`
	// KickLatency: kick latency, from the displacement at the target (the
	// displacing login's server time) to the kicked device's notice, for
	// devices that were connected at the displacement. Kicks whose
	// displacement time the target did not give are counted in
	// KickLatencyUnmeasured; notices stamped before their displacement time
	// (the target's clock ahead) in KickLatencyEarly. No value is clamped.
	KickLatency           Latency `json:"kick_latency"`
	KickLatencyUnmeasured int64   `json:"kick_latency_unmeasured,omitempty"`
	KickLatencyEarly      int64   `json:"kick_latency_early,omitempty"`
	ExampleLimit          int     `json:"example_limit"`
	// Windows holds, per Options.Windows in order, what was judged within
	// that span.
	Windows []WindowCounts `json:"windows,omitempty"`
}

// Window is a span of a run: [From, To].
type Window struct{ From, To time.Time }

// WindowCounts are the oracle's counts within one Window: the kicks it
// judged (named kicks whose notice arrived in it), and the verdicts about
// a time in it (violations of every class, and undecided ones).
type WindowCounts struct {
	Kicks      int64 `json:"kicks"`
	Violations int64 `json:"violations"`
	Undecided  int64 `json:"undecided"`
}

// inWindows calls add for every window of ws that holds the instant at
// (unix ns).
func inWindows(ws []Window, counts []WindowCounts, at int64, add func(*WindowCounts)) {
	for i, w := range ws {
		if at >= w.From.UnixNano() && at <= w.To.UnixNano() {
			add(&counts[i])
		}
	}
}

func newReport(pol string, opts Options) *Report {
	return &Report{
		Policy:       pol,
		GraceMS:      ms(opts.Grace),
		LateAfterMS:  ms(opts.LateAfter),
		KickLatency:  newLatency(),
		ExampleLimit: opts.Examples,
		Windows:      make([]WindowCounts, len(opts.Windows)),
	}
}

// Count returns the verdicts of class c.
func (r *Report) Count(c Class) int64 { return r.Verdicts[c].Count }

// Violations returns the number of verdicts of every violation class.
func (r *Report) Violations() int64 {
	var n int64
	for c := Class(0); c < NumClasses; c++ {
		if c.Violation() {
			n += r.Verdicts[c].Count
		}
	}
	return n
}

func mergeMode(a, b string) string {
	switch {
	case a == b || b == "":
		return a
	case a == "":
		return b
	}
	return "mixed"
}

// Merge adds other into r exactly: counts add, latency histograms merge,
// and examples keep the smallest users, so the result does not depend on
// the order in which shards are merged.
func (r *Report) Merge(other *Report) {
	if other == nil {
		return
	}
	r.Mode = mergeMode(r.Mode, other.Mode)
	if r.Policy == "" {
		r.Policy = other.Policy
	}
	if other.GraceMS > r.GraceMS {
		r.GraceMS = other.GraceMS
	}
	if other.LateAfterMS > r.LateAfterMS {
		r.LateAfterMS = other.LateAfterMS
	}
	if other.ExampleLimit > r.ExampleLimit {
		r.ExampleLimit = other.ExampleLimit
	}
	r.Checks.add(&other.Checks)
	for c := range r.Verdicts {
		v, o := &r.Verdicts[c], &other.Verdicts[c]
		v.Count += o.Count
		for _, ex := range o.Examples {
			v.add(ex, r.ExampleLimit)
		}
	}
	r.KickLatency.Merge(&other.KickLatency)
	for len(r.Windows) < len(other.Windows) {
		r.Windows = append(r.Windows, WindowCounts{})
	}
	for i, w := range other.Windows {
		r.Windows[i].Kicks += w.Kicks
		r.Windows[i].Violations += w.Violations
		r.Windows[i].Undecided += w.Undecided
	}
	r.KickLatencyUnmeasured += other.KickLatencyUnmeasured
	r.KickLatencyEarly += other.KickLatencyEarly
}

// KickLatencyName names the oracle's kick-latency measure wherever it is
// shown.
const KickLatencyName = "kick latency (displacement at the target → kicked device's notice)"

// KickLatencyLine is the kick latency as one text line (with its
// unmeasured and early kicks), or "" when no kick was measured or counted.
func (r *Report) KickLatencyLine() string {
	n := r.KickLatency.Count()
	if n == 0 && r.KickLatencyUnmeasured == 0 && r.KickLatencyEarly == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: n=%d", KickLatencyName, n)
	if n > 0 {
		fmt.Fprintf(&b, " p50=%s p99=%s max=%s", r.KickLatency.Quantile(50), r.KickLatency.Quantile(99), r.KickLatency.Max())
	}
	if r.KickLatencyUnmeasured > 0 {
		fmt.Fprintf(&b, "; %d unmeasured (the target gave no displacement time)", r.KickLatencyUnmeasured)
	}
	if r.KickLatencyEarly > 0 {
		fmt.Fprintf(&b, "; %d early (notice stamped before the displacement: the target's clock is ahead)", r.KickLatencyEarly)
	}
	b.WriteByte('\n')
	return b.String()
}

// WriteText writes a verdict table, the kick latency, and one timeline per
// example.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	c := &r.Checks
	mode := r.Mode
	if mode == "" {
		mode = "-"
	}
	fmt.Fprintf(&b, "kickout oracle: policy %s, mode %s, grace %gms, late after %gms\n",
		orDash(r.Policy), mode, r.GraceMS, r.LateAfterMS)
	n := humanize.Comma // 1234567 → 1,234,567
	fmt.Fprintf(&b, "checked %s users (%s by sequence, %s by search), %s logins (%s inferred), %s kicks (%s naming no displacer), %s displacements",
		n(c.Users), n(c.SequenceUsers), n(c.SearchUsers), n(c.Logins), n(c.InferredLogins), n(c.Kicks), n(c.UnnamedKicks), n(c.Displacements))
	if c.Refusals > 0 {
		fmt.Fprintf(&b, ", %s refused logins", n(c.Refusals))
	}
	if c.StatusUsers > 0 {
		fmt.Fprintf(&b, ", %s online statuses", n(c.StatusUsers))
	}
	if c.Webhooks > 0 {
		fmt.Fprintf(&b, ", %s callbacks", n(c.Webhooks))
	}
	if c.SettleCrossings > 0 {
		fmt.Fprintf(&b, "; %s users' history crossed a settled cut (judged without the part dropped: verdicts may differ)", n(c.SettleCrossings))
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "verdict\tcount\t")
	for cl := Class(0); cl < NumClasses; cl++ {
		note := ""
		if !cl.Violation() {
			note = " (not a violation)"
		}
		fmt.Fprintf(tw, "%s%s\t%d\t\n", cl, note, r.Verdicts[cl].Count)
	}
	fmt.Fprintf(tw, "violations\t%d\t\n", r.Violations())
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString(r.KickLatencyLine())
	for cl := Class(0); cl < NumClasses; cl++ {
		for _, ex := range r.Verdicts[cl].Examples {
			fmt.Fprintf(&b, "\n--- %s: user %s\n%s", cl, ex.User, ex.Text)
			if !strings.HasSuffix(ex.Text, "\n") {
				b.WriteByte('\n')
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// settledNote begins the line a timeline shows for the history Settle
// dropped before it (render.go).
const settledNote = "judged without a verdict and dropped as the run went"

// Diff lists how got differs from want: mode, checks, verdict counts,
// example users, kick latency and windows must be equal, and so must each
// example's text, except that of a user whose earlier history Settle
// dropped (its timeline starts at the cut and says so). Nil: no
// difference. It compares the report of a run judged while it ran
// (History.Settle) with that of the same run judged only at its end.
func Diff(want, got *Report) []string {
	var out []string
	diff := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if want.Mode != got.Mode {
		diff("mode %q, want %q", got.Mode, want.Mode)
	}
	if want.Checks != got.Checks {
		diff("checks %+v, want %+v", got.Checks, want.Checks)
	}
	for c := Class(0); c < NumClasses; c++ {
		w, g := &want.Verdicts[c], &got.Verdicts[c]
		if w.Count != g.Count {
			diff("%s: %d verdicts, want %d", c, g.Count, w.Count)
		}
		if len(w.Examples) != len(g.Examples) {
			diff("%s: %d examples, want %d", c, len(g.Examples), len(w.Examples))
			continue
		}
		for i := range w.Examples {
			we, ge := w.Examples[i], g.Examples[i]
			switch {
			case we.User != ge.User:
				diff("%s: example %d of user %s, want %s", c, i, ge.User, we.User)
			case we.Text != ge.Text && !strings.Contains(ge.Text, settledNote):
				diff("%s: example of user %s reads\n%s\nwant\n%s", c, ge.User, ge.Text, we.Text)
			}
		}
	}
	wl, gl := &want.KickLatency, &got.KickLatency
	if wl.Count() != gl.Count() || wl.Max() != gl.Max() || wl.Quantile(50) != gl.Quantile(50) || wl.Quantile(99) != gl.Quantile(99) {
		diff("kick latency n=%d p50=%s p99=%s max=%s, want n=%d p50=%s p99=%s max=%s",
			gl.Count(), gl.Quantile(50), gl.Quantile(99), gl.Max(), wl.Count(), wl.Quantile(50), wl.Quantile(99), wl.Max())
	}
	if want.KickLatencyUnmeasured != got.KickLatencyUnmeasured || want.KickLatencyEarly != got.KickLatencyEarly {
		diff("kick latency unmeasured %d early %d, want %d and %d", got.KickLatencyUnmeasured, got.KickLatencyEarly,
			want.KickLatencyUnmeasured, want.KickLatencyEarly)
	}
	if !slices.Equal(want.Windows, got.Windows) {
		diff("windows %+v, want %+v", got.Windows, want.Windows)
	}
	return out
}
