package policyfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/imload/imload/policy"
)

// SchemaID is the $id of the policy-file JSON Schema.
const SchemaID = "https://github.com/imload/imload/policy.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of policy files, for
// editors and for `imload schema --policy`. It says what Parse accepts,
// but not everything Parse checks: names unique across groups, a
// platform listed once in any letter case, and max_platforms at most the
// group's number of platforms are Parse's alone.
func Schema() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(schemaDoc()); err != nil {
		return nil, fmt.Errorf("policy schema: %w", err)
	}
	return buf.Bytes(), nil
}

// anyCase is an ECMA-262 (and RE2) pattern matching one of words exactly,
// in any letter case, as Parse reads platform names.
func anyCase(words ...string) string {
	alts := make([]string, len(words))
	for i, w := range words {
		var b strings.Builder
		for _, r := range w {
			lo, up := strings.ToLower(string(r)), strings.ToUpper(string(r))
			if lo == up {
				b.WriteString(lo)
			} else {
				b.WriteString("[" + lo + up + "]")
			}
		}
		alts[i] = b.String()
	}
	return "^(" + strings.Join(alts, "|") + ")$"
}

// PlatformPattern matches the platform names in any letter case, as
// policy.ParsePlatform reads them (for JSON Schemas).
func PlatformPattern() string { return anyCase(platformStrings()...) }

func platformStrings() []string {
	out := make([]string, len(policy.Platforms))
	for i, p := range policy.Platforms {
		out[i] = string(p)
	}
	return out
}

func schemaDoc() map[string]any {
	plats := platformStrings()
	limit := map[string]any{"$ref": "#/$defs/limit"}
	perPlatformProps := map[string]any{
		"default": map[string]any{"$ref": "#/$defs/limit",
			"description": "Instance cap of every platform not named here. Left out: no cap."},
	}
	for _, p := range plats {
		perPlatformProps[p] = map[string]any{"$ref": "#/$defs/limit", "description": "Instance cap of " + p + "."}
	}
	atLeastOne := map[string]any{"type": "integer", "minimum": 1}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "imload policy",
		"description":          "A multi-device login policy: which of a user's sessions a new login displaces (docs/POLICY.md). A limit the file does not give is no limit. Unknown keys are errors.",
		"type":                 "object",
		"required":             []string{"name"},
		"additionalProperties": false,
		"properties": map[string]any{
			"name":        map[string]any{"type": "string", "minLength": 1, "description": "Name of the policy, shown in reports. Required."},
			"description": map[string]any{"type": "string", "description": "Free text describing the policy."},
			"per_platform": map[string]any{
				"type":                 "object",
				"description":          "Instance caps per platform (platform names in any letter case); default caps the platforms not named. Left out: no per-platform cap.",
				"properties":           perPlatformProps,
				"patternProperties":    map[string]any{anyCase(append([]string{"default"}, plats...)...): limit},
				"additionalProperties": false,
			},
			"groups": map[string]any{
				"type":        "array",
				"description": "Sets of platforms that share limits. Left out: none.",
				"items":       map[string]any{"$ref": "#/$defs/group"},
			},
			"replace_same_instance": map[string]any{"type": "boolean", "default": false,
				"description": "A login from an instance that is already online displaces that session (an XMPP resource conflict). false: such a login is a repeat login of the same instance and displaces nothing."},
			"on_conflict": map[string]any{"enum": []string{policy.KickOld.String(), policy.RefuseNew.String()}, "default": policy.KickOld.String(),
				"description": "What a login that would push sessions out does: kick_old kicks them (the newest login wins), refuse_new refuses the login (code 1008) and keeps them."},
		},
		"$defs": map[string]any{
			"limit": map[string]any{"type": "integer", "minimum": 0, "description": "A cap on sessions; 0: no cap."},
			"platform": map[string]any{"type": "string", "pattern": PlatformPattern(), "examples": plats,
				"description": "A platform, in any letter case: " + strings.Join(plats, ", ") + "."},
			"group": map[string]any{
				"type":                 "object",
				"description":          "Platforms sharing limits: max_platforms caps the distinct platforms of the group online together (1 makes them exclusive), max_instances its sessions. Give at least one of them, 1 or more.",
				"required":             []string{"name", "platforms"},
				"additionalProperties": false,
				"properties": map[string]any{
					"name":          map[string]any{"type": "string", "minLength": 1, "description": "Name of the group, unique in the policy."},
					"platforms":     map[string]any{"type": "array", "minItems": 1, "uniqueItems": true, "items": map[string]any{"$ref": "#/$defs/platform"}, "description": "The group's platforms, each once."},
					"max_platforms": map[string]any{"$ref": "#/$defs/limit", "description": "How many distinct platforms of the group may be online together; at most the number of its platforms; 0: no cap."},
					"max_instances": map[string]any{"$ref": "#/$defs/limit", "description": "How many sessions the group's platforms may hold together; 0: no cap."},
				},
				"anyOf": []any{
					map[string]any{"required": []string{"max_platforms"}, "properties": map[string]any{"max_platforms": atLeastOne}},
					map[string]any{"required": []string{"max_instances"}, "properties": map[string]any{"max_instances": atLeastOne}},
				},
			},
		},
	}
}
