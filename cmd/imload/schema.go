package main

import (
	"github.com/imload/imload/policy/policyfile"
	"github.com/imload/imload/scenario"
	"github.com/spf13/cobra"
)

// newSchemaCmd prints the JSON Schema of scenario files, or of policy files.
func newSchemaCmd() *cobra.Command {
	var policyFiles bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of scenario files, or of policy files, for editors",
		Long: "Schema prints the JSON Schema of imload scenario files (with --policy:\n" +
			"of policy files, docs/POLICY.md). Save it and point an editor's YAML\n" +
			"language server at it, e.g. with the first line\n" +
			"  # yaml-language-server: $schema=imload-scenario.schema.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			schema := scenario.Schema
			if policyFiles {
				schema = policyfile.Schema
			}
			b, err := schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&policyFiles, "policy", false, "print the schema of policy files instead")
	return cmd
}
