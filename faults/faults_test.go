package faults

import (
	"slices"
	"testing"
)

func TestNamesUniqueAndParse(t *testing.T) {
	names := Names()
	if len(names) == 0 {
		t.Fatal("no faults")
	}
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			t.Errorf("fault %q listed twice", n)
		}
		seen[n] = true
		if string(All()[i]) != n {
			t.Errorf("All()[%d] = %q, Names()[%d] = %q", i, All()[i], i, n)
		}
		f, err := Parse(n)
		if err != nil || string(f) != n || !Valid(n) {
			t.Errorf("Parse(%q) = %q, %v; Valid = %v", n, f, err, Valid(n))
		}
	}
	if f, err := Parse(" Late_Kick "); err != nil || f != LateKick {
		t.Errorf("Parse(Late_Kick) = %q, %v", f, err)
	}
	if _, err := Parse("nope"); err == nil {
		t.Error("Parse accepted an unknown name")
	}
	if Valid("Late-Kick") {
		t.Error("Valid accepts a name that is not spelt as listed")
	}
	// Names returns a copy.
	names[0] = "x"
	if slices.Contains(Names(), "x") {
		t.Error("Names shares its backing array")
	}
}
