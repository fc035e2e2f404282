package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fieldPaths lists the YAML field paths of t under base (no list indexes),
// with their types. Dist fields are listed under "dist." as the schema's
// $defs holds them.
func fieldPaths(t reflect.Type, base string, out map[string]reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return
	}
	if t == distType && base != "dist" {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		p := joinPath(base, name)
		out[p] = t.Field(i).Type
		fieldPaths(t.Field(i).Type, p, out)
	}
}

func allFieldPaths() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	fieldPaths(reflect.TypeFor[Scenario](), "", out)
	fieldPaths(distType, "dist", out)
	return out
}

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

// schemaAt finds the schema of a field path, following $ref, items and
// additionalProperties.
func schemaAt(root map[string]any, path string) (map[string]any, error) {
	cur := root
	if rest, ok := strings.CutPrefix(path, "dist."); ok {
		cur = distObjectSchema(root)
		path = rest
	}
	for _, name := range strings.Split(path, ".") {
		cur = deref(root, cur)
		if it, ok := cur["items"].(map[string]any); ok && cur["type"] == "array" {
			cur = deref(root, it)
		}
		props, _ := cur["properties"].(map[string]any)
		next, ok := props[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: no property %q", path, name)
		}
		cur = next
	}
	return cur, nil
}

// distObjectSchema merges the properties of the mapping forms of Dist.
func distObjectSchema(root map[string]any) map[string]any {
	props := map[string]any{}
	dist := root["$defs"].(map[string]any)["dist"].(map[string]any)
	for _, f := range dist["oneOf"].([]any) {
		if p, ok := f.(map[string]any)["properties"].(map[string]any); ok {
			for k, v := range p {
				if _, seen := props[k]; !seen || k != "dist" {
					props[k] = v
				}
			}
		}
	}
	return map[string]any{"type": "object", "properties": props}
}

func deref(root, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		name := strings.TrimPrefix(ref, "#/$defs/")
		s = root["$defs"].(map[string]any)[name].(map[string]any)
	}
}

// TestSchemaCoversEveryField: every yaml field of the Go types appears in
// the schema with a description.
func TestSchemaCoversEveryField(t *testing.T) {
	root := loadSchema(t)
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", root["$schema"])
	}
	for p := range allFieldPaths() {
		s, err := schemaAt(root, p)
		if err != nil {
			t.Error(err)
			continue
		}
		if p == "dist.dist" {
			continue // a const in each form; documented in the dist $def
		}
		if d, _ := s["description"].(string); d == "" {
			t.Errorf("%s: no description in the schema", p)
		}
	}
}

// TestFieldDocsMatchTypes: the documentation table names exactly the fields
// of the Go types (plus the element of a list or map field).
func TestFieldDocsMatchTypes(t *testing.T) {
	fields := allFieldPaths()
	docs := fieldDocs()
	for p := range fields {
		if _, ok := docs[p]; !ok {
			t.Errorf("field %s has no entry in fieldDocs", p)
		}
	}
	for p := range docs {
		if _, ok := fields[p]; ok {
			continue
		}
		base, elem, _ := strings.Cut(p, ".items")
		if elem == "" && strings.HasSuffix(p, ".items") {
			if ft, ok := fields[base]; ok && ft.Kind() == reflect.Slice {
				continue
			}
		}
		if base, ok := strings.CutSuffix(p, ".additionalProperty"); ok {
			if ft, ok := fields[base]; ok && ft.Kind() == reflect.Map {
				continue
			}
		}
		t.Errorf("fieldDocs has %s, which is no field", p)
	}
}

// valueAt returns the value of a field path in a loaded scenario.
func valueAt(v reflect.Value, path string) (reflect.Value, bool) {
	for _, name := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return v, false
		}
		_, index := yamlFields(v.Type())
		i, ok := index[name]
		if !ok {
			return v, false
		}
		v = v.Field(i)
	}
	return v, true
}

