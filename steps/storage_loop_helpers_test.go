package steps

// Helpers of the loop-device tests (storage_loop_test.go,
// storage_loop_lvm_test.go).

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/disk"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

var byIDName = "virtio-" + testVolume[:20]

// loopPackages installs every tool these tests use on a fresh Debian.
const loopPackages = "apt-get install util-linux mount e2fsprogs xfsprogs fdisk lvm2"

func needLoopTools(t *testing.T, extra ...string) {
	t.Helper()
	testenv.NeedRoot(t, "attaches loop devices, makes filesystems and mounts them")
	testenv.NeedTools(t, loopPackages, append([]string{"losetup", "blkid", "wipefs", "mkfs.xfs", "xfs_info", "mount", "umount"}, extra...)...)
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	// stdout only: LVM warns about inherited descriptors on stderr.
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
	out, err := c.Output()
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
// file first) and detaches it when the test ends, whatever happened.
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
	// --partscan, as a VM's disk has: the kernel drops partitions left on
	// this loop number by an earlier user when attaching, drops those
	// partx adds when detaching, and lets wipefs --all re-read the table.
	dev := sh(t, "losetup", "--find", "--show", "--partscan", img)
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v %s", dev, err, out)
			return
		}
		// A device still open (mounted) is only marked to detach on
		// last close: say so instead of leaking it quietly.
		backing := "/sys/block/" + filepath.Base(dev) + "/loop/backing_file"
		for try := 0; ; try++ {
			b, err := os.ReadFile(backing)
			if err != nil || !strings.HasPrefix(string(b), img) {
				return
			}
			if try == 20 {
				t.Errorf("%s is still attached to %s after losetup --detach (still open or mounted?)", dev, img)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
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
// names a device other than the test's loop device. udevadm is only
// recorded: udevd does not run here, and replaying the host's block
// events from a test would poke every disk of the machine.
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
	if c.Name == "udevadm" {
		return nil, nil
	}
	return command.Host{}.Run(ctx, c)
}

// count is how many commands starting with prefix ran.
func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (r *recorder) ran(prefix string) bool { return r.count(prefix) > 0 }

var destructive = []string{"wipefs --all", "wipefs -a", "mkfs", "pvcreate", "vgcreate", "vgextend", "lvcreate"}

func (r *recorder) ranNothingDestructive() {
	r.t.Helper()
	for _, d := range destructive {
		if r.ran(d) {
			r.t.Errorf("ran %s; commands: %q", d, r.cmds)
		}
	}
}

// storageRun is one run of the step.
type storageRun struct {
	rec     *recorder
	changed []string // paths the run wrote
	err     error
	took    time.Duration
	log     string // what the step logged
}

// runStorageOn runs the step as the runner would (When, then Run), with
// rec (a new recorder if nil) as the command seam.
func runStorageOn(t *testing.T, n *testNode, dev string, rec *recorder) storageRun {
	t.Helper()
	return runStorageWith(t, n, dev, rec, false)
}

// runStorageWith is runStorageOn that, with full, hands the step every
// heat-param, secrets included, instead of only its Reads. It logs at
// debug level either way.
func runStorageWith(t *testing.T, n *testNode, dev string, rec *recorder, full bool) storageRun {
	t.Helper()
	if rec == nil {
		rec = &recorder{t: t, dev: dev}
	}
	e, changes := storageEnv(n, rec)
	if full {
		e.Params = n.params
	}
	var logged bytes.Buffer
	e.Log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if why := storageWhen(e); why != "" {
		t.Fatalf("skipped: %s", why)
	}
	before := len(rec.cmds)
	start := time.Now()
	err := configureDockerStorage.Run(context.Background(), e)
	r := storageRun{rec: rec, changed: changes.Paths(), err: err, took: time.Since(start), log: logged.String()}
	t.Logf("run: %.1f ms, err=%v, commands=%q", r.took.Seconds()*1000, err, rec.cmds[before:])
	return r
}

func probeLoop(t *testing.T, dev string) disk.Probe {
	t.Helper()
	p, err := disk.ProbeDevice(context.Background(), command.Host{}, dev)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mountDev mounts a block device on a new temp dir and unmounts it when
// done is called or the test ends (before its temp dirs are removed). By
// node, not UUID=: a UUID makes mount(8) open every block device of the
// machine, other workers' included.
func mountDev(t *testing.T, dev string) (dir string, done func()) {
	t.Helper()
	dir = t.TempDir()
	return dir, mountAt(t, dir, dev)
}

// mountAt runs mount(8) with args then dir, and returns the unmount.
func mountAt(t *testing.T, dir string, args ...string) (done func()) {
	t.Helper()
	sh(t, "mount", append(args, dir)...)
	var once sync.Once
	done = func() {
		once.Do(func() {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v %s", dir, err, out)
			} else if mounted(dir) {
				t.Errorf("umount %s: still a mount point", dir)
			}
		})
	}
	t.Cleanup(done)
	return done
}

// mounted: dir is on another filesystem than its parent.
func mounted(dir string) bool {
	var d, p syscall.Stat_t
	return syscall.Stat(dir, &d) == nil && syscall.Stat(filepath.Dir(dir), &p) == nil && d.Dev != p.Dev
}

// mountAsSystemd mounts what the rendered mount unit names, the way
// systemd runs mount(8) for it: mount What Where -t Type -o Options, with
// Where inside the node's root.
func mountAsSystemd(t *testing.T, n *testNode) (dir string, done func()) {
	t.Helper()
	opts, err := unit.DeserializeOptions(strings.NewReader(n.read("/etc/systemd/system/" + dockerMountUnit)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range opts {
		if o.Section == "Mount" {
			m[o.Name] = o.Value
		}
	}
	if m["Where"] != dockerRoot || m["What"] == "" || m["Type"] == "" {
		t.Fatalf("mount unit: %v", m)
	}
	dir = n.hostPath(m["Where"])
	return dir, mountAt(t, dir, "-t", m["Type"], "-o", m["Options"], m["What"])
}

// noSecrets fails the test if any heat-params secret shows in texts.
func noSecrets(t *testing.T, n *testNode, texts map[string]string) {
	t.Helper()
	secrets := n.params.SecretValues()
	if len(secrets) == 0 {
		t.Fatal("the test node's heat-params hold no secret: nothing to look for")
	}
	for what, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a secret (%.6s…)", what, s)
			}
		}
	}
}

// describeOn is what `plan` shows for the step on this node.
func describeOn(t *testing.T, n *testNode, dev string) string {
	e, _ := storageEnv(n, &recorder{t: t, dev: dev})
	return configureDockerStorage.Describe(context.Background(), e) // what `plan` calls
}

// addPartitions makes the kernel see dev's partitions: this kernel has no
// partition table parser, so partx reads the table and adds them
// (testbed notes §B). They go before the loop device is detached.
func addPartitions(t *testing.T, dev string) []string {
	t.Helper()
	testenv.NeedTools(t, loopPackages, "partx")
	sh(t, "partx", "--add", dev)
	t.Cleanup(func() { _ = exec.Command("partx", "--delete", dev).Run() })
	parts, _ := filepath.Glob(dev + "p*")
	if len(parts) == 0 {
		t.Fatalf("partx --add %s: no partition nodes", dev)
	}
	return parts
}
