package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/internal/yamlpos"
)

// Load reads, decodes and validates the scenario file at path, and applies
// the defaults. Every problem is reported at once in an *Errors whose
// entries read "path:line:col: field: what is wrong (allowed: ...)".
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a scenario from data, and applies the
// defaults. file names the source in errors and is the base for relative
// paths in the scenario (a policy file); it need not exist.
func Parse(data []byte, file string) (*Scenario, error) {
	d := newDecoder(file)
	s := &Scenario{File: file}
	root := d.parse(data)
	if root != nil {
		d.decode(root, reflect.ValueOf(s).Elem(), "")
		if !d.aborted {
			v := &validator{s: s, pos: d}
			v.validate()
		}
	}
	if err := d.errs.finish(); err != nil {
		return nil, err
	}
	applyDefaults(s, func(path string, _ bool) bool { return d.present(path) })
	return s, nil
}

// nodeDecoder is implemented by types that decode themselves from a node,
// reporting problems through the decoder (Duration, Dist).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// decoder walks yaml.v3 nodes into Go values and keeps the position of every
// field it saw, so that validation can report at the node.
type decoder struct {
	file  string
	errs  *Errors
	root  *yaml.Node
	nodes map[string]*yaml.Node // value node of each field path seen
	keys  map[string]*yaml.Node // key node of each mapping entry seen
	bad   map[string]bool       // paths whose value did not decode
	// merges bounds the entries merge keys may bring in, so that nested
	// "<<" aliases cannot blow up.
	merges int
	// aborted stops decoding and validation after a problem that makes the
	// rest of the document meaningless (merge keys over the bound).
	aborted bool
}

// maxMerged is how many entries merge keys may bring into one document.
const maxMerged = 10000

func newDecoder(file string) *decoder {
	return &decoder{
		file:  file,
		errs:  &Errors{},
		nodes: map[string]*yaml.Node{},
		keys:  map[string]*yaml.Node{},
		bad:   map[string]bool{},
	}
}

// parse turns data into the root mapping node, or reports why it cannot.
func (d *decoder) parse(data []byte) (root *yaml.Node) {
	if len(bytes.TrimSpace(data)) == 0 {
		d.errs.add(&Error{File: d.file, Line: 1, Col: 1, Msg: "the file is empty; a scenario needs at least population and phases"})
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc, d); err != nil {
		return nil
	}
	// A second document is a mistake (a stray "---").
	var next yaml.Node
	if err := safeDecode(dec, &next, nil); err == nil {
		d.errs.add(&Error{File: d.file, Line: next.Line, Col: next.Column,
			Msg: "only one YAML document is allowed in a scenario file"})
	} else if !errors.Is(err, io.EOF) {
		d.errs.add(&Error{File: d.file, Line: 1, Col: 1,
			Msg: "only one YAML document is allowed in a scenario file; the next one is invalid too: " + err.Error()})
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.errs.add(&Error{File: d.file, Line: 1, Col: 1, Msg: "the file holds no YAML document"})
		return nil
	}
	root = doc.Content[0]
	d.root = root
	if root.Kind != yaml.MappingNode {
		d.errAt(root, "", "expected a mapping of scenario keys, got %s", describe(root))
		return nil
	}
	return root
}

// safeDecode decodes the next document; a syntax error is reported to d when
// d is not nil. A panic of the YAML parser becomes an error.
func safeDecode(dec *yaml.Decoder, n *yaml.Node, d *decoder) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml parser failed: %v", r)
			if d != nil {
				d.errs.add(&Error{File: d.file, Line: 1, Col: 1, Msg: "cannot parse YAML: " + err.Error()})
			}
		}
	}()
	err = dec.Decode(n)
	if err == nil || d == nil {
		return err
	}
	if errors.Is(err, io.EOF) {
		d.errs.add(&Error{File: d.file, Line: 1, Col: 1, Msg: "the file holds no YAML document"})
		return err
	}
	line, msg := yamlpos.Syntax(err)
	if line == 0 {
		line = 1
	} else if strings.HasPrefix(msg, "did not find expected") {
		msg += " (in the block that starts on this line: check the indentation below it)"
	}
	d.errs.add(&Error{File: d.file, Line: line, Col: 1, Msg: "invalid YAML: " + msg})
	return err
}

