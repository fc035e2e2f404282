package mau

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoginOn says when a strategy logs in.
type LoginOn uint8

const (
	// LoginAtAppStart logs in whenever the app comes to the foreground.
	LoginAtAppStart LoginOn = iota + 1
	// LoginAtChatOpen logs in when the chat UI opens (if not logged in).
	LoginAtChatOpen
)

// LogoutOn says when a strategy logs out.
type LogoutOn uint8

const (
	// LogoutNever leaves the app without logging out: the connection drops.
	LogoutNever LogoutOn = iota + 1
	// LogoutAtChatClose logs out when the chat UI closes.
	LogoutAtChatClose
	// LogoutAtAppClose logs out when the app leaves the foreground.
	LogoutAtAppClose
)

var (
	loginOnNames  = [...]string{"", "app_start", "chat_open"}
	logoutOnNames = [...]string{"", "never", "chat_close", "app_close"}
)

func (l LoginOn) String() string {
	if int(l) < len(loginOnNames) && l > 0 {
		return loginOnNames[l]
	}
	return "unknown"
}

func (l LogoutOn) String() string {
	if int(l) < len(logoutOnNames) && l > 0 {
		return logoutOnNames[l]
	}
	return "unknown"
}

// index finds name in names (0: not found).
func index(names []string, name string) int {
	for i, n := range names {
		if i > 0 && n == name {
			return i
		}
	}
	return 0
}

// Strategy is a client's login habit.
type Strategy struct {
	Name     string
	LoginOn  LoginOn
	LogoutOn LogoutOn
	// KeepBackground: a session left logged in stays logged in while the app
	// is in the background (mobile PushOnline); a warm start then reconnects
	// (resume, which counts nothing) instead of logging in.
	KeepBackground bool
}

// The preset strategies.
const (
	Eager          = "eager"           // log in at every app start
	Lazy           = "lazy"            // log in when the chat UI opens
	LazyLogout     = "lazy-logout"     // log in when the chat UI opens, log out when it closes
	BackgroundKeep = "background-keep" // log in at a fresh start, stay logged in in the background
)

// A run starts with no session kept in the background, so under
// background-keep every user's first session of the run logs in: its
// saving shows from the second calendar month of a run on.

// PresetNames lists the preset strategies.
func PresetNames() []string { return []string{Eager, Lazy, LazyLogout, BackgroundKeep} }

// Preset returns a preset strategy by name.
func Preset(name string) (Strategy, bool) {
	switch name {
	case Eager:
		return Strategy{Name: name, LoginOn: LoginAtAppStart, LogoutOn: LogoutNever}, true
	case Lazy:
		return Strategy{Name: name, LoginOn: LoginAtChatOpen, LogoutOn: LogoutNever}, true
	case LazyLogout:
		return Strategy{Name: name, LoginOn: LoginAtChatOpen, LogoutOn: LogoutAtChatClose}, true
	case BackgroundKeep:
		return Strategy{Name: name, LoginOn: LoginAtAppStart, LogoutOn: LogoutNever, KeepBackground: true}, true
	}
	return Strategy{}, false
}

// StrategySpec names a strategy in a scenario: a preset by name
// ("eager"), or a custom one by options:
//
//	{name: mine, login_on: chat_open, logout_on: app_close, background: keep}
//
// login_on: app_start | chat_open; logout_on: never | chat_close |
// app_close (default never); background: drop | keep (default drop).
type StrategySpec struct {
	Name       string `yaml:"name" json:"name"`
	LoginOn    string `yaml:"login_on,omitempty" json:"login_on,omitempty"`
	LogoutOn   string `yaml:"logout_on,omitempty" json:"logout_on,omitempty"`
	Background string `yaml:"background,omitempty" json:"background,omitempty"`
}

// Custom reports whether the spec defines its own options.
func (s StrategySpec) Custom() bool { return s.LoginOn != "" || s.LogoutOn != "" || s.Background != "" }

