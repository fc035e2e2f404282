package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imload/imload/policy"
)

// policyNames lists the policy names a scenario may give.
// TODO(scenario): take the names of presets from policy.Lookup once policy
// has it; until then the four Tencent console policies are known.
var policyNames = []string{policy.SinglePlatform, policy.DualPlatform, policy.TriplePlatform, policy.MultiPlatform}

// knownPolicy reports whether name is a policy name (not a file).
func knownPolicy(name string) bool { return slices.Contains(policyNames, name) }

// looksLikePath reports whether a policy value is meant as a file path.
func looksLikePath(s string) bool {
	ext := strings.ToLower(filepath.Ext(s))
	return strings.ContainsAny(s, `/\`) || ext == ".yaml" || ext == ".yml" || ext == ".json"
}

// resolvePolicyFile returns the path of a policy file named relative to the
// scenario file, or an error saying what is wrong.
func resolvePolicyFile(scenarioFile, p string) (string, error) {
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(filepath.Dir(scenarioFile), p)
	}
	st, err := os.Stat(full)
	if err != nil {
		return "", fmt.Errorf("policy file %s not found (a relative path is relative to the scenario file)", full)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("policy file %s is not a regular file", full)
	}
	// TODO(scenario): load and check the file with policy.LoadFile once
	// policy has it.
	return full, nil
}

func isRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// LoadPolicy returns the policy the target names: a Tencent console policy
// with the target's instance limits, or the policy file (PolicyFile).
func (t *Target) LoadPolicy() (*policy.Policy, error) {
	if t.PolicyFile != "" {
		return nil, fmt.Errorf("target.policy: policy files (%s) need policy.LoadFile, not available yet", t.PolicyFile)
	}
	name := t.Policy
	if name == "" {
		name = DefaultPolicy
	}
	pol, err := policy.Tencent(name, t.Instances, t.WebInstances)
	if err != nil {
		return nil, fmt.Errorf("target.policy: %w", err)
	}
	return pol, nil
}
