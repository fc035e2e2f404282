// Package play plays a scenario's events (docs/STORMS.md) on the run's
// clock, beside the pacer: each strikes at its time, in time order (the
// file's order for ties). A restart calls the embedded server's Restart,
// or for an external target the operator's restart command, which runs only
// when the run allows it (--allow-exec); drops and partitions go through the
// devices' transports (driver/netem), ticket expiry through the embedded
// server, and a surge spawns its arrivals through the run's spawn func.
// The devices an event hits are a share picked by a hash of the seed, the
// event and the device, so the same seed hits the same devices. Every event
// is marked on a storm.Tracker, whose figures the run reads at its end.
//
// The run passes in what the player acts on (Server, Net, Spawn, the
// clock): play imports neither server, agent nor check (agent is below it
// only through shard, whose numbering of devices a surge uses).
package play
