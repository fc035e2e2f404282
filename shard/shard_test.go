package shard

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/imload/imload/agent"
	"github.com/imload/imload/scenario"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{in: "0/4", want: Shard{0, 4}},
		{in: "3/4", want: Shard{3, 4}},
		{in: " 1 / 2 ", want: Shard{1, 2}},
		{in: "0/1", want: Shard{0, 1}},
		{in: "4/4", wantErr: "from 0 to 3"},
		{in: "-1/4", wantErr: "from 0 to 3"},
		{in: "0/0", wantErr: "at least 1"},
		{in: "1", wantErr: "want i/N"},
		{in: "a/b", wantErr: "whole numbers"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestShardString(t *testing.T) {
	for _, tc := range []struct {
		s    Shard
		want string
	}{{Shard{}, ""}, {Shard{0, 1}, ""}, {Shard{2, 8}, "2/8"}} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// Every user, device index and closed-model device belongs to exactly one
// shard, whatever N.
func TestShardPartition(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			const users = 103
			owner := make([]int, users)
			for i := range owner {
				owner[i] = -1
			}
			devices := map[int]int{}
			shareSum := 0
			for i := 0; i < n; i++ {
				s := Shard{i, n}
				k := s.Users(users)
				for j := 0; j < k; j++ {
					u := s.User(j)
					if !s.Owns(u) {
						t.Fatalf("shard %v: user %d listed but not owned", s, u)
					}
					if owner[u] != -1 {
						t.Fatalf("user %d in shards %d and %d", u, owner[u], i)
					}
					owner[u] = i
				}
				for local := 0; local < 50; local++ {
					d := s.Device(local)
					if o, dup := devices[d]; dup {
						t.Fatalf("device index %d in shards %d and %d", d, o, i)
					}
					devices[d] = i
				}
				shareSum += s.Share(1001)
				if got, lo := s.Share(1001), 1001/n; got != lo && got != lo+1 {
					t.Fatalf("shard %v: share of 1001 is %d", s, got)
				}
			}
			for u, o := range owner {
				if o == -1 {
					t.Fatalf("user %d in no shard", u)
				}
			}
			if shareSum != 1001 {
				t.Fatalf("shares add up to %d, want 1001", shareSum)
			}
		})
	}
}

func TestShardUsersPick(t *testing.T) {
	pop := agent.NewPopulation(scenario.Population{Users: 10})
	s := Shard{1, 4} // users 1, 5, 9
	u, err := NewUsers(pop, 10, s)
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 3 {
		t.Fatalf("Len = %d, want 3", u.Len())
	}
	want := map[string]bool{pop.UserID(1): false, pop.UserID(5): false, pop.UserID(9): false}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		id := u.Pick(r)
		if _, ok := want[id]; !ok {
			t.Fatalf("picked %s, not a user of shard %v", id, s)
		}
		want[id] = true
	}
	for id, seen := range want {
		if !seen {
			t.Errorf("user %s never picked in 200 draws", id)
		}
	}
	if _, err := NewUsers(pop, 2, Shard{3, 4}); err == nil {
		t.Fatal("shard 3/4 of 2 users: want an error (it owns no user)")
	}
}

func TestShardPhases(t *testing.T) {
	phases := []scenario.Phase{
		{Model: scenario.Open, Rate: 100, ToRate: 300},
		{Model: scenario.Closed, Devices: 10, ToDevices: 21},
		{Model: scenario.Closed, Devices: 7},
	}
	var rate, toRate float64
	var devs, toDevs, constDevs int
	for i := 0; i < 4; i++ {
		got, err := Shard{i, 4}.Phases(phases)
		if err != nil {
			t.Fatal(err)
		}
		rate += got[0].Rate
		toRate += got[0].ToRate
		devs += got[1].Devices
		toDevs += got[1].ToDevices
		constDevs += got[2].Devices
		if got[2].ToDevices != 0 {
			t.Errorf("shard %d: a constant phase got to_devices %d", i, got[2].ToDevices)
		}
	}
	if rate != 100 || toRate != 300 || devs != 10 || toDevs != 21 || constDevs != 7 {
		t.Fatalf("shares add up to rate %v→%v, devices %d→%d and %d; want 100→300, 10→21 and 7", rate, toRate, devs, toDevs, constDevs)
	}
	if phases[0].Rate != 100 || phases[1].Devices != 10 {
		t.Fatal("Phases changed its input")
	}
	// A ramp down to fewer devices than shards cannot be split.
	_, err := Shard{3, 4}.Phases([]scenario.Phase{{Model: scenario.Closed, Devices: 8, ToDevices: 2}})
	if err == nil || !strings.Contains(err.Error(), "to_devices") {
		t.Fatalf("ramp to 2 devices over 4 shards: err = %v, want one naming to_devices", err)
	}
}
