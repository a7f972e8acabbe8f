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
	t.Parallel()
	dev := newLoopDisk(t, nil)
	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, byIDName)
	n.write(daemonJSON, `{"log-driver": "journald"}`, 0o644)
	daemonIno := inode(t, n.hostPath(daemonJSON))
	// Left on the root disk before the volume is mounted over it.
	if err := os.MkdirAll(n.hostPath("/var/lib/docker/image"), 0o700); err != nil {
		t.Fatal(err)
	}
	shown := "/dev/vdb (/dev/disk/by-id/" + byIDName + ")"
	want := "format " + shown + ` as an xfs filesystem (label "hs-docker") (it holds nothing); then mount it at /var/lib/docker (var-lib-docker.mount); "storage-driver": "overlay2" in /etc/docker/daemon.json`
	if got := describeOn(t, n, dev); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}

	// Every heat-param, secrets included, reaches the step this time:
	// none may show in its log or the files it writes.
	first := runStorageWith(t, n, dev, nil, true)
	if first.err != nil {
		t.Fatal(first.err)
	}
	rec := first.rec
	if rec.count("mkfs") != 1 || !rec.ran("mkfs.xfs -q -K -L hs-docker -n ftype=1 "+dev) {
		t.Errorf("want one mkfs.xfs: %q", rec.cmds)
	}
	p := probeLoop(t, dev)
	if p.Type != "xfs" || p.Label != "hs-docker" || p.UUID == "" {
		t.Fatalf("after the run: %+v", p)
	}
	mustContain(t, "xfs_info", sh(t, "xfs_info", dev), "ftype=1")
	unitText := n.read("/etc/systemd/system/" + dockerMountUnit)
	mustContain(t, "mount unit", unitText,
		"What=UUID="+p.UUID+"\n", "Where=/var/lib/docker\n", "Type=xfs\n", "Before=docker.service", "RequiredBy=docker.service\n")
	mustContain(t, "docker drop-in", n.read("/etc/systemd/system/docker.service.d/"+dockerDropInName), "RequiresMountsFor=/var/lib/docker\n")
	if _, err := os.Readlink(n.hostPath("/etc/systemd/system/docker.service.requires/" + dockerMountUnit)); err != nil {
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
	for _, c := range first.changed {
		if strings.HasSuffix(c, "/etc/fstab") {
			t.Errorf("wrote %s: the mount unit replaces fstab", c)
		}
	}
	mustContain(t, "log", first.log, "mounted over a non-empty /var/lib/docker", "entries=1", "docker storage decision")
	noSecrets(t, n, map[string]string{"log": first.log, "mount unit": unitText, "daemon.json": n.read(daemonJSON)})
	// Written atomically: daemon.json was replaced by a rename (a new
	// inode), not rewritten in place, and no temp file is left over.
	if inode(t, n.hostPath(daemonJSON)) == daemonIno {
		t.Error("daemon.json rewritten in place")
	}
	for path := range treeState(t, n.root) {
		if strings.Contains(path, ".heatstrap-") {
			t.Errorf("temp file left: %s", path)
		}
	}

	// The filesystem really mounts, where and as systemd would mount the
	// unit; leave a file on it.
	dir, unmount := mountAsSystemd(t, n)
	if err := os.WriteFile(filepath.Join(dir, "survivor"), []byte("still here"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Rerun through the same command seam, mounted as on a live node:
	// still one mkfs in all, not a byte, mode or mtime changed anywhere in
	// the root, same filesystem, the file survives.
	before := treeState(t, n.root)
	again := runStorageOn(t, n, dev, rec)
	if again.err != nil {
		t.Fatal(again.err)
	}
	sameTree(t, "rerun", before, treeState(t, n.root))
	unmount()
	if c := rec.count("mkfs"); c != 1 {
		t.Errorf("mkfs ran %d times over two runs: %q", c, rec.cmds)
	}
	if len(again.changed) > 0 {
		t.Errorf("rerun changed %v", again.changed)
	}
	if strings.Contains(again.log, "non-empty") {
		t.Errorf("rerun warned again: %s", again.log)
	}
	if _, err := os.Stat(n.hostPath("/var/lib/docker/image")); err != nil {
		t.Errorf("what the mount hid is gone: %v", err)
	}
	if q := probeLoop(t, dev); q.UUID != p.UUID {
		t.Errorf("UUID %s became %s", p.UUID, q.UUID)
	}
	dir, unmount = mountDev(t, dev)
	if b, err := os.ReadFile(filepath.Join(dir, "survivor")); err != nil || string(b) != "still here" {
		t.Errorf("file after rerun: %q %v", b, err)
	}
	unmount()
	if got := describeOn(t, n, dev); !strings.HasPrefix(got, "reuse "+shown+`, which already holds an xfs filesystem (label "hs-docker") (no mkfs)`) {
		t.Errorf("plan after the run: %s", got)
	}

	// The operator switches to devicemapper: our xfs is not an LVM PV, so
	// it is refused like anything else, saying who made it.
	n2 := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DRIVER": "devicemapper"})
	plug(t, n2, dev, byIDName)
	r := runStorageOn(t, n2, dev, nil)
	want = shown + ` holds an xfs filesystem (label "hs-docker") (heatstrap made it for overlay2; was DOCKER_STORAGE_DRIVER changed?); refusing to format it; set DOCKER_STORAGE_WIPE=true to allow erasing it`
	if r.err == nil || r.err.Error() != want {
		t.Errorf("driver switched:\n got %v\nwant %s", r.err, want)
	}
	r.rec.ranNothingDestructive()
	if q := probeLoop(t, dev); !disk.Same(q, p) {
		t.Errorf("device changed: %+v", q)
	}
	t.Logf("MEASURED blank device: format + mount unit %.1f ms; no-op rerun %.1f ms", first.took.Seconds()*1000, again.took.Seconds()*1000)
}

func TestStorageLoopExt4RefusedThenWiped(t *testing.T) {
	needLoopTools(t, "mkfs.ext4")
	t.Parallel()
	dev := newLoopDisk(t, nil)
	sh(t, "mkfs.ext4", "-q", "-L", "data", dev)
	ext4 := probeLoop(t, dev)
	dir, unmount := mountDev(t, dev)
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	unmount()

	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, byIDName)
	r := runStorageOn(t, n, dev, nil)
	want := "/dev/vdb (/dev/disk/by-id/" + byIDName + `) holds an ext4 filesystem (label "data"); refusing to format it; set DOCKER_STORAGE_WIPE=true to allow erasing it`
	if r.err == nil || r.err.Error() != want {
		t.Fatalf("got  %v\nwant %s", r.err, want)
	}
	r.rec.ranNothingDestructive()
	if len(r.changed) > 0 {
		t.Errorf("refusal changed %v", r.changed)
	}
	if got := describeOn(t, n, dev); got != "refuse: "+want {
		t.Errorf("plan: %s", got)
	}
	if p := probeLoop(t, dev); !disk.Same(p, ext4) {
		t.Errorf("device changed: %+v", p)
	}
	dir, unmount = mountDev(t, dev)
	if b, err := os.ReadFile(filepath.Join(dir, "precious")); err != nil || string(b) != "data" {
		t.Errorf("data: %q %v", b, err)
	}
	unmount()

	// The operator allows the wipe. While the filesystem is in use,
	// wipefs itself refuses (it opens the device exclusively).
	n = newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_WIPE": "true"})
	plug(t, n, dev, byIDName)
	_, unmount = mountDev(t, dev)
	r = runStorageOn(t, n, dev, nil)
	unmount()
	if r.err == nil || !strings.Contains(r.err.Error(), "wipe /dev/vdb") || !strings.Contains(r.err.Error(), "Device or resource busy") || !strings.HasSuffix(r.err.Error(), "nothing was formatted (it is in use: unmount it first; findmnt --source /dev/vdb shows where)") {
		t.Errorf("wipe while mounted: %v", r.err)
	}
	if r.rec.ran("mkfs") {
		t.Errorf("formatted after a failed wipe: %q", r.rec.cmds)
	}
	if p := probeLoop(t, dev); !disk.Same(p, ext4) {
		t.Fatalf("device changed by a failed wipe: %+v", p)
	}
	if got := describeOn(t, n, dev); !strings.HasPrefix(got, "WIPE /dev/vdb") || !strings.Contains(got, `ext4 filesystem (label "data")`) {
		t.Errorf("plan: %s", got)
	}
	r = runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.rec.ran("wipefs --all "+dev) || r.rec.count("mkfs.xfs") != 1 {
		t.Errorf("commands: %q", r.rec.cmds)
	}
	xfs := probeLoop(t, dev)
	if xfs.Type != "xfs" || xfs.Label != "hs-docker" || len(xfs.Signatures) != 1 {
		t.Errorf("after the wipe: %+v", xfs)
	}
	mustContain(t, "mount unit", n.read("/etc/systemd/system/"+dockerMountUnit), "What=UUID="+xfs.UUID+"\n")
	mustContain(t, "log", r.log, "wiping the docker storage device", `held="an ext4 filesystem (label \"data\")"`)
	// A rerun, still with WIPE=true, keeps what it made.
	r = runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.rec.ranNothingDestructive()
	if p := probeLoop(t, dev); p.UUID != xfs.UUID {
		t.Errorf("reformatted: %s → %s", xfs.UUID, p.UUID)
	}
}

// Someone's xfs, only the label differs: refused, naming it. Allowed to
// wipe, wipefs leaves nothing that stops mkfs.xfs, which runs without -f.
func TestStorageLoopForeignXFSWiped(t *testing.T) {
	needLoopTools(t)
	t.Parallel()
	dev := newLoopDisk(t, nil)
	sh(t, "mkfs.xfs", "-q", "-L", "scratch", dev)
	theirs := probeLoop(t, dev)
	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, byIDName)
	r := runStorageOn(t, n, dev, nil)
	if r.err == nil || !strings.Contains(r.err.Error(), `holds an xfs filesystem (label "scratch"); refusing to format it`) {
		t.Fatalf("got %v", r.err)
	}
	r.rec.ranNothingDestructive()
	if p := probeLoop(t, dev); !disk.Same(p, theirs) {
		t.Errorf("device changed: %+v", p)
	}

	n = newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_WIPE": "true"})
	plug(t, n, dev, byIDName)
	r = runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if p := probeLoop(t, dev); p.Label != dockerLabel || p.UUID == theirs.UUID || len(p.Signatures) != 1 {
		t.Errorf("after the wipe: %+v", p)
	}
}

