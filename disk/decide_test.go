package disk

import (
	"reflect"
	"strings"
	"testing"
)

// Outputs recorded on Debian 12 (util-linux 2.38.1, lvm2 2.03.16).
const (
	blkidOurs = `DEVNAME=/dev/loop0
LABEL=hs-docker
UUID=c3c1102e-43b0-4fbf-a982-03388be0a2d1
BLOCK_SIZE=512
TYPE=xfs
USAGE=filesystem
`
	blkidExt4 = `DEVNAME=/dev/loop0
LABEL=my\ data
UUID=9337c906-10cf-4a64-9607-0e32b8287c64
VERSION=1.0
BLOCK_SIZE=1024
TYPE=ext4
USAGE=filesystem
`
	blkidDos = `DEVNAME=/dev/loop0
PTUUID=008ea376
PTTYPE=dos
`
	blkidPV = `DEVNAME=/dev/loop0
UUID=d0lcJn-3Ia7-khcD-BcHv-8iff-zbut-8y8P79
VERSION=LVM2\ 001
TYPE=LVM2_member
USAGE=raid
`
	wipefsOurs = `{
   "signatures": [
      {
         "offset": "0x0",
         "type": "xfs",
         "uuid": "c3c1102e-43b0-4fbf-a982-03388be0a2d1",
         "label": "hs-docker",
         "usage": "filesystem"
      }
   ]
}`
	wipefsBlank = `{
   "signatures": [

   ]
}`
	pvsDocker = `  {
      "report": [
          {
              "pv": [
                  {"vg_name":"docker", "pv_mda_count":"1"}
              ]
          }
      ]
  }`
)

func TestParsers(t *testing.T) {
	v := ParseBlkid([]byte(blkidExt4))
	if v["TYPE"] != "ext4" || v["LABEL"] != "my data" || v["UUID"] != "9337c906-10cf-4a64-9607-0e32b8287c64" {
		t.Errorf("blkid: %v", v)
	}
	sigs, err := ParseWipefs([]byte(wipefsOurs))
	want := []Signature{{Offset: "0x0", Type: "xfs", UUID: "c3c1102e-43b0-4fbf-a982-03388be0a2d1", Label: "hs-docker", Usage: "filesystem"}}
	if err != nil || !reflect.DeepEqual(sigs, want) {
		t.Errorf("wipefs: %v %v", sigs, err)
	}
	for _, blank := range []string{wipefsBlank, "", "\n"} {
		if sigs, err := ParseWipefs([]byte(blank)); err != nil || sigs != nil {
			t.Errorf("wipefs blank %q: %v %v", blank, sigs, err)
		}
	}
	if _, err := ParseWipefs([]byte("0x0,xfs")); err == nil {
		t.Error("wipefs: non-JSON accepted")
	}
	pv, err := ParsePVs([]byte(pvsDocker))
	if err != nil || pv != (PV{VG: "docker", MDACount: 1}) {
		t.Errorf("pvs: %v %v", pv, err)
	}
	if _, err := ParsePVs([]byte(`{"report":[{"pv":[]}]}`)); err == nil {
		t.Error("pvs: empty report accepted")
	}
}

func probe(blkid, wipefs string, pv *PV) Probe {
	v := ParseBlkid([]byte(blkid))
	sigs, err := ParseWipefs([]byte(wipefs))
	if err != nil {
		panic(err)
	}
	return Probe{Type: v["TYPE"], UUID: v["UUID"], Label: v["LABEL"], Usage: v["USAGE"], PTType: v["PTTYPE"], Signatures: sigs, PV: pv}
}

func sig(typ, off string) string {
	return `{"signatures":[{"offset":"` + off + `","type":"` + typ + `"}]}`
}

