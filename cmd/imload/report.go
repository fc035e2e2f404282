package main

import (
	"fmt"

	"github.com/imload/imload/report"
	"github.com/imload/imload/results"
	"github.com/spf13/cobra"
)

// newReportCmd renders a results file: the terminal summary, or files for
// browsers and other tools.
func newReportCmd() *cobra.Command {
	var htmlOut, hgrmDir, csvOut string
	cmd := &cobra.Command{
		Use:   "report RESULTS.json",
		Short: "Render a results file: terminal summary, HTML page, .hgrm percentile files, per-second CSV",
		Long: "Report reads a results file written by `imload run`. Without flags it prints\n" +
			"the terminal summary with the kickout oracle's verdicts (and the MAU\n" +
			"strategies when the file has them). With flags it writes files instead:\n" +
			"  --html FILE  one self-contained HTML page with charts (opens with no network)\n" +
			"  --hgrm DIR   HdrHistogram percentile files per operation and platform (ms)\n" +
			"  --csv FILE   the per-second series as CSV",
		Example: "  imload report results.json\n  imload report results.json --html report.html --hgrm hgrm/ --csv series.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			for _, o := range []struct{ flag, path string }{{"--html", htmlOut}, {"--csv", csvOut}} {
				if o.path != "" {
					if err := outputDir(o.flag, o.path); err != nil {
						return err
					}
				}
			}
			f, err := results.ReadFile(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if htmlOut == "" && hgrmDir == "" && csvOut == "" {
				return report.WriteText(out, f)
			}
			if htmlOut != "" {
				if err := report.WriteHTMLFile(htmlOut, f); err != nil {
					return withCode(exitFailed, fmt.Errorf("--html: %w", err))
				}
				fmt.Fprintf(out, "html: %s\n", htmlOut)
			}
			if hgrmDir != "" {
				paths, err := report.WriteHgrmDir(hgrmDir, f.Metrics)
				if err != nil {
					return withCode(exitFailed, fmt.Errorf("--hgrm: %w", err))
				}
				fmt.Fprintf(out, "hgrm: %d files in %s\n", len(paths), hgrmDir)
			}
			if csvOut != "" {
				if err := report.WriteCSVFile(csvOut, f.Metrics); err != nil {
					return withCode(exitFailed, fmt.Errorf("--csv: %w", err))
				}
				fmt.Fprintf(out, "csv: %s\n", csvOut)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&htmlOut, "html", "", "write the HTML report to `FILE`")
	fl.StringVar(&hgrmDir, "hgrm", "", "write percentile distributions (.hgrm) into `DIR`")
	fl.StringVar(&csvOut, "csv", "", "write the per-second series as CSV to `FILE`")
	return cmd
}
