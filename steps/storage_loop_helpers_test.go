package steps

// Helpers of the loop-device tests (storage_loop_test.go).

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/disk"
)

var byIDName = "virtio-" + testVolume[:20]

func needLoopTools(t *testing.T, extra ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: attaches loop devices, makes filesystems and mounts them")
	}
	for _, tool := range append([]string{"losetup", "blkid", "wipefs", "mkfs.xfs", "xfs_info", "mount", "umount"}, extra...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install util-linux xfsprogs e2fsprogs fdisk lvm2)", tool)
		}
	}
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	// stdout only: LVM warns about inherited descriptors on stderr.
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// newLoopDisk attaches a 512 MiB sparse image (prep may write to the image
// file first) and detaches it when the test ends.
func newLoopDisk(t *testing.T, prep func(img string)) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 512<<20); err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(img)
	}
	dev := sh(t, "losetup", "--find", "--show", img)
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })
	return dev
}

// plug makes dev the node's /dev/vdb and, when link is set, links
// /dev/disk/by-id/<link> to it.
func plug(t *testing.T, n *testNode, dev, link string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(n.root, "dev/disk/by-id"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(n.root, "dev/vdb"), syscall.S_IFBLK|0o600, int(st.Rdev)); err != nil {
		t.Fatal(err)
	}
	if link != "" {
		if err := os.Symlink("../../vdb", filepath.Join(n.root, "dev/disk/by-id", link)); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder runs commands on the host, records them, and refuses any that
// names a device other than the test's loop device.
type recorder struct {
	t    *testing.T
	dev  string
	mu   sync.Mutex
	cmds []string
}

func (r *recorder) Run(ctx context.Context, c command.Cmd) ([]byte, error) {
	for _, a := range c.Args {
		if strings.HasPrefix(a, "/dev/") && a != r.dev {
			r.t.Errorf("refused %s: not the test's loop device %s", c, r.dev)
			return nil, &command.Error{Cmd: c.String(), ExitCode: -1, Err: errors.New("refused by the test")}
		}
	}
	r.mu.Lock()
	r.cmds = append(r.cmds, c.String())
	r.mu.Unlock()
	return command.Host{}.Run(ctx, c)
}

// ran reports whether a command starting with prefix ran.
func (r *recorder) ran(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

var destructive = []string{"wipefs --all", "mkfs", "pvcreate", "vgcreate"}

func (r *recorder) ranNothingDestructive() {
	r.t.Helper()
	for _, d := range destructive {
		if r.ran(d) {
			r.t.Errorf("ran %s; commands: %q", d, r.cmds)
		}
	}
}

// runStorageOn runs the step as the runner would (When, then Run).
func runStorageOn(t *testing.T, n *testNode, dev string) (*recorder, []string, error) {
	t.Helper()
	rec := &recorder{t: t, dev: dev}
	e, log := storageEnv(n, rec)
	if why := storageWhen(e); why != "" {
		t.Fatalf("skipped: %s", why)
	}
	start := time.Now()
	err := configureDockerStorage.Run(context.Background(), e)
	t.Logf("run: %.3fs, err=%v, commands=%q", time.Since(start).Seconds(), err, rec.cmds)
	return rec, log.Paths(), err
}

func probeLoop(t *testing.T, dev string) disk.Probe {
	t.Helper()
	p, err := disk.ProbeDevice(context.Background(), command.Host{}, dev)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mountUUID mounts the filesystem by UUID, as the mount unit does, and
// unmounts it when done is called (or the test ends).
func mountUUID(t *testing.T, uuid string) (dir string, done func()) {
	t.Helper()
	dir = t.TempDir()
	sh(t, "mount", "UUID="+uuid, dir)
	var once sync.Once
	done = func() { once.Do(func() { _ = exec.Command("umount", dir).Run() }) }
	t.Cleanup(done)
	return dir, done
}

func describeOn(t *testing.T, n *testNode, dev string) string {
	e, _ := storageEnv(n, &recorder{t: t, dev: dev})
	return describeStorage(e)
}
