package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Platform is a client platform as the login service sees it.
type Platform string

// The seven platforms of SPEC.md section 2.
const (
	Android Platform = "Android"
	IPhone  Platform = "iPhone"
	IPad    Platform = "iPad"
	Windows Platform = "Windows"
	Mac     Platform = "Mac"
	Linux   Platform = "Linux"
	Web     Platform = "Web"
)

// Platforms lists every platform in a fixed order.
var Platforms = []Platform{Android, IPhone, IPad, Windows, Mac, Linux, Web}

// Index returns p's position in Platforms (0 to 6), or -1 for a name that
// is not a platform. Callers use it to keep per-platform arrays.
func Index(p Platform) int {
	switch p {
	case Android:
		return 0
	case IPhone:
		return 1
	case IPad:
		return 2
	case Windows:
		return 3
	case Mac:
		return 4
	case Linux:
		return 5
	case Web:
		return 6
	}
	return -1
}

// Class groups platforms.
type Class string

const (
	Mobile  Class = "mobile"
	Desktop Class = "desktop"
	WebCls  Class = "web"
)

// ClassOf returns the class of a platform.
func ClassOf(p Platform) Class {
	switch p {
	case Android, IPhone, IPad:
		return Mobile
	case Windows, Mac, Linux:
		return Desktop
	default:
		return WebCls
	}
}

// IsMobile reports whether p has the PushOnline status.
func IsMobile(p Platform) bool { return ClassOf(p) == Mobile }

// ParsePlatform accepts a platform name in any letter case.
func ParsePlatform(s string) (Platform, error) {
	for _, p := range Platforms {
		if strings.EqualFold(string(p), s) {
			return p, nil
		}
	}
	names := make([]string, len(Platforms))
	for i, p := range Platforms {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown platform %q (allowed: %s)", s, strings.Join(names, ", "))
}

// Instance is one logged-in client of a user.
type Instance struct {
	// ID names the device or app instance (unique per user).
	ID       string
	Platform Platform
	// Seq is the per-user login sequence number: larger is newer.
	Seq uint64
}

// Group is a set of platforms that share limits.
type Group struct {
	Name      string
	Platforms []Platform
	// MaxPlatforms is how many distinct platforms of the group may be online
	// together (0: no limit). 1 makes the platforms of the group exclusive.
	MaxPlatforms int
	// MaxInstances caps the instances online in the group (0: no cap).
	MaxInstances int
}

func (g *Group) has(p Platform) bool { return slices.Contains(g.Platforms, p) }

// OnConflict says what happens to a login that conflicts with the sessions
// online (it would push one out under the limits).
type OnConflict uint8

const (
	// KickOld: the newest login always wins and the sessions Displace
	// names are kicked (the default, and what every preset does).
	KickOld OnConflict = iota
	// RefuseNew: the sessions online win; a login that would displace any
	// of them is refused and displaces nobody.
	RefuseNew
)

var onConflictNames = [...]string{KickOld: "kick_old", RefuseNew: "refuse_new"}

func (o OnConflict) String() string {
	if int(o) < len(onConflictNames) {
		return onConflictNames[o]
	}
	return fmt.Sprintf("on_conflict(%d)", int(o))
}

// ParseOnConflict accepts kick_old or refuse_new.
func ParseOnConflict(s string) (OnConflict, error) {
	for i, n := range onConflictNames {
		if n == s {
			return OnConflict(i), nil
		}
	}
	return 0, fmt.Errorf("unknown on_conflict %q (allowed: %s)", s, strings.Join(onConflictNames[:], ", "))
}

// Policy is a multi-device login policy: groups of platforms with limits, and
// a limit of instances per platform. Under OnConflict KickOld (the default) a
// new login always succeeds (the newest wins) and Displace says which online
// instances it pushes out; under RefuseNew such a login is refused instead
// (Admit).
type Policy struct {
	Name        string
	Description string
	Groups      []Group
	// PerPlatform caps the instances of each platform; a missing platform has
	// the limit DefaultPerPlatform, and 0 there means no cap.
	PerPlatform        map[Platform]int
	DefaultPerPlatform int
	// ReplaceSameInstance makes a login from an instance ID that is already
	// online displace that instance (XMPP resource conflict). When false such a
	// login is a repeat login of the same instance and displaces nothing.
	ReplaceSameInstance bool
	// CountReplaced, with ReplaceSameInstance, keeps the replaced instance
	// in the count against the limits at the login that replaces it:
	// ejabberd checks max_user_sessions before the replaced session has
	// left, so a resource conflict at the cap also displaces the earliest
	// session (which may be the replaced one itself).
	CountReplaced bool
	// OnConflict: kick the sessions a login displaces (KickOld, the zero
	// value) or refuse the login (RefuseNew).
	OnConflict OnConflict
}

// Limit returns the instance limit of platform p (0: none).
func (pol *Policy) Limit(p Platform) int {
	if n, ok := pol.PerPlatform[p]; ok {
		return n
	}
	return pol.DefaultPerPlatform
}

// Displace returns the online instances that a new login displaces, earliest
// first. online are the user's instances now online (any order); login is the
// new one (its Seq is larger than every online Seq). The newest login always
// wins; the limits are applied in this order, each displacing the earliest
// conflicting instances until the login fits:
//   - the per-platform limit of the login's platform (earliest of that
//     platform first);
//   - for each group that holds the login's platform, MaxPlatforms (whole
//     platforms go, the one whose earliest instance is earliest first; the
//     login's own platform always stays) and then MaxInstances (earliest
//     instance of the group first).
//
// An online instance with the login's ID is displaced when
// ReplaceSameInstance is set; otherwise the login is a repeat login of that
// instance, which neither counts against a limit nor is displaced. The result
// never contains the login itself.
func (pol *Policy) Displace(online []Instance, login Instance) []Instance {
	var out []Instance
	rest := make([]Instance, 0, len(online))
	for _, in := range online {
		if in.ID == login.ID && in.ID != "" {
			if pol.ReplaceSameInstance {
				out = append(out, in)
				if pol.CountReplaced {
					rest = append(rest, in)
				}
			}
			continue
		}
		rest = append(rest, in)
	}
	slices.SortFunc(rest, func(a, b Instance) int { return cmp.Compare(a.Seq, b.Seq) })
	kicked := make([]bool, len(rest))
	// kickEarliest displaces the earliest instances that match, until at most
	// max remain besides the login.
	kickEarliest := func(match func(Platform) bool, max int) {
		n := 0
		for i, in := range rest {
			if !kicked[i] && match(in.Platform) {
				n++
			}
		}
		for i := 0; i < len(rest) && n+1 > max; i++ {
			if !kicked[i] && match(rest[i].Platform) {
				kicked[i] = true
				n--
			}
		}
	}
	if lim := pol.Limit(login.Platform); lim > 0 {
		kickEarliest(func(p Platform) bool { return p == login.Platform }, lim)
	}
	for gi := range pol.Groups {
		g := &pol.Groups[gi]
		if !g.has(login.Platform) {
			continue
		}
		if g.MaxPlatforms > 0 {
			// The group's other platforms online, by their earliest instance:
			// rest is sorted, so first appearance is earliest.
			var others []Platform
			for i, in := range rest {
				if !kicked[i] && in.Platform != login.Platform && g.has(in.Platform) && !slices.Contains(others, in.Platform) {
					others = append(others, in.Platform)
				}
			}
			for excess := len(others) + 1 - g.MaxPlatforms; excess > 0; excess-- {
				victim := others[0]
				others = others[1:]
				for i, in := range rest {
					if in.Platform == victim {
						kicked[i] = true
					}
				}
			}
		}
		if g.MaxInstances > 0 {
			kickEarliest(g.has, g.MaxInstances)
		}
	}
	for i, in := range rest {
		if kicked[i] && in.ID != login.ID { // a counted replaced one is in out already
			out = append(out, in)
		}
	}
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b Instance) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return out
}

