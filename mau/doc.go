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
// # Events
//
// The app sessions are devices like any other: with Target.Sink set, each
// worker emits, for the users it owns, the event.Event values agent.Device
// emits for the same calls (same kinds, outcomes, codes, seqs, repeat
// flags and server times): connect, login, resume and logout with their
// outcome; at an app close of a session online an app_kill, or a
// disconnect when the strategy keeps the session in the background (it is
// resumed later); kicked with the displacer it names (by_seq, platform,
// instance) and its latency from the push's server time; kicked for a
// resume answered 6208; disconnect for a transport the target closed.
// Target.Oracle gets the same events for every Target.OracleEvery-th
// user. The runner emits rather than running an agent.Device per app
// session: a Device per user would cost a goroutine or a status machine
// and an allocated event per call, for 21 million logins a month, where
// the worker reuses one event. In simulated time the events carry the
// simulated clock (the target's), which stands still within a tick, so an
// operation's Latency is the wall-clock time of its call (TimingNote).
//
// Billing semantics follow SPEC.md section 8: a user counts in a month's MAU
// once a login succeeds in that calendar month; reconnects (resumes) never
// count.
//
// mau must not import server, agent, check or report: it talks to targets
// only through driver, emits event values, and the run command feeds it the
// server's numbers and judges the oracle's users (Target.Finish).
package mau
