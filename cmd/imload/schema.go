package main

import (
	"github.com/imload/imload/scenario"
	"github.com/spf13/cobra"
)

// newSchemaCmd prints the JSON Schema of scenario files.
func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of scenario files, for editors",
		Long: "Schema prints the JSON Schema of imload scenario files. Save it and point\n" +
			"an editor's YAML language server at it, e.g. with the first line\n" +
			"  # yaml-language-server: $schema=imload-scenario.schema.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := scenario.Schema()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}