// Strategy resolves the spec.
func (s StrategySpec) Strategy() (Strategy, error) {
	if s.Name == "" {
		return Strategy{}, fmt.Errorf("name: must be set (a preset: %s; or a name with login_on)",
			strings.Join(PresetNames(), ", "))
	}
	if !s.Custom() {
		if p, ok := Preset(s.Name); ok {
			return p, nil
		}
		return Strategy{}, fmt.Errorf("unknown strategy %q (presets: %s; a custom one needs login_on)",
			s.Name, strings.Join(PresetNames(), ", "))
	}
	if _, ok := Preset(s.Name); ok {
		return Strategy{}, fmt.Errorf("strategy %q: a preset cannot take options; give the custom strategy another name", s.Name)
	}
	st := Strategy{Name: s.Name, LogoutOn: LogoutNever}
	if st.LoginOn = LoginOn(index(loginOnNames[:], s.LoginOn)); st.LoginOn == 0 {
		return Strategy{}, fmt.Errorf("login_on: expected app_start or chat_open, got %q", s.LoginOn)
	}
	if s.LogoutOn != "" {
		if st.LogoutOn = LogoutOn(index(logoutOnNames[:], s.LogoutOn)); st.LogoutOn == 0 {
			return Strategy{}, fmt.Errorf("logout_on: expected never, chat_close or app_close, got %q", s.LogoutOn)
		}
	}
	switch s.Background {
	case "", "drop":
	case "keep":
		st.KeepBackground = true
	default:
		return Strategy{}, fmt.Errorf("background: expected drop or keep, got %q", s.Background)
	}
	return st, nil
}

// Spec returns the options that define s.
func (s Strategy) Spec() StrategySpec {
	bg := "drop"
	if s.KeepBackground {
		bg = "keep"
	}
	return StrategySpec{Name: s.Name, LoginOn: s.LoginOn.String(), LogoutOn: s.LogoutOn.String(), Background: bg}
}

// UnmarshalYAML reads a preset name or a mapping of options, refusing
// unknown keys.
func (s *StrategySpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = StrategySpec{Name: n.Value}
		return nil
	case yaml.MappingNode:
		allowed := []string{"name", "login_on", "logout_on", "background"}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
				return fmt.Errorf("line %d col %d: strategy: unknown key %q (allowed: %s)",
					k.Line, k.Column, k.Value, strings.Join(allowed, ", "))
			}
		}
		type plain StrategySpec
		return n.Decode((*plain)(s))
	}
	return fmt.Errorf("line %d col %d: strategy: expected a name or a mapping with name and login_on", n.Line, n.Column)
}

// Op is a client action a strategy asks for.
type Op uint8

const (
	OpLogin  Op = iota + 1 // log in (counts toward MAU when it succeeds)
	OpResume               // reconnect the kept session (counts nothing)
	OpLogout               // log out
	OpClose                // the app leaves the foreground: drop the connection
)

var opNames = [...]string{"", "login", "resume", "logout", "close"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Action is one client action at a time of day (on the real 24-hour day).
type Action struct {
	At time.Duration
	Op Op
}

// Plan appends the actions the strategy takes for one user's sessions of a
// day, in time order. kept carries across days whether the app was left in
// the background holding a logged-in session; Plan reads and updates it.
func (s Strategy) Plan(dst []Action, sessions []AppSession, kept *bool) []Action {
	for _, ss := range sessions {
		warm := ss.Background && *kept
		*kept = false
		mark := len(dst)
		logged := false
		switch {
		case warm:
			dst = append(dst, Action{ss.Start, OpResume})
			logged = true
		case s.LoginOn == LoginAtAppStart:
			dst = append(dst, Action{ss.Start, OpLogin})
			logged = true
		}
		if ss.OpensChat {
			if !logged && s.LoginOn == LoginAtChatOpen {
				dst = append(dst, Action{ss.Start + ss.ChatAt, OpLogin})
				logged = true
			}
			if logged && s.LogoutOn == LogoutAtChatClose {
				dst = append(dst, Action{ss.Start + ss.ChatAt + ss.ChatDur, OpLogout})
				logged = false
			}
		}
		if logged && s.LogoutOn == LogoutAtAppClose {
			dst = append(dst, Action{ss.End(), OpLogout})
			logged = false
		}
		if len(dst) > mark {
			dst = append(dst, Action{ss.End(), OpClose})
		}
		*kept = logged && s.KeepBackground
	}
	return dst
}
