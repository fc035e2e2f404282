package main

import "github.com/spf13/cobra"

// newRunCmd is a placeholder until the run command is built.
func newRunCmd() *cobra.Command {
	return &cobra.Command{Use: "run", Hidden: true}
}
