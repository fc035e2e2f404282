package policy

import (
	"slices"
	"testing"
)

// TestEjabberdCountsReplaced pins how ejabberd 23.01 counts sessions at a
// login with the resource of an online session: the replaced session is
// still counted against max_user_sessions, so at the cap the oldest session
// goes as well, unless the replaced session is the oldest.
func TestEjabberdCountsReplaced(t *testing.T) {
	in := func(id string, seq uint64) Instance { return Instance{ID: id, Platform: Android, Seq: seq} }
	cases := []struct {
		name   string
		online []Instance
		login  Instance
		want   []string
	}{
		{"below the cap: the replaced one only", []Instance{in("a", 1), in("b", 2)}, in("b", 3), []string{"b"}},
		{"at the cap: the replaced one and the oldest", []Instance{in("a", 1), in("b", 2), in("c", 3)}, in("c", 4), []string{"a", "c"}},
		{"at the cap, the replaced one is the oldest", []Instance{in("a", 1), in("b", 2), in("c", 3)}, in("a", 4), []string{"a"}},
		{"at the cap, a new resource: the oldest", []Instance{in("a", 1), in("b", 2), in("c", 3)}, in("d", 4), []string{"a"}},
	}
	pol, err := Ejabberd(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range pol.Displace(tc.online, tc.login) {
				got = append(got, v.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Displace = %v, want %v", got, tc.want)
			}
		})
	}
	// Without CountReplaced a replaced session makes room by itself.
	plain := *pol
	plain.CountReplaced = false
	if got := plain.Displace([]Instance{in("a", 1), in("b", 2), in("c", 3)}, in("c", 4)); len(got) != 1 || got[0].ID != "c" {
		t.Errorf("without CountReplaced: Displace = %v, want [c]", got)
	}
}
