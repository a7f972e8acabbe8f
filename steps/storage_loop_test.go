package steps

// Loop-device tests of configure-docker-storage (testbed notes §B): the
// real blkid, wipefs, mkfs.xfs and LVM tools on a sparse image, never on
// a real disk. The node's root is a temp dir whose /dev/vdb is a device
// node with the loop device's number and whose /dev/disk/by-id links to
// it, as udev would; the step resolves that to the host's /dev/loopN for
// the commands, and the recorder refuses any command naming another device.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/disk"
)

func TestStorageLoopBlankThenRerun(t *testing.T) {
	needLoopTools(t)
	dev := newLoopDisk(t, nil)
	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, byIDName)
	if err := os.MkdirAll(filepath.Join(n.root, "etc/docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.root, "etc/docker/daemon.json"), []byte(`{"log-driver": "journald"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	shown := "/dev/vdb (/dev/disk/by-id/" + byIDName + ")"
	want := "format " + shown + ` as an xfs filesystem (label "hs-docker") (it holds nothing); then mount it at /var/lib/docker (var-lib-docker.mount); "storage-driver": "overlay2" in /etc/docker/daemon.json`
	if got := describeOn(t, n, dev); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}

	rec, _, err := runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ran("mkfs.xfs -q -K -L hs-docker -n ftype=1 " + dev) {
		t.Errorf("no mkfs.xfs: %q", rec.cmds)
	}
	p := probeLoop(t, dev)
	if p.Type != "xfs" || p.Label != "hs-docker" || p.UUID == "" {
		t.Fatalf("after the run: %+v", p)
	}
	mustContain(t, "xfs_info", sh(t, "xfs_info", dev), "ftype=1")
	mustContain(t, "mount unit", n.read("/etc/systemd/system/var-lib-docker.mount"), "What=UUID="+p.UUID+"\n", "Where=/var/lib/docker\n", "RequiredBy=docker.service\n")
	if _, err := os.Readlink(filepath.Join(n.root, "etc/systemd/system/docker.service.requires/var-lib-docker.mount")); err != nil {
		t.Errorf("not enabled: %v", err)
	}
	acts := map[string]bool{}
	for _, a := range n.backend.Actions() {
		acts[a.Verb+" "+a.Unit] = true
	}
	if !acts["enable var-lib-docker.mount"] || !acts["start var-lib-docker.mount"] {
		t.Errorf("unit actions: %v", n.backend.Actions())
	}
	mustContain(t, "daemon.json", n.read(daemonJSON), `"log-driver": "journald"`, `"storage-driver": "overlay2"`)

	// The filesystem really mounts, by UUID as the unit says; leave a file.
	dir, unmount := mountUUID(t, p.UUID)
	if err := os.WriteFile(filepath.Join(dir, "survivor"), []byte("still here"), 0o644); err != nil {
		t.Fatal(err)
	}
	unmount()

	// Rerun: no mkfs, nothing changed, same filesystem, the file survives.
	rec, changed, err := runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	rec.ranNothingDestructive()
	if len(changed) > 0 {
		t.Errorf("rerun changed %v", changed)
	}
	if q := probeLoop(t, dev); q.UUID != p.UUID {
		t.Errorf("UUID %s became %s", p.UUID, q.UUID)
	}
	dir, _ = mountUUID(t, p.UUID)
	if b, err := os.ReadFile(filepath.Join(dir, "survivor")); err != nil || string(b) != "still here" {
		t.Errorf("file after rerun: %q %v", b, err)
	}
	if got := describeOn(t, n, dev); !strings.HasPrefix(got, "reuse "+shown+`, which already holds an xfs filesystem (label "hs-docker") (no mkfs)`) {
		t.Errorf("plan after the run: %s", got)
	}
}

func TestStorageLoopExt4RefusedThenWiped(t *testing.T) {
	needLoopTools(t, "mkfs.ext4")
	dev := newLoopDisk(t, nil)
	sh(t, "mkfs.ext4", "-q", "-L", "data", dev)
	ext4 := probeLoop(t, dev)
	dir, unmount := mountUUID(t, ext4.UUID)
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	unmount()

	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, byIDName)
	rec, changed, err := runStorageOn(t, n, dev)
	want := "/dev/vdb (/dev/disk/by-id/" + byIDName + `) holds an ext4 filesystem (label "data"); refusing to format it as an xfs filesystem (label "hs-docker"); set DOCKER_STORAGE_WIPE=true to allow erasing it`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	rec.ranNothingDestructive()
	if len(changed) > 0 {
		t.Errorf("refusal changed %v", changed)
	}
	if got := describeOn(t, n, dev); got != "refuse: "+want {
		t.Errorf("plan: %s", got)
	}
	if p := probeLoop(t, dev); !disk.Same(p, ext4) {
		t.Errorf("device changed: %+v", p)
	}
	dir, unmount = mountUUID(t, ext4.UUID)
	if b, err := os.ReadFile(filepath.Join(dir, "precious")); err != nil || string(b) != "data" {
		t.Errorf("data: %q %v", b, err)
	}
	unmount()

	// The operator allows the wipe.
	n = newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_WIPE": "true"})
	plug(t, n, dev, byIDName)
	if got := describeOn(t, n, dev); !strings.HasPrefix(got, "WIPE /dev/vdb") || !strings.Contains(got, `ext4 filesystem (label "data")`) {
		t.Errorf("plan: %s", got)
	}
	rec, _, err = runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ran("wipefs --all "+dev) || !rec.ran("mkfs.xfs") {
		t.Errorf("commands: %q", rec.cmds)
	}
	xfs := probeLoop(t, dev)
	if xfs.Type != "xfs" || xfs.Label != "hs-docker" || len(xfs.Signatures) != 1 {
		t.Errorf("after the wipe: %+v", xfs)
	}
	// A rerun, still with WIPE=true, keeps what it made.
	rec, _, err = runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	rec.ranNothingDestructive()
	if p := probeLoop(t, dev); p.UUID != xfs.UUID {
		t.Errorf("reformatted: %s → %s", xfs.UUID, p.UUID)
	}
}

