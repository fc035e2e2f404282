package main

import "github.com/spf13/cobra"

// newSigCmd is a placeholder until the sig command is built.
func newSigCmd() *cobra.Command {
	return &cobra.Command{Use: "sig", Hidden: true}
}
