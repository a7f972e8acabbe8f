// Package disk finds, probes and prepares the block device that holds
// docker's storage. It never decides and destroys in one call: Probe says
// what is on a device, Decide (decide.go) turns a probe into reuse, format,
// wipe or refuse, and the destructive helpers (format.go) are called only by
// a step that re-probed right before (Recheck).
//
// Probing shells out to util-linux and lvm2 instead of linking libblkid
// through cgo, so the agent stays one static binary.
package disk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/heatstrap/heatstrap/command"
)

// Signature is one on-disk signature as `wipefs` lists it.
type Signature struct {
	Offset string `json:"offset"`
	Type   string `json:"type"`
	UUID   string `json:"uuid"`
	Label  string `json:"label"`
	Usage  string `json:"usage"`
}

// PV is an LVM physical volume as `pvs` reports it.
type PV struct {
	VG       string // volume group, "" for an orphan PV
	MDACount int    // metadata areas on this PV
}

// Probe is what a block device holds.
type Probe struct {
	// Type, UUID, Label, Usage and PTType are blkid -p's verdict on the
	// whole device (TYPE=xfs, PTTYPE=dos, ...).
	Type, UUID, Label, Usage, PTType string
	// Ambivalent: blkid found several signatures that contradict each
	// other (exit 8) and named none of them.
	Ambivalent bool
	// Signatures is everything wipefs finds at any offset, partition
	// tables and backup superblocks included; blkid stops at the first
	// match, wipefs does not, so a stray table cannot hide behind a
	// filesystem.
	Signatures []Signature
	// PV is set when Type is LVM2_member.
	PV *PV
}

// Blank reports whether no tool found anything on the device.
func (p Probe) Blank() bool {
	return p.Type == "" && p.PTType == "" && !p.Ambivalent && len(p.Signatures) == 0
}

// String says what the device holds, for messages: `an ext4 filesystem
// (label "data")`.
func (p Probe) String() string {
	var s string
	switch {
	case p.Blank():
		return "nothing (no filesystem, partition table or other signature)"
	case p.Ambivalent:
		s = "several conflicting signatures"
	case p.Type == "LVM2_member" && p.PV != nil && p.PV.VG != "":
		s = fmt.Sprintf("an LVM physical volume of volume group %q", p.PV.VG)
	case p.Type == "LVM2_member" && p.PV != nil:
		s = "an LVM physical volume in no volume group"
	case p.Type != "" && (p.Usage == "filesystem" || p.Usage == ""):
		s = fmt.Sprintf("%s %s filesystem", article(p.Type), p.Type)
	case p.Type != "":
		s = fmt.Sprintf("a %s signature (%s)", p.Type, p.Usage)
	case p.PTType != "":
		s = fmt.Sprintf("a %s partition table", p.PTType)
	}
	if p.Type != "" && p.PV == nil {
		if p.Label != "" {
			s += fmt.Sprintf(" (label %q)", p.Label)
		} else {
			s += " (no label)"
		}
	}
	if p.Type != "" && p.PTType != "" {
		s += fmt.Sprintf(" and a %s partition table", p.PTType)
	}
	if extra := p.extra(); len(extra) > 0 {
		s += "; wipefs also finds " + strings.Join(extra, ", ")
	}
	return s
}

// extra lists the wipefs signatures that blkid's verdict does not cover.
func (p Probe) extra() []string {
	var out []string
	for _, sg := range p.Signatures {
		if !p.Ambivalent && (sg.Type == p.Type || sg.Type == p.PTType) {
			continue
		}
		out = append(out, fmt.Sprintf("%s at %s", sg.Type, sg.Offset))
	}
	return out
}

// article picks "a" or "an" as the type name is read aloud: an ext4, an
// xfs ("ex-"), a btrfs.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouxAEIOUX", rune(word[0])) {
		return "an"
	}
	return "a"
}

