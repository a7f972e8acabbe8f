package disk

import (
	"context"
	"errors"
	"slices"

	"github.com/heatstrap/heatstrap/command"
)

// The probes ProbeDevice runs. They only read: blkid -p opens the device
// read-only, wipefs without --all only lists, pvs only reports.
func blkidCmd(dev string) command.Cmd {
	return command.Cmd{Name: "blkid", Args: []string{"-p", "-o", "export", dev}}
}

func wipefsListCmd(dev string) command.Cmd {
	return command.Cmd{Name: "wipefs", Args: []string{"--json", "--output", "OFFSET,TYPE,UUID,LABEL,USAGE", dev}}
}

func pvsCmd(dev string) command.Cmd {
	return command.Cmd{Name: "pvs", Args: []string{"--reportformat", "json", "-o", "vg_name,pv_mda_count", dev}}
}

// ErrNotProbe is returned by a ReadOnly runner for anything but a probe.
var ErrNotProbe = errors.New("not run: only read-only probes (blkid -p, wipefs listing, pvs) run here")

// ReadOnly lets through exactly the probes of ProbeDevice and refuses any
// other command. `heatstrap plan` runs on a live node with a real command
// runner so that it can show what the step would decide; this keeps a
// slip in a Describe from ever reaching wipefs --all, mkfs or LVM.
func ReadOnly(run command.Runner) command.Runner { return readOnly{run} }

type readOnly struct{ run command.Runner }

func (r readOnly) Run(ctx context.Context, c command.Cmd) ([]byte, error) {
	if len(c.Args) > 0 && c.Stdin == nil {
		dev := c.Args[len(c.Args)-1]
		for _, p := range []command.Cmd{blkidCmd(dev), wipefsListCmd(dev), pvsCmd(dev)} {
			if c.Name == p.Name && slices.Equal(c.Args, p.Args) {
				return r.run.Run(ctx, c)
			}
		}
	}
	return nil, &command.Error{Cmd: c.String(), ExitCode: -1, Err: ErrNotProbe}
}
