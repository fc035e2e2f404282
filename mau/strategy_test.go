package mau

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	h = time.Hour
	m = time.Minute
)

// Two days of one user: day 0 a fresh start with chat then a warm start
// without; day 1 a warm start with chat.
var planDays = [][]AppSession{
	{
		{Start: 8 * h, Duration: 10 * m, OpensChat: true, ChatAt: 2 * m, ChatDur: 3 * m},
		{Start: 12 * h, Duration: 5 * m, Background: true},
	},
	{
		{Start: 9 * h, Duration: 20 * m, Background: true, OpensChat: true, ChatAt: 5 * m, ChatDur: 15 * m},
	},
}

func TestPlanPresets(t *testing.T) {
	tests := []struct {
		strategy string
		want     [][]Action
	}{
		{Eager, [][]Action{
			{{8 * h, OpLogin}, {8*h + 10*m, OpClose}, {12 * h, OpLogin}, {12*h + 5*m, OpClose}},
			{{9 * h, OpLogin}, {9*h + 20*m, OpClose}},
		}},
		{Lazy, [][]Action{
			{{8*h + 2*m, OpLogin}, {8*h + 10*m, OpClose}},
			{{9*h + 5*m, OpLogin}, {9*h + 20*m, OpClose}},
		}},
		{LazyLogout, [][]Action{
			{{8*h + 2*m, OpLogin}, {8*h + 5*m, OpLogout}, {8*h + 10*m, OpClose}},
			{{9*h + 5*m, OpLogin}, {9*h + 20*m, OpLogout}, {9*h + 20*m, OpClose}},
		}},
		{BackgroundKeep, [][]Action{
			{{8 * h, OpLogin}, {8*h + 10*m, OpClose}, {12 * h, OpResume}, {12*h + 5*m, OpClose}},
			{{9 * h, OpResume}, {9*h + 20*m, OpClose}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.strategy, func(t *testing.T) {
			st, ok := Preset(tc.strategy)
			if !ok {
				t.Fatalf("no preset %q", tc.strategy)
			}
			kept := false
			for d, sessions := range planDays {
				got := st.Plan(nil, sessions, &kept)
				if !reflect.DeepEqual(got, tc.want[d]) {
					t.Errorf("day %d:\n got %v\nwant %v", d, got, tc.want[d])
				}
			}
		})
	}
}

func TestPlanCustom(t *testing.T) {
	tests := []struct {
		name string
		spec StrategySpec
		// sessions and the expected actions
		in   []AppSession
		want []Action
	}{
		{
			name: "log out at app close",
			spec: StrategySpec{Name: "tidy", LoginOn: "app_start", LogoutOn: "app_close"},
			in:   []AppSession{{Start: h, Duration: m}, {Start: 2 * h, Duration: m, Background: true}},
			want: []Action{{h, OpLogin}, {h + m, OpLogout}, {h + m, OpClose},
				{2 * h, OpLogin}, {2*h + m, OpLogout}, {2*h + m, OpClose}},
		},
		{
			name: "keep a lazy login in the background",
			spec: StrategySpec{Name: "lazy-keep", LoginOn: "chat_open", Background: "keep"},
			in: []AppSession{
				{Start: h, Duration: 10 * m, OpensChat: true, ChatAt: m, ChatDur: m},
				{Start: 2 * h, Duration: m, Background: true}, // warm: reconnect, though no chat
				{Start: 3 * h, Duration: m},                   // killed in between: nothing until chat
				{Start: 4 * h, Duration: m, Background: true}, // nothing was kept
			},
			want: []Action{{h + m, OpLogin}, {h + 10*m, OpClose}, {2 * h, OpResume}, {2*h + m, OpClose}},
		},
		{
			name: "keep is moot when logging out",
			spec: StrategySpec{Name: "x", LoginOn: "app_start", LogoutOn: "chat_close", Background: "keep"},
			in: []AppSession{
				{Start: h, Duration: 10 * m, OpensChat: true, ChatAt: m, ChatDur: m},
				{Start: 2 * h, Duration: m, Background: true},
			},
			want: []Action{{h, OpLogin}, {h + 2*m, OpLogout}, {h + 10*m, OpClose},
				{2 * h, OpLogin}, {2*h + m, OpClose}},
		},
		{
			name: "no chat, lazy: nothing at all",
			spec: StrategySpec{Name: "y", LoginOn: "chat_open", LogoutOn: "chat_close"},
			in:   []AppSession{{Start: h, Duration: m}},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := tc.spec.Strategy()
			if err != nil {
				t.Fatal(err)
			}
			kept := false
			if got := st.Plan(nil, tc.in, &kept); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestStrategySpec(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Strategy
		err  string
	}{
		{"preset by name", `eager`, Strategy{Name: "eager", LoginOn: LoginAtAppStart, LogoutOn: LogoutNever}, ""},
		{"preset in a mapping", `{name: lazy-logout}`, Strategy{Name: "lazy-logout", LoginOn: LoginAtChatOpen, LogoutOn: LogoutAtChatClose}, ""},
		{"custom", `{name: mine, login_on: chat_open, logout_on: app_close, background: keep}`,
			Strategy{Name: "mine", LoginOn: LoginAtChatOpen, LogoutOn: LogoutAtAppClose, KeepBackground: true}, ""},
		{"custom defaults", `{name: mine, login_on: app_start}`, Strategy{Name: "mine", LoginOn: LoginAtAppStart, LogoutOn: LogoutNever}, ""},
		{"unknown preset", `eagre`, Strategy{}, `unknown strategy "eagre"`},
		{"custom without login_on", `{name: mine, logout_on: never}`, Strategy{}, "login_on: expected app_start or chat_open"},
		{"bad logout_on", `{name: mine, login_on: app_start, logout_on: sometimes}`, Strategy{}, "logout_on: expected never, chat_close or app_close"},
		{"bad background", `{name: mine, login_on: app_start, background: maybe}`, Strategy{}, "background: expected drop or keep"},
		{"preset with options", `{name: eager, login_on: chat_open}`, Strategy{}, "a preset cannot take options"},
		{"no name", `{login_on: chat_open}`, Strategy{}, "name: must be set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var spec StrategySpec
			if err := yaml.Unmarshal([]byte(tc.yaml), &spec); err != nil {
				t.Fatal(err)
			}
			got, err := spec.Strategy()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Strategy = %+v, %v; want %+v", got, err, tc.want)
			}
			back, err := got.Spec().Strategy()
			if tc.want.Name != Eager && tc.want.Name != LazyLogout && (err != nil || back != got) {
				t.Errorf("Spec round trip = %+v, %v", back, err)
			}
		})
	}
}

func TestStrategySpecUnknownKey(t *testing.T) {
	var spec StrategySpec
	err := yaml.Unmarshal([]byte("name: mine\nlogin_at: chat_open\n"), &spec)
	if err == nil || !strings.Contains(err.Error(), `line 2 col 1: strategy: unknown key "login_at"`) {
		t.Fatalf("err = %v", err)
	}
}
