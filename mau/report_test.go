package mau

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteTextGolden(t *testing.T) {
	cfg := readConfig(t, "config.yaml")
	cfg.Users = 2000
	cfg.Segments[2].Users = 400
	rep, err := SimulateMonth(t.Context(), cfg, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden", buf.Bytes())

	// The text shows what the report holds.
	text := buf.String()
	for _, s := range rep.Strategies {
		if !strings.Contains(text, group(int64(s.Months[0].MAU))) {
			t.Errorf("the text lacks %s's MAU %d", s.Name, s.Months[0].MAU)
		}
	}
	if !strings.Contains(text, "cheapest: "+rep.Cheapest) {
		t.Errorf("the text does not name the cheapest strategy %s", rep.Cheapest)
	}
}

func TestWriteTextMismatchesAndShards(t *testing.T) {
	rep, err := SimulateMonth(t.Context(), Config{Seed: 2, Days: 3, Strategies: []StrategySpec{{Name: Lazy}}}, 100, nil,
		WithShard(Shard{1, 4}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		rep.Mismatches = append(rep.Mismatches, Mismatch{Strategy: Lazy, Measure: "dau", Key: "2026-11-0" + string(rune('1'+i%3)), Harness: int64(i), Server: 0})
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"25 users", "1 of 4 shards", "MAU 2026-11 (3d)", "server cross-check: 12 mismatches",
		"lazy: dau 2026-11-01: harness 0, server 0", "… 2 more"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "USD") || strings.Contains(text, "cheapest") {
		t.Errorf("no pricing, yet the text shows a cost:\n%s", text)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	cfg := runConfig()
	cfg.Pricing = Pricing{Currency: "CNY", Included: 10, Tiers: []Tier{{UpTo: 100, PerThousand: 20}, {PerThousand: 10}}}
	rep, err := SimulateMonth(t.Context(), cfg, 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(data, again) {
		t.Fatal("the report does not survive a JSON round trip")
	}
	for _, key := range []string{`"version":1`, `"mau":`, `"dau":`, `"logins":`, `"peak_online":`, `"over_cheapest":`,
		`"cheapest":`, `"start":"2026-11-01"`, `"day":"2s"`, `"month":"2026-12"`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	s := back.Strategies[0]
	var sum float64
	for _, m := range s.Cost.Months {
		sum += m.Amount
		if m.Amount != cfg.Pricing.Cost(m.MAU) {
			t.Errorf("%s %s: amount %v for MAU %d", s.Name, m.Month, m.Amount, m.MAU)
		}
	}
	if sum != s.Cost.Total {
		t.Errorf("months add to %v, total %v", sum, s.Cost.Total)
	}
}

func TestGroupAndMoney(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{group(0), "0"}, {group(999), "999"}, {group(1000), "1,000"}, {group(-1234567), "-1,234,567"},
		{money(0), "0.00"}, {money(1234.565), "1,234.57"}, {money(-0.5), "-0.50"}, {money(1e6), "1,000,000.00"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		RealDay: "24h", 5 * time.Minute: "5m", 90 * time.Minute: "1h30m", 2 * time.Second: "2s",
		time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
