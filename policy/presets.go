package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Every preset is OnConflict KickOld: each vendor below documents that the
// newest login wins and the earliest conflicting session goes (SPEC.md
// section 3 and the pages it cites). None documents refusing a new login
// instead, so no preset is RefuseNew; the nearest, Easemob's error 214 for a
// reconnecting auto-login device over the cap, concerns reconnects, not new
// logins, and is not modelled. A RefuseNew policy comes from a policy file
// (on_conflict: refuse_new).

// Tencent policy names, as the console offers them.
const (
	SinglePlatform = "single-platform"
	DualPlatform   = "dual-platform"
	TriplePlatform = "triple-platform"
	MultiPlatform  = "multi-platform"
)

// Platform sets that presets group.
func nativePlatforms() []Platform  { return []Platform{Android, IPhone, IPad, Windows, Mac, Linux} }
func mobilePlatforms() []Platform  { return []Platform{Android, IPhone, IPad} }
func desktopPlatforms() []Platform { return []Platform{Windows, Mac, Linux} }
func allPlatforms() []Platform     { return slices.Clone(Platforms) }

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
	pol := &Policy{
		Name:               name,
		DefaultPerPlatform: instances,
		PerPlatform:        map[Platform]int{Web: webInstances},
	}
	switch name {
	case SinglePlatform:
		pol.Description = "one platform of all seven online at a time"
		pol.Groups = []Group{{Name: "all", Platforms: allPlatforms(), MaxPlatforms: 1}}
	case DualPlatform:
		pol.Description = "one native platform plus Web"
		pol.Groups = []Group{{Name: "native", Platforms: nativePlatforms(), MaxPlatforms: 1}}
	case TriplePlatform:
		pol.Description = "one mobile, one desktop, plus Web"
		pol.Groups = []Group{
			{Name: "mobile", Platforms: mobilePlatforms(), MaxPlatforms: 1},
			{Name: "desktop", Platforms: desktopPlatforms(), MaxPlatforms: 1},
		}
	case MultiPlatform:
		pol.Description = "every platform at once"
	default:
		return nil, fmt.Errorf("unknown Tencent policy %q (allowed: %s, %s, %s, %s)", name,
			SinglePlatform, DualPlatform, TriplePlatform, MultiPlatform)
	}
	return pol, nil
}

// Easemob is Easemob / Agora Chat: at most perPlatform instances on each
// platform (0: the default 4; at most 10) and web on Web (0: as perPlatform);
// over the cap the newest login displaces the earliest on its platform, and
// platforms never displace each other.
func Easemob(perPlatform, web int) (*Policy, error) {
	if perPlatform == 0 {
		perPlatform = 4
	}
	if web == 0 {
		web = perPlatform
	}
	if perPlatform < 1 || perPlatform > 10 {
		return nil, fmt.Errorf("instances per platform must be 1 to 10, got %d", perPlatform)
	}
	if web < 1 || web > 10 {
		return nil, fmt.Errorf("web instances must be 1 to 10, got %d", web)
	}
	return &Policy{
		Name:               "easemob",
		Description:        fmt.Sprintf("up to %d instances per platform (%d on Web); no kicks across platforms", perPlatform, web),
		DefaultPerPlatform: perPlatform,
		PerPlatform:        map[Platform]int{Web: web},
	}, nil
}

// oneDevice is one instance of any platform: the newest login displaces
// whatever is online.
func oneDevice(name string) *Policy {
	return &Policy{
		Name:               name,
		Description:        "one device online at a time, of any platform",
		DefaultPerPlatform: 1,
		Groups:             []Group{{Name: "all", Platforms: allPlatforms(), MaxInstances: 1}},
	}
}

// NetEaseSingle is NetEase CommsEase (Yunxin) "only one device".
func NetEaseSingle() *Policy { return oneDevice("netease-single") }

// NetEaseDual is NetEase CommsEase one desktop (PC or Web) plus one mobile:
// a login displaces the device of its class.
func NetEaseDual() *Policy {
	return &Policy{
		Name:               "netease-dual",
		Description:        "one desktop (Windows, Mac, Linux or Web) plus one mobile; the same class displaces",
		DefaultPerPlatform: 1,
		Groups: []Group{
			{Name: "desktop", Platforms: append(desktopPlatforms(), Web), MaxInstances: 1},
			{Name: "mobile", Platforms: mobilePlatforms(), MaxInstances: 1},
		},
	}
}