// A partitioned volume, its partition known to the kernel (partx) and
// holding data: refused, the partition and its data untouched; with
// DOCKER_STORAGE_WIPE=true the whole device becomes ours.
func TestStorageLoopPartitionedRefused(t *testing.T) {
	needLoopTools(t, "sfdisk", "partx", "mkfs.ext4")
	t.Parallel()
	for _, table := range []string{"dos", "gpt"} {
		t.Run(table, func(t *testing.T) {
			t.Parallel()
			dev := newLoopDisk(t, func(img string) {
				// An image file has no partitions to re-read; without
				// these flags sfdisk still syncs and waits ~0.3 s.
				c := exec.Command("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", img)
				c.Stdin = strings.NewReader("label: " + table + "\n,,L\n")
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("sfdisk: %v\n%s", err, out)
				}
			})
			part := addPartitions(t, dev)[0]
			sh(t, "mkfs.ext4", "-q", "-L", "part1", part)
			partFS := probeLoop(t, part)
			dir, unmount := mountDev(t, part)
			if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
			unmount()
			before := probeLoop(t, dev)

			n := newTestNode(t, config.RoleMinion, nil)
			plug(t, n, dev, byIDName)
			r := runStorageOn(t, n, dev, nil)
			if r.err == nil || !strings.Contains(r.err.Error(), "holds a "+table+" partition table") ||
				!strings.Contains(r.err.Error(), "refusing to format it; set DOCKER_STORAGE_WIPE=true") {
				t.Fatalf("got %v", r.err)
			}
			r.rec.ranNothingDestructive()
			if p := probeLoop(t, dev); !disk.Same(p, before) || p.PTType != table {
				t.Errorf("device changed: %+v", p)
			}
			if p := probeLoop(t, part); !disk.Same(p, partFS) {
				t.Errorf("partition changed: %+v", p)
			}
			dir, unmount = mountDev(t, part)
			if b, err := os.ReadFile(filepath.Join(dir, "precious")); err != nil || string(b) != "data" {
				t.Errorf("data: %q %v", b, err)
			}
			unmount()

			n = newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_WIPE": "true"})
			plug(t, n, dev, byIDName)
			r = runStorageOn(t, n, dev, nil)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if p := probeLoop(t, dev); p.Type != "xfs" || p.PTType != "" || len(p.Signatures) != 1 {
				t.Errorf("after the wipe: %+v", p)
			}
		})
	}
}

