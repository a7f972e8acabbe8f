package steps

// Loop-device tests of the devicemapper driver: pvcreate and vgcreate
// really run (LVM metadata only; the thin pool needs device-mapper, which
// this kernel lacks, and is proven in the VM suite).

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

var lvmTools = []string{"pvcreate", "vgcreate", "pvs", "vgs", "vgremove", "pvremove"}

// The step's own LVM commands inherit the test binary's environment; this
// keeps LVM's "file descriptor leaked" noise out of their errors. Set for
// the whole binary because t.Setenv is not allowed in parallel tests.
func init() { os.Setenv("LVM_SUPPRESS_FD_WARNINGS", "1") }

// dropVG removes the test's volume group and physical volume when the test
// ends, whatever happened; only the test's loop device is ever named.
func dropVG(t *testing.T, vg, dev string) {
	t.Cleanup(func() {
		if exec.Command("vgs", vg).Run() == nil {
			_ = exec.Command("vgremove", "--yes", vg).Run()
		}
		_ = exec.Command("pvremove", "--yes", dev).Run()
	})
}

func TestStorageLoopDeviceMapper(t *testing.T) {
	needLoopTools(t, lvmTools...)
	t.Parallel()
	if exec.Command("vgs", dockerVG).Run() == nil {
		testenv.Unavailable(t, "this machine already has a volume group %q; the test does not touch it", dockerVG)
	}
	dev := newLoopDisk(t, nil)
	dropVG(t, dockerVG, dev)
	// DOCKER_VOLUME is set too, and has no by-id link: only the override
	// finds the disk.
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DRIVER": "devicemapper", "DOCKER_STORAGE_DEVICE": "/dev/vdb"})
	// A Fedora-style image, whose docker-storage-setup makes the thin
	// pool: this kernel has no device-mapper for heatstrap to make it
	// (Debian images); test/vm proves that path in a guest.
	n.write(dssConfig, "# shipped by docker-storage-setup\n", 0o644)
	plug(t, n, dev, "")
	if got := describeOn(t, n, dev); got != `format /dev/vdb as an LVM physical volume of volume group "docker" (it holds nothing); then VG=docker and STORAGE_DRIVER=devicemapper in /etc/sysconfig/docker-storage-setup` {
		t.Errorf("plan: %s", got)
	}
	r := runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	rec := r.rec
	if rec.count("pvcreate "+dev) != 1 || rec.count("vgcreate docker "+dev) != 1 || rec.ran("mkfs") {
		t.Errorf("commands: %q", rec.cmds)
	}
	if vg := sh(t, "pvs", "--noheadings", "-o", "vg_name", dev); vg != "docker" {
		t.Errorf("pvs: VG %q", vg)
	}
	if got := n.read(dssConfig); !strings.HasSuffix(got, "\nSTORAGE_DRIVER=devicemapper\nVG=docker\n") {
		t.Errorf("%s:\n%s", dssConfig, got)
	}
	if e := n.files.Exists("/etc/systemd/system/" + dockerMountUnit); e {
		t.Error("mount unit written for devicemapper")
	}
	vgUUID := sh(t, "vgs", "--noheadings", "-o", "vg_uuid", dockerVG)

	// Rerun: the VG on this device is reused, never re-created, and no
	// file is touched.
	before := treeState(t, n.root)
	r = runStorageOn(t, n, dev, rec)
	if r.err != nil {
		t.Fatal(r.err)
	}
	sameTree(t, "rerun", before, treeState(t, n.root))
	if rec.count("pvcreate") != 1 || rec.count("vgcreate") != 1 {
		t.Errorf("rerun re-created: %q", rec.cmds)
	}
	if len(r.changed) > 0 {
		t.Errorf("rerun changed %v", r.changed)
	}
	if got := sh(t, "vgs", "--noheadings", "-o", "vg_uuid", dockerVG); got != vgUUID {
		t.Errorf("VG uuid %s became %s", vgUUID, got)
	}
	if got := describeOn(t, n, dev); !strings.HasPrefix(got, `reuse /dev/vdb, which already holds an LVM physical volume of volume group "docker"`) {
		t.Errorf("plan after the run: %s", got)
	}

	// A run that stopped after pvcreate left an orphan PV: only vgcreate.
	sh(t, "vgremove", "--yes", "docker")
	r = runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rec.ran("pvcreate") || !r.rec.ran("vgcreate docker "+dev) {
		t.Errorf("adopt: %q", r.rec.cmds)
	}
}

// An LVM physical volume of someone else's volume group is refused by both
// drivers, and the group stays as it was.
func TestStorageLoopForeignPVRefused(t *testing.T) {
	needLoopTools(t, lvmTools...)
	t.Parallel()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	vg := "hstest" + hex.EncodeToString(b)
	dev := newLoopDisk(t, nil)
	sh(t, "pvcreate", dev)
	dropVG(t, vg, dev)
	sh(t, "vgcreate", vg, dev)
	vgUUID := sh(t, "vgs", "--noheadings", "-o", "vg_uuid", vg)

	for _, driver := range []string{"devicemapper", "overlay2"} {
		t.Run(driver, func(t *testing.T) {
			n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DRIVER": driver})
			plug(t, n, dev, byIDName)
			r := runStorageOn(t, n, dev, nil)
			want := "/dev/vdb (/dev/disk/by-id/" + byIDName + `) holds an LVM physical volume of volume group "` + vg +
				`"; refusing to format it; set DOCKER_STORAGE_WIPE=true to allow erasing it`
			if r.err == nil || r.err.Error() != want {
				t.Fatalf("got  %v\nwant %s", r.err, want)
			}
			r.rec.ranNothingDestructive()
			if len(r.changed) > 0 {
				t.Errorf("refusal changed %v", r.changed)
			}
			if got := sh(t, "vgs", "--noheadings", "-o", "vg_uuid", vg); got != vgUUID {
				t.Errorf("VG %s: uuid %s became %s", vg, vgUUID, got)
			}
		})
	}

	// Allowed to wipe: the PV label goes, and with it the volume group;
	// the device becomes our xfs.
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_WIPE": "true"})
	plug(t, n, dev, byIDName)
	r := runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.rec.ran("wipefs --all " + dev) {
		t.Errorf("commands: %q", r.rec.cmds)
	}
	if p := probeLoop(t, dev); p.Type != "xfs" || p.Label != dockerLabel || len(p.Signatures) != 1 {
		t.Errorf("after the wipe: %+v", p)
	}
	if exec.Command("vgs", vg).Run() == nil {
		t.Errorf("volume group %s survived the wipe", vg)
	}
}
