// Package policyfile reads multi-device policies from YAML policy files
// (docs/POLICY.md) into policy.Policy values; errors name file:line:col and
// the field, and say what is allowed. It is apart from package policy so
// that policy, and the event type that imports it, carry no YAML parser.
package policyfile

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/internal/yamlpos"
	"github.com/imload/imload/policy"
)

// ParseError is a fault in a policy file, at File:Line:Col, in Field (e.g.
// groups[1].platforms[0]; empty for the document); Msg says what is wrong
// and what is allowed.
type ParseError = yamlpos.Error

// The keys of a policy file and of a group.
func topKeys() []string {
	return []string{"name", "description", "per_platform", "groups", "replace_same_instance", "on_conflict"}
}
func groupKeys() []string { return []string{"name", "platforms", "max_platforms", "max_instances"} }

// LoadFile reads a policy file; see Parse.
func LoadFile(path string) (*policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a custom policy from YAML; file names the source in errors,
// which are *ParseError. The format (docs/POLICY.md, and Schema):
//
//	name: my-policy                 # required
//	description: free text          # optional
//	per_platform: {default: 1, Web: 10}
//	groups:
//	  - {name: native, platforms: [Android, iPhone, iPad, Windows, Mac, Linux], max_platforms: 1}
//	replace_same_instance: false
//	on_conflict: kick_old           # or refuse_new
//
// A limit the file does not give is no limit. per_platform caps the
// instances of each platform; default applies to the platforms not named
// (no cap when left out, as is per_platform itself); 0 means no cap. Every group
// needs a unique name, platforms (each at most once) and at least one of
// max_platforms (at most the number of its platforms) and max_instances.
// on_conflict says what a login that would push a session out does:
// kick_old (the default) kicks the sessions Displace names, refuse_new
// refuses the login and keeps them (Policy.Admit). Unknown keys are errors.
func Parse(data []byte, file string) (*policy.Policy, error) {
	p := parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, p.syntaxError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &ParseError{File: file, Msg: "empty policy file (want a mapping with keys " + strings.Join(topKeys(), ", ") + ")"}
	}
	root := yamlpos.Resolve(doc.Content[0])
	pol := &policy.Policy{} // nothing said about a limit: no limit
	var nameNode *yaml.Node
	err := p.mapping(root, "", topKeys(), func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			nameNode = v
			pol.Name, err = p.str(v, "name")
		case "description":
			pol.Description, err = p.str(v, "description")
		case "per_platform":
			err = p.perPlatform(v, pol)
		case "groups":
			pol.Groups, err = p.groups(v)
		case "replace_same_instance":
			pol.ReplaceSameInstance, err = p.boolean(v, "replace_same_instance")
		case "on_conflict":
			pol.OnConflict, err = p.onConflict(v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if nameNode == nil {
		return nil, p.errf(root, "name", "missing: a policy needs a name")
	}
	if pol.Name == "" {
		return nil, p.errf(nameNode, "name", "want a non-empty name")
	}
	return pol, nil
}

type parser struct{ file string }

func (p *parser) errf(n *yaml.Node, field, format string, args ...any) error {
	e := yamlpos.At(n, field, format, args...)
	e.File = p.file
	return e
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into a ParseError.
func (p *parser) syntaxError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return &ParseError{File: p.file, Msg: strings.Join(te.Errors, "; ")}
	}
	line, msg := yamlpos.Syntax(err)
	return &ParseError{File: p.file, Line: line, Msg: "YAML syntax: " + msg}
}

// mapping calls f for every key of n, which must be a mapping with keys from
// allowed (nil: any), each at most once.
func (p *parser) mapping(n *yaml.Node, field string, allowed []string, f func(key string, k, v *yaml.Node) error) error {
	n = yamlpos.Resolve(n)
	if n.Kind != yaml.MappingNode {
		if allowed != nil {
			return p.errf(n, field, "want a mapping with keys %s, got %s", strings.Join(allowed, ", "), yamlpos.Describe(n))
		}
		return p.errf(n, field, "want a mapping, got %s", yamlpos.Describe(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlpos.Resolve(n.Content[i]), yamlpos.Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return p.errf(k, field, "want a plain key, got %s", yamlpos.Describe(k))
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			return p.errf(k, yamlpos.Join(field, k.Value), "unknown key (allowed: %s)", strings.Join(allowed, ", "))
		}
		if line, dup := seen[k.Value]; dup {
			return p.errf(k, yamlpos.Join(field, k.Value), "given twice (first at line %d)", line)
		}
		seen[k.Value] = k.Line
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) str(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, field, "want a string, got %s", yamlpos.Describe(n))
	}
	return n.Value, nil
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, p.errf(n, field, "want true or false, got %s", yamlpos.Describe(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, p.errf(n, field, "want true or false, got %s", yamlpos.Describe(n))
	}
	return b, nil
}

func (p *parser) onConflict(n *yaml.Node) (policy.OnConflict, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if o, err := policy.ParseOnConflict(n.Value); err == nil {
			return o, nil
		}
	}
	return 0, p.errf(n, "on_conflict", "want kick_old or refuse_new, got %s", yamlpos.Describe(n))
}

// count reads a limit: an integer, 0 or more (0: none).
func (p *parser) count(n *yaml.Node, field string) (int, error) {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil || v < 0 {
		return 0, p.errf(n, field, "want a whole number 0 or more (0: no limit), got %s", yamlpos.Describe(n))
	}
	return v, nil
}

func platformNames() string {
	names := make([]string, len(policy.Platforms))
	for i, pl := range policy.Platforms {
		names[i] = string(pl)
	}
	return strings.Join(names, ", ")
}

func (p *parser) platform(n *yaml.Node, field string) (policy.Platform, error) {
	if n.Kind == yaml.ScalarNode {
		if pl, err := policy.ParsePlatform(n.Value); err == nil {
			return pl, nil
		}
	}
	return "", p.errf(n, field, "unknown platform %s (allowed: %s)", yamlpos.Describe(n), platformNames())
}

func (p *parser) perPlatform(n *yaml.Node, pol *policy.Policy) error {
	pol.PerPlatform = map[policy.Platform]int{}
	lines := map[policy.Platform]int{}
	return p.mapping(n, "per_platform", nil, func(key string, k, v *yaml.Node) error {
		field := "per_platform." + key
		lim, err := p.count(v, field)
		if err != nil {
			return err
		}
		if key == "default" {
			pol.DefaultPerPlatform = lim
			return nil
		}
		pl, err := policy.ParsePlatform(key)
		if err != nil {
			return p.errf(k, field, "unknown key (allowed: default, %s)", platformNames())
		}
		if line, dup := lines[pl]; dup {
			return p.errf(k, field, "platform %s given twice (first at line %d)", pl, line)
		}
		lines[pl] = k.Line
		pol.PerPlatform[pl] = lim
		return nil
	})
}

func (p *parser) groups(n *yaml.Node) ([]policy.Group, error) {
	n = yamlpos.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "groups", "want a list of groups, got %s", yamlpos.Describe(n))
	}
	var gs []policy.Group
	names := map[string]int{}
	for i, gn := range n.Content {
		gn = yamlpos.Resolve(gn)
		field := fmt.Sprintf("groups[%d]", i)
		var g policy.Group
		var platNode, maxPlatNode *yaml.Node
		err := p.mapping(gn, field, groupKeys(), func(key string, k, v *yaml.Node) error {
			var err error
			switch key {
			case "name":
				if g.Name, err = p.str(v, field+".name"); err == nil && g.Name == "" {
					err = p.errf(v, field+".name", "want a non-empty name")
				}
				if line, dup := names[g.Name]; dup && err == nil {
					err = p.errf(v, field+".name", "group %q is already defined at line %d (names must be unique)", g.Name, line)
				}
				names[g.Name] = v.Line
			case "platforms":
				platNode = v
				g.Platforms, err = p.platforms(v, field+".platforms")
			case "max_platforms":
				maxPlatNode = v
				g.MaxPlatforms, err = p.count(v, field+".max_platforms")
			case "max_instances":
				g.MaxInstances, err = p.count(v, field+".max_instances")
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		switch {
		case g.Name == "":
			return nil, p.errf(gn, field, "missing name (each group needs a unique name)")
		case platNode == nil:
			return nil, p.errf(gn, field, "missing platforms (allowed: %s)", platformNames())
		case g.MaxPlatforms == 0 && g.MaxInstances == 0:
			return nil, p.errf(gn, field, "group %q sets no limit: set max_platforms or max_instances (1 or more)", g.Name)
		case g.MaxPlatforms > len(g.Platforms):
			return nil, p.errf(maxPlatNode, field+".max_platforms", "%d is more than the group's %d platforms (allowed: 0 to %d)",
				g.MaxPlatforms, len(g.Platforms), len(g.Platforms))
		}
		gs = append(gs, g)
	}
	return gs, nil
}

func (p *parser) platforms(n *yaml.Node, field string) ([]policy.Platform, error) {
	n = yamlpos.Resolve(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		got := yamlpos.Describe(n)
		if n.Kind == yaml.SequenceNode {
			got = "an empty list"
		}
		return nil, p.errf(n, field, "want a non-empty list of platforms (allowed: %s), got %s", platformNames(), got)
	}
	out := make([]policy.Platform, 0, len(n.Content))
	for i, e := range n.Content {
		e = yamlpos.Resolve(e)
		f := fmt.Sprintf("%s[%d]", field, i)
		pl, err := p.platform(e, f)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, pl) {
			return nil, p.errf(e, f, "platform %s is listed twice", pl)
		}
		out = append(out, pl)
	}
	return out, nil
}

// Looks reports whether data reads as a policy file rather than a scenario:
// a YAML mapping whose keys are all keys of a policy file, name among them.
// A scenario always has keys a policy file has not (population, phases,
// mau), so a file Looks accepts is never a valid scenario.
func Looks(data []byte) bool {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	root := yamlpos.Resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return false
	}
	named := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i].Value
		if !slices.Contains(topKeys(), k) {
			return false
		}
		named = named || k == "name"
	}
	return named
}
