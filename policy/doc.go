// Package policy models platforms, their classes and multi-device login
// policies, and decides with one pure function, Policy.Displace, which online
// instances a new login displaces (SPEC.md section 3). The reference server
// enforces a policy with it and the kickout oracle replays logins through it.
//
// A Policy is per-platform instance limits plus groups of platforms with a
// cap on distinct platforms (MaxPlatforms; 1 makes them exclusive) and on
// instances (MaxInstances). Under OnConflict KickOld (the default, and every
// preset: no vendor documents another behaviour for a new login) the newest
// login always wins and the earliest conflicting instances go; under
// RefuseNew (on_conflict: refuse_new in a policy file) a login that would
// displace anyone is refused and nobody goes. Policy.Admit decides by
// OnConflict.
//
// Lookup knows every named policy (Names lists them). instances and
// webInstances tune some of them; 0 takes the default:
//
//	single-platform, dual-platform,   Tencent's console policies; instances per
//	triple-platform, multi-platform   native platform 1-3, Web instances 1-10 (1, 1)
//	easemob                           instances per platform 1-10 (4), Web 1-10 (as instances); no cross-platform kicks
//	netease-single                    one device
//	netease-dual                      one desktop (Windows, Mac, Linux, Web) + one mobile
//	netease-all                       instances = devices in total 1-10 (10)
//	zego-single                       one device
//	zego-dual                         one native device + one Web instance
//	zego-multi                        instances = native devices 1-10 (10), Web 1-10 (10)
//	rongcloud                         one mobile + one desktop + one Web
//	turms-each-type                   one Android + one iOS + one desktop + one browser
//	turms-one-device                  one device
//	turms-desktop-or-browser-mobile   one desktop or browser + one mobile
//	ejabberd                          instances = max_user_sessions (10); a resource conflict replaces the session (and, at the cap, the oldest goes too)
//
// The presets without a tunable limit refuse non-zero instances. Of Turms's
// seven strategies only those that cover every platform are presets: under
// the others a device type outside the strategy may not log in at all, which
// a policy whose newest login always wins cannot say.
//
// A custom policy comes from a YAML policy file through package
// policy/policyfile (docs/POLICY.md); this package parses no YAML, so that
// the event type, which imports it, carries no YAML parser.
//
// The package imports nothing of imload's (the oracle, the server and the
// scenario loader import it) and holds no mutable state besides the
// Platforms list, which callers must not change.
package policy
