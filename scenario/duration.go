package scenario

import (
	"encoding/json"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// durationHelp is the hint every duration error carries.
const durationHelp = "expected a duration like 250ms, 2s or 1h30m (units: ns, us, ms, s, m, h)"

// ParseDuration reads a duration as scenarios write it: Go's syntax
// ("250ms", "2s", "1h30m"); "0" is the only number without a unit.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s, got %q", durationHelp, s)
	}
	return Duration(d), nil
}

// String formats the duration as "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// Seconds returns the duration in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

func (d *Duration) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		dec.badAt(n, path, "%s, got %s", durationHelp, describe(n))
		return
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		if f, ok := number(n); ok && f == 0 {
			*d = 0
			return
		}
		dec.badAt(n, path, "%s, got %s (a number needs a unit)", durationHelp, n.Value)
		return
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		dec.badAt(n, path, "%v", err)
		return
	}
	*d = v
}

// UnmarshalYAML reads "250ms", "2s", "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	dec := newDecoder("")
	dec.decode(n, reflectValue(d), "")
	return dec.errs.finish()
}

// MarshalYAML writes the duration as "1m30s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as a string, "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string, or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var ns int64
		if err2 := json.Unmarshal(b, &ns); err2 != nil {
			return fmt.Errorf("%s, got %s", durationHelp, b)
		}
		*d = Duration(ns)
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
