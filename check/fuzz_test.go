package check

import (
	"encoding/json"
	"testing"

	"github.com/imload/imload/policy"
)

// FuzzReportJSON: any input either fails to decode or decodes to a report
// that encodes and decodes again to the same counts, and merges.
func FuzzReportJSON(f *testing.F) {
	pol, err := policy.Tencent(policy.DualPlatform, 1, 1)
	if err != nil {
		f.Fatal(err)
	}
	h, _ := simulate(simConfig{pol: pol, users: 5, devices: 4, acts: 12, platforms: mixPlatforms, seed: 1,
		fault: faultDropKick, churn: true})
	seed, err := json.Marshal(Check(h, pol, testOpts()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"verdicts":{"wrong_victim":{"count":2,"examples":[{"user":"b"},{"user":"a"}]}},"example_limit":1}`))
	f.Add([]byte(`{"kick_latency":{"hdr":"HISTEwAAAAMAAAAAAAAAAwAAAAAAAAAB//////////8/8AAAAAAAAAA="}}`))
	f.Add([]byte(`{"verdicts":{"bogus":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Report
		if json.Unmarshal(b, &r) != nil {
			return
		}
		out, err := json.Marshal(&r)
		if err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
		var back Report
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("encoded report does not decode: %v\n%s", err, out)
		}
		if back.Violations() != r.Violations() || back.KickLatency.Count() != r.KickLatency.Count() {
			t.Fatalf("round trip changed counts: %d/%d, %d/%d", back.Violations(), r.Violations(),
				back.KickLatency.Count(), r.KickLatency.Count())
		}
		sum := newReport("", Options{Examples: 2})
		sum.Merge(&r)
		sum.Merge(&back)
		if sum.Violations() != 2*r.Violations() {
			t.Fatalf("merge: %d violations, want %d", sum.Violations(), 2*r.Violations())
		}
	})
}
