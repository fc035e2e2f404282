package main

import "github.com/spf13/cobra"

// newSchemaCmd is a placeholder until the schema command is built.
func newSchemaCmd() *cobra.Command {
	return &cobra.Command{Use: "schema", Hidden: true}
}