func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaDefaultsMatchLoad: every default the schema shows is what Load
// puts into a scenario that leaves the field out, and every field Load
// fills in has its default shown.
func TestSchemaDefaultsMatchLoad(t *testing.T) {
	s, err := Load("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := loadSchema(t)
	given := []string{"population.users", "phases"} // set by minimal.yaml
	describedOnly := []string{"name", "platforms"}  // defaults too rich for "default"; in the description
	for p := range allFieldPaths() {
		if strings.HasPrefix(p, "dist.") || strings.HasPrefix(p, "phases.") || slices.Contains(given, p) {
			continue
		}
		v, ok := valueAt(reflect.ValueOf(s).Elem(), p)
		if !ok {
			continue // inside an absent optional section (mau)
		}
		fs, err := schemaAt(root, p)
		if err != nil {
			t.Fatal(err)
		}
		def, hasDef := fs["default"]
		switch {
		case hasDef:
			if got := asJSON(t, v.Interface()); !reflect.DeepEqual(got, def) {
				t.Errorf("%s: schema default %v, Load gives %v", p, def, got)
			}
		case !v.IsZero() && v.Kind() != reflect.Struct && !slices.Contains(describedOnly, p):
			t.Errorf("%s: Load fills in %v but the schema shows no default", p, v.Interface())
		}
	}
}

// TestSchemaAcceptsGoodFiles validates the good inputs and the repository's
// scenarios against the schema, and checks that it rejects bad ones.
func TestSchemaAcceptsGoodFiles(t *testing.T) {
	root := loadSchema(t)
	good, _ := filepath.Glob("testdata/good/*.yaml")
	repo, _ := filepath.Glob("../scenarios/*.yaml")
	for _, f := range append(good, repo...) {
		t.Run(f, func(t *testing.T) {
			inst := readInstance(t, f)
			if err := validateSchema(root, root, inst, ""); err != nil {
				t.Error(err)
			}
		})
	}
	for _, name := range []string{"unknown_key", "wrong_type", "model_unknown", "dist_extra_param",
		"dist_unknown_kind", "platform_unknown", "bad_duration", "users_missing", "no_phases", "fault_unknown",
		"probability_out", "dist_empirical_no_p100", "driver_unknown", "threshold_not_string",
		"instance_unknown", "xmpp_resource_placeholder", "xmpp_resource_no_instance"} {
		t.Run("bad/"+name, func(t *testing.T) {
			inst := readInstance(t, "testdata/bad/"+name+".yaml")
			if err := validateSchema(root, root, inst, ""); err == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}

func readInstance(t *testing.T, file string) any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// validateSchema checks inst against the subset of JSON Schema 2020-12 that
// Schema uses; an unknown keyword fails, so the subset stays honest.
func validateSchema(root, s map[string]any, inst any, at string) error {
	if n, ok := inst.(int); ok {
		inst = float64(n)
	}
	for kw, arg := range s {
		var err error
		switch kw {
		case "$schema", "$id", "$defs", "title", "description", "default", "examples":
		case "$ref":
			err = validateSchema(root, deref(root, map[string]any{"$ref": arg}), inst, at)
		case "type":
			err = checkType(arg.(string), inst)
		case "properties":
			if m, ok := inst.(map[string]any); ok {
				for k, ps := range arg.(map[string]any) {
					if v, ok := m[k]; ok {
						if err = validateSchema(root, ps.(map[string]any), v, at+"."+k); err != nil {
							break
						}
					}
				}
			}
		case "additionalProperties":
			m, ok := inst.(map[string]any)
			if !ok {
				break
			}
			props, _ := s["properties"].(map[string]any)
			for k, v := range m {
				if _, known := props[k]; known {
					continue
				}
				if b, isBool := arg.(bool); isBool {
					if !b {
						err = fmt.Errorf("%s: unknown property %q", at, k)
					}
				} else {
					err = validateSchema(root, arg.(map[string]any), v, at+"."+k)
				}
				if err != nil {
					break
				}
			}
		case "propertyNames":
			if m, ok := inst.(map[string]any); ok {
				for k := range m {
					if err = validateSchema(root, arg.(map[string]any), k, at+"."+k); err != nil {
						break
					}
				}
			}
		case "required":
			if m, ok := inst.(map[string]any); ok {
				for _, k := range arg.([]any) {
					if _, ok := m[k.(string)]; !ok {
						err = fmt.Errorf("%s: missing %s", at, k)
					}
				}
			}
		case "items":
			if l, ok := inst.([]any); ok {
				for i, v := range l {
					if err = validateSchema(root, arg.(map[string]any), v, fmt.Sprintf("%s[%d]", at, i)); err != nil {
						break
					}
				}
			}
		case "minItems":
			if l, ok := inst.([]any); ok && float64(len(l)) < arg.(float64) {
				err = fmt.Errorf("%s: fewer than %v items", at, arg)
			}
		case "uniqueItems":
			if l, ok := inst.([]any); ok {
				for i := range l {
					for j := i + 1; j < len(l); j++ {
						if reflect.DeepEqual(l[i], l[j]) {
							err = fmt.Errorf("%s: items %d and %d are equal", at, i, j)
						}
					}
				}
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return reflect.DeepEqual(e, inst) }) {
				err = fmt.Errorf("%s: %v not in %v", at, inst, arg)
			}
		case "const":
			if !reflect.DeepEqual(arg, inst) {
				err = fmt.Errorf("%s: %v is not %v", at, inst, arg)
			}
		case "pattern":
			if str, ok := inst.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(str) {
				err = fmt.Errorf("%s: %q does not match %s", at, str, arg)
			}
		case "minLength":
			if str, ok := inst.(string); ok && float64(len(str)) < arg.(float64) {
				err = fmt.Errorf("%s: shorter than %v", at, arg)
			}
		case "minimum", "maximum", "exclusiveMinimum":
			if f, ok := inst.(float64); ok {
				lim := arg.(float64)
				if kw == "minimum" && f < lim || kw == "maximum" && f > lim || kw == "exclusiveMinimum" && f <= lim {
					err = fmt.Errorf("%s: %v breaks %s %v", at, f, kw, lim)
				}
			}
		case "anyOf":
			matched := 0
			for _, sub := range arg.([]any) {
				if validateSchema(root, sub.(map[string]any), inst, at) == nil {
					matched++
				}
			}
			if matched == 0 {
				err = fmt.Errorf("%s: matches none of the anyOf forms", at)
			}
		case "oneOf":
			matched := 0
			for _, sub := range arg.([]any) {
				if validateSchema(root, sub.(map[string]any), inst, at) == nil {
					matched++
				}
			}
			if matched != 1 {
				err = fmt.Errorf("%s: %v matches %d of the oneOf forms, want 1", at, inst, matched)
			}
		default:
			return fmt.Errorf("the test validator does not know keyword %q", kw)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func checkType(typ string, inst any) error {
	ok := false
	switch typ {
	case "object":
		_, ok = inst.(map[string]any)
	case "array":
		_, ok = inst.([]any)
	case "string":
		_, ok = inst.(string)
	case "boolean":
		_, ok = inst.(bool)
	case "number":
		_, ok = inst.(float64)
	case "integer":
		f, isNum := inst.(float64)
		ok = isNum && f == math.Trunc(f)
	}
	if !ok {
		return fmt.Errorf("%v (%T) is not of type %s", inst, inst, typ)
	}
	return nil
}
