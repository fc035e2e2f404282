package storm

import (
	"strconv"
	"testing"
	"time"

	"github.com/imload/imload/codes"
	"github.com/imload/imload/event"
)

// A synthetic restart: 100 devices online, all drop at the event; device i
// comes back i*10ms after it, after i%3 failed connects; a tenth with a
// fresh login, the rest resume.
func TestFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tr := New(t0)
	dev := func(i int) string { return "dev" + strconv.Itoa(i) }
	for i := range 100 {
		tr.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: dev(i), Start: t0, At: t0.Add(time.Millisecond)})
	}
	at := t0.Add(2 * time.Second)
	tr.Strike(Mark{Action: "restart_server", AllOnline: true, ResumeWindow: 30 * time.Second}, at)
	for i := range 100 {
		back := at.Add(time.Duration(i+1) * 10 * time.Millisecond)
		tr.Observe(&event.Event{Kind: event.Disconnect, Device: dev(i), At: at})
		for range i % 3 {
			tr.Observe(&event.Event{Kind: event.Connect, Outcome: event.Failed, Device: dev(i), Start: at, At: at})
		}
		tr.Observe(&event.Event{Kind: event.Connect, Outcome: event.OK, Device: dev(i), Start: back, At: back})
		if i%10 == 0 {
			tr.Observe(&event.Event{Kind: event.Resume, Outcome: event.Failed, Code: codes.ResumeFailed, Device: dev(i), Start: back, At: back})
			tr.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: dev(i), Start: back, At: back})
		} else {
			tr.Observe(&event.Event{Kind: event.Resume, Outcome: event.OK, Device: dev(i), Start: back, At: back})
		}
	}
	tr.Observe(&event.Event{Kind: event.Login, Outcome: event.Failed, Code: codes.LoginTooFrequent, Device: "x", Start: at, At: at})
	fs := tr.Figures(at.Add(5 * time.Second))
	if len(fs) != 1 {
		t.Fatalf("%d figures", len(fs))
	}
	f := fs[0]
	if f.Affected != 100 || f.Disrupted != 100 || f.Recovered != 100 {
		t.Fatalf("affected %d disrupted %d recovered %d", f.Affected, f.Disrupted, f.Recovered)
	}
	check := func(name string, got *float64, want time.Duration) {
		if got == nil || time.Duration(*got*float64(time.Second)).Round(time.Millisecond) != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("p50", f.RecoveryP50, 500*time.Millisecond)
	check("p95", f.RecoveryP95, 950*time.Millisecond)
	check("p99", f.RecoveryP99, 990*time.Millisecond)
	// Failed connects: i%3 for i in 0..99 sums to 99; plus 100 that worked.
	if f.Attempts != 199 || f.Amplification != 1.99 {
		t.Errorf("attempts %d amplification %g, want 199 and 1.99", f.Attempts, f.Amplification)
	}
	if f.Resumes != 90 || f.FreshLogins != 10 {
		t.Errorf("resumes %d fresh %d", f.Resumes, f.FreshLogins)
	}
	if f.LostResumable != 10 || f.Violations() != 10 {
		t.Errorf("lost resumable %d, want the 10 resumes answered 1006 in the window", f.LostResumable)
	}
	if f.Refusals.LoginRate != 1 {
		t.Errorf("refusals %+v", f.Refusals)
	}
	if f.PeakConnects < 100 {
		t.Errorf("peak connects %g", f.PeakConnects)
	}
	// The 99 failed connects came at the event's instant: 99 plus the
	// first comeback (10ms after) in one 100 ms slice, as a rate.
	if f.PeakOfferedConnects < 990 {
		t.Errorf("offered peak connects over 100ms %g/s, want >= 990/s", f.PeakOfferedConnects)
	}
	if len(f.Series.Online) == 0 || f.Series.Online[len(f.Series.Online)-1] != 100 {
		t.Errorf("online series %v", f.Series.Online)
	}
}

// A percentile the devices never reach is absent.
func TestUnreachedPercentile(t *testing.T) {
	t0 := time.Unix(0, 0)
	tr := New(t0)
	for i := range 10 {
		tr.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, Device: strconv.Itoa(i), At: t0})
	}
	tr.Strike(Mark{Action: "drop_connections", AllOnline: true}, t0.Add(time.Second))
	for i := range 10 {
		tr.Observe(&event.Event{Kind: event.Disconnect, Device: strconv.Itoa(i), At: t0.Add(time.Second)})
		if i < 9 {
			tr.Observe(&event.Event{Kind: event.Resume, Outcome: event.OK, Device: strconv.Itoa(i), At: t0.Add(2 * time.Second)})
		}
	}
	f := tr.Figures(t0.Add(3 * time.Second))[0]
	if f.RecoveryP50 == nil || f.RecoveryP95 != nil || f.RecoveryP99 != nil {
		t.Errorf("9 of 10 back: p50 %v p95 %v p99 %v, want p50 only", f.RecoveryP50, f.RecoveryP95, f.RecoveryP99)
	}
}
