package main

import "github.com/spf13/cobra"

// newServeCmd is a placeholder until the serve command is built.
func newServeCmd() *cobra.Command {
	return &cobra.Command{Use: "serve", Hidden: true}
}
