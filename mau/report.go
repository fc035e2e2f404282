package mau

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// StrategyResult is what one strategy did over the run.
type StrategyResult struct {
	Name string       `json:"name"`
	Spec StrategySpec `json:"spec"`
	Counts
	Cost Cost    `json:"cost"`
	Ops  OpStats `json:"ops"`
	// Projected: counted without a target (Runner.Project).
	Projected bool    `json:"projected,omitempty"`
	Elapsed   float64 `json:"elapsed_s"`
	// MaxLagMS is how late a realtime run dispatched a tick at worst.
	MaxLagMS float64 `json:"max_lag_ms,omitempty"`
	// Oracle is the kickout oracle's judgement of this strategy's run (nil:
	// not judged).
	Oracle *OracleSummary `json:"oracle,omitempty"`
}

// Cost is what a strategy's MAU costs under the report's pricing.
type Cost struct {
	Currency string      `json:"currency,omitempty"`
	Months   []MonthCost `json:"months"`
	Total    float64     `json:"total"`
	// OverCheapest is Total minus the cheapest strategy's Total.
	OverCheapest float64 `json:"over_cheapest"`
}

// MonthCost is one month's bill.
type MonthCost struct {
	Month  string  `json:"month"`
	MAU    int     `json:"mau"`
	Amount float64 `json:"amount"`
}

func costOf(p Pricing, c Counts) Cost {
	out := Cost{Currency: p.Currency}
	for _, m := range c.Months {
		a := p.Cost(m.MAU)
		out.Months = append(out.Months, MonthCost{Month: m.Month, MAU: m.MAU, Amount: a})
		out.Total += a
	}
	return out
}

// CalendarInfo describes the run's calendar.
type CalendarInfo struct {
	Start    string    `json:"start"` // date of day 0
	End      string    `json:"end"`   // date of the last day
	Days     int       `json:"days"`
	Zone     string    `json:"zone"`
	Epoch    time.Time `json:"epoch"`
	Day      string    `json:"day"`  // length of a simulated day
	Tick     string    `json:"tick"` // schedule resolution on the 24-hour day
	Realtime bool      `json:"realtime"`
}

// SegmentInfo is one segment of the population.
type SegmentInfo struct {
	Name  string `json:"name"`
	Users int    `json:"users"` // in the whole population
}

// Report compares strategies run on the same population and seed.
type Report struct {
	Version  int          `json:"version"`
	Calendar CalendarInfo `json:"calendar"`
	Seed     uint64       `json:"seed"`
	// Population is the whole population; Users the part this report
	// covers (its shards).
	Population int              `json:"population"`
	Users      int              `json:"users"`
	Shards     []Shard          `json:"shards"`
	Segments   []SegmentInfo    `json:"segments"`
	Pricing    Pricing          `json:"pricing"`
	Strategies []StrategyResult `json:"strategies"`
	// Cheapest names the strategy with the lowest total cost (ties: the
	// lower MAU, then the first listed).
	Cheapest   string     `json:"cheapest"`
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// Timing says what the times and latencies of the run's metrics mean
	// (TimingNote); empty when the app sessions emitted no events.
	Timing string `json:"timing,omitempty"`
}

// ReportVersion is the version of the Report layout.
const ReportVersion = 1

// NewReport starts a report of the runner's runs.
func (r *Runner) NewReport() *Report {
	c := r.cfg
	rep := &Report{
		Version: ReportVersion,
		Calendar: CalendarInfo{
			Start: r.cal.Date(0).String(), End: r.cal.Date(c.Days - 1).String(), Days: c.Days,
			Zone: c.Zone, Epoch: r.cal.Epoch, Day: shortDuration(c.Day), Tick: shortDuration(c.Tick), Realtime: c.Realtime,
		},
		Seed:       c.Seed,
		Population: r.model.users,
		Users:      r.shardUsers(),
		Shards:     []Shard{r.shard},
		Pricing:    c.Pricing,
	}
	for i, n := range r.model.SegmentSizes() {
		rep.Segments = append(rep.Segments, SegmentInfo{Name: r.model.SegmentName(i), Users: n})
	}
	return rep
}

