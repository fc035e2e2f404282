package mau

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/internal/yamlpos"
	"github.com/imload/imload/policy"
)

// Config is the mau section of a scenario:
//
//	mau:
//	  day: 2s                # length of a simulated day
//	  days: 30               # default: the rest of the start month
//	  start: 2026-11-01      # date of day 0
//	  zone: "+08:00"         # where days begin (Beijing time)
//	  realtime: false        # false: as fast as the target allows, on a fake clock
//	  tick: 5m               # schedule resolution, on the 24-hour day
//	  workers: 64
//	  users: 1000000
//	  platforms: {Android: 0.6, iPhone: 0.4}
//	  segments: [...]        # see Segment; default DefaultSegments
//	  strategies: [eager, lazy, {name: mine, login_on: chat_open, logout_on: app_close}]
//	  pricing: {included: 1000, currency: USD, tiers: [{up_to: 0, per_thousand: 2.5}]}
//
// Durations are Go durations ("2s", "5m"). Decode it with ParseConfig or
// DecodeConfig for positioned errors about unknown keys; Validate says what
// is wrong with the values.
type Config struct {
	Day      time.Duration `yaml:"day,omitempty" json:"day,omitempty"`
	Days     int           `yaml:"days,omitempty" json:"days,omitempty"`
	Start    string        `yaml:"start,omitempty" json:"start,omitempty"`
	Zone     string        `yaml:"zone,omitempty" json:"zone,omitempty"`
	Realtime bool          `yaml:"realtime,omitempty" json:"realtime,omitempty"`
	Tick     time.Duration `yaml:"tick,omitempty" json:"tick,omitempty"`
	Workers  int           `yaml:"workers,omitempty" json:"workers,omitempty"`
	// Seed of the usage model; 0 means 1. The run command passes the
	// scenario's seed when this is unset.
	Seed uint64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Users is the population size; 0 leaves it to the caller (the
	// scenario's population) or, failing that, to the segments' counts.
	Users      int                `yaml:"users,omitempty" json:"users,omitempty"`
	Platforms  map[string]float64 `yaml:"platforms,omitempty" json:"platforms,omitempty"`
	Segments   []Segment          `yaml:"segments,omitempty" json:"segments,omitempty"`
	Strategies []StrategySpec     `yaml:"strategies,omitempty" json:"strategies,omitempty"`
	Pricing    Pricing            `yaml:"pricing,omitempty" json:"pricing,omitempty"`
	// OracleUsers bounds the users whose events the kickout oracle keeps
	// and judges, per strategy (0: DefaultOracleUsers): with more users in
	// the population it judges every k-th user, k the smallest whole
	// number that keeps them within the bound, and the report says so.
	// The oracle keeps every event of its users until the end of each
	// strategy; a million users' month would not fit in memory.
	OracleUsers int `yaml:"oracle_users,omitempty" json:"oracle_users,omitempty"`
}

// Defaults of Config.
const (
	DefaultStart   = "2026-11-01"
	DefaultZone    = "+08:00"
	DefaultTick    = 5 * time.Minute
	DefaultWorkers = 64
	// DefaultOracleUsers: the users the kickout oracle judges at most, per
	// strategy (about 2 million logins and 100 MB of history for a month
	// of mau-strategies.yaml's usage).
	DefaultOracleUsers = 100000
)

// Segment is a part of the population that uses the app alike.
type Segment struct {
	Name string `yaml:"name" json:"name"`
	// Users is the segment's size as a count; Share as a fraction of the
	// whole population. Give exactly one.
	Users int     `yaml:"users,omitempty" json:"users,omitempty"`
	Share float64 `yaml:"share,omitempty" json:"share,omitempty"`
	// Dormant users have the app installed and never open it.
	Dormant bool `yaml:"dormant,omitempty" json:"dormant,omitempty"`
	// OpenProb is the probability that the user opens the app on a weekday;
	// WeekendOpenProb on Saturday and Sunday (default OpenProb).
	OpenProb        float64  `yaml:"open_prob,omitempty" json:"open_prob,omitempty"`
	WeekendOpenProb *float64 `yaml:"weekend_open_prob,omitempty" json:"weekend_open_prob,omitempty"`
	// SessionsPerDay is the mean number of app sessions on a day the app is
	// opened (1 + Poisson(mean-1)); default 1.
	SessionsPerDay float64 `yaml:"sessions_per_day,omitempty" json:"sessions_per_day,omitempty"`
	// SessionLength is the mean time in the foreground (exponential, at
	// least 10s); default 5m.
	SessionLength time.Duration `yaml:"session_length,omitempty" json:"session_length,omitempty"`
	// ChatProb is the probability that a session opens the chat UI;
	// ChatLength the mean time the chat stays open (default 2m).
	ChatProb   float64       `yaml:"chat_prob,omitempty" json:"chat_prob,omitempty"`
	ChatLength time.Duration `yaml:"chat_length,omitempty" json:"chat_length,omitempty"`
	// BackgroundProb is the probability that a session finds the app still
	// alive in the background from an earlier one (a warm start) rather than
	// starting it afresh.
	BackgroundProb float64 `yaml:"background_prob,omitempty" json:"background_prob,omitempty"`
	// Joining is the fraction of the segment that installs the app during
	// the run, on a uniformly drawn day; Churning the fraction that stops
	// using it for good on a uniformly drawn later day.
	Joining  float64 `yaml:"joining,omitempty" json:"joining,omitempty"`
	Churning float64 `yaml:"churning,omitempty" json:"churning,omitempty"`
}

// Segment defaults.
const (
	defaultSessionLength = 5 * time.Minute
	defaultChatLength    = 2 * time.Minute
	maxSessionsPerDay    = 50
)

// DefaultSegments is a population of an app whose chat is one feature among
// others: a quarter use it daily, many open the app but rarely chat, some
// never open it.
func DefaultSegments() []Segment {
	wk := func(p float64) *float64 { return &p }
	return []Segment{
		{Name: "daily", Share: 0.25, OpenProb: 0.85, WeekendOpenProb: wk(0.75), SessionsPerDay: 2.5,
			SessionLength: 6 * time.Minute, ChatProb: 0.5, ChatLength: 3 * time.Minute, BackgroundProb: 0.6,
			Joining: 0.04, Churning: 0.02},
		{Name: "weekly", Share: 0.30, OpenProb: 0.2, WeekendOpenProb: wk(0.35), SessionsPerDay: 1.3,
			SessionLength: 4 * time.Minute, ChatProb: 0.25, ChatLength: 2 * time.Minute, BackgroundProb: 0.4,
			Joining: 0.04, Churning: 0.03},
		{Name: "browsers", Share: 0.30, OpenProb: 0.08, SessionsPerDay: 1.1,
			SessionLength: 3 * time.Minute, ChatProb: 0.03, ChatLength: time.Minute, BackgroundProb: 0.3,
			Joining: 0.03, Churning: 0.05},
		{Name: "dormant", Share: 0.15, Dormant: true},
	}
}

// DefaultPlatforms is the platform mix when none is given.
func DefaultPlatforms() map[string]float64 {
	return map[string]float64{string(policy.Android): 0.6, string(policy.IPhone): 0.4}
}

// ParseConfig decodes a mau section from YAML; problems are reported as
// DecodeConfig reports them, at line:col.
func ParseConfig(data []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return Config{}, fmt.Errorf("mau: %w", err)
	}
	if len(doc.Content) == 0 {
		return Config{}, nil
	}
	return DecodeConfig(doc.Content[0], "mau")
}