// Admit decides a new login under the policy's OnConflict: the instances it
// displaces, or refused when the policy turns it away. Under KickOld it
// never refuses and the victims are Displace's. Under RefuseNew a login that
// Displace says would push anyone out (a limit is full, or, with
// ReplaceSameInstance, its instance is online) is refused and displaces
// nobody; any other login is admitted and displaces nobody either.
//
// Refusal under RefuseNew is monotone in online: a login refused with some
// sessions online is refused with any superset of them (every limit counts
// more, never fewer), which the oracle relies on to prove a refusal wrong.
func (pol *Policy) Admit(online []Instance, login Instance) (victims []Instance, refused bool) {
	v := pol.Displace(online, login)
	if pol.OnConflict != RefuseNew {
		return v, false
	}
	return nil, len(v) > 0
}

// Allowed reports whether a set of instances may be online together under the
// policy (no limit exceeded). The oracle uses it for over-limit checks.
func (pol *Policy) Allowed(online []Instance) bool {
	per := map[Platform]int{}
	for _, in := range online {
		per[in.Platform]++
	}
	for p, n := range per {
		if lim := pol.Limit(p); lim > 0 && n > lim {
			return false
		}
	}
	for gi := range pol.Groups {
		g := &pol.Groups[gi]
		plats, total := 0, 0
		for p, n := range per {
			if g.has(p) {
				plats++
				total += n
			}
		}
		if g.MaxPlatforms > 0 && plats > g.MaxPlatforms {
			return false
		}
		if g.MaxInstances > 0 && total > g.MaxInstances {
			return false
		}
	}
	return true
}
