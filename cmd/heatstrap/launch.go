package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/systemd"
)

// launchUnit is the service cloud-init hands the node to.
const launchUnit = "heatstrap.service"

// forwardedFlags are the global flags a launched run must see as launch
// saw them; HEATSTRAP_* variables do not reach the service (use
// /etc/heatstrap/config.yaml for lasting settings).
var forwardedFlags = []string{"params", "state-dir", "role", "log-format", "log-level", "ca-bundle", "insecure", "config"}

func (a *app) launchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "launch",
		Short: "Install heatstrap.service and start it without waiting: the cloud-init entry point",
		Long: `Install /etc/systemd/system/heatstrap.service (a oneshot after
network-online.target that runs "heatstrap run", output to the journal and the
console), queue its start and return at once. cloud-final is never kept
waiting, so it cannot dead-lock with units ordered after it (docker on Fedora
Atomic), and the health gates of the run can wait for those units.

Rerun later with "systemctl start heatstrap" (the whole plan, resuming) or
"heatstrap run --step NAME". Inspect with "heatstrap status",
"systemctl status heatstrap" and "journalctl -u heatstrap".

With --root the unit is only written into the tree (an image being built).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			if err := a.launch(c.Context(), c); err != nil {
				return &exitError{exitFailed, err}
			}
			return nil
		},
	}
}

func (a *app) launch(ctx context.Context, c *cobra.Command) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if a.settings.Live() && !a.files.Exists(a.settings.AgentPath) {
		return fmt.Errorf("agent_path %s does not exist: install heatstrap there (the units run it) or set agent_path in %s", a.settings.AgentPath, "/etc/heatstrap/config.yaml")
	}
	execStart, err := runCommandLine(a.settings.AgentPath, c)
	if err != nil {
		return err
	}
	var backend systemd.Backend = systemd.NewOffline(a.files)
	if a.settings.Live() {
		live, err := systemd.NewLive(ctx, a.files, a.log)
		if err != nil {
			return err
		}
		defer live.Close()
		backend = live
	}
	m := backend.For(a.files, "launch")
	if _, err := systemd.WriteUnit(a.files, m, launchUnit, launchOptions(execStart)); err != nil {
		return err
	}
	if !a.settings.Live() {
		fmt.Fprintf(a.stdout, "wrote %s into %s (offline: not started)\n", launchUnit, a.files.Root())
		return nil
	}
	// "Be running": a start when idle, nothing while a run is under way.
	if err := m.Start(ctx, launchUnit); err != nil {
		return err
	}
	if err := backend.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s queued; follow it with: journalctl -u heatstrap -f; then: heatstrap status\n", launchUnit)
	return nil
}

// launchOptions is heatstrap.service. No [Install]: cloud-init launches it
// once per instance, as Mitaka's parts ran once; the units it sets up are
// enabled and come back on reboot by themselves.
func launchOptions(execStart string) []*unit.UnitOption {
	o := func(section, name, value string) *unit.UnitOption {
		return &unit.UnitOption{Section: section, Name: name, Value: value}
	}
	return []*unit.UnitOption{
		o("Unit", "Description", "heatstrap: bootstrap this Kubernetes node from heat-params and report to Heat"),
		o("Unit", "Wants", "network-online.target"),
		// Not After=cloud-final.service: that would hold the run back for
		// no reason; launch returns at once, so cloud-final ends anyway.
		o("Unit", "After", "network-online.target"),
		o("Service", "Type", "oneshot"),
		o("Service", "ExecStart", execStart),
		// The run's lines go to the console (a VM's serial log is where an
		// operator without a shell looks first); the journal gets them from
		// the agent itself, as entries with STEP= and RESULT= fields, so
		// capturing stdout there too would show every line twice.
		o("Service", "StandardOutput", "tty"),
		o("Service", "StandardError", "tty"),
		o("Service", "TTYPath", "/dev/console"),
		// "configure-etcd (3/19)" in `systemctl status heatstrap`.
		o("Service", "NotifyAccess", "main"),
		// The agent keeps its own deadline (before Heat's timeout) and
		// reports FAILURE when it passes; a kill by systemd would not.
		o("Service", "TimeoutStartSec", "infinity"),
	}
}

// runCommandLine is ExecStart=: "<agent> run" plus the global flags that
// were given to launch, quoted for systemd's command-line parser.
func runCommandLine(agent string, c *cobra.Command) (string, error) {
	args := []string{agent, "run"}
	for _, name := range forwardedFlags {
		f := c.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		args = append(args, "--"+name+"="+f.Value.String())
	}
	for i, s := range args {
		q, err := execQuote(s)
		if err != nil {
			return "", err
		}
		args[i] = q
	}
	return strings.Join(args, " "), nil
}

// execQuote makes s one word of an ExecStart= line as it is: quoted when
// it holds blanks or quotes, with $ and % doubled so systemd expands
// neither variables nor specifiers in it.
func execQuote(s string) (string, error) {
	if strings.ContainsAny(s, "\n\r\x00") {
		return "", fmt.Errorf("launch: %q holds a newline; refusing to write it into %s", s, launchUnit)
	}
	s = strings.NewReplacer("$", "$$", "%", "%%").Replace(s)
	if !strings.ContainsAny(s, " \t\"'\\;") {
		return s, nil
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}