// Add appends a strategy's result and settles the comparison again.
func (rep *Report) Add(res StrategyResult) {
	rep.Strategies = append(rep.Strategies, res)
	rep.settle()
}

// settle recomputes costs, the cheapest strategy and the differences.
func (rep *Report) settle() {
	rep.Cheapest = ""
	best := -1
	for i := range rep.Strategies {
		s := &rep.Strategies[i]
		s.Cost = costOf(rep.Pricing, s.Counts)
		if best < 0 || s.Cost.Total < rep.Strategies[best].Cost.Total ||
			(s.Cost.Total == rep.Strategies[best].Cost.Total && totalMAU(s.Counts) < totalMAU(rep.Strategies[best].Counts)) {
			best = i
		}
	}
	if best < 0 {
		return
	}
	rep.Cheapest = rep.Strategies[best].Name
	for i := range rep.Strategies {
		rep.Strategies[i].Cost.OverCheapest = rep.Strategies[i].Cost.Total - rep.Strategies[best].Cost.Total
	}
}

func totalMAU(c Counts) int {
	n := 0
	for _, m := range c.Months {
		n += m.MAU
	}
	return n
}

// Strategy returns the result of the named strategy.
func (rep *Report) Strategy(name string) (StrategyResult, bool) {
	for _, s := range rep.Strategies {
		if s.Name == name {
			return s, true
		}
	}
	return StrategyResult{}, false
}

// Merge combines reports of disjoint shards of one population (same
// calendar, seed, population and strategies; shards with one Count and
// distinct indexes). Logins, DAU and MAU then add exactly: each user
// belongs to one shard, so no user is counted twice; peak online adds to an
// upper bound. Costs are recomputed from the merged MAU (tiers do not add).
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("mau: nothing to merge")
	}
	first := reports[0]
	out := *first
	out.Shards = slices.Clone(first.Shards)
	out.Strategies = nil
	for _, s := range first.Strategies {
		s.Counts = cloneCounts(s.Counts)
		s.Ops.Failures = maps.Clone(s.Ops.Failures)
		s.Oracle = mergeOracle(nil, s.Oracle)
		out.Strategies = append(out.Strategies, s)
	}
	out.Mismatches = slices.Clone(first.Mismatches)
	seen := map[int]bool{}
	for _, s := range first.Shards {
		seen[s.Index] = true
	}
	for k, rep := range reports[1:] {
		where := fmt.Sprintf("mau: merge report %d", k+2)
		switch {
		case rep.Calendar.Start != out.Calendar.Start || rep.Calendar.Days != out.Calendar.Days:
			return nil, fmt.Errorf("%s: calendar %s+%dd differs from %s+%dd", where,
				rep.Calendar.Start, rep.Calendar.Days, out.Calendar.Start, out.Calendar.Days)
		case rep.Seed != out.Seed:
			return nil, fmt.Errorf("%s: seed %d differs from %d", where, rep.Seed, out.Seed)
		case rep.Population != out.Population:
			return nil, fmt.Errorf("%s: population %d differs from %d", where, rep.Population, out.Population)
		case len(rep.Strategies) != len(out.Strategies):
			return nil, fmt.Errorf("%s: %d strategies, want %d", where, len(rep.Strategies), len(out.Strategies))
		}
		for _, s := range rep.Shards {
			if s.Count != out.Shards[0].Count || seen[s.Index] {
				return nil, fmt.Errorf("%s: shard %d/%d overlaps or does not fit shards of %d (users would count twice)",
					where, s.Index, s.Count, out.Shards[0].Count)
			}
			seen[s.Index] = true
			out.Shards = append(out.Shards, s)
		}
		for i := range out.Strategies {
			a, b := &out.Strategies[i], rep.Strategies[i]
			if a.Name != b.Name {
				return nil, fmt.Errorf("%s: strategy %d is %q, want %q", where, i, b.Name, a.Name)
			}
			if err := a.Counts.Merge(b.Counts); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", where, a.Name, err)
			}
			a.Ops.add(&b.Ops)
			a.Elapsed = math.Max(a.Elapsed, b.Elapsed)
			a.MaxLagMS = math.Max(a.MaxLagMS, b.MaxLagMS)
			a.Projected = a.Projected && b.Projected
			a.Oracle = mergeOracle(a.Oracle, b.Oracle)
		}
		out.Users += rep.Users
		out.Mismatches = append(out.Mismatches, rep.Mismatches...)
	}
	slices.SortFunc(out.Shards, func(a, b Shard) int { return a.Index - b.Index })
	out.settle()
	return &out, nil
}

