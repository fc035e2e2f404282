package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imload/imload/event"
	"github.com/imload/imload/policy"
)

// hooks adds Login callbacks to a hand-built history, with imload's
// sequences or (bare) without them, as another target sends them.
type hooks struct {
	b    *hb
	bare bool
}

// login adds a Login callback at ms for login seq, listing kicked entries
// given as platform and displaced seq.
func (k hooks) login(at int, seq uint64, kicked ...KickedEntry) {
	c := Callback{UserID: k.b.user, Action: ActionLogin, Seq: seq, At: tms(at)}
	for _, e := range kicked {
		if k.bare {
			e.Seq = 0
		}
		c.Kicked = append(c.Kicked, e)
	}
	if k.bare {
		c.Seq = 0
	}
	k.b.h.AddCallback(c)
}

func kickedEntry(p policy.Platform, seq uint64) KickedEntry {
	return KickedEntry{Platform: p, Seq: seq}
}

// TestWebhookMatching judges Login callbacks with imload's sequences
// (matched to their logins exactly) and without them (bare: a mismatch only
// when no assignment of callbacks to logins explains them).
func TestWebhookMatching(t *testing.T) {
	V, A, W, B, T, D := "V-android", "A-android", "W-web", "B-mac", "T-ipad", "D-ipad"
	multi, err := policy.Tencent(policy.MultiPlatform, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	// base: V logs in (seq 1), W on Web (seq 2), A on Android displaces V
	// (seq 3, processed at 105), and logs out long after.
	base := func(b *hb, k hooks) {
		b.login(V, 0, 10, 1)
		k.login(5, 1)
		b.login(W, 20, 30, 2)
		k.login(25, 2)
		b.login(A, 100, 110, 3)
		b.kicked(V, 112, 1, 3, A)
		b.op(event.Logout, event.OK, A, 900, 905) // the run goes on past A's due time
	}
	cases := []struct {
		name        string
		build       func(b *hb, k hooks)
		exact, bare verdictCounts
		text        string // in the first example of the class with a count, exact
	}{
		{
			name: "correct callbacks",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1))
			},
		},
		{
			// Thirteen logins overlap; A's callback is stamped before
			// A's device stamped its login sent, and fits B as well
			// (V's Android session may have been registered there): a
			// time-and-cost guess gave it to B, leaving B's callback to
			// A, which it misfits.
			name: "racing logins whose callbacks lie outside their windows",
			build: func(b *hb, k hooks) {
				b.login(V, 0, 5, 1)
				k.login(3, 1)
				for i := 0; i < 11; i++ {
					dev := fmt.Sprintf("F%d-web", i)
					p := policy.Web
					switch i {
					case 9:
						dev, p = "F9-windows", policy.Windows
					case 10:
						dev, p = "F10-linux", policy.Linux
					}
					b.device(dev, p)
					b.login(dev, 20+2*i, 23+2*i, uint64(2+i))
					k.login(21+2*i, uint64(2+i))
				}
				b.login(B, 42, 100, 14)
				b.login(A, 52, 60, 13)
				k.login(50, 13, kickedEntry(policy.Android, 1)) // before A's device stamped it sent
				b.kicked(V, 62, 1, 13, A)
				k.login(90, 14)
			},
		},
		{
			name: "a callback lists a platform no kick explains",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1), kickedEntry(policy.Mac, 9))
			},
			exact: verdictCounts{WebhookMismatch: 1},
			bare:  verdictCounts{WebhookMismatch: 2}, // A fits no callback, and the callback no login
			text:  "login seq 9 (Mac), a session no device was answered with",
		},
		{
			name: "a callback lists a session that was told nothing and still listened",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1), kickedEntry(policy.Web, 2))
			},
			exact: verdictCounts{WebhookMismatch: 1},
			// Platforms alone cannot tell: W's session may have been
			// registered when A was processed.
			bare: verdictCounts{},
			text: "got no kick from it and was still listening",
		},
		{
			name: "a callback lists a session that could not be told",
			build: func(b *hb, k hooks) {
				base(b, k)
				b.at(event.AppKill, W, 50)
				k.login(105, 3, kickedEntry(policy.Android, 1), kickedEntry(policy.Web, 2))
			},
		},
		{
			name: "a callback drops a kick devices saw",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3)
			},
			exact: verdictCounts{WebhookMismatch: 1},
			bare:  verdictCounts{WebhookMismatch: 2},
			text:  "which the callback does not list",
		},
		{
			name: "a login without a callback",
			build: func(b *hb, k hooks) {
				base(b, k)
			},
			exact: verdictCounts{WebhookMismatch: 1},
			bare:  verdictCounts{WebhookMismatch: 1},
			text:  "has no Login callback: none carries its seq 3",
		},
		{
			name: "a repeat login needs no callback",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1))
				b.emit(event.Event{Kind: event.Login, Outcome: event.OK, Device: A, Start: tms(200), At: tms(205), Seq: 3, Repeat: true})
			},
		},
		{
			name: "a callback of a login that timed out on its device",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1))
				b.loginTimedOut(T, 300, 400)
				k.login(310, 4)
				b.login(D, 500, 510, 5)
				k.login(505, 5, kickedEntry(policy.IPad, 4)) // displaced T's session, which never heard
			},
		},
		{
			name: "a callback no login explains",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1))
				k.login(2000, 4)
			},
			exact: verdictCounts{WebhookMismatch: 1},
			bare:  verdictCounts{WebhookMismatch: 1},
			text:  "matches no login of the user",
		},
		{
			name: "two callbacks for one login",
			build: func(b *hb, k hooks) {
				base(b, k)
				k.login(105, 3, kickedEntry(policy.Android, 1))
				k.login(106, 3, kickedEntry(policy.Android, 1))
			},
			exact: verdictCounts{WebhookMismatch: 1},
			bare:  verdictCounts{WebhookMismatch: 1},
			text:  "is a second one for login seq 3",
		},
	}
	for _, tc := range cases {
		for _, bare := range []bool{false, true} {
			want, variant := tc.exact, "exact"
			if bare {
				want, variant = tc.bare, "bare"
			}
			t.Run(tc.name+"/"+variant, func(t *testing.T) {
				b := newHB(false)
				for dev, p := range map[string]policy.Platform{V: policy.Android, A: policy.Android, W: policy.Web,
					B: policy.Mac, T: policy.IPad, D: policy.IPad} {
					b.device(dev, p)
				}
				tc.build(b, hooks{b: b, bare: bare})
				r := Check(b.h, multi, testOpts())
				if got := countsOf(r); got.String() != verdictCounts(want).String() {
					dump(t, r)
					t.Fatalf("verdicts %s, want %s", got, verdictCounts(want))
				}
				if n := want[WebhookMismatch]; n > 0 && !bare && tc.text != "" {
					if ex := r.Verdicts[WebhookMismatch].Examples; len(ex) == 0 || !strings.Contains(ex[0].Text, tc.text) {
						dump(t, r)
						t.Fatalf("example does not say %q", tc.text)
					}
				}
			})
		}
	}
}