// errAt reports a problem at node n for field path.
func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs.add(e)
}

// badAt reports a value that did not decode, and remembers the path so that
// validation does not pile further errors on it.
func (d *decoder) badAt(n *yaml.Node, path, format string, args ...any) {
	d.bad[path] = true
	d.errAt(n, path, format, args...)
}

// present reports whether the field at path was given a non-null value.
func (d *decoder) present(path string) bool {
	n, ok := d.nodes[path]
	return ok && !isNull(n)
}

// node returns the node best describing path: its value node, else the key
// node of the closest enclosing field, else the document root.
func (d *decoder) node(path string) *yaml.Node {
	if n, ok := d.nodes[path]; ok {
		return n
	}
	for p := parentPath(path); ; p = parentPath(p) {
		if k, ok := d.keys[p]; ok {
			return k
		}
		if n, ok := d.nodes[p]; ok {
			return n
		}
		if p == "" {
			return d.root
		}
	}
}

// keyNode returns the key node of the mapping entry at path, or node(path).
func (d *decoder) keyNode(path string) *yaml.Node {
	if k, ok := d.keys[path]; ok {
		return k
	}
	return d.node(path)
}

// isBad reports whether path, an enclosing field or a field inside it failed
// to decode.
func (d *decoder) isBad(path string) bool {
	for b := range d.bad {
		if b == path || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") ||
			strings.HasPrefix(b, path+".") || strings.HasPrefix(b, path+"[") || path == "" {
			return true
		}
	}
	return false
}

// parentPath drops the last element of a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(base, key string) string { return yamlpos.Join(base, key) }

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node holds, for "got ..." in errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return yamlpos.Describe(n)
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		if n.Tag == "!!str" {
			return strconv.Quote(v)
		}
		return v
	}
	return "an unexpected node"
}

// resolve follows aliases (bounded, so a cycle cannot hang).
func resolve(n *yaml.Node) *yaml.Node { return yamlpos.Resolve(n) }

// entry is one key/value pair of a mapping, after merge keys are expanded.
type entry struct {
	key, val *yaml.Node
	merged   bool // came in through a "<<" merge key
}

// entries lists the pairs of mapping n, expanding "<<: *anchor" merges
// (explicit keys override merged ones). visiting holds the mappings being
// expanded, to refuse a mapping that merges itself.
func (d *decoder) entries(n *yaml.Node, path string, depth int, visiting map[*yaml.Node]bool) []entry {
	var merged, own []entry
	if d.aborted {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if v == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			if depth > 8 {
				d.badAt(k, path, "merge keys nest too deep")
				continue
			}
			var srcs []*yaml.Node
			switch v.Kind {
			case yaml.MappingNode:
				srcs = []*yaml.Node{v}
			case yaml.SequenceNode:
				for _, s := range v.Content {
					srcs = append(srcs, resolve(s))
				}
			}
			for _, s := range srcs {
				if s == nil || s.Kind != yaml.MappingNode {
					d.badAt(k, path, "a merge key (<<) needs a mapping or a list of mappings")
					continue
				}
				if visiting[s] {
					d.badAt(k, path, "a merge key (<<) refers to a mapping that contains it")
					continue
				}
				visiting[s] = true
				for _, e := range d.entries(s, path, depth+1, visiting) {
					if d.merges++; d.merges > maxMerged {
						d.aborted = true
						break
					}
					e.merged = true
					merged = append(merged, e)
				}
				delete(visiting, s)
				if d.aborted {
					if depth == 0 {
						d.badAt(k, path, "merge keys (<<) bring in more than %d entries; the rest of the file is not checked", maxMerged)
					}
					return nil
				}
			}
			continue
		}
		own = append(own, entry{key: k, val: v})
	}
	if len(merged) == 0 {
		return own
	}
	out := make([]entry, 0, len(merged)+len(own))
	for _, m := range merged {
		overridden := false
		for _, o := range own {
			if o.key.Value == m.key.Value {
				overridden = true
				break
			}
		}
		if !overridden {
			out = append(out, m)
		}
	}
	return append(out, own...)
}

