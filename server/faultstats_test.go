package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imload/imload/faults"
	"github.com/imload/imload/policy"
)

func TestFaultOrderIsTheList(t *testing.T) {
	if !slices.Equal(faultOrder[:], faults.All()) {
		t.Fatalf("faultOrder %v, faults.All %v", faultOrder, faults.All())
	}
}

// faultRecord returns the server's record of fault x (nil: not armed).
func faultRecord(s *Server, x Fault) *FaultStats {
	for _, fs := range s.Stats().Faults {
		if fs.Name == string(x) {
			return &fs
		}
	}
	return nil
}

// An armed fault counts the times it changed the server's answer; one that
// never did says why, in the terms of what the server saw instead.
func TestFaultStatsCountFirings(t *testing.T) {
	t.Run("none armed", func(t *testing.T) {
		h := newHarness(t)
		threeAndroids(t, h, "ada")
		if fs := h.s.Stats().Faults; len(fs) != 0 {
			t.Fatalf("no fault armed, yet %+v", fs)
		}
	})
	t.Run("wrong-victim fires with a second candidate", func(t *testing.T) {
		h := newHarness(t, withPolicy(policy.MultiPlatform, 3, 1), withFault(FaultWrongVictim))
		threeAndroids(t, h, "olga") // and4 displaces one of three Androids
		fs := faultRecord(h.s, FaultWrongVictim)
		if fs == nil || fs.Fired != 1 || fs.Why != "" {
			t.Fatalf("record %+v, want fired once", fs)
		}
	})
	t.Run("wrong-victim without a second candidate", func(t *testing.T) {
		// Dual-platform: one mobile instance; an iPhone displaces the only
		// Android, so the newest of its platform is the policy's victim.
		h := newHarness(t, withPolicy(policy.DualPlatform, 1, 1), withFault(FaultWrongVictim))
		a := h.dial(policy.Android, "a1")
		a.mustLogin(policy.Android, "bo", h.ticket("bo", time.Hour))
		i := h.dial(policy.IPhone, "i1")
		i.mustLogin(policy.IPhone, "bo", h.ticket("bo", time.Hour))
		a.next() // kicked
		fs := faultRecord(h.s, FaultWrongVictim)
		if fs == nil || fs.Fired != 0 || !strings.Contains(fs.Why, "no login had a second candidate") || !strings.Contains(fs.Why, "1 displacements") {
			t.Fatalf("record %+v", fs)
		}
	})
	t.Run("wrong-victim with no displacement", func(t *testing.T) {
		h := newHarness(t, withFault(FaultWrongVictim))
		c := h.dial(policy.Android, "a1")
		c.mustLogin(policy.Android, "cy", h.ticket("cy", time.Hour))
		if fs := faultRecord(h.s, FaultWrongVictim); fs == nil || fs.Fired != 0 || fs.Why != "no login displaced a session" {
			t.Fatalf("record %+v", fs)
		}
	})
	for _, x := range []Fault{FaultKickNotDelivered, FaultLimitNotEnforced, FaultRefuseNewLogin, FaultSlowLogin} {
		t.Run(string(x), func(t *testing.T) {
			h := newHarness(t, withPolicy(policy.MultiPlatform, 3, 1), withFault(x))
			if x == FaultSlowLogin {
				h.s.cfg.Faults.SlowLoginDelay = time.Nanosecond
				go func() { // the fake clock lets the delayed logins go
					for range 400 {
						h.clk.Advance(time.Millisecond)
						time.Sleep(time.Millisecond)
					}
				}()
			}
			// and4 would displace one of three Androids.
			for i, d := range []string{"and1", "and2", "and3", "and4"} {
				c := h.dial(policy.Android, d)
				if f := c.loginOn(policy.Android, "dee", h.ticket("dee", time.Hour)); i < 3 && f.Code != 0 {
					t.Fatalf("%s: %+v", d, f)
				}
			}
			fs := faultRecord(h.s, x)
			want := uint64(1)
			if x == FaultSlowLogin {
				want = 4 // every login
			}
			if fs == nil || fs.Fired != want || fs.Why != "" {
				t.Fatalf("record %+v, want fired %d", fs, want)
			}
		})
	}
	t.Run("lose-session-on-restart never restarted", func(t *testing.T) {
		h := newHarness(t, withFault(FaultLoseSessionOnRestart))
		if fs := faultRecord(h.s, FaultLoseSessionOnRestart); fs == nil || fs.Fired != 0 || !strings.Contains(fs.Why, "never restarted") {
			t.Fatalf("record %+v", fs)
		}
	})
}
