package disk

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/heatstrap/heatstrap/command"
)

// packages names what ships each program the disk code runs. Images
// differ: Debian's cloud images, for one, have no xfsprogs or lvm2.
var packages = map[string]string{
	"blkid":     "util-linux",
	"wipefs":    "util-linux",
	"mkfs.xfs":  "xfsprogs",
	"pvs":       "lvm2",
	"pvcreate":  "lvm2",
	"vgcreate":  "lvm2",
	"lvs":       "lvm2",
	"lvcreate":  "lvm2",
	"lvconvert": "lvm2 and thin-provisioning-tools",
	"udevadm":   "udev (systemd)",
}

// runTool runs c; when the program is missing, the error says which
// package to install into the image.
func runTool(ctx context.Context, run command.Runner, c command.Cmd) ([]byte, error) {
	out, err := run.Run(ctx, c)
	if err != nil && errors.Is(err, exec.ErrNotFound) {
		pkg := packages[c.Name]
		if pkg == "" {
			pkg = "the package that provides it"
		}
		err = fmt.Errorf("%w; install %s in the image", err, pkg)
	}
	return out, err
}