func cloneCounts(c Counts) Counts {
	c.Days = slices.Clone(c.Days)
	c.Months = slices.Clone(c.Months)
	return c
}

// WriteText prints the strategies side by side: MAU per month, logins, DAU,
// reconnects, peak online, failures and cost with the difference to the
// cheapest.
func (rep *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	c := rep.Calendar
	mode := "simulated time"
	if c.Realtime {
		mode = "realtime"
	}
	fmt.Fprintf(bw, "MAU simulation %s .. %s (%d days, day = %s, zone %s, %s), %s users, seed %d",
		c.Start, c.End, c.Days, c.Day, c.Zone, mode, group(int64(rep.Users)), rep.Seed)
	if len(rep.Shards) > 1 || (len(rep.Shards) == 1 && rep.Shards[0].Count > 1) {
		fmt.Fprintf(bw, ", %d of %d shards", len(rep.Shards), rep.Shards[0].Count)
	}
	fmt.Fprintln(bw)
	if len(rep.Strategies) == 0 {
		fmt.Fprintln(bw, "no strategies run")
		return bw.Flush()
	}
	cur := rep.Pricing.Currency
	if cur == "" {
		cur = "cost"
	}
	type row struct {
		label string
		cells []string
	}
	var rows []row
	add := func(label string, cell func(s *StrategyResult) string) {
		r := row{label: label}
		for i := range rep.Strategies {
			r.cells = append(r.cells, cell(&rep.Strategies[i]))
		}
		rows = append(rows, r)
	}
	for i, m := range rep.Strategies[0].Months {
		label := "MAU " + m.Month
		if !m.Full {
			label += fmt.Sprintf(" (%dd)", m.Days)
		}
		add(label, func(s *StrategyResult) string { return group(int64(s.Months[i].MAU)) })
	}
	add("logins", func(s *StrategyResult) string { return group(s.Logins()) })
	add("DAU mean", func(s *StrategyResult) string { m, _ := s.DAUStats(); return group(int64(math.Round(m))) })
	add("DAU max", func(s *StrategyResult) string { _, m := s.DAUStats(); return group(int64(m)) })
	add("reconnects", func(s *StrategyResult) string {
		var n int64
		for _, d := range s.Days {
			n += d.Reconnects
		}
		return group(n)
	})
	peak := "peak online"
	for _, s := range rep.Strategies {
		if s.PeakIsBound {
			peak = "peak online (≤)"
		}
	}
	add(peak, func(s *StrategyResult) string { return group(s.PeakOnline) })
	add("failed logins", func(s *StrategyResult) string { return group(s.Ops.LoginsFailed) })
	if len(rep.Pricing.Tiers) > 0 {
		if len(rep.Strategies[0].Cost.Months) > 1 {
			for i, m := range rep.Strategies[0].Cost.Months {
				add(fmt.Sprintf("%s %s", cur, m.Month), func(s *StrategyResult) string { return money(s.Cost.Months[i].Amount) })
			}
		}
		add(cur+" total", func(s *StrategyResult) string { return money(s.Cost.Total) })
		add("vs cheapest", func(s *StrategyResult) string {
			if s.Name == rep.Cheapest {
				return "cheapest"
			}
			return "+" + money(s.Cost.OverCheapest)
		})
	}

	labelW := 0
	for _, r := range rows {
		labelW = max(labelW, len([]rune(r.label)))
	}
	widths := make([]int, len(rep.Strategies))
	for i, s := range rep.Strategies {
		widths[i] = len(s.Name)
		for _, r := range rows {
			widths[i] = max(widths[i], len(r.cells[i]))
		}
	}
	line := func(label string, cells []string) {
		bw.WriteString(label + strings.Repeat(" ", labelW-len([]rune(label))))
		for i, cell := range cells {
			bw.WriteString("  " + strings.Repeat(" ", widths[i]-len(cell)) + cell)
		}
		bw.WriteString("\n")
	}
	names := make([]string, len(rep.Strategies))
	for i, s := range rep.Strategies {
		names[i] = s.Name
	}
	line("", names)
	for _, r := range rows {
		line(r.label, r.cells)
	}
	if rep.Cheapest != "" && len(rep.Pricing.Tiers) > 0 {
		fmt.Fprintf(bw, "cheapest: %s\n", rep.Cheapest)
	}
	for _, s := range rep.Strategies {
		if s.Oracle != nil {
			fmt.Fprintf(bw, "kickout oracle, %s: %s\n", s.Name, s.Oracle)
		}
	}
	if rep.Timing != "" {
		fmt.Fprintf(bw, "metrics: %s\n", rep.Timing)
	}
	switch n := len(rep.Mismatches); {
	case n == 0:
	default:
		fmt.Fprintf(bw, "server cross-check: %d mismatches\n", n)
		for i, m := range rep.Mismatches {
			if i == 10 {
				fmt.Fprintf(bw, "  … %d more\n", n-10)
				break
			}
			fmt.Fprintf(bw, "  %s\n", m)
		}
	}
	return bw.Flush()
}

