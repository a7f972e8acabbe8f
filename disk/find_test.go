package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

func TestVolumeSuffixes(t *testing.T) {
	for id, want := range map[string][]string{
		"1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e": {"1b2c3d4e-5f6a-4b7c-8", "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"},
		"1B2C3D4E5F6A4B7C8D9E0F1A2B3C4D5E":     {"1b2c3d4e-5f6a-4b7c-8", "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"},
		"short":                                {"short"},
	} {
		if got := VolumeSuffixes(id); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", id, got, want)
		}
	}
}

const vol = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"

func TestLookupVolumeNotFound(t *testing.T) {
	root := t.TempDir()
	files := hostfs.New(root)
	_, err := LookupVolume(files, vol)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "/dev/disk/by-id does not exist") {
		t.Fatalf("missing dir: %v", err)
	}
	byID := filepath.Join(root, ByID)
	if err := os.MkdirAll(byID, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link of a detached disk (dangling) and a partition of the wanted
	// disk do not count.
	for _, name := range []string{"virtio-" + vol[:20], "virtio-" + vol[:20] + "-part1", "ata-QEMU_DVD-ROM_QM00001"} {
		if err := os.Symlink("../../nowhere", filepath.Join(byID, name)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = LookupVolume(files, vol)
	msg := "Cinder volume " + vol + ` (DOCKER_VOLUME) not found: no entry of /dev/disk/by-id ends in "1b2c3d4e-5f6a-4b7c-8" or "` + vol +
		`"; /dev/disk/by-id has: ata-QEMU_DVD-ROM_QM00001, virtio-1b2c3d4e-5f6a-4b7c-8, virtio-1b2c3d4e-5f6a-4b7c-8-part1`
	if !errors.As(err, &nf) || err.Error() != msg {
		t.Fatalf("got  %v\nwant %s", err, msg)
	}
}

func TestWaitDeadline(t *testing.T) {
	files := hostfs.New(t.TempDir())
	calls := 0
	start := time.Now()
	_, err := Wait(context.Background(), 700*time.Millisecond, func() (Device, error) { return LookupVolume(files, vol) },
		func(context.Context) { calls++ })
	if took := time.Since(start); took < 700*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %s", took)
	}
	if !strings.Contains(err.Error(), "did not appear within 1s") || !strings.Contains(err.Error(), vol) {
		t.Errorf("error: %v", err)
	}
	if calls < 2 {
		t.Errorf("between called %d times", calls)
	}
}

// requireRoot: the tests that make device nodes (mknod) need root.
func requireRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t, "makes block device nodes (mknod)")
}

// mknodLike makes path a block device node with the device number of
// host (an existing node such as /dev/loop0; nothing is opened).
func mknodLike(t *testing.T, host, path string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(host, &st); err != nil {
		testenv.Unavailable(t, "no %s to copy a device number from (modprobe loop): %v", host, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(path, syscall.S_IFBLK|0o600, int(st.Rdev)); err != nil {
		t.Fatal(err)
	}
}

// link makes /dev/disk/by-id/name point at target (relative, as udev does).
func link(t *testing.T, root, name, target string) {
	t.Helper()
	p := filepath.Join(root, ByID, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// The by-id names the hypervisor's disk buses give a Cinder volume
// (Nova passes the volume id as the disk serial).
func TestLookupVolumeForms(t *testing.T) {
	requireRoot(t)
	for _, c := range []struct{ name, link string }{
		{"virtio-blk: serial cut to 20", "virtio-" + vol[:20]},
		{"virtio-scsi: whole id", "scsi-0QEMU_QEMU_HARDDISK_" + vol},
		{"scsi: serial cut to 20", "scsi-0QEMU_QEMU_HARDDISK_" + vol[:20]},
		{"nvme: serial cut to 20", "nvme-QEMU_NVMe_Ctrl_" + vol[:20]},
		{"id given in capitals", "virtio-" + strings.ToUpper(vol[:20])},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			mknodLike(t, "/dev/loop0", filepath.Join(root, "dev/vdb"))
			link(t, root, "virtio-rootdisk", "../../vda")
			link(t, root, c.link, "../../vdb")
			d, err := LookupVolume(hostfs.New(root), vol)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != ByID+"/"+c.link || d.Node != "/dev/vdb" {
				t.Errorf("found %+v", d)
			}
		})
	}
}

func TestLookupVolumeSeveralLinks(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	files := hostfs.New(root)
	mknodLike(t, "/dev/loop0", filepath.Join(root, "dev/sdb"))
	// One virtio-scsi disk, three names: found once.
	for _, name := range []string{"scsi-0QEMU_QEMU_HARDDISK_" + vol, "scsi-SQEMU_QEMU_HARDDISK_" + vol, "scsi-0QEMU_QEMU_HARDDISK_" + vol[:20]} {
		link(t, root, name, "../../sdb")
	}
	if d, err := LookupVolume(files, vol); err != nil || d.Node != "/dev/sdb" {
		t.Fatalf("one disk, several links: %+v %v", d, err)
	}
	// Two disks claiming the volume: which one is docker's is not guessed.
	mknodLike(t, "/dev/loop1", filepath.Join(root, "dev/vdc"))
	link(t, root, "virtio-"+vol[:20], "../../vdc")
	link(t, root, "xen-"+vol[:20], "../../vdc")
	_, err := LookupVolume(files, vol)
	if err == nil || !strings.Contains(err.Error(), "matches several devices") ||
		strings.Count(err.Error(), "→ /dev/sdb") != 1 || strings.Count(err.Error(), "→ /dev/vdc") != 1 {
		t.Errorf("two disks, each named once: %v", err)
	}
}

func TestLookupResolvesInsideRoot(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	files := hostfs.New(root)
	mknodLike(t, "/dev/loop0", filepath.Join(root, "dev/vdb"))
	link := filepath.Join(root, ByID, "virtio-"+vol[:20])
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../vdb", link); err != nil {
		t.Fatal(err)
	}
	d, err := LookupVolume(files, vol)
	if err != nil {
		t.Fatal(err)
	}
	want := Device{Name: ByID + "/virtio-" + vol[:20], Node: "/dev/vdb", Host: "/dev/loop0"}
	if d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
	// A regular file is not a disk.
	if err := os.WriteFile(filepath.Join(root, "dev/file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup(files, "/dev/file"); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("regular file: %v", err)
	}
}

func TestWaitFindsLateDevice(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	files := hostfs.New(root)
	mknodLike(t, "/dev/loop0", filepath.Join(root, "dev/vdb"))
	go func() {
		time.Sleep(600 * time.Millisecond)
		_ = os.MkdirAll(filepath.Join(root, ByID), 0o755)
		_ = os.Symlink("../../vdb", filepath.Join(root, ByID, "scsi-0QEMU_QEMU_HARDDISK_"+vol))
	}()
	start := time.Now()
	d, err := Wait(context.Background(), 10*time.Second, func() (Device, error) { return LookupVolume(files, vol) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Node != "/dev/vdb" || time.Since(start) < 600*time.Millisecond {
		t.Errorf("found %+v after %s", d, time.Since(start))
	}
}
