package main

import (
	"fmt"
	"strings"

	"github.com/google/shlex"
	"github.com/spf13/pflag"

	"github.com/imload/imload/run"
	"github.com/imload/imload/scenario"
)

// stormFlags are the run's flags for storms: a reconnect preset over the
// scenario's, and the operator's restart command for an external target
// (run only with --allow-exec).
type stormFlags struct {
	reconnect  string
	restartCmd string
	allowExec  bool
}

func (s *stormFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.reconnect, "reconnect", "", "reconnect preset for every device, over the scenario's behaviour.reconnect (one of "+strings.Join(scenario.ReconnectPresetNames(), ", ")+")")
	f.StringVar(&s.restartCmd, "restart-cmd", "", "command that restarts an external target for a restart_server event (split like a shell would; needs --allow-exec)")
	f.BoolVar(&s.allowExec, "allow-exec", false, "allow --restart-cmd to run (a scenario alone never runs a command)")
}

// apply sets the preset on sc and the restart command on o.
func (s *stormFlags) apply(sc *scenario.Scenario, o *run.Options) error {
	if s.reconnect != "" {
		if _, ok := scenario.ReconnectPresets[s.reconnect]; !ok {
			return fmt.Errorf("--reconnect %q: unknown preset (allowed: %s)", s.reconnect, strings.Join(scenario.ReconnectPresetNames(), ", "))
		}
		r := &scenario.Reconnect{}
		if old := sc.Behaviour.Reconnect; old != nil {
			r.FirstHeartbeatJitter, r.Attempts = old.FirstHeartbeatJitter, old.Attempts
		}
		scenario.ApplyReconnectPreset(r, s.reconnect, func(string) bool { return false })
		sc.Behaviour.Reconnect = r
	}
	if s.restartCmd != "" {
		args, err := shlex.Split(s.restartCmd)
		if err != nil || len(args) == 0 {
			return fmt.Errorf("--restart-cmd %q: cannot split it into a command: %v", s.restartCmd, err)
		}
		if !s.allowExec {
			return fmt.Errorf("--restart-cmd needs --allow-exec: imload runs an operator's command only when told so")
		}
		o.RestartCommand = args
	}
	o.AllowExec = s.allowExec
	return nil
}