// The volume attaches while the step waits (Nova attaches Cinder volumes
// asynchronously). udevd "runs" (its control socket exists in the root), so
// the step replays block events between tries and settles after mkfs; the
// recorder stands in for udevadm, which must not poke the host's disks.
func TestStorageLoopDeviceAppearsLate(t *testing.T) {
	needLoopTools(t)
	// Parallel, so it leaves storageDeviceTimeout (60 s) alone: the disk
	// comes long before that.
	t.Parallel()
	dev := newLoopDisk(t, nil)
	n := newTestNode(t, config.RoleMinion, nil)
	plug(t, n, dev, "")
	if err := os.MkdirAll(filepath.Join(n.root, "run/udev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.root, "run/udev/control"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Past the first two tries (0 and 250 ms); found at the third (750 ms).
	const late = 400 * time.Millisecond
	go func() {
		time.Sleep(late)
		_ = os.Symlink("../../vdb", filepath.Join(n.root, "dev/disk/by-id", byIDName))
	}()
	r := runStorageOn(t, n, dev, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.took < late {
		t.Errorf("done after %s, before the disk appeared", r.took)
	}
	if p := probeLoop(t, dev); p.Label != "hs-docker" {
		t.Errorf("not formatted: %+v", p)
	}
	mustContain(t, "log", r.log, "waiting for the docker disk to appear")
	if r.rec.count("udevadm trigger --action=change --subsystem-match=block") < 2 || r.rec.count("udevadm settle") < 2 {
		t.Errorf("no udev replay between tries: %q", r.rec.cmds)
	}
	if !r.rec.ran("udevadm trigger --action=change " + dev) {
		t.Errorf("no settle after mkfs: %q", r.rec.cmds)
	}
}
