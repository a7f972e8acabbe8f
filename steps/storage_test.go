package steps

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/disk"
	"github.com/heatstrap/heatstrap/hostfs"
)

const testVolume = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e" // examples/minion.heat-params

// storageEnv is the Env of configure-docker-storage on a live node whose
// files live under n.root, with its own change log.
func storageEnv(n *testNode, exec command.Runner) (*Env, *hostfs.ChangeLog) {
	e := n.env(configureDockerStorage)
	files, log := n.files.Recording()
	e.Files, e.Units = files, n.backend.For(files, configureDockerStorage.Name)
	e.Live, e.Exec = true, exec
	return e, log
}

// noCommands fails the test on any command.
type noCommands struct{ t *testing.T }

func (r noCommands) Run(_ context.Context, c command.Cmd) ([]byte, error) {
	r.t.Errorf("unexpected command %s", c)
	return nil, &command.Error{Cmd: c.String(), ExitCode: -1, Err: os.ErrPermission}
}

func TestStorageWhen(t *testing.T) {
	for _, c := range []struct {
		set  map[string]string
		live bool
		want string
	}{
		{map[string]string{}, true, ""},
		{map[string]string{"DOCKER_VOLUME_SIZE": "0"}, true, "DOCKER_VOLUME_SIZE=0: no docker volume"},
		{map[string]string{"DOCKER_VOLUME_SIZE": "0", "DOCKER_STORAGE_DEVICE": "/dev/vdc"}, true, ""},
		{map[string]string{"DOCKER_VOLUME": ""}, true, "neither DOCKER_VOLUME nor DOCKER_STORAGE_DEVICE"},
		{map[string]string{}, false, "offline mode (--root): block devices are not touched"},
	} {
		n := newTestNode(t, config.RoleMinion, c.set)
		e := n.env(configureDockerStorage)
		e.Live = c.live
		got := storageWhen(e)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%v live=%v: %q, want %q", c.set, c.live, got, c.want)
		}
		if d := describeStorage(context.Background(), e); got != "" && d != "skip: "+got {
			t.Errorf("describe: %q", d)
		}
	}

	// As the runner runs it: skipped with the reason; nothing written.
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_VOLUME_SIZE": "0"})
	before := treeState(t, n.root)
	skipped, err := n.run(configureDockerStorage)
	if err != nil || skipped != "DOCKER_VOLUME_SIZE=0: no docker volume; docker keeps its storage on the root disk" {
		t.Errorf("DOCKER_VOLUME_SIZE=0: skipped %q, err %v", skipped, err)
	}
	sameTree(t, "skipped step", before, treeState(t, n.root))
}

func TestStorageDeviceNeverAppears(t *testing.T) {
	defer func(d time.Duration) { storageDeviceTimeout = d }(storageDeviceTimeout)
	storageDeviceTimeout = time.Second
	n := newTestNode(t, config.RoleMinion, nil)
	if err := os.MkdirAll(filepath.Join(n.root, "dev/disk/by-id"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../vda", filepath.Join(n.root, "dev/disk/by-id/virtio-rootdisk")); err != nil {
		t.Fatal(err)
	}
	e, _ := storageEnv(n, noCommands{t})
	start := time.Now()
	err := configureDockerStorage.Run(context.Background(), e)
	if took := time.Since(start); took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s", took)
	}
	if err == nil {
		t.Fatal("no error")
	}
	mustContain(t, "error", err.Error(),
		"Cinder volume "+testVolume+" (DOCKER_VOLUME) did not appear within 1s",
		`ends in "1b2c3d4e-5f6a-4b7c-8"`, "/dev/disk/by-id has: virtio-rootdisk",
		"check that the volume is attached to this server")
	t.Log(err)

	if d := describeStorage(context.Background(), e); !strings.HasPrefix(d, "wait up to 1s for the disk; now: Cinder volume") {
		t.Errorf("describe: %s", d)
	}
}

