package scenario

import (
	"math"
	"testing"

	"github.com/imload/imload/policy"
)

func TestPlatformMixAndPick(t *testing.T) {
	s, err := Load("testdata/good/full.yaml") // android 3, IPHONE 1, web 0.5, mac 0.5
	if err != nil {
		t.Fatal(err)
	}
	mix := s.PlatformMix()
	want := []PlatformWeight{{policy.Android, 0.6}, {policy.IPhone, 0.2}, {policy.Mac, 0.1}, {policy.Web, 0.1}}
	if len(mix) != len(want) {
		t.Fatalf("mix %v, want %v", mix, want)
	}
	for i := range want {
		if mix[i].Platform != want[i].Platform || math.Abs(mix[i].Weight-want[i].Weight) > 1e-12 {
			t.Errorf("mix[%d] = %v, want %v", i, mix[i], want[i])
		}
	}
	const n = 100_000
	counts := map[policy.Platform]int{}
	r := newRand(11)
	for range n {
		counts[PickPlatform(mix, r)]++
	}
	for _, w := range want {
		got := float64(counts[w.Platform]) / n
		if math.Abs(got-w.Weight) > 0.01 {
			t.Errorf("%s picked %.3f of the time, want %.3f ± 0.01", w.Platform, got, w.Weight)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("picked platforms outside the mix: %v", counts)
	}
	if PickPlatform(nil, r) != policy.Android {
		t.Error("empty mix should give Android")
	}
}
