package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imload/imload/policy"
)

// TestVisibleLinesKeepEveryEvidenceLine: evidence far from the focus, and
// more evidence lines than fit, are all shown.
func TestVisibleLinesKeepEveryEvidenceLine(t *testing.T) {
	lines := make([]tline, 200)
	for i := range lines {
		lines[i] = tline{t: int64(i), rec: int32(i)}
	}
	cases := []struct {
		name  string
		focus int64
		marks []int32
	}{
		{"evidence far before the focus", 190, []int32{3, 195}},
		{"evidence far after the focus", 2, []int32{0, 150}},
		{"evidence at both ends", 100, []int32{0, 199}},
		{"more evidence than fits", 100, func() []int32 {
			var m []int32
			for i := int32(0); i < 200; i += 4 {
				m = append(m, i)
			}
			return m
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marked := func(l tline) bool {
				for _, m := range tc.marks {
					if l.rec == m {
						return true
					}
				}
				return false
			}
			keep := visibleLines(lines, tc.focus, marked)
			n := 0
			for i, k := range keep {
				if k {
					n++
				}
				if marked(lines[i]) && !k {
					t.Errorf("evidence line %d hidden", i)
				}
			}
			if want := max(maxLines, len(tc.marks)); n > want {
				t.Errorf("%d lines shown, want at most %d", n, want)
			}
			if len(tc.marks) < maxLines/2 && !keep[tc.focus] {
				t.Errorf("the focus line %d is hidden", tc.focus)
			}
		})
	}
}

// TestExampleTimelinesShowTheirEvidence: long histories (more lines than a
// timeline holds) with a fault: every example that cites records shows each
// of them, marked.
func TestExampleTimelinesShowTheirEvidence(t *testing.T) {
	for _, f := range []simFault{faultWrongVictim, faultDropKick, faultExtraKick, faultLateKick, faultNoEnforce, faultGhost, faultLost, faultWebhook} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			t.Parallel()
			pol := mustTencent(t, "dual-platform", 1, 1)
			h, _ := simulate(simConfig{pol: pol, users: 3, devices: 4, acts: 200, platforms: mixPlatforms,
				seed: 5, fault: f, webhooks: true, status: true, churn: true})
			opt := testOpts()
			opt.Examples = 20
			r := Check(h, pol, opt)
			long, examples := 0, 0
			for c := Class(0); c < NumClasses; c++ {
				for _, ex := range r.Verdicts[c].Examples {
					examples++
					if strings.Contains(ex.Text, "... ") {
						long++
					}
					if !strings.Contains(ex.Text, "\n* ") {
						t.Errorf("%s example of %s marks no line:\n%s", c, ex.User, ex.Text)
					}
				}
			}
			if examples == 0 || long == 0 {
				t.Fatalf("%d examples, %d cut: the test shows nothing", examples, long)
			}
		})
	}
}

// A webhook mismatch about a callback marks that callback's line.
func TestWebhookExamplesMarkTheCallback(t *testing.T) {
	const A, B = "A", "B"
	b := newHB(false)
	b.device(A, policy.Android)
	b.device(B, policy.IPhone)
	b.login(A, 0, 10, 1)
	b.login(B, 100, 110, 2)
	b.kicked(A, 108, 1, 2, B)
	// The callback of login 2 lists a Web session, which no device held.
	b.h.AddCallback(Callback{UserID: b.user, Action: ActionLogin, Seq: 2, At: tms(105),
		Kicked: []KickedEntry{{Platform: policy.Android, Seq: 1}, {Platform: policy.Web, Seq: 9}}})
	b.h.AddCallback(Callback{UserID: b.user, Action: ActionLogin, Seq: 1, At: tms(5)})
	r := Check(b.h, mustTencent(t, policy.DualPlatform, 1, 1), testOpts())
	exs := r.Verdicts[WebhookMismatch].Examples
	if len(exs) == 0 {
		dump(t, r)
		t.Fatal("no webhook mismatch")
	}
	for _, ex := range exs {
		marked := false
		for _, line := range strings.Split(ex.Text, "\n") {
			if strings.HasPrefix(line, "* ") && strings.Contains(line, "callback Login") {
				marked = true
			}
		}
		if !marked {
			t.Errorf("the callback is not marked:\n%s", ex.Text)
		}
	}
}
