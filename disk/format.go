package disk

import (
	"context"
	"fmt"
	"time"

	"github.com/heatstrap/heatstrap/command"
)

// The destructive helpers. Callers decide first (Decide), then Recheck,
// then call one of these; none of them forces: if a tool itself still sees
// a signature, it refuses and the step fails instead of destroying it.

// WipeAll erases every signature on dev (wipefs -a): filesystem superblocks,
// partition tables, LVM labels. Data blocks stay, but nothing finds them.
func WipeAll(ctx context.Context, run command.Runner, dev string) error {
	_, err := runTool(ctx, run, command.Cmd{Name: "wipefs", Args: []string{"--all", dev}})
	return err
}

// MaxXFSLabel is the longest label mkfs.xfs accepts.
const MaxXFSLabel = 12

// MakeXFS creates an xfs filesystem for overlay2: ftype=1 (d_type, which
// overlay2 requires; the default since xfsprogs 4.x, stated to be sure).
// Never -f: mkfs.xfs refuses a device with a signature, a last guard for
// anything the probe missed. -K skips discarding the whole device, which
// on a large Cinder (e.g. Ceph) volume can take minutes.
func MakeXFS(ctx context.Context, run command.Runner, dev, label string) error {
	if label == "" || len(label) > MaxXFSLabel {
		return fmt.Errorf("xfs label %q: must be 1 to %d characters", label, MaxXFSLabel)
	}
	_, err := runTool(ctx, run, command.Cmd{Name: "mkfs.xfs", Args: []string{"-q", "-K", "-L", label, "-n", "ftype=1", dev}})
	return err
}

// MakePV makes dev an LVM physical volume. No --yes/-f: pvcreate asks
// before overwriting a signature, and with stdin at /dev/null the answer
// is no.
func MakePV(ctx context.Context, run command.Runner, dev string) error {
	_, err := runTool(ctx, run, command.Cmd{Name: "pvcreate", Args: []string{dev}})
	return err
}

// MakeVG creates volume group vg on the physical volume dev.
func MakeVG(ctx context.Context, run command.Runner, vg, dev string) error {
	_, err := runTool(ctx, run, command.Cmd{Name: "vgcreate", Args: []string{vg, dev}})
	return err
}

// Settle asks udev to re-read dev (new UUID and label for the
// /dev/disk/by-* links and systemd's device units) and waits for it. Only
// call it where udevd runs. A bare `udevadm settle` could return before the
// change event was even queued; the trigger queues it first.
func Settle(ctx context.Context, run command.Runner, dev string) error {
	if _, err := runTool(ctx, run, command.Cmd{Name: "udevadm", Args: []string{"trigger", "--action=change", dev}, Timeout: 10 * time.Second}); err != nil {
		return err
	}
	_, err := runTool(ctx, run, command.Cmd{Name: "udevadm", Args: []string{"settle", "--timeout=10"}, Timeout: 15 * time.Second})
	return err
}

// TriggerBlock asks udev to replay the block devices' events, so missing
// /dev/disk/by-id links are (re)created, and waits for it (Mitaka ran a
// bare `udevadm trigger` between its tries).
func TriggerBlock(ctx context.Context, run command.Runner) error {
	if _, err := runTool(ctx, run, command.Cmd{Name: "udevadm", Args: []string{"trigger", "--action=change", "--subsystem-match=block"}, Timeout: 10 * time.Second}); err != nil {
		return err
	}
	_, err := runTool(ctx, run, command.Cmd{Name: "udevadm", Args: []string{"settle", "--timeout=5"}, Timeout: 10 * time.Second})
	return err
}