// Same reports whether two probes saw the same device content.
func Same(a, b Probe) bool {
	return a.Type == b.Type && a.UUID == b.UUID && a.Label == b.Label && a.Usage == b.Usage &&
		a.PTType == b.PTType && a.Ambivalent == b.Ambivalent &&
		slices.Equal(a.Signatures, b.Signatures) &&
		(a.PV == nil) == (b.PV == nil) && (a.PV == nil || *a.PV == *b.PV)
}

// Exit codes of `blkid -p` (blkid(8)).
const (
	blkidNothing    = 2 // no signature found
	blkidAmbivalent = 8 // several conflicting signatures
)

// ProbeDevice runs blkid -p, wipefs (listing only) and, for an LVM PV, pvs
// on dev, a block device node of the host. It checks first that dev is a
// block device: blkid -p exits 2, "nothing found", for a missing path too.
func ProbeDevice(ctx context.Context, run command.Runner, dev string) (Probe, error) {
	if err := checkBlock(dev); err != nil {
		return Probe{}, err
	}
	var p Probe
	out, err := runTool(ctx, run, blkidCmd(dev))
	switch code := command.ExitCode(err); {
	case err == nil:
		v := ParseBlkid(out)
		p.Type, p.UUID, p.Label, p.Usage, p.PTType = v["TYPE"], v["UUID"], v["LABEL"], v["USAGE"], v["PTTYPE"]
	case code == blkidNothing:
	case code == blkidAmbivalent:
		p.Ambivalent = true
	default:
		return Probe{}, fmt.Errorf("probe %s: %w", dev, err)
	}
	out, err = runTool(ctx, run, wipefsListCmd(dev))
	if err != nil {
		return Probe{}, fmt.Errorf("probe %s: %w", dev, err)
	}
	if p.Signatures, err = ParseWipefs(out); err != nil {
		return Probe{}, fmt.Errorf("probe %s: wipefs: %w", dev, err)
	}
	if p.Type == "LVM2_member" {
		out, err = runTool(ctx, run, pvsCmd(dev))
		if err != nil {
			return Probe{}, fmt.Errorf("probe %s: %w", dev, err)
		}
		pv, err := ParsePVs(out)
		if err != nil {
			return Probe{}, fmt.Errorf("probe %s: pvs: %w", dev, err)
		}
		p.PV = &pv
	}
	return p, nil
}

func checkBlock(dev string) error {
	st, err := os.Stat(dev)
	if err != nil {
		return fmt.Errorf("probe %s: %w", dev, err)
	}
	if st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		return fmt.Errorf("probe %s: not a block device (%s)", dev, st.Mode().Type())
	}
	return nil
}

// ParseBlkid parses `blkid -o export` output (KEY=value lines; blkid
// escapes spaces, quotes and backslashes in values with a backslash).
func ParseBlkid(out []byte) map[string]string {
	v := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		var b strings.Builder
		for i := 0; i < len(val); i++ {
			if val[i] == '\\' && i+1 < len(val) {
				i++
			}
			b.WriteByte(val[i])
		}
		v[key] = b.String()
	}
	return v
}

// ParseWipefs parses `wipefs --json` output.
func ParseWipefs(out []byte) ([]Signature, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil // older wipefs prints nothing for a blank device
	}
	var doc struct {
		Signatures []Signature `json:"signatures"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	if len(doc.Signatures) == 0 {
		return nil, nil
	}
	return doc.Signatures, nil
}

// ParsePVs parses `pvs --reportformat json -o vg_name,pv_mda_count DEV`.
func ParsePVs(out []byte) (PV, error) {
	var doc struct {
		Report []struct {
			PV []struct {
				VG  string `json:"vg_name"`
				MDA string `json:"pv_mda_count"`
			} `json:"pv"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return PV{}, err
	}
	if len(doc.Report) != 1 || len(doc.Report[0].PV) != 1 {
		return PV{}, errors.New("expected exactly one physical volume in the report")
	}
	r := doc.Report[0].PV[0]
	n, err := strconv.Atoi(strings.TrimSpace(r.MDA))
	if err != nil {
		return PV{}, fmt.Errorf("pv_mda_count %q: %w", r.MDA, err)
	}
	return PV{VG: r.VG, MDACount: n}, nil
}
