package mau_test

import (
	"context"
	"fmt"

	"github.com/imload/imload/mau"
)

// A month of 10,000 users of the default population, projected under the
// four preset strategies without a target: logging in only when the chat
// opens saves the users who open the app but never chat.
func ExampleSimulateMonth() {
	cfg := mau.Config{Seed: 1, Pricing: mau.Pricing{Currency: "USD", Included: 1000,
		Tiers: []mau.Tier{{UpTo: 0, PerThousand: 2.8}}}}
	rep, err := mau.SimulateMonth(context.Background(), cfg, 10_000, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Strategies {
		fmt.Printf("%-16s MAU %5d  logins %6d  %s %6.2f\n", s.Name, s.Months[0].MAU, s.Logins(), s.Cost.Currency, s.Cost.Total)
	}
	fmt.Println("cheapest:", rep.Cheapest)
	// Output:
	// eager            MAU  8160  logins 183766  USD  20.05
	// lazy             MAU  5370  logins  81459  USD  12.24
	// lazy-logout      MAU  5370  logins  81459  USD  12.24
	// background-keep  MAU  8160  logins  84797  USD  20.05
	// cheapest: lazy
}
