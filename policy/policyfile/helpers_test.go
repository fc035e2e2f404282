package policyfile

import (
	"fmt"
	"slices"

	"github.com/imload/imload/policy"
)

func in(id string, p policy.Platform, seq uint64) policy.Instance {
	return policy.Instance{ID: id, Platform: p, Seq: seq}
}

// series is n instances of p with IDs prefix1..prefixN and seqs from seq.
func series(prefix string, p policy.Platform, n int, seq uint64) []policy.Instance {
	out := make([]policy.Instance, n)
	for i := range out {
		out[i] = in(fmt.Sprintf("%s%d", prefix, i+1), p, seq+uint64(i))
	}
	return out
}

func ids(xs []policy.Instance) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

func cat(parts ...[]policy.Instance) []policy.Instance { return slices.Concat(parts...) }

// remaining is online after login displaced kicked (and, replacing or
// repeating, any instance with the login's ID).
func remaining(online, kicked []policy.Instance, login policy.Instance, replace bool) []policy.Instance {
	var out []policy.Instance
	for _, x := range online {
		if !slices.ContainsFunc(kicked, func(k policy.Instance) bool { return k.Seq == x.Seq && k.ID == x.ID }) && x.ID != login.ID {
			out = append(out, x)
		}
	}
	return append(out, login)
}
