package mau

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestPricingCost(t *testing.T) {
	graduated := Pricing{Included: 1000, Tiers: []Tier{
		{UpTo: 100000, PerThousand: 2.8},
		{UpTo: 0, PerThousand: 1.2},
	}}
	three := Pricing{Tiers: []Tier{
		{UpTo: 10000, PerThousand: 0},
		{UpTo: 50000, PerThousand: 4},
		{UpTo: 0, PerThousand: 1},
	}}
	tests := []struct {
		name string
		p    Pricing
		mau  int
		want float64
	}{
		{"no tiers cost nothing", Pricing{Included: 5}, 1000000, 0},
		{"zero MAU", graduated, 0, 0},
		{"within the included quota", graduated, 1000, 0},
		{"one above the quota", graduated, 1001, 0.0028},
		{"top of the first tier", graduated, 100000, 99000 * 2.8 / 1000},
		{"into the second tier", graduated, 150000, 99000*2.8/1000 + 50000*1.2/1000},
		{"a free first tier", three, 10000, 0},
		{"middle tier part", three, 30000, 20000 * 4.0 / 1000},
		{"all three tiers", three, 1000000, 40000*4.0/1000 + 950000*1.0/1000},
		{"included beyond the first tier", Pricing{Included: 60000, Tiers: three.Tiers}, 70000, 10000 * 1.0 / 1000},
		{"single unlimited tier", Pricing{Tiers: []Tier{{PerThousand: 3.5}}}, 2500, 8.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := tc.p.Cost(tc.mau); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Cost(%d) = %v, want %v", tc.mau, got, tc.want)
			}
		})
	}
}

func TestPricingValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Pricing
		want string // part of the error
	}{
		{"negative quota", Pricing{Included: -1}, "included: must be >= 0"},
		{"unlimited before the last", Pricing{Tiers: []Tier{{UpTo: 0, PerThousand: 1}, {UpTo: 10, PerThousand: 1}}}, "tiers[0].up_to: 0 (no limit) is allowed only in the last tier"},
		{"bounded last", Pricing{Tiers: []Tier{{UpTo: 10, PerThousand: 1}}}, "the last tier must have up_to: 0"},
		{"not increasing", Pricing{Tiers: []Tier{{UpTo: 10, PerThousand: 1}, {UpTo: 10, PerThousand: 1}, {PerThousand: 1}}}, "tiers[1].up_to: must be above the previous tier's 10"},
		{"negative price", Pricing{Tiers: []Tier{{PerThousand: -2}}}, "tiers[0].per_thousand: must be a price >= 0"},
		{"NaN price", Pricing{Tiers: []Tier{{PerThousand: math.NaN()}}}, "per_thousand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func ExamplePricing_Cost() {
	p := Pricing{Currency: "USD", Included: 1000, Tiers: []Tier{
		{UpTo: 100000, PerThousand: 2.8},
		{UpTo: 0, PerThousand: 1.2},
	}}
	fmt.Printf("%.2f %s\n", p.Cost(150000), p.Currency)
	// Output: 337.20 USD
}