func TestStorageDeviceOverrideNeverAppears(t *testing.T) {
	defer func(d time.Duration) { storageDeviceTimeout = d }(storageDeviceTimeout)
	storageDeviceTimeout = time.Second
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DEVICE": "/dev/vdc"})
	e, _ := storageEnv(n, noCommands{t})
	err := configureDockerStorage.Run(context.Background(), e)
	want := "DOCKER_STORAGE_DEVICE /dev/vdc did not appear within 1s: no block device at /dev/vdc; check DOCKER_STORAGE_DEVICE"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestStorageDeviceMustBeAbsolute(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DEVICE": "vdb"})
	e, _ := storageEnv(n, noCommands{t})
	err := configureDockerStorage.Run(context.Background(), e)
	if err == nil || !strings.Contains(err.Error(), `DOCKER_STORAGE_DEVICE "vdb": must be an absolute path`) {
		t.Errorf("got %v", err)
	}
}

func TestMountUnit(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	e, _ := storageEnv(n, noCommands{t})
	if err := e.writeUnits(mountUnit("c3c1102e-43b0-4fbf-a982-03388be0a2d1"), dockerDropIn()); err != nil {
		t.Fatal(err)
	}
	if err := e.enableAndStart(context.Background(), dockerMountUnit); err != nil {
		t.Fatal(err)
	}
	want := `[Unit]
Description=docker storage on the Cinder volume (heatstrap)
Before=docker.service docker-storage-setup.service

[Mount]
What=UUID=c3c1102e-43b0-4fbf-a982-03388be0a2d1
Where=/var/lib/docker
Type=xfs
Options=defaults

[Install]
RequiredBy=docker.service
`
	if got := n.read("/etc/systemd/system/var-lib-docker.mount"); got != want {
		t.Errorf("unit:\n%s\nwant:\n%s", got, want)
	}
	if got := n.read("/etc/systemd/system/docker.service.d/docker-storage.conf"); got != "[Unit]\nRequiresMountsFor=/var/lib/docker\n" {
		t.Errorf("drop-in:\n%s", got)
	}
	link, err := os.Readlink(filepath.Join(n.root, "etc/systemd/system/docker.service.requires/var-lib-docker.mount"))
	if err != nil || link != "/etc/systemd/system/var-lib-docker.mount" {
		t.Errorf("RequiredBy link: %q %v", link, err)
	}
}

func TestDaemonJSONMerge(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	files := n.files
	path := filepath.Join(n.root, "etc/docker/daemon.json")

	// No file: created with the driver only.
	if changed, err := mergeDaemonJSON(files, "overlay2"); err != nil || !changed {
		t.Fatalf("create: %v %v", changed, err)
	}
	if got := n.read(daemonJSON); got != "{\n  \"storage-driver\": \"overlay2\"\n}\n" {
		t.Errorf("created: %q", got)
	}

	// Other keys and their values are kept (order: sorted).
	orig := `{"log-driver": "journald", "insecure-registries": ["10.0.0.5:5000"],
	 "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 65536, "Soft": 65536}}, "storage-driver": "devicemapper"}`
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := mergeDaemonJSON(files, "overlay2"); err != nil || !changed {
		t.Fatalf("merge: %v %v", changed, err)
	}
	var before, after map[string]any
	_ = json.Unmarshal([]byte(orig), &before)
	if err := json.Unmarshal([]byte(n.read(daemonJSON)), &after); err != nil {
		t.Fatal(err)
	}
	before["storage-driver"] = "overlay2"
	if !reflect.DeepEqual(before, after) {
		t.Errorf("merged %v, want %v", after, before)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the file's own 0600", st.Mode().Perm())
	}

	// Already set: not rewritten, whatever the formatting.
	same := `{"storage-driver":"overlay2","debug":true}`
	if err := os.WriteFile(path, []byte(same), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := mergeDaemonJSON(files, "overlay2"); err != nil || changed || n.read(daemonJSON) != same {
		t.Errorf("already set: changed=%v err=%v\n%s", changed, err, n.read(daemonJSON))
	}

	// Not JSON, or not an object: error naming the file, file untouched.
	for _, bad := range []string{`{"debug": true,}`, `null`, `["overlay2"]`} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := mergeDaemonJSON(files, "overlay2")
		if err == nil || !strings.Contains(err.Error(), path+" is not a valid JSON object") || n.read(daemonJSON) != bad {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestStorageDriverFedoraStyle(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	e, _ := storageEnv(n, noCommands{t})
	if _, err := e.Files.WriteFile(hostfs.File{Path: dssConfig, Data: []byte("# shipped\n"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := configureDriver(e, "overlay2"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, dssConfig, n.read(dssConfig), "\nSTORAGE_DRIVER=overlay2\n")
	mustContain(t, dockerStorageEnv, n.read(dockerStorageEnv), "\nDOCKER_STORAGE_OPTIONS=\"--storage-driver overlay2\"\n")
	if e.Files.Exists(daemonJSON) {
		t.Error("daemon.json written on a Fedora-style image")
	}
	if strings.Contains(n.read(dssConfig), "VG=") {
		t.Error("VG= for overlay2")
	}

	// devicemapper: Mitaka's VG=docker, plus the driver.
	if err := configureDeviceMapper(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if got := n.read(dssConfig); !strings.HasSuffix(got, "\nSTORAGE_DRIVER=devicemapper\nVG=docker\n") {
		t.Errorf("devicemapper:\n%s", got)
	}

	// A driver in daemon.json as well would stop dockerd: refused.
	if _, err := e.Files.WriteFile(hostfs.File{Path: daemonJSON, Data: []byte(`{"storage-driver": "overlay2"}`), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	err := configureDriver(e, "overlay2")
	if err == nil || !strings.Contains(err.Error(), `sets "storage-driver", and this image's docker also gets --storage-driver`) {
		t.Errorf("conflict: %v", err)
	}
}

// wipefs fails with EBUSY when something holds the device; the hint
// names that thing. LVM's hold needs device-mapper (a VM), so the message
// is checked here.
func TestBusyHint(t *testing.T) {
	dev := disk.Device{Name: "/dev/disk/by-id/virtio-x", Node: "/dev/vdb"}
	busy := errors.New("wipefs: error: /dev/vdb: probing initialization failed: Device or resource busy")
	pv := disk.Probe{Type: "LVM2_member", PV: &disk.PV{VG: "data", MDACount: 1}}
	for _, c := range []struct {
		err  error
		p    disk.Probe
		want string
	}{
		{busy, pv, ` (it is in use: deactivate volume group "data" first, vgchange -an data)`},
		{busy, disk.Probe{Type: "ext4"}, " (it is in use: unmount it first; findmnt --source /dev/vdb shows where)"},
		{errors.New(`exec: "wipefs": executable file not found in $PATH`), pv, ""},
	} {
		if got := busyHint(c.err, dev, c.p); got != c.want {
			t.Errorf("%v, %+v:\n got %q\nwant %q", c.err, c.p, got, c.want)
		}
	}
}

// A second run of the driver configuration changes nothing (bytes, modes,
// mtimes, inodes), on each kind of image.
func TestStorageConfigRerunQuiet(t *testing.T) {
	for _, c := range []struct {
		name, seedPath, seed string
		apply                func(*Env) error
	}{
		{"daemon.json created", "", "", func(e *Env) error { return configureDriver(e, "overlay2") }},
		{"daemon.json merged", daemonJSON, `{"debug": true, "storage-driver": "devicemapper"}`, func(e *Env) error { return configureDriver(e, "overlay2") }},
		{"fedora overlay2", dssConfig, "# shipped\n", func(e *Env) error { return configureDriver(e, "overlay2") }},
		{"fedora devicemapper", dssConfig, "# shipped\n", func(e *Env) error { return configureDeviceMapper(context.Background(), e) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newTestNode(t, config.RoleMinion, nil)
			if c.seedPath != "" {
				n.write(c.seedPath, c.seed, 0o644)
			}
			e, log := storageEnv(n, noCommands{t})
			if err := c.apply(e); err != nil {
				t.Fatal(err)
			}
			if len(log.Paths()) == 0 {
				t.Fatal("first run wrote nothing")
			}
			before := treeState(t, n.root)
			e, log = storageEnv(n, noCommands{t})
			if err := c.apply(e); err != nil {
				t.Fatal(err)
			}
			sameTree(t, "rerun", before, treeState(t, n.root))
			if len(log.Paths()) > 0 {
				t.Errorf("rerun changed %v", log.Paths())
			}
		})
	}
}

// treeState records, for every path under root, what any write would
// change: bytes (sha256), mode, mtime and inode (an atomic rewrite of the
// same bytes still makes a new inode), and symlink targets.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fmt.Sprintf("%v ino=%d mtime=%d", st.Mode(), st.Sys().(*syscall.Stat_t).Ino, st.ModTime().UnixNano())
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			v += " → " + target
		case st.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" sha256=%x", sha256.Sum256(b))
		}
		m[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameTree fails the test for every path that appeared, vanished or
// changed between two treeStates.
func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, v := range after {
		if w, ok := before[p]; !ok {
			t.Errorf("%s created %s", what, p)
		} else if w != v {
			t.Errorf("%s changed %s:\n  %s\n→ %s", what, p, w, v)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s removed %s", what, p)
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}
