package run

import (
	"testing"

	"github.com/imload/imload/event"
	"github.com/imload/imload/scenario"
)

// TestAppRestartKeepsInstance runs device slots whose app is killed and
// restarted, on the ws driver and in process against the embedded server.
// per_device: every restart logs in again as the device's user and instance
// and the server answers a repeat login with the sequence of the session it
// still holds; the oracle finds nothing wrong. per_session: every session is
// a new instance with a login of its own, and no login repeats.
func TestAppRestartKeepsInstance(t *testing.T) {
	for _, driver := range []string{scenario.DriverWS, scenario.DriverInproc} {
		for _, mode := range []string{scenario.InstancePerDevice, scenario.InstancePerSession} {
			t.Run(driver+"/"+mode, func(t *testing.T) {
				sc := loadBehaviour(t, "restart", driver)
				sc.Behaviour.Instance = mode
				r := runBehaviour(t, sc, nil)
				if r.out.Kickout == nil || r.out.Kickout.Checks.Logins == 0 {
					t.Fatalf("kickout oracle did not run or saw no login: %+v", r.out.Kickout)
				}
				devices := r.log.devices()
				restarts, repeats := 0, 0
				for _, dev := range devices {
					evs := r.log.by[dev]
					var first *event.Event
					oks := 0
					for i, e := range evs {
						if e.Kind != event.Login || e.Outcome != event.OK {
							continue
						}
						oks++
						if first == nil {
							first = &evs[i]
							if e.Repeat {
								t.Errorf("%s: first login answered repeat_login", dev)
							}
							continue
						}
						restarts++
						if e.UserID != first.UserID || e.Platform != first.Platform {
							t.Errorf("%s: restart logged in as %s on %s, the device is %s on %s", dev, e.UserID, e.Platform, first.UserID, first.Platform)
						}
						if e.Repeat && e.Seq == first.Seq {
							repeats++
						} else {
							t.Errorf("%s: restart login answered seq %d repeat %v; want the repeat of seq %d", dev, e.Seq, e.Repeat, first.Seq)
						}
					}
					if kills := len(of(evs, event.AppKill)); kills < oks-1 {
						t.Errorf("%s: %d logins ok but %d app kills", dev, oks, kills)
					}
				}
				st := r.st
				switch mode {
				case scenario.InstancePerDevice:
					if len(devices) != 6 {
						t.Errorf("%d instances, want one per device slot (6)", len(devices))
					}
					if restarts < 6 || int(st.RepeatLogins) != repeats {
						t.Errorf("%d restarts, %d repeat logins seen by the devices, %d counted by the server; want restarts on every slot, counts equal",
							restarts, repeats, st.RepeatLogins)
					}
				case scenario.InstancePerSession:
					if restarts != 0 || st.RepeatLogins != 0 || len(devices) < 12 {
						t.Errorf("%d instances, %d logins again under one, %d repeat logins at the server; want a new instance per session and none repeated",
							len(devices), restarts, st.RepeatLogins)
					}
				}
			})
		}
	}
}
