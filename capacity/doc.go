// Package capacity searches the largest load a target sustains within its
// SLO (a scenario's thresholds) and explains the answer.
//
// The search (Search) grows the load exponentially from From until a step
// fails, then bisects between the last passing and the first failing load
// until they are within Precision. Each step is measured by the caller's
// Measure (package caprun runs a fresh warm-up and measured window of the
// scenario; tests use Simulated, a deterministic target without sockets).
// The schedule of steps depends only on the steps' verdicts, so the same
// seed gives the same steps while the target answers the same.
//
// A step at which imload itself was the bottleneck (package health: its
// scheduler lag, its send lag or its CPU over the limits) is generator
// bound: the search stops there and the answer is a lower bound, "capacity
// ≥ X: bound by the generator", never a target capacity imload did not
// measure.
//
// Explain adds what the steps say beyond the answer: the knee of the
// latency curve (Kneedle), a Universal Scalability Law fit (σ, κ, the
// predicted peak and R²; gonum's Nelder–Mead) and a Little's-law check of
// each step (logins in flight against rate × latency).
//
// Window measures a step from its events (kept by Events): which
// operations count, a recorder over the window, the logins in flight,
// their mean latency and the Little's-law check; Step.SetGenerator adds
// the health report over the window. Package caprun runs the steps.
//
// capacity imports only clock, event, health and metrics of imload.
package capacity
