package main

import "github.com/spf13/cobra"

// newValidateCmd is a placeholder until the validate command is built.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{Use: "validate", Hidden: true}
}