// mapEntries checks the keys of mapping n (scalars, no duplicates) and
// returns its pairs.
func (d *decoder) mapEntries(n *yaml.Node, path string) []entry {
	es := d.entries(n, path, 0, map[*yaml.Node]bool{n: true})
	seen := map[string]*yaml.Node{}
	out := es[:0]
	for _, e := range es {
		if e.key.Kind != yaml.ScalarNode {
			d.badAt(e.key, path, "keys must be plain names, got %s", describe(e.key))
			continue
		}
		if first, ok := seen[e.key.Value]; ok && !e.merged {
			d.badAt(e.key, joinPath(path, e.key.Value), "duplicate key (first given at line %d)", first.Line)
			continue
		}
		seen[e.key.Value] = e.key
		out = append(out, e)
	}
	return out
}

// yamlName returns the YAML key of a struct field, or "" when it has none.
func yamlName(f reflect.StructField) string {
	if f.PkgPath != "" {
		return ""
	}
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// yamlFields lists the YAML keys of a struct type in declaration order with
// their field indexes.
func yamlFields(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
			index[name] = i
		}
	}
	return names, index
}

var nodeDecoderType = reflect.TypeFor[nodeDecoder]()

// decode stores node n into v, reporting problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n == nil || d.aborted {
		return
	}
	d.nodes[path] = n
	if isNull(n) {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.badAt(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.badAt(n, path, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for _, e := range d.mapEntries(n, path) {
			p := joinPath(path, e.key.Value)
			d.keys[p] = e.key
			val := reflect.New(v.Type().Elem()).Elem()
			d.decode(e.val, val, p)
			m.SetMapIndex(reflect.ValueOf(e.key.Value).Convert(v.Type().Key()), val)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.badAt(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.badAt(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := wholeNumber(n)
		if !ok || v.OverflowInt(i) {
			d.badAt(n, path, "expected a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := wholeNumber(n)
		if !ok || i < 0 || v.OverflowUint(uint64(i)) {
			d.badAt(n, path, "expected a whole number >= 0, got %s", describe(n))
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		f, ok := number(n)
		if !ok {
			d.badAt(n, path, "expected a number, got %s", describe(n))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.badAt(n, path, "must be a finite number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.badAt(n, path, "cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.badAt(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	names, index := yamlFields(v.Type())
	for _, e := range d.mapEntries(n, path) {
		p := joinPath(path, e.key.Value)
		i, ok := index[e.key.Value]
		if !ok {
			d.badAt(e.key, p, "unknown key (allowed: %s)", strings.Join(names, ", "))
			continue
		}
		d.keys[p] = e.key
		d.decode(e.val, v.Field(i), p)
	}
}

// wholeNumber reads an integer scalar; an integral float such as 1e6 counts.
func wholeNumber(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.Tag {
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		return i, err == nil
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// number reads an int or float scalar (YAML's .inf and .nan included).
func number(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.Tag {
	case "!!int":
		if i, ok := wholeNumber(n); ok {
			return float64(i), true
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return f, err == nil
	case "!!float":
		switch strings.ToLower(strings.TrimLeft(n.Value, "+-")) {
		case ".inf":
			if strings.HasPrefix(n.Value, "-") {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		case ".nan":
			return math.NaN(), true
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return f, err == nil
	}
	return 0, false
}

// reflectValue returns the settable value p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
