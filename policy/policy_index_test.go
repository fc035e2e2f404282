package policy

import "testing"

func TestIndexIsPositionInPlatforms(t *testing.T) {
	for i, p := range Platforms {
		if got := Index(p); got != i {
			t.Errorf("Index(%s) = %d, want %d", p, got, i)
		}
	}
	if got := Index("Symbian"); got != -1 {
		t.Errorf("Index of an unknown platform = %d, want -1", got)
	}
}
