package policy

import (
	"strings"
	"testing"
)

func TestLookupKnowsEveryName(t *testing.T) {
	names := Names()
	want := []string{SinglePlatform, DualPlatform, TriplePlatform, MultiPlatform, "easemob", "netease-single", "netease-dual",
		"netease-all", "zego-single", "zego-dual", "zego-multi", "rongcloud", "turms-each-type", "turms-one-device",
		"turms-desktop-or-browser-mobile", "ejabberd"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			pol, err := Lookup(name, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if pol.Name != name || pol.Description == "" {
				t.Fatalf("Lookup(%q) = name %q, description %q", name, pol.Name, pol.Description)
			}
			// Presets are fresh values: changing one leaves the next alone.
			for i := range pol.Groups {
				pol.Groups[i].Platforms[0] = "changed"
			}
			again, _ := Lookup(name, 0, 0)
			for _, g := range again.Groups {
				if g.Platforms[0] == "changed" {
					t.Fatal("presets share their platform lists")
				}
			}
		})
	}
	if Platforms[0] != Android {
		t.Fatal("a preset shares the Platforms list")
	}
}

func TestLookupErrors(t *testing.T) {
	cases := []struct {
		name      string
		inst, web int
		want      string
	}{
		{"signle-platform", 0, 0, `unknown policy "signle-platform" (allowed: single-platform, dual-platform,`},
		{SinglePlatform, 4, 0, "policy single-platform: instances per native platform must be 1 to 3, got 4"},
		{MultiPlatform, 1, 11, "policy multi-platform: web instances must be 1 to 10, got 11"},
		{"easemob", 11, 0, "instances per platform must be 1 to 10, got 11"},
		{"netease-single", 2, 0, "policy netease-single has fixed limits: instances and web instances must be 0 (unset), got 2 and 0"},
		{"rongcloud", 0, 3, "policy rongcloud has fixed limits"},
		{"netease-all", 0, 2, "web instances must be 0 (unset): netease-all has no separate Web limit"},
		{"zego-multi", 0, 20, "policy zego-multi: web instances must be 1 to 10, got 20"},
		{"ejabberd", -1, 0, "policy ejabberd: instances (max_user_sessions) must be at least 1, got -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Lookup(c.name, c.inst, c.web)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Lookup(%q, %d, %d) error %v, want one containing %q", c.name, c.inst, c.web, err, c.want)
			}
		})
	}
	_, err := Lookup("nope", 0, 0)
	for _, name := range Names() {
		if !strings.Contains(err.Error(), name) {
			t.Fatalf("error %q does not list %s", err, name)
		}
	}
}

func TestLookupTunedLimits(t *testing.T) {
	cases := []struct {
		name      string
		inst, web int
		check     func(*Policy) bool
	}{
		{"easemob", 0, 0, func(p *Policy) bool { return p.Limit(Android) == 4 && p.Limit(Web) == 4 }},
		{"easemob", 6, 2, func(p *Policy) bool { return p.Limit(Mac) == 6 && p.Limit(Web) == 2 }},
		{MultiPlatform, 3, 10, func(p *Policy) bool { return p.Limit(IPad) == 3 && p.Limit(Web) == 10 }},
		{"netease-all", 5, 0, func(p *Policy) bool { return p.Groups[0].MaxInstances == 5 }},
		{"zego-multi", 0, 0, func(p *Policy) bool { return p.Groups[0].MaxInstances == 10 && p.Groups[1].MaxInstances == 10 }},
		{"ejabberd", 0, 0, func(p *Policy) bool { return p.Groups[0].MaxInstances == 10 && p.ReplaceSameInstance }},
		{"ejabberd", 100, 0, func(p *Policy) bool { return p.Groups[0].MaxInstances == 100 }},
	}
	for _, c := range cases {
		pol, err := Lookup(c.name, c.inst, c.web)
		if err != nil {
			t.Fatal(err)
		}
		if !c.check(pol) {
			t.Fatalf("Lookup(%q, %d, %d) = %+v", c.name, c.inst, c.web, pol)
		}
	}
}