// NetEaseAll is NetEase CommsEase "all devices": up to total instances of any
// platforms (0: the default 10; at most 10); the earliest goes.
func NetEaseAll(total int) (*Policy, error) {
	if total == 0 {
		total = 10
	}
	if total < 1 || total > 10 {
		return nil, fmt.Errorf("instances (devices in total) must be 1 to 10, got %d", total)
	}
	return &Policy{
		Name:        "netease-all",
		Description: fmt.Sprintf("up to %d devices of any platforms", total),
		Groups:      []Group{{Name: "all", Platforms: allPlatforms(), MaxInstances: total}},
	}, nil
}

// ZegoSingle is ZEGOCLOUD ZIM single-device login (its default).
func ZegoSingle() *Policy { return oneDevice("zego-single") }

// ZegoDual is ZEGOCLOUD ZIM dual-device login: any one native device plus
// one Web instance.
func ZegoDual() *Policy {
	return &Policy{
		Name:               "zego-dual",
		Description:        "any one native device plus one Web instance",
		DefaultPerPlatform: 1,
		Groups: []Group{
			{Name: "native", Platforms: nativePlatforms(), MaxInstances: 1},
			{Name: "web", Platforms: []Platform{Web}, MaxInstances: 1},
		},
	}
}

// ZegoMulti is ZEGOCLOUD ZIM multi-device login: up to native instances of
// native platforms together and web Web instances (0: the default 10; at
// most 10 each).
func ZegoMulti(native, web int) (*Policy, error) {
	if native == 0 {
		native = 10
	}
	if web == 0 {
		web = 10
	}
	if native < 1 || native > 10 {
		return nil, fmt.Errorf("instances (native devices in total) must be 1 to 10, got %d", native)
	}
	if web < 1 || web > 10 {
		return nil, fmt.Errorf("web instances must be 1 to 10, got %d", web)
	}
	return &Policy{
		Name:        "zego-multi",
		Description: fmt.Sprintf("up to %d native devices together plus up to %d Web instances", native, web),
		Groups: []Group{
			{Name: "native", Platforms: nativePlatforms(), MaxInstances: native},
			{Name: "web", Platforms: []Platform{Web}, MaxInstances: web},
		},
	}, nil
}

// RongCloud is RongCloud's policy: one device per class, mobile, desktop and
// Web (mini programs count as Web).
func RongCloud() *Policy {
	return &Policy{
		Name:               "rongcloud",
		Description:        "one mobile, one desktop and one Web instance",
		DefaultPerPlatform: 1,
		Groups: []Group{
			{Name: "mobile", Platforms: mobilePlatforms(), MaxInstances: 1},
			{Name: "desktop", Platforms: desktopPlatforms(), MaxInstances: 1},
			{Name: "web", Platforms: []Platform{Web}, MaxInstances: 1},
		},
	}
}

// Three of Turms's seven strategies, those that cover every platform (under
// the others a device type outside the strategy may not log in at all, which
// a Policy, whose newest login always wins, does not express). Turms's device
// types map to platforms as Android: Android; iOS: iPhone, iPad; Desktop:
// Windows, Mac, Linux; Browser: Web. No strategy allows two devices of one
// type.

// TurmsEachType is ALLOW_ONE_DEVICE_OF_EACH_DEVICE_TYPE_ONLINE: one Android,
// one iOS, one desktop and one browser instance.
func TurmsEachType() *Policy {
	return &Policy{
		Name:               "turms-each-type",
		Description:        "one device of each Turms type: Android, iOS, Desktop, Browser",
		DefaultPerPlatform: 1,
		Groups: []Group{
			{Name: "android", Platforms: []Platform{Android}, MaxInstances: 1},
			{Name: "ios", Platforms: []Platform{IPhone, IPad}, MaxInstances: 1},
			{Name: "desktop", Platforms: desktopPlatforms(), MaxInstances: 1},
			{Name: "browser", Platforms: []Platform{Web}, MaxInstances: 1},
		},
	}
}

// TurmsOneDevice is ALLOW_ONE_DEVICE_FOR_ALL_DEVICE_TYPES_ONLINE.
func TurmsOneDevice() *Policy { return oneDevice("turms-one-device") }