// A cluster of bare callbacks over the matching's bound leaves the user
// undecided, with the reason, and no verdict; with sequences the callbacks
// are matched exactly whatever their number.
func TestWebhookClusterOverBoundIsUndecided(t *testing.T) {
	pol := mustTencent(t, policy.MultiPlatform, 1, 1)
	n := maxHookCluster/2 + 1
	for _, bare := range []bool{true, false} {
		b := newHB(false)
		b.device("X", policy.Windows)
		k := hooks{b: b, bare: bare}
		for i := 0; i < n; i++ {
			b.login("X", 10*i, 10*i+3, uint64(i+1))
			k.login(10*i+2, uint64(i+1))
			b.op(event.Logout, event.OK, "X", 10*i+5, 10*i+6)
		}
		r := Check(b.h, pol, testOpts())
		want := verdictCounts{}
		if bare {
			want = verdictCounts{Undecided: 1}
		}
		if got := countsOf(r); got.String() != want.String() {
			dump(t, r)
			t.Fatalf("bare=%v: verdicts %s, want %s", bare, got, want)
		}
		if bare {
			if ex := r.Verdicts[Undecided].Examples; len(ex) != 1 || !strings.Contains(ex[0].Text, fmt.Sprintf("over the bound of %d", maxHookCluster)) {
				t.Fatalf("undecided example %+v does not give the reason", ex)
			}
		}
	}
}
