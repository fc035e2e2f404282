package check_test

import (
	"fmt"
	"time"

	"github.com/imload/imload/check"
	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// A dual-platform user: the iPhone login must displace the Android one, but
// the target kicked nobody.
func ExampleCheck() {
	pol, _ := policy.Tencent(policy.DualPlatform, 1, 1)
	h := check.NewHistory()
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	h.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, UserID: "alice", Device: "phone",
		Platform: policy.Android, Start: ms(0), At: ms(10), Seq: 1})
	h.Observe(&event.Event{Kind: event.Login, Outcome: event.OK, UserID: "alice", Device: "ipad",
		Platform: policy.IPhone, Start: ms(100), At: ms(110), Seq: 2})
	h.Observe(&event.Event{Kind: event.Logout, Outcome: event.OK, UserID: "alice", Device: "phone",
		Platform: policy.Android, Start: ms(5000), At: ms(5010)})
	r := check.Check(h, pol, check.Options{})
	fmt.Println("violations:", r.Violations())
	fmt.Println("missing kicks:", r.Count(check.MissingKick))
	fmt.Println("over limit:", r.Count(check.OverLimit))
	// Output:
	// violations: 2
	// missing kicks: 1
	// over limit: 1
}
