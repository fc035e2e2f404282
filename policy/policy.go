// Package policy models platforms, their classes and multi-device login
// policies, and decides with one pure function which online instances a new
// login displaces. It imports nothing of ours.
package policy

import (
	"fmt"
	"sort"
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

func (g *Group) has(p Platform) bool {
	for _, q := range g.Platforms {
		if q == p {
			return true
		}
	}
	return false
}

// Policy is a multi-device login policy: groups of platforms with limits, and
// a limit of instances per platform. A new login always succeeds (the newest
// wins); Displace says which online instances it pushes out.
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
// new one (its Seq is larger than every online Seq). Same-instance logins
// displace nothing unless ReplaceSameInstance is set. The result never
// contains the login itself.
func (pol *Policy) Displace(online []Instance, login Instance) []Instance {
	rest := make([]Instance, 0, len(online))
	var out []Instance
	for _, in := range online {
		if in.ID == login.ID && in.ID != "" {
			if pol.ReplaceSameInstance {
				out = append(out, in)
			}
			continue
		}
		rest = append(rest, in)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Seq < rest[j].Seq })
	kicked := make([]bool, len(rest))
	kick := func(i int) {
		if !kicked[i] {
			kicked[i] = true
			out = append(out, rest[i])
		}
	}
	// Per-platform instance limit: the earliest of the same platform go.
	if lim := pol.Limit(login.Platform); lim > 0 {
		n := 0
		for _, in := range rest {
			if in.Platform == login.Platform {
				n++
			}
		}
		for i := 0; i < len(rest) && n+1 > lim; i++ {
			if rest[i].Platform == login.Platform {
				kick(i)
				n--
			}
		}
	}
	for gi := range pol.Groups {
		g := &pol.Groups[gi]
		if !g.has(login.Platform) {
			continue
		}
		// Distinct platforms: displace other platforms, earliest first, until
		// the login's platform fits.
		if g.MaxPlatforms > 0 {
			for {
				plats := map[Platform]bool{login.Platform: true}
				for i, in := range rest {
					if !kicked[i] && g.has(in.Platform) {
						plats[in.Platform] = true
					}
				}
				if len(plats) <= g.MaxPlatforms {
					break
				}
				// Drop every instance of the platform whose earliest instance is
				// earliest among the other platforms.
				var victim Platform
				for _, in := range rest {
					if in.Platform != login.Platform && g.has(in.Platform) && !kickedID(rest, kicked, in) {
						victim = in.Platform
						break
					}
				}
				for i, in := range rest {
					if in.Platform == victim {
						kick(i)
					}
				}
			}
		}
		if g.MaxInstances > 0 {
			n := 0
			for i, in := range rest {
				if !kicked[i] && g.has(in.Platform) {
					n++
				}
			}
			for i := 0; i < len(rest) && n+1 > g.MaxInstances; i++ {
				if !kicked[i] && g.has(rest[i].Platform) {
					kick(i)
					n--
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func kickedID(rest []Instance, kicked []bool, in Instance) bool {
	for i := range rest {
		if rest[i].ID == in.ID && rest[i].Seq == in.Seq {
			return kicked[i]
		}
	}
	return false
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

// Tencent policy names, as the console offers them.
const (
	SinglePlatform = "single-platform"
	DualPlatform   = "dual-platform"
	TriplePlatform = "triple-platform"
	MultiPlatform  = "multi-platform"
)

// Tencent returns one of the four console policies with per-platform instance
// limits: instances for each native platform (1 to 3) and webInstances for Web
// (1 to 10). Zero means the default of 1.
func Tencent(name string, instances, webInstances int) (*Policy, error) {
	if instances == 0 {
		instances = 1
	}
	if webInstances == 0 {
		webInstances = 1
	}
	if instances < 1 || instances > 3 {
		return nil, fmt.Errorf("instances per native platform must be 1 to 3, got %d", instances)
	}
	if webInstances < 1 || webInstances > 10 {
		return nil, fmt.Errorf("web instances must be 1 to 10, got %d", webInstances)
	}
	native := []Platform{Android, IPhone, IPad, Windows, Mac, Linux}
	pol := &Policy{
		Name:               name,
		DefaultPerPlatform: instances,
		PerPlatform:        map[Platform]int{Web: webInstances},
	}
	switch name {
	case SinglePlatform:
		pol.Description = "one platform of all seven online at a time"
		pol.Groups = []Group{{Name: "all", Platforms: Platforms, MaxPlatforms: 1}}
	case DualPlatform:
		pol.Description = "one native platform plus Web"
		pol.Groups = []Group{{Name: "native", Platforms: native, MaxPlatforms: 1}}
	case TriplePlatform:
		pol.Description = "one mobile, one desktop, plus Web"
		pol.Groups = []Group{
			{Name: "mobile", Platforms: []Platform{Android, IPhone, IPad}, MaxPlatforms: 1},
			{Name: "desktop", Platforms: []Platform{Windows, Mac, Linux}, MaxPlatforms: 1},
		}
	case MultiPlatform:
		pol.Description = "every platform at once"
	default:
		return nil, fmt.Errorf("unknown Tencent policy %q (allowed: %s, %s, %s, %s)", name,
			SinglePlatform, DualPlatform, TriplePlatform, MultiPlatform)
	}
	return pol, nil
}
