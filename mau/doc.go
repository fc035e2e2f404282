// Package mau simulates a month (or more) of real app usage and shows what a
// client's login strategy costs in MAU, DAU, logins and money.
//
// The pieces, one role a file:
//   - Calendar maps instants to simulated days and real calendar dates, so a
//     compressed day (day: 2s) still yields months of real lengths.
//   - Model is the seeded usage model: population segments, and for every
//     (user, day) the app sessions that user has, independent of strategy.
//   - Strategy turns a user's sessions into client actions (login, resume,
//     logout, close); presets eager, lazy, lazy-logout, background-keep and
//     custom ones built from options.
//   - Counter is the harness-side accounting fed with successful logins and
//     reconnects: MAU per month, DAU per day, logins per day, peak online.
//   - Pricing turns MAU into money with graduated tiers.
//   - Runner executes one strategy against a target through driver.Driver
//     on a time-ordered schedule with a bounded, user-sharded worker pool;
//     Project does the same accounting without a target.
//   - Report holds the per-strategy results, merges shards and prints the
//     strategies side by side; CrossCheck compares the harness's counts with
//     the server's own statistics.
//
// Billing semantics follow SPEC.md section 8: a user counts in a month's MAU
// once a login succeeds in that calendar month; reconnects (resumes) never
// count.
//
// mau must not import server, agent, check or report: it talks to targets
// only through driver, and the run command feeds it the server's numbers.
package mau
