// Package report renders a results file (package results) for people and for
// other tools:
//
//   - WriteText: the terminal summary (results.WriteSummary), the kickout
//     oracle's verdicts and, when present, the MAU strategy comparison.
//   - WriteHTML / WriteHTMLFile: one self-contained HTML page with charts of
//     latency over time, the percentile spectrum, instances online and
//     logins per second, errors, kicks, and the tables of thresholds, oracle
//     verdicts with example timelines, MAU strategies and run metadata. The
//     chart options are built with go-echarts; the ECharts library itself
//     (assets/echarts.min.js, fetched by scripts/vendor-echarts) is embedded
//     and inlined, so the page opens with no network.
//   - WritePercentiles / WriteHgrmDir: HdrHistogram percentile-distribution
//     files (.hgrm, values in milliseconds) per operation and platform.
//   - WriteCSV: the per-second series as CSV.
//
// Files are written atomically (temporary file in the same directory,
// synced, renamed).
//
// report reads results, metrics, check and mau; it must not import server,
// agent or driver (mau reaches driver's interfaces on its own; report uses
// none of them), and it never talks to a target.
package report