// DecodeConfig decodes the mau section n; path names it in field paths
// ("mau"). Its problems are *yamlpos.Error values (joined), each at the
// node it is about with the field's path: the unknown keys when there are
// any, else the values that do not fit their field's type.
func DecodeConfig(n *yaml.Node, path string) (Config, error) {
	var c Config
	d := configDecoder{}
	d.decode(n, reflect.ValueOf(&c).Elem(), path)
	switch {
	case len(d.unknown) > 0:
		return c, joinProblems(d.unknown)
	case len(d.mistyped) > 0:
		return c, joinProblems(d.mistyped)
	}
	return c, nil
}

func joinProblems(list []*yamlpos.Error) error {
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// configDecoder walks a mau section into a Config field by field, so that
// every problem is known at its node: keys no field has, and values
// yaml.v3 cannot decode into their field.
type configDecoder struct {
	unknown, mistyped []*yamlpos.Error
}

var (
	durationType     = reflect.TypeFor[time.Duration]()
	strategySpecType = reflect.TypeFor[StrategySpec]()
)

func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = yamlpos.Resolve(n)
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = yamlpos.Resolve(n.Content[0])
	}
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
		return
	case t == strategySpecType && n.Kind == yaml.ScalarNode:
		v.Set(reflect.ValueOf(StrategySpec{Name: n.Value}))
		return
	case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		fields := map[string]int{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = i
				names = append(names, name)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				d.unknown = append(d.unknown, yamlpos.At(k, yamlpos.Join(path, k.Value), "unknown key (allowed: %s)", strings.Join(names, ", ")))
				continue
			}
			d.decode(val, v.Field(f), yamlpos.Join(path, k.Value))
		}
		return
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), yamlpos.Index(path, i))
		}
		v.Set(s)
		return
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := yamlpos.Resolve(n.Content[i]), n.Content[i+1]
			key := reflect.New(t.Key()).Elem()
			if k.Decode(key.Addr().Interface()) != nil {
				d.mistype(k, t.Key(), yamlpos.Join(path, k.Value))
				continue
			}
			elem := reflect.New(t.Elem()).Elem()
			d.decode(val, elem, yamlpos.Join(path, k.Value))
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
		return
	case t.Kind() == reflect.Struct && t != durationType, t.Kind() == reflect.Slice, t.Kind() == reflect.Map:
		d.mistype(n, t, path) // a scalar for a mapping or a list, or the other way round
		return
	}
	// A value: yaml.v3 decides whether it fits.
	if n.Kind != yaml.ScalarNode || n.Decode(v.Addr().Interface()) != nil {
		d.mistype(n, t, path)
	}
}

