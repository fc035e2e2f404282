package metrics_test

import (
	"fmt"
	"time"

	"github.com/imload/imload/clock"
	"github.com/imload/imload/event"
	"github.com/imload/imload/judge/eval"
	"github.com/imload/imload/metrics"
	"github.com/imload/imload/policy"
)

func ExampleRecorder() {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	r := metrics.NewRecorder(metrics.WithClock(clk))
	for i := range 10 {
		r.Observe(&event.Event{
			Kind: event.Login, Outcome: event.OK, UserID: fmt.Sprint("user", i), Device: "phone",
			Platform: policy.Android, At: start.Add(time.Duration(i) * 100 * time.Millisecond),
			Latency: time.Duration(10+i) * time.Millisecond,
		})
	}
	r.Observe(&event.Event{Kind: event.Login, Outcome: event.Failed, Code: 70001, UserID: "late", Device: "web",
		Platform: policy.Web, At: start.Add(time.Second), Latency: 5 * time.Millisecond})
	clk.Advance(2 * time.Second)

	// Quantiles are the highest value within the histogram's precision
	// (three significant digits): 14 ms reads as 14.007 ms.
	s := r.Snapshot()
	for _, m := range []string{"login.count", "login.rate", "login.errors.rate", "login.p50", "login.max", "online.max"} {
		v, _ := eval.Metric(m, eval.Inputs{Metrics: s})
		fmt.Printf("%s = %.4g\n", m, v)
	}
	fmt.Println("codes:", s.Op("login").Codes)
	// Output:
	// login.count = 11
	// login.rate = 5.5
	// login.errors.rate = 0.09091
	// login.p50 = 0.01401
	// login.max = 0.01901
	// online.max = 10
	// codes: map[70001:1]
}
