package policyfile

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imload/imload/policy"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return doc
}

func obj(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("schema has no object at %s", strings.Join(path, "."))
		}
		m = next
	}
	return m
}

// The schema and the parser know the same keys.
func TestSchemaKeysAreTheParsers(t *testing.T) {
	doc := loadSchema(t)
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != SchemaID {
		t.Errorf("$schema %v, $id %v", doc["$schema"], doc["$id"])
	}
	top := slices.Sorted(maps.Keys(obj(t, doc, "properties")))
	if want := slices.Sorted(slices.Values(topKeys())); !slices.Equal(top, want) {
		t.Errorf("schema keys %v, parser keys %v", top, want)
	}
	group := slices.Sorted(maps.Keys(obj(t, doc, "$defs", "group", "properties")))
	if want := slices.Sorted(slices.Values(groupKeys())); !slices.Equal(group, want) {
		t.Errorf("schema group keys %v, parser group keys %v", group, want)
	}
	pp := obj(t, doc, "properties", "per_platform")
	props := slices.Sorted(maps.Keys(obj(t, pp, "properties")))
	want := []string{"default"}
	for _, p := range policy.Platforms {
		want = append(want, string(p))
	}
	if slices.Sort(want); !slices.Equal(props, want) {
		t.Errorf("per_platform keys %v, want %v", props, want)
	}
	for key, s := range map[string]map[string]any{"top": doc, "group": obj(t, doc, "$defs", "group"), "per_platform": pp} {
		if s["additionalProperties"] != false {
			t.Errorf("%s: unknown keys are not refused", key)
		}
	}
	oc := obj(t, doc, "properties", "on_conflict")["enum"].([]any)
	for _, v := range oc {
		if _, err := policy.ParseOnConflict(v.(string)); err != nil {
			t.Errorf("on_conflict %q in the schema: %v", v, err)
		}
	}
	if len(oc) != 2 {
		t.Errorf("on_conflict enum %v", oc)
	}
}

// The platform pattern accepts what ParsePlatform accepts, in any case.
func TestSchemaPlatformPattern(t *testing.T) {
	doc := loadSchema(t)
	re := regexp.MustCompile(obj(t, doc, "$defs", "platform")["pattern"].(string))
	for _, p := range policy.Platforms {
		for _, s := range []string{string(p), strings.ToLower(string(p)), strings.ToUpper(string(p))} {
			if !re.MatchString(s) {
				t.Errorf("pattern refuses %q", s)
			}
			if _, err := policy.ParsePlatform(s); err != nil {
				t.Errorf("ParsePlatform(%q): %v", s, err)
			}
		}
	}
	for _, s := range []string{"Andriod", "Android ", "WebX", "", "default"} {
		if re.MatchString(s) {
			t.Errorf("pattern accepts %q", s)
		}
	}
	keys := regexp.MustCompile(slices.Collect(maps.Keys(obj(t, doc, "properties", "per_platform", "patternProperties")))[0])
	if !keys.MatchString("DEFAULT") || !keys.MatchString("web") || keys.MatchString("Webb") {
		t.Errorf("per_platform key pattern %s", keys)
	}
}