// typeWants says what a field of each type takes.
var typeWants = map[reflect.Type]string{
	durationType: "a duration such as 2s or 5m", reflect.TypeFor[int](): "a whole number",
	reflect.TypeFor[uint64](): "a whole number >= 0", reflect.TypeFor[float64](): "a number",
	reflect.TypeFor[bool](): "true or false", reflect.TypeFor[string](): "a string",
	reflect.TypeFor[map[string]float64](): "a mapping of platform to weight",
	reflect.TypeFor[[]Segment]():          "a list of segments", reflect.TypeFor[[]StrategySpec](): "a list of strategies",
	reflect.TypeFor[[]Tier]():  "a list of tiers ({up_to, per_thousand})",
	reflect.TypeFor[Pricing](): "a mapping {currency, included, tiers}", reflect.TypeFor[Segment](): "a mapping of segment settings",
	reflect.TypeFor[Tier](): "a mapping {up_to, per_thousand}", reflect.TypeFor[Config](): "a mapping of month-simulation settings",
	strategySpecType: "a name or a mapping with name and login_on",
}

func (d *configDecoder) mistype(n *yaml.Node, t reflect.Type, path string) {
	want, ok := typeWants[t]
	if !ok {
		want = "a value of type " + t.String()
	}
	d.mistyped = append(d.mistyped, yamlpos.At(n, path, "expected %s, got %s", want, yamlpos.Describe(n)))
}