// TurmsDesktopOrBrowserMobile is
// ALLOW_ONE_DEVICE_OF_DESKTOP_OR_BROWSER_AND_ONE_DEVICE_OF_MOBILE_ONLINE: one
// desktop or browser instance plus one mobile (Android or iOS).
func TurmsDesktopOrBrowserMobile() *Policy {
	return &Policy{
		Name:               "turms-desktop-or-browser-mobile",
		Description:        "one desktop or browser instance plus one mobile",
		DefaultPerPlatform: 1,
		Groups: []Group{
			{Name: "desktop-or-browser", Platforms: append(desktopPlatforms(), Web), MaxInstances: 1},
			{Name: "mobile", Platforms: mobilePlatforms(), MaxInstances: 1},
		},
	}
}

// Ejabberd is an XMPP server with max_user_sessions = maxSessions (0: 10):
// over the cap the oldest session of any platform goes, and a login with the
// resource (instance ID) of an online session replaces that session. The
// replaced session still counts at that login (CountReplaced), as ejabberd
// 23.01 counts sessions before the replaced one has left: a resource
// conflict at the cap displaces the oldest session too.
func Ejabberd(maxSessions int) (*Policy, error) {
	if maxSessions == 0 {
		maxSessions = 10
	}
	if maxSessions < 1 {
		return nil, fmt.Errorf("instances (max_user_sessions) must be at least 1, got %d", maxSessions)
	}
	return &Policy{
		Name:                "ejabberd",
		Description:         fmt.Sprintf("max_user_sessions %d; the oldest session goes; a resource conflict replaces the session", maxSessions),
		Groups:              []Group{{Name: "all", Platforms: allPlatforms(), MaxInstances: maxSessions}},
		ReplaceSameInstance: true,
		CountReplaced:       true,
	}, nil
}

// preset is a named policy constructor for Lookup.
type preset struct {
	name string
	// tunable: instances or webInstances set a limit; otherwise both must
	// be 0.
	tunable bool
	make    func(instances, webInstances int) (*Policy, error)
}

func fixed(f func() *Policy) func(int, int) (*Policy, error) {
	return func(int, int) (*Policy, error) { return f(), nil }
}

func presets() []preset {
	tencent := func(name string) preset {
		return preset{name, true,
			func(n, w int) (*Policy, error) { return Tencent(name, n, w) }}
	}
	noWeb := func(name string, f func(int) (*Policy, error)) func(int, int) (*Policy, error) {
		return func(n, w int) (*Policy, error) {
			if w != 0 {
				return nil, fmt.Errorf("web instances must be 0 (unset): %s has no separate Web limit", name)
			}
			return f(n)
		}
	}
	return []preset{
		tencent(SinglePlatform),
		tencent(DualPlatform),
		tencent(TriplePlatform),
		tencent(MultiPlatform),
		{"easemob", true, Easemob},
		{"netease-single", false, fixed(NetEaseSingle)},
		{"netease-dual", false, fixed(NetEaseDual)},
		{"netease-all", true, noWeb("netease-all", NetEaseAll)},
		{"zego-single", false, fixed(ZegoSingle)},
		{"zego-dual", false, fixed(ZegoDual)},
		{"zego-multi", true, ZegoMulti},
		{"rongcloud", false, fixed(RongCloud)},
		{"turms-each-type", false, fixed(TurmsEachType)},
		{"turms-one-device", false, fixed(TurmsOneDevice)},
		{"turms-desktop-or-browser-mobile", false, fixed(TurmsDesktopOrBrowserMobile)},
		{"ejabberd", true, noWeb("ejabberd", Ejabberd)},
	}
}

// Names lists every policy name Lookup knows, Tencent's first.
func Names() []string {
	ps := presets()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return names
}

// Lookup returns the named policy. instances and webInstances tune the
// presets that have a tunable limit (0: the preset's default); for the
// others both must be 0. What they mean per preset is in the package
// documentation.
func Lookup(name string, instances, webInstances int) (*Policy, error) {
	for _, p := range presets() {
		if p.name != name {
			continue
		}
		if !p.tunable && (instances != 0 || webInstances != 0) {
			return nil, fmt.Errorf("policy %s has fixed limits: instances and web instances must be 0 (unset), got %d and %d",
				name, instances, webInstances)
		}
		pol, err := p.make(instances, webInstances)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", name, err)
		}
		return pol, nil
	}
	return nil, fmt.Errorf("unknown policy %q (allowed: %s)", name, strings.Join(Names(), ", "))
}
