// Package scenario is the YAML scenario of an imload run: its Go types, Load
// and Parse with errors that name file:line:col and the field, validation,
// defaults, durations, duration distributions (constant, uniform,
// exponential, lognormal, empirical), weighted platform choice, threshold
// expressions and a JSON Schema for editors.
//
// Decoding walks yaml.v3 nodes, so every error carries the position of the
// node it is about, unknown keys are rejected with the list of allowed keys,
// and defaults are applied only to keys that are absent (an explicit 0 stays
// 0). Load reports every problem it finds at once, as an *Errors.
//
// Of imload's packages it imports only policy (platform and policy names),
// policy/policyfile (policy files), judge (threshold metrics), faults (the
// fault names), compare/tolerance (a compare section) and internal/yamlpos:
// it must not import server, agent, driver, check, report, metrics or cmd, so
// that every part of the harness can depend on it.
package scenario