// withDefaults fills what is unset.
func (c Config) withDefaults() Config {
	if c.Start == "" {
		c.Start = DefaultStart
	}
	if c.Zone == "" {
		c.Zone = DefaultZone
	}
	if c.Day == 0 {
		c.Day = RealDay
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Days == 0 {
		if d, err := ParseDate(c.Start); err == nil {
			c.Days = d.MonthID().Days() - d.Day + 1
		}
	}
	if len(c.Platforms) == 0 {
		c.Platforms = DefaultPlatforms()
	}
	if len(c.Segments) == 0 {
		c.Segments = DefaultSegments()
	}
	if len(c.Strategies) == 0 {
		for _, name := range PresetNames() {
			c.Strategies = append(c.Strategies, StrategySpec{Name: name})
		}
	}
	return c
}

// Location returns the zone named by Zone ("+08:00", "UTC", "Asia/Shanghai").
func (c Config) Location() (*time.Location, error) {
	return parseZone(c.withDefaults().Zone)
}

func parseZone(z string) (*time.Location, error) {
	if z == "UTC" || z == "Z" {
		return time.UTC, nil
	}
	if len(z) == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':' {
		h, err1 := strconv.Atoi(z[1:3])
		m, err2 := strconv.Atoi(z[4:6])
		if err1 == nil && err2 == nil && h <= 14 && m < 60 {
			off := (h*60 + m) * 60
			if z[0] == '-' {
				off = -off
			}
			if off == 8*3600 {
				return beijing, nil
			}
			return time.FixedZone("UTC"+z, off), nil
		}
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return nil, fmt.Errorf("expected a zone like +08:00, UTC or Asia/Shanghai, got %q", z)
	}
	return loc, nil
}

// Calendar returns the run's calendar. A zero epoch means midnight of the
// start date in the zone (what a run on a fake clock uses). A realtime run
// passes the instant it starts; day 0 is then dated Start when it is set,
// else the epoch's date in Beijing time, which is how the reference server
// dates the days of a calendar it is given only an epoch for.
func (c Config) Calendar(epoch time.Time) (Calendar, error) {
	explicit := c.Start != ""
	c = c.withDefaults()
	first, err := ParseDate(c.Start)
	if err != nil {
		return Calendar{}, fmt.Errorf("mau.start: %w", err)
	}
	loc, err := parseZone(c.Zone)
	if err != nil {
		return Calendar{}, fmt.Errorf("mau.zone: %w", err)
	}
	if epoch.IsZero() {
		epoch = time.Date(first.Year, first.Month, first.Day, 0, 0, 0, 0, loc)
	} else if !explicit {
		first = Date{}
	}
	return Calendar{Epoch: epoch, Day: c.Day, First: first}, nil
}

// Validate says everything that is wrong with the configuration, one
// *yamlpos.Error per problem (joined), each naming the key ("mau.days")
// and what is allowed; yamlpos.Locate puts them at their nodes.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field, format string, a ...any) { errs = append(errs, yamlpos.Errorf(field, format, a...)) }
	if c.Day < time.Millisecond {
		bad("mau.day", "must be at least 1ms (e.g. 2s, or 24h for real days), got %v", c.Day)
	}
	if c.Days < 1 || c.Days > 366 {
		bad("mau.days", "must be between 1 and 366, got %d", c.Days)
	}
	if _, err := ParseDate(c.Start); err != nil {
		bad("mau.start", "%v", err)
	}
	if _, err := parseZone(c.Zone); err != nil {
		bad("mau.zone", "%v", err)
	}
	if c.Tick < time.Second || c.Tick > time.Hour || RealDay%c.Tick != 0 {
		bad("mau.tick", "must divide 24h and lie in [1s, 1h] (e.g. 1m, 5m), got %v", c.Tick)
	}
	if c.Workers < 1 || c.Workers > 100000 {
		bad("mau.workers", "must be between 1 and 100000, got %d", c.Workers)
	}
	if c.Users < 0 {
		bad("mau.users", "must be >= 0, got %d", c.Users)
	}
	if c.OracleUsers < 0 {
		bad("mau.oracle_users", "must be >= 0 (0: %d), got %d", DefaultOracleUsers, c.OracleUsers)
	}
	errs = append(errs, validatePlatforms(c.Platforms))
	for i, s := range c.Segments {
		errs = append(errs, s.validate(fmt.Sprintf("mau.segments[%d]", i)))
	}
	names := map[string]bool{}
	for i, s := range c.Strategies {
		path := fmt.Sprintf("mau.strategies[%d]", i)
		if _, err := s.Strategy(); err != nil {
			bad(path, "%v", err)
		}
		if names[s.Name] {
			bad(path, "strategy %q is listed twice", s.Name)
		}
		names[s.Name] = true
	}
	errs = append(errs, c.Pricing.validate("mau.pricing"))
	if c.Users > 0 {
		if _, err := resolveSegments(c.Segments, c.Users); err != nil {
			bad("mau.segments", "%v", err)
		}
	}
	return errors.Join(errs...)
}

