package scenario

import "time"

// Protect is target.protect: the embedded server's protections against
// storms, each off unless given (docs/STORMS.md). Each refusal is answered
// with its own code (codes.LoginTooFrequent, LoginBucketBusy,
// FlappingBanned), which devices honour by backing off.
type Protect struct {
	LoginRate    *LoginRate    `yaml:"login_rate,omitempty" json:"login_rate,omitempty"`
	LoginBuckets *LoginBuckets `yaml:"login_buckets,omitempty" json:"login_buckets,omitempty"`
	Flapping     *Flapping     `yaml:"flapping,omitempty" json:"flapping,omitempty"`
}

// LoginRate is a per-app token bucket over logins: Rate per second, Burst
// at once (default: Rate rounded up, at least 1).
type LoginRate struct {
	Rate  float64 `yaml:"rate" json:"rate"`
	Burst int     `yaml:"burst,omitempty" json:"burst,omitempty"`
}

// LoginBuckets admits login starts in the manner of Discord's
// max_concurrency: a login goes to bucket hash(UserID) mod Buckets, and
// each bucket starts one login per Every (default 5s, Discord's).
type LoginBuckets struct {
	Buckets int      `yaml:"buckets" json:"buckets"`
	Every   Duration `yaml:"every,omitempty" json:"every,omitempty"`
}

// Flapping bans a device (platform and instance) that connects Connects
// times within Window, for Ban (defaults EMQX's: 15 in 1m, banned 5m).
type Flapping struct {
	Connects int      `yaml:"connects,omitempty" json:"connects,omitempty"`
	Window   Duration `yaml:"window,omitempty" json:"window,omitempty"`
	Ban      Duration `yaml:"ban,omitempty" json:"ban,omitempty"`
}

// Defaults of the protections.
const (
	DefaultBucketEvery   = 5 * time.Second
	DefaultFlapConnects  = 15
	DefaultFlapWindow    = time.Minute
	DefaultFlapBan       = 5 * time.Minute
	protectPath          = "target.protect"
	protectLoginRatePath = protectPath + ".login_rate"
	protectBucketsPath   = protectPath + ".login_buckets"
	protectFlappingPath  = protectPath + ".flapping"
)

func (v *validator) protect() {
	p := v.s.Target.Protect
	if p == nil {
		return
	}
	if v.s.Target.URL != "" {
		v.keyErrf(protectPath, "protections belong to the embedded server; remove target.url or target.protect")
		return
	}
	if r := p.LoginRate; r != nil {
		if !(r.Rate > 0) {
			v.errf(protectLoginRatePath+".rate", "must be > 0 logins per second, got %g", r.Rate)
		}
		if r.Burst < 0 {
			v.errf(protectLoginRatePath+".burst", "must be >= 0, got %d", r.Burst)
		}
	}
	if b := p.LoginBuckets; b != nil {
		if b.Buckets < 1 {
			v.errf(protectBucketsPath+".buckets", "must be >= 1, got %d", b.Buckets)
		}
		v.positiveDuration(protectBucketsPath+".every", b.Every)
	}
	if f := p.Flapping; f != nil {
		if f.Connects < 0 || v.given(protectFlappingPath+".connects", f.Connects != 0) && f.Connects < 2 {
			v.errf(protectFlappingPath+".connects", "must be >= 2, got %d", f.Connects)
		}
		v.positiveDuration(protectFlappingPath+".window", f.Window)
		v.positiveDuration(protectFlappingPath+".ban", f.Ban)
	}
}

func protectDefaults(p *Protect) {
	if p == nil {
		return
	}
	if r := p.LoginRate; r != nil && r.Burst == 0 {
		r.Burst = max(1, int(r.Rate+0.999999))
	}
	if b := p.LoginBuckets; b != nil && b.Every == 0 {
		b.Every = Duration(DefaultBucketEvery)
	}
	if f := p.Flapping; f != nil {
		if f.Connects == 0 {
			f.Connects = DefaultFlapConnects
		}
		if f.Window == 0 {
			f.Window = Duration(DefaultFlapWindow)
		}
		if f.Ban == 0 {
			f.Ban = Duration(DefaultFlapBan)
		}
	}
}

func protectDocs() map[string]fieldDoc {
	return map[string]fieldDoc{
		"target.protect":                       {desc: "Protections of the embedded server against storms, each off unless given (docs/STORMS.md); not with url."},
		"target.protect.login_rate":            {desc: "Per-app token bucket over logins; a login over it is answered 1009 (codes.LoginTooFrequent)."},
		"target.protect.login_rate.rate":       {desc: "Logins per second (> 0). Required.", extra: positive},
		"target.protect.login_rate.burst":      {desc: "Logins at once; default: rate rounded up, at least 1.", extra: nonNegative},
		"target.protect.login_buckets":         {desc: "Login starts in buckets, as Discord's max_concurrency: a login goes to bucket hash(UserID) mod buckets, each bucket starts one login per every; others are answered 1010 (codes.LoginBucketBusy)."},
		"target.protect.login_buckets.buckets": {desc: "Number of buckets (>= 1). Required.", extra: map[string]any{"minimum": 1}},
		"target.protect.login_buckets.every":   {desc: "One login start per bucket per this long.", def: Duration(DefaultBucketEvery).String()},
		"target.protect.flapping":              {desc: "Per-device flapping ban, as EMQX's flapping detection: a device (platform and instance) that connects connects times within window is refused with 1011 (codes.FlappingBanned) for ban."},
		"target.protect.flapping.connects":     {desc: "Connects within the window that ban (>= 2).", def: DefaultFlapConnects, extra: map[string]any{"minimum": 2}},
		"target.protect.flapping.window":       {desc: "The window connects are counted in.", def: Duration(DefaultFlapWindow).String()},
		"target.protect.flapping.ban":          {desc: "How long a flapping device is refused.", def: Duration(DefaultFlapBan).String()},
	}
}
