// Package target opens what a scenario's target section names and hands the
// run what it needs of it: the driver the devices reach it through, the
// embedded reference server when the scenario names no URL (or a driver that
// calls it in process), the tickets the devices log in with, and the traits
// the kickout oracle judges it by.
//
// Drivers are registered by name in drivers.go, the one table the run reads.
// Package scenario keeps the same names (with how each stands to
// target.url) for validation and the JSON Schema, since it must not import
// the drivers; a test here proves the two lists agree. A new driver touches
// its own package, drivers.go here, scenario/drivers.go and its name's
// constant in scenario/validate.go (docs/ARCHITECTURE.md, "Adding a driver").
package target
