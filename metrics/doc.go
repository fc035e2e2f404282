// Package metrics is the recorder of a run: it consumes the events devices
// emit (it is an event.Sink) and keeps what the reports and thresholds need.
//
// What it keeps:
//   - per operation (connect, login, logout, resume, heartbeat) and platform:
//     counts by outcome (ok, failed, timed out, cancelled: cut off by the
//     run's end, in no error rate), failed operations by error code with
//     their reasons (the distinct messages with counts, the top MaxReasons
//     and an "other" count; see Reasons), and an HDR histogram of latency. Every outcome is recorded in the
//     histogram, timeouts at the latency the device waited, so its count
//     always equals the attempts and a slow target cannot hide in a failure
//     count. Latency is Event.Latency, which devices measure from the
//     intended start, so open-model runs have no coordinated omission.
//   - per platform: kicks, and a "kick_notice" histogram of the delay from
//     displacement to notice when the device knows it; counts of the other
//     things a device suffers or does (sig_expired, disconnect, app_kill,
//     switch_user, misbehaving, online_at_end).
//   - per second (by Event.At, seconds counted from the start truncated to a
//     whole second so that shards align): per operation the ok, failed and
//     timed-out and cancelled counts and the exact max and sum of latency; for the
//     operations chosen with WithSeriesHistograms (login by default) a small
//     HDR histogram per second with two significant digits, which merges
//     exactly and gives p50/p99 per second; per-second counts of the other
//     event kinds; and the number of instances online, derived from the
//     events (online after login ok or resume ok; offline after logout,
//     kicked, sig_expired, disconnect, app_kill or switch_user, whose UserID
//     must name the account being left), as the maximum and the end value of
//     each second.
//
// Observe is called from thousands of goroutines. The recorder holds N shards,
// each with its own mutex, chosen by a hash of the device ID, so one device's
// events always meet in one shard and no global lock is taken; the online
// count is a single atomic word. Histograms are HdrHistogram's sparse
// PackedHistogram, which holds only populated buckets: a shard's histograms
// stay within a few kilobytes each and in cache (a dense one is 184 KB at
// 1 µs..1 h with three digits, which across shards, operations and platforms
// made recording memory-bound). Observe allocates nothing in steady state:
// histograms, buckets and per-second slots are created on first use. Snapshot merges
// the shards into a Snapshot: a value the recorder never touches again,
// serialisable to JSON (histograms in the standard V2 compressed encoding,
// base64), that merges exactly with other snapshots, and answers queries
// (Op, OpPlatform, KickDelay, EventCount, Errors, OnlineMax, OnlineEnd) from
// which judge/eval answers the threshold metrics.
//
// metrics imports event, policy and clock only; it must not import agent,
// server, driver, check or report.
package metrics
