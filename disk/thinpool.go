package disk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/heatstrap/heatstrap/command"
)

// The docker thin pool for devicemapper, made as docker's "direct-lvm"
// recipe makes it (and Fedora's docker-storage-setup did for Mitaka): a
// data LV of 95% of the VG, a metadata LV of 1%, joined by lvconvert.
const (
	ThinPool     = "thinpool"
	thinPoolMeta = "thinpoolmeta"
)

// LV is one logical volume as `lvs` reports it.
type LV struct {
	Name    string `json:"lv_name"`
	SegType string `json:"segtype"`
}

// ParseLVs parses `lvs --reportformat json -o lv_name,segtype VG`.
func ParseLVs(out []byte) ([]LV, error) {
	var doc struct {
		Report []struct {
			LV []LV `json:"lv"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("lvs: unexpected output %q: %w", out, err)
	}
	var lvs []LV
	for _, r := range doc.Report {
		lvs = append(lvs, r.LV...)
	}
	return lvs, nil
}

// ThinPoolSteps is what is left to do to turn vg into a docker thin pool,
// given its logical volumes: a run killed half-way resumes where it
// stopped instead of failing on "already exists". Any other LV in the VG
// is not ours: refused, never removed.
func ThinPoolSteps(vg string, lvs []LV) ([]command.Cmd, error) {
	have := map[string]string{}
	for _, lv := range lvs {
		if lv.Name != ThinPool && lv.Name != thinPoolMeta {
			return nil, fmt.Errorf("volume group %s holds logical volume %q, which heatstrap did not make; refusing to build the docker thin pool next to it (remove it, or the VG, to let heatstrap build it)", vg, lv.Name)
		}
		have[lv.Name] = lv.SegType
	}
	if have[ThinPool] == "thin-pool" {
		return nil, nil
	}
	var cmds []command.Cmd
	if _, ok := have[ThinPool]; !ok {
		cmds = append(cmds, lvcreate(vg, ThinPool, "95%VG"))
	}
	if _, ok := have[thinPoolMeta]; !ok {
		cmds = append(cmds, lvcreate(vg, thinPoolMeta, "1%VG"))
	}
	return append(cmds, command.Cmd{Name: "lvconvert", Args: []string{"-y", "--zero", "n", "-c", "512K",
		"--thinpool", vg + "/" + ThinPool, "--poolmetadata", vg + "/" + thinPoolMeta}}), nil
}

func lvcreate(vg, name, size string) command.Cmd {
	return command.Cmd{Name: "lvcreate", Args: []string{"--wipesignatures", "y", "-n", name, "-l", size, vg}}
}

// MakeThinPool builds (or finishes building) the thin pool in vg. It
// reports whether it changed anything.
func MakeThinPool(ctx context.Context, run command.Runner, vg string) (bool, error) {
	out, err := runTool(ctx, run, command.Cmd{Name: "lvs", Args: []string{"--reportformat", "json", "-o", "lv_name,segtype", vg}})
	if err != nil {
		return false, err
	}
	lvs, err := ParseLVs(out)
	if err != nil {
		return false, err
	}
	cmds, err := ThinPoolSteps(vg, lvs)
	if err != nil {
		return false, err
	}
	for _, c := range cmds {
		if _, err := runTool(ctx, run, c); err != nil {
			return false, fmt.Errorf("%w (the kernel needs device-mapper's thin target: modprobe dm_thin_pool)", err)
		}
	}
	return len(cmds) > 0, nil
}

// ThinPoolDevice is the pool's device-mapper node, for dm.thinpooldev.
func ThinPoolDevice(vg string) string { return "/dev/mapper/" + vg + "-" + ThinPool }