func validatePlatforms(m map[string]float64) error {
	var errs []error
	sum := 0.0
	for _, k := range sortedKeys(m) {
		field := "mau.platforms." + k
		if _, err := policy.ParsePlatform(k); err != nil {
			errs = append(errs, yamlpos.Errorf(field, "%v", err))
		}
		if w := m[k]; !(w >= 0) || math.IsInf(w, 0) {
			errs = append(errs, yamlpos.Errorf(field, "weight must be >= 0, got %v", w))
		} else {
			sum += w
		}
	}
	if len(m) > 0 && sum <= 0 {
		errs = append(errs, yamlpos.Errorf("mau.platforms", "weights sum to 0; give at least one positive weight"))
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s Segment) validate(path string) error {
	var errs []error
	bad := func(key, format string, a ...any) { // key "": the segment itself
		field := path
		if key != "" {
			field = yamlpos.Join(path, key)
		}
		errs = append(errs, yamlpos.Errorf(field, format, a...))
	}
	prob := func(key string, p float64) {
		if !(p >= 0 && p <= 1) {
			bad(key, "must be a probability in [0, 1], got %v", p)
		}
	}
	if s.Name == "" {
		bad("name", "must be set")
	}
	switch {
	case s.Users < 0:
		bad("users", "must be >= 0, got %d", s.Users)
	case s.Users > 0 && s.Share != 0:
		bad("", "give users (a count) or share (a fraction), not both")
	case s.Users == 0 && s.Share == 0:
		bad("", "give users (a count) or share (a fraction of the population)")
	}
	prob("share", s.Share)
	prob("open_prob", s.OpenProb)
	if s.WeekendOpenProb != nil {
		prob("weekend_open_prob", *s.WeekendOpenProb)
	}
	prob("chat_prob", s.ChatProb)
	prob("background_prob", s.BackgroundProb)
	prob("joining", s.Joining)
	prob("churning", s.Churning)
	if s.SessionsPerDay != 0 && !(s.SessionsPerDay >= 1 && s.SessionsPerDay <= maxSessionsPerDay) {
		bad("sessions_per_day", "mean must be in [1, %d] (sessions on a day the app is opened), got %v",
			maxSessionsPerDay, s.SessionsPerDay)
	}
	if s.SessionLength < 0 || s.SessionLength > 12*time.Hour {
		bad("session_length", "must be in [0, 12h], got %v", s.SessionLength)
	}
	if s.ChatLength < 0 || s.ChatLength > 12*time.Hour {
		bad("chat_length", "must be in [0, 12h], got %v", s.ChatLength)
	}
	return errors.Join(errs...)
}

// resolveSegments turns counts and shares into exact sizes summing to
// users. Shares are fractions of the whole population; their rounding is
// settled by largest remainder so the sizes add up.
func resolveSegments(segs []Segment, users int) ([]int, error) {
	sizes := make([]int, len(segs))
	fixed := 0
	var shared float64
	for i, s := range segs {
		if s.Users > 0 {
			sizes[i] = s.Users
			fixed += s.Users
		} else {
			shared += s.Share
		}
	}
	rest := users - fixed
	if rest < 0 {
		return nil, fmt.Errorf("segment counts add up to %d, more than the %d users", fixed, users)
	}
	if shared == 0 {
		if rest != 0 {
			return nil, fmt.Errorf("segments cover %d of %d users; add a segment with a share, or fix the counts", fixed, users)
		}
		return sizes, nil
	}
	want := shared * float64(users)
	if math.Abs(want-float64(rest)) > float64(len(segs))+1e-9*float64(users) {
		return nil, fmt.Errorf("segments cover %d users by count and %.0f by share, but there are %d users (shares are fractions of the whole population)",
			fixed, want, users)
	}
	type rem struct {
		i int
		f float64
	}
	var rems []rem
	given := 0
	for i, s := range segs {
		if s.Users > 0 {
			continue
		}
		exact := s.Share / shared * float64(rest)
		sizes[i] = int(exact)
		given += sizes[i]
		rems = append(rems, rem{i, exact - float64(sizes[i])})
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.f > b.f:
			return -1
		case a.f < b.f:
			return 1
		}
		return 0
	})
	for k := 0; given < rest; k++ {
		sizes[rems[k%len(rems)].i]++
		given++
	}
	return sizes, nil
}

// population returns the population size: the argument, Users, or else the
// segments' counts when every segment gives one.
func (c Config) population(users int) (int, error) {
	if users > 0 {
		return users, nil
	}
	if c.Users > 0 {
		return c.Users, nil
	}
	sum := 0
	for _, s := range c.withDefaults().Segments {
		if s.Users == 0 {
			return 0, fmt.Errorf("mau.users: the population size is not set and segment %q gives a share, not a count", s.Name)
		}
		sum += s.Users
	}
	return sum, nil
}
