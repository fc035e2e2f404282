package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imload/imload/policy"
	"github.com/imload/imload/policy/policyfile"
)

// knownPolicy reports whether name is a policy name that policy.Lookup
// knows (as opposed to a file).
func knownPolicy(name string) bool { return slices.Contains(policy.Names(), name) }

// looksLikePath reports whether a policy value is meant as a file path.
func looksLikePath(s string) bool {
	ext := strings.ToLower(filepath.Ext(s))
	return strings.ContainsAny(s, `/\`) || ext == ".yaml" || ext == ".yml" || ext == ".json"
}

// policyPath joins a relative policy path to the scenario's directory.
func policyPath(scenarioFile, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(scenarioFile), p)
}

func isRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// resolvePolicyFile returns the path of a policy file named relative to the
// scenario file after checking that it parses, or an error saying what is
// wrong.
func resolvePolicyFile(scenarioFile, p string) (string, error) {
	full := policyPath(scenarioFile, p)
	if !isRegular(full) {
		return "", fmt.Errorf("policy file %s not found (a relative path is relative to the scenario file)", full)
	}
	if _, err := policyfile.LoadFile(full); err != nil {
		return "", fmt.Errorf("invalid policy file: %w", err)
	}
	return full, nil
}

// LoadPolicy returns the policy the target names: a named policy
// (policy.Lookup) with the target's instance limits, or the policy file
// PolicyFile.
func (t *Target) LoadPolicy() (*policy.Policy, error) {
	if t.PolicyFile != "" {
		pol, err := policyfile.LoadFile(t.PolicyFile)
		if err != nil {
			return nil, fmt.Errorf("target.policy: %w", err)
		}
		return pol, nil
	}
	name := t.Policy
	if name == "" {
		name = DefaultPolicy
	}
	pol, err := policy.Lookup(name, t.Instances, t.WebInstances)
	if err != nil {
		return nil, fmt.Errorf("target.policy: %w", err)
	}
	return pol, nil
}
