// Package judge is the threshold catalogue: every metric a threshold may
// name, its kind and unit, the parser of threshold expressions, and the
// check of a metric name against the catalogue (with the closest known name
// when it is misspelt). Scenario validation reads it, so a threshold that
// names no metric fails at load time; judge/eval answers the same entries
// from a run's results, and the schema and the README list them from it.
//
// judge is a leaf beside scenario: it imports event (the operation and
// event names) and policy (the platforms) only, so that scenario may import
// it. Evaluation needs the recorder's snapshot, the kickout oracle's report,
// the MAU report and a capacity search's answer, so it lives beside it in
// judge/eval.
//
// What the metrics mean, stated once:
//   - Latency statistics (<op>.pN, .min, .max, .mean) are over successful
//     operations only: a login refused at once, or one that timed out, is
//     not a fast or slow login. Failed and timed-out operations have their
//     own counts and rates (<op>.failed.count, <op>.timed_out.count,
//     <op>.errors.count, <op>.errors.rate). A latency threshold of an
//     operation that never succeeded is not judged (it fails).
//   - errors.rate is (failed + timed out) / (attempted - cancelled) over
//     every operation (connects, logins, logouts, resumes, heartbeats);
//     <op>.errors.rate is the same for one operation. Cancelled operations
//     (<op>.cancelled.count: cut off by the run's end or an interrupt, not
//     the target's doing) are in no error rate, neither above nor below the
//     line: attempted = ok + failed + timed out + cancelled. With no
//     completed attempt there is no rate: the threshold is not judged (it
//     fails, saying so).
//   - Units: durations are written with a unit (250ms, 1.5s, 2m) and
//     reported in seconds; error rates as percentages (0.1%) or fractions;
//     counts as whole numbers; rates per second of the run.
//   - kickout.* metrics come from the kickout oracle. A run whose oracle
//     checked no login has judged nothing: every kickout.* threshold fails
//     with "not judged: the kickout oracle checked no login" instead of
//     passing on zero violations.
//   - mau.* metrics are measured by a scenario with a mau section only. A
//     month simulation also records its app sessions' operations and runs
//     the kickout oracle over its sampled users, so the other metrics are
//     judged there too (rates and latencies as mau's TimingNote says).
package judge
