package disk

import (
	"context"
	"fmt"

	"github.com/heatstrap/heatstrap/command"
)

// Want is the layout the step wants on the device: a filesystem (FSType and
// Label) or an LVM physical volume in volume group VG.
type Want struct {
	FSType string
	Label  string
	VG     string
}

// Filesystem wants a filesystem of type fstype labelled label.
func Filesystem(fstype, label string) Want { return Want{FSType: fstype, Label: label} }

// LVM wants a physical volume of volume group vg.
func LVM(vg string) Want { return Want{VG: vg} }

func (w Want) String() string {
	if w.VG != "" {
		return fmt.Sprintf("an LVM physical volume of volume group %q", w.VG)
	}
	return fmt.Sprintf("%s %s filesystem (label %q)", article(w.FSType), w.FSType, w.Label)
}

// Action is what to do with a device.
type Action string

const (
	// Format: the device is blank; create the wanted layout.
	Format Action = "format"
	// Reuse: the device already holds exactly the wanted layout.
	Reuse Action = "reuse"
	// Adopt: the device is an LVM physical volume in no volume group (a
	// run stopped between pvcreate and vgcreate); only the volume group
	// is missing. Such a PV has its own metadata saying it belongs to no
	// group, so it holds no logical volume and no data.
	Adopt Action = "adopt"
	// Wipe: something else is there and the operator allowed erasing it;
	// wipefs -a, then format.
	Wipe Action = "wipe"
	// Refuse: something else is there; touch nothing.
	Refuse Action = "refuse"
)

// Decision is an Action and the probe it was based on.
type Decision struct {
	Action Action
	Probe  Probe
	Want   Want
}

// Found says what the device holds, for messages.
func (d Decision) Found() string { return d.Probe.String() }

// Decide maps a probe to an action. The table (README of the step):
//
//	blank                                   → Format
//	exactly the wanted layout               → Reuse (even with wipe: a rerun never formats again)
//	orphan LVM PV with metadata, LVM wanted → Adopt
//	anything else, wipe=false               → Refuse
//	anything else, wipe=true                → Wipe
//
// "Exactly" means blkid's verdict matches (type and label, or the PV's
// volume group), there is no partition table, and wipefs finds no other
// signature anywhere on the device.
func Decide(p Probe, w Want, wipe bool) Decision {
	d := Decision{Probe: p, Want: w}
	switch {
	case p.Blank():
		d.Action = Format
	case matches(p, w) && p.PV != nil && p.PV.VG == "":
		d.Action = Adopt
	case matches(p, w):
		d.Action = Reuse
	case wipe:
		d.Action = Wipe
	default:
		d.Action = Refuse
	}
	return d
}

func matches(p Probe, w Want) bool {
	if p.Ambivalent || p.PTType != "" || len(p.extra()) > 0 {
		return false
	}
	if w.VG != "" {
		return p.Type == "LVM2_member" && p.PV != nil &&
			(p.PV.VG == w.VG || (p.PV.VG == "" && p.PV.MDACount > 0))
	}
	return p.Type == w.FSType && p.Label == w.Label && (p.Usage == "filesystem" || p.Usage == "")
}

// Recheck probes dev again right before a destructive command and fails
// unless the device still holds what the decision was based on: decide,
// then act, never act on a stale look.
func Recheck(ctx context.Context, run command.Runner, dev string, d Decision) error {
	now, err := ProbeDevice(ctx, run, dev)
	if err != nil {
		return err
	}
	if !Same(now, d.Probe) {
		return fmt.Errorf("%s changed while heatstrap was deciding (it held %s, now %s); nothing was done, run again",
			dev, d.Probe, now)
	}
	return nil
}