func TestDecide(t *testing.T) {
	xfs, lvm := Filesystem("xfs", "hs-docker"), LVM("docker")
	ext4Sigs := sig("ext4", "0x438")
	otherXFS := strings.Replace(blkidOurs, "hs-docker", "scratch", 1)
	ext4Ours := strings.Replace(blkidExt4, `my\ data`, "hs-docker", 1)
	gptToo := `{"signatures":[{"offset":"0x0","type":"xfs"},{"offset":"0x12bffe00","type":"gpt"}]}`
	cases := []struct {
		name  string
		p     Probe
		want  Want
		wipe  bool
		act   Action
		found string
	}{
		{"blank/xfs", probe("", wipefsBlank, nil), xfs, false, Format, "nothing"},
		{"blank/lvm", probe("", wipefsBlank, nil), lvm, false, Format, "nothing"},
		{"ours", probe(blkidOurs, wipefsOurs, nil), xfs, false, Reuse, `an xfs filesystem (label "hs-docker")`},
		{"ours, wipe allowed: never formats again", probe(blkidOurs, wipefsOurs, nil), xfs, true, Reuse, ""},
		{"xfs, other label", probe(otherXFS, sig("xfs", "0x0"), nil), xfs, false, Refuse, `label "scratch"`},
		{"ext4", probe(blkidExt4, ext4Sigs, nil), xfs, false, Refuse, `an ext4 filesystem (label "my data")`},
		{"ext4, wipe", probe(blkidExt4, ext4Sigs, nil), xfs, true, Wipe, "ext4"},
		{"ext4 with our label", probe(ext4Ours, ext4Sigs, nil), xfs, false, Refuse, "ext4"},
		{"dos table", probe(blkidDos, sig("dos", "0x1fe"), nil), xfs, false, Refuse, "a dos partition table"},
		{"dos table, lvm", probe(blkidDos, sig("dos", "0x1fe"), nil), lvm, false, Refuse, "dos"},
		{"ours plus a stray gpt", probe(blkidOurs, gptToo, nil), xfs, false, Refuse, "wipefs also finds gpt at 0x12bffe00"},
		{"ambivalent", Probe{Ambivalent: true, Signatures: []Signature{{Type: "xfs"}, {Type: "ext4"}}}, xfs, false, Refuse, "several conflicting"},
		{"blkid blank, wipefs not", probe("", sig("iso9660", "0x8001"), nil), xfs, false, Refuse, "iso9660 at 0x8001"},
		{"our PV", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{VG: "docker", MDACount: 1}), lvm, false, Reuse, `volume group "docker"`},
		{"our PV, overlay wanted", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{VG: "docker", MDACount: 1}), xfs, false, Refuse, "LVM"},
		{"orphan PV", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{MDACount: 1}), lvm, false, Adopt, "in no volume group"},
		{"orphan PV without metadata", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{}), lvm, false, Refuse, ""},
		{"foreign PV", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{VG: "data", MDACount: 1}), lvm, false, Refuse, `volume group "data"`},
		{"foreign PV, wipe", probe(blkidPV, sig("LVM2_member", "0x218"), &PV{VG: "data", MDACount: 1}), lvm, true, Wipe, ""},
		{"our xfs, lvm wanted", probe(blkidOurs, wipefsOurs, nil), lvm, false, Refuse, "hs-docker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.p, c.want, c.wipe)
			if d.Action != c.act {
				t.Errorf("action %s, want %s (probe %+v)", d.Action, c.act, c.p)
			}
			if !strings.Contains(d.Found(), c.found) {
				t.Errorf("found %q lacks %q", d.Found(), c.found)
			}
		})
	}
}

func TestSame(t *testing.T) {
	a := probe(blkidOurs, wipefsOurs, nil)
	b := probe(blkidOurs, wipefsOurs, nil)
	if !Same(a, b) {
		t.Error("identical probes differ")
	}
	b.Signatures = append(b.Signatures, Signature{Type: "gpt"})
	if Same(a, b) {
		t.Error("extra signature not noticed")
	}
	c, d := probe(blkidPV, "", &PV{VG: "docker"}), probe(blkidPV, "", &PV{VG: "other"})
	if Same(c, d) {
		t.Error("PV volume group change not noticed")
	}
}
