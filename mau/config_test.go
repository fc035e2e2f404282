package mau

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/internal/yamlpos"
)

func readConfig(t *testing.T, name string) Config {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestParseConfig(t *testing.T) {
	cfg := readConfig(t, "config.yaml")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	switch {
	case cfg.Day != 2*time.Second || cfg.Days != 31 || cfg.Tick != 10*time.Minute || cfg.Seed != 42:
		t.Errorf("calendar fields %+v", cfg)
	case len(cfg.Segments) != 3 || cfg.Segments[0].SessionLength != 6*time.Minute || *cfg.Segments[0].WeekendOpenProb != 0.7:
		t.Errorf("segments %+v", cfg.Segments)
	case cfg.Segments[2].Users != 2000 || !cfg.Segments[2].Dormant:
		t.Errorf("dormant segment %+v", cfg.Segments[2])
	case len(cfg.Strategies) != 5 || cfg.Strategies[4].LogoutOn != "app_close":
		t.Errorf("strategies %+v", cfg.Strategies)
	case cfg.Pricing.Included != 1000 || len(cfg.Pricing.Tiers) != 2 || cfg.Pricing.Tiers[1].PerThousand != 1.2:
		t.Errorf("pricing %+v", cfg.Pricing)
	}
	m, err := NewModel(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.SegmentSizes(); got[0] != 3000 || got[1] != 5000 || got[2] != 2000 {
		t.Errorf("segment sizes %v, want 3000 5000 2000", got)
	}
	cal, err := cfg.Calendar(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 1, 0, 0, 0, 0, Beijing()); !cal.Epoch.Equal(want) {
		t.Errorf("epoch %v, want %v", cal.Epoch, want)
	}
}

func TestConfigCalendarEpoch(t *testing.T) {
	at := time.Date(2027, 3, 9, 23, 0, 0, 0, time.UTC) // 2027-03-10 07:00 in Beijing
	tests := []struct {
		name  string
		cfg   Config
		epoch time.Time
		want  string // date of day 0
		start time.Time
	}{
		{"fake clock: midnight of the start", Config{}, time.Time{}, "2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, Beijing())},
		{"zone moves midnight", Config{Start: "2026-12-05", Zone: "UTC"}, time.Time{}, "2026-12-05", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
		{"realtime, no start: the epoch's Beijing date", Config{}, at, "2027-03-10", at},
		{"realtime with a start keeps it", Config{Start: "2026-11-01"}, at, "2026-11-01", at},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cal, err := tc.cfg.Calendar(tc.epoch)
			if err != nil {
				t.Fatal(err)
			}
			if got := cal.Date(0).String(); got != tc.want {
				t.Errorf("day 0 is %s, want %s", got, tc.want)
			}
			if !cal.Epoch.Equal(tc.start) {
				t.Errorf("epoch %v, want %v", cal.Epoch, tc.start)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := cfg.withDefaults()
	if d.Days != 30 || d.Day != RealDay || d.Start != DefaultStart || len(d.Strategies) != 4 || len(d.Segments) != 4 {
		t.Errorf("defaults %+v", d)
	}
	cfg.Start = "2026-12-20"
	if d := cfg.withDefaults(); d.Days != 12 {
		t.Errorf("from 2026-12-20 the default covers %d days, want 12 (to the end of the month)", d.Days)
	}
	if _, err := NewModel(Config{}, 0); err == nil || !strings.Contains(err.Error(), "mau.users") {
		t.Errorf("a model without a population size: %v", err)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	err := readConfig(t, "bad.yaml").Validate()
	if err == nil {
		t.Fatal("bad.yaml validated")
	}
	for _, want := range []string{
		"mau.day: must be at least 1ms",
		"mau.days: must be between 1 and 366, got 400",
		`mau.start: expected a date like 2026-11-01, got "2026-02-30"`,
		`mau.zone: expected a zone like +08:00, UTC or Asia/Shanghai, got "Mars/Olympus"`,
		"mau.tick: must divide 24h",
		"mau.workers: must be between 1 and 100000, got -1",
		`mau.platforms.Nokia: unknown platform "Nokia"`,
		"mau.segments[0]: give users (a count) or share (a fraction), not both",
		"mau.segments[0].share: must be a probability in [0, 1], got 1.5",
		"mau.segments[0].open_prob: must be a probability in [0, 1], got 2",
		"mau.segments[0].sessions_per_day: mean must be in [1, 50]",
		"mau.segments[1].name: must be set",
		`mau.strategies[1]: strategy "eager" is listed twice`,
		"mau.strategies[2]: logout_on: expected never, chat_close or app_close",
		"mau.pricing.included: must be >= 0",
		"mau.pricing.tiers[0].up_to: the last tier must have up_to: 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestParseConfigUnknownKeys(t *testing.T) {
	data, err := os.ReadFile("testdata/unknown.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseConfig(data)
	if err == nil {
		t.Fatal("unknown keys accepted")
	}
	// The problems are positioned errors (line:col: field: msg), one per
	// unknown key.
	for _, want := range []string{
		"5:5: mau.segments[0].opne_prob: unknown key (allowed: name, users, share,",
		"6:1: mau.pricng: unknown key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	list := yamlpos.Locate(nil, "mau", err)
	if len(list) != 2 || list[0].Line != 5 || list[0].Col != 5 || list[0].Field != "mau.segments[0].opne_prob" ||
		list[1].Line != 6 || list[1].Col != 1 || list[1].Field != "mau.pricng" {
		t.Errorf("problems %+v", list)
	}
}

func TestParseZone(t *testing.T) {
	tests := []struct {
		in     string
		offset int
	}{
		{"+08:00", 8 * 3600}, {"-05:30", -(5*3600 + 30*60)}, {"UTC", 0}, {"Z", 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			loc, err := parseZone(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != tc.offset {
				t.Errorf("offset %d, want %d", off, tc.offset)
			}
		})
	}
	for _, bad := range []string{"+25:00", "08:00", "+8", "Nowhere/Town"} {
		if _, err := parseZone(bad); err == nil {
			t.Errorf("parseZone(%q) accepted", bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"config.yaml", "bad.yaml", "unknown.yaml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("strategies: [{name: a, login_on: chat_open}, 3, [x]]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		if cfg.Validate() == nil && cfg.Users > 0 && cfg.Users <= 1000 && cfg.Days <= 40 {
			m, err := NewModel(cfg, 0)
			if err != nil {
				t.Fatalf("valid config, NewModel: %v", err)
			}
			for u := range m.Users() {
				m.Activity(u, 0)
			}
		}
	})
}