func TestStorageLoopPartitionedRefused(t *testing.T) {
	needLoopTools(t, "sfdisk")
	for _, table := range []string{"dos", "gpt"} {
		t.Run(table, func(t *testing.T) {
			dev := newLoopDisk(t, func(img string) {
				c := exec.Command("sfdisk", "--quiet", img)
				c.Stdin = strings.NewReader("label: " + table + "\n,,L\n")
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("sfdisk: %v\n%s", err, out)
				}
			})
			before := probeLoop(t, dev)
			n := newTestNode(t, config.RoleMinion, nil)
			plug(t, n, dev, byIDName)
			rec, _, err := runStorageOn(t, n, dev)
			if err == nil || !strings.Contains(err.Error(), "holds a "+table+" partition table") ||
				!strings.Contains(err.Error(), "DOCKER_STORAGE_WIPE=true") {
				t.Fatalf("got %v", err)
			}
			rec.ranNothingDestructive()
			if p := probeLoop(t, dev); !disk.Same(p, before) || p.PTType != table {
				t.Errorf("device changed: %+v", p)
			}
		})
	}
}

func TestStorageLoopDeviceAppearsLate(t *testing.T) {
	needLoopTools(t)
	defer func(d time.Duration) { storageDeviceTimeout = d }(storageDeviceTimeout)
	storageDeviceTimeout = 20 * time.Second
	dev := newLoopDisk(t, nil)
	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, "")
	const late = time.Second
	go func() {
		time.Sleep(late)
		_ = os.Symlink("../../vdb", filepath.Join(n.root, "dev/disk/by-id", byIDName))
	}()
	start := time.Now()
	if _, _, err := runStorageOn(t, n, dev); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < late {
		t.Errorf("done after %s, before the disk appeared", took)
	}
	if p := probeLoop(t, dev); p.Label != "hs-docker" {
		t.Errorf("not formatted: %+v", p)
	}
}

func TestStorageLoopDeviceMapper(t *testing.T) {
	needLoopTools(t, "pvcreate", "vgcreate", "pvs", "vgs", "vgremove", "pvremove")
	if exec.Command("vgs", "docker").Run() == nil {
		t.Skip("this machine already has a volume group docker; not touching it")
	}
	dev := newLoopDisk(t, nil)
	t.Cleanup(func() {
		// Only the test's own PV can be in VG docker (checked above).
		_ = exec.Command("vgremove", "--yes", "docker").Run()
		_ = exec.Command("pvremove", "--yes", dev).Run()
	})
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DRIVER": "devicemapper", "DOCKER_STORAGE_DEVICE": "/dev/vdb"})
	plug(t, n, dev, "")
	if got := describeOn(t, n, dev); got != `format /dev/vdb as an LVM physical volume of volume group "docker" (it holds nothing); then VG=docker and STORAGE_DRIVER=devicemapper in /etc/sysconfig/docker-storage-setup` {
		t.Errorf("plan: %s", got)
	}
	rec, _, err := runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.ran("pvcreate "+dev) || !rec.ran("vgcreate docker "+dev) {
		t.Errorf("commands: %q", rec.cmds)
	}
	if vg := sh(t, "pvs", "--noheadings", "-o", "vg_name", dev); vg != "docker" {
		t.Errorf("pvs: VG %q", vg)
	}
	if got := n.read(dssConfig); !strings.HasSuffix(got, "\nSTORAGE_DRIVER=devicemapper\nVG=docker\n") {
		t.Errorf("%s:\n%s", dssConfig, got)
	}
	// Rerun: the VG on this device is reused, never re-created.
	rec, changed, err := runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	rec.ranNothingDestructive()
	if len(changed) > 0 {
		t.Errorf("rerun changed %v", changed)
	}
	// A run that stopped after pvcreate left an orphan PV: only vgcreate.
	sh(t, "vgremove", "--yes", "docker")
	rec, _, err = runStorageOn(t, n, dev)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ran("pvcreate") || !rec.ran("vgcreate docker "+dev) {
		t.Errorf("adopt: %q", rec.cmds)
	}
}
