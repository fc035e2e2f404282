package policy

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMixPick(t *testing.T) {
	m, err := NewMix(map[string]float64{"android": 3, "IPHONE": 1, "Web": 0.5, "mac": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	plats, shares := m.Platforms()
	// Sorted by the names as given: "IPHONE" < "Web" < "android" < "mac".
	if want := []Platform{IPhone, Web, Android, Mac}; !slices.Equal(plats, want) {
		t.Fatalf("platforms %v, want %v", plats, want)
	}
	for i, want := range []float64{0.2, 0.1, 0.6, 0.1} {
		if math.Abs(shares[i]-want) > 1e-12 {
			t.Errorf("share of %s %v, want %v", plats[i], shares[i], want)
		}
	}
	// Pick walks the cumulative weights: [0, .2) iPhone, [.2, .3) Web,
	// [.3, .9) Android, [.9, 1) Mac.
	for u, want := range map[float64]Platform{0: IPhone, 0.1999: IPhone, 0.2: Web, 0.2999: Web, 0.3: Android, 0.8999: Android, 0.9: Mac, 0.99999: Mac} {
		if got := m.Pick(u); got != want {
			t.Errorf("Pick(%v) = %s, want %s", u, got, want)
		}
	}
	const n = 100_000
	counts := map[Platform]int{}
	r := rand.New(rand.NewPCG(11, 12))
	for range n {
		counts[m.Pick(r.Float64())]++
	}
	for i, p := range plats {
		if got := float64(counts[p]) / n; math.Abs(got-shares[i]) > 0.01 {
			t.Errorf("%s picked %.3f of the time, want %.3f ± 0.01", p, got, shares[i])
		}
	}
}

func TestMixRefusesAndFallsBack(t *testing.T) {
	m, err := NewMix(map[string]float64{"Android": 1, "BlackBerry": 1, "Web": -1, "WEB": math.Inf(1), "web": math.NaN()})
	if err == nil {
		t.Fatal("NewMix accepted a bad mix")
	}
	for _, part := range []string{`unknown platform "BlackBerry"`, "weight of Web must be > 0, got -1", "weight of WEB must be > 0, got +Inf", "weight of web must be > 0, got NaN"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if plats, _ := m.Platforms(); !slices.Equal(plats, []Platform{Android}) {
		t.Errorf("platforms %v, want Android, the only valid entry", plats)
	}
	if _, err := NewMix(map[string]float64{"Web": 1, "web": 1}); err == nil || !strings.Contains(err.Error(), "named twice") {
		t.Errorf("a platform named twice: %v", err)
	}
	var zero Mix
	empty, err := NewMix(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Mix{zero, empty} {
		if m.Pick(0.5) != Android {
			t.Error("an empty mix does not pick Android")
		}
		if plats, shares := m.Platforms(); !slices.Equal(plats, []Platform{Android}) || shares[0] != 1 {
			t.Errorf("empty mix: %v %v", plats, shares)
		}
	}
}