// shortDuration formats d without zero tails: "24h", "5m", "1h30m", "2s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// group formats n with thousands separators: 1234567 → "1,234,567".
func group(n int64) string { return humanize.Comma(n) }

// money formats an amount with two decimals and thousands separators.
func money(v float64) string {
	cents := int64(math.Round(v * 100))
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%s.%02d", sign, group(cents/100), cents%100)
}

// TargetFunc opens a fresh target for one strategy: every strategy should
// start from an empty server (its MAU would otherwise mix with the
// previous strategy's). cal is the calendar the target must share.
type TargetFunc func(ctx context.Context, st Strategy, cal Calendar) (Target, error)

// SimulateMonth runs every configured strategy on the same population and
// seed and compares them. With open nil it projects each strategy without a
// target (Runner.Project); otherwise each strategy runs against the target
// open returns, and when the target reports its own counts they are
// cross-checked. users 0 takes cfg.Users or the segments' counts.
func SimulateMonth(ctx context.Context, cfg Config, users int, open TargetFunc, opts ...Option) (*Report, error) {
	r, err := NewRunner(cfg, users, opts...)
	if err != nil {
		return nil, err
	}
	rep := r.NewReport()
	for _, spec := range r.cfg.Strategies {
		st, err := spec.Strategy()
		if err != nil {
			return rep, fmt.Errorf("mau: strategy %q: %w", spec.Name, err)
		}
		if open == nil {
			res, err := r.Project(ctx, st)
			rep.Add(res)
			if err != nil {
				return rep, err
			}
			continue
		}
		if err := runOne(ctx, r, rep, st, open); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func runOne(ctx context.Context, r *Runner, rep *Report, st Strategy, open TargetFunc) (err error) {
	tgt, err := open(ctx, st, r.cal)
	if err != nil {
		return fmt.Errorf("mau: open target for %s: %w", st.Name, err)
	}
	if tgt.Close != nil {
		defer func() {
			if cerr := tgt.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("mau: close target of %s: %w", st.Name, cerr)
			}
		}()
	}
	res, err := r.Run(ctx, st, tgt)
	if err == nil && tgt.Finish != nil {
		if err = tgt.Finish(ctx, &res); err != nil {
			err = fmt.Errorf("mau: finish %s: %w", st.Name, err)
		}
	}
	rep.Add(res)
	if err != nil {
		return err
	}
	if tgt.ServerCounts != nil {
		sc, err := tgt.ServerCounts(ctx)
		if err != nil {
			return fmt.Errorf("mau: server counts for %s: %w", st.Name, err)
		}
		for _, m := range CrossCheck(res.Counts, sc) {
			m.Strategy = st.Name
			rep.Mismatches = append(rep.Mismatches, m)
		}
	}
	return nil
}
