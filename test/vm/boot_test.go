//go:build vm

package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
)

// A master boots, cloud-init hands over, heatstrap bootstraps it and Heat
// hears SUCCESS; docker's storage is the extra disk.
func TestVMBootToSuccess(t *testing.T) {
	v := boot(t, vmOpts{name: "master-ok"})
	st, took := v.waitWC(8 * time.Minute)
	if st != heattest.StatusComplete {
		_, reason := v.wc.Status()
		t.Fatalf("wait condition %s: %s", st, reason)
	}
	t.Logf("boot to SUCCESS: %s", took.Round(time.Second))
	e := v.entry()
	if e.Status != "SUCCESS" || !strings.Contains(e.Reason.(string), "3 gates passed") {
		t.Errorf("signal %+v", e)
	}
	v.powerOff()
	// The serial console shows the run's progress, step by step.
	for _, step := range []string{"configure-etcd", "configure-docker-storage", "enable-services", "master-wc-notify"} {
		if len(v.consoleLines(`msg="step succeeded" step=`+step+` `)) != 1 {
			t.Errorf("the console does not show %s succeeding once", step)
		}
	}
	if len(v.consoleLines("Cloud-init v.")) == 0 {
		t.Error("the console shows no cloud-init")
	}
	files := mountDisk(t, v.vdb, "xfs")
	for _, want := range []string{"overlay2", "image", "containers"} {
		if !files[want] {
			t.Errorf("docker's %s/ is not on the extra disk (it holds %v)", want, files)
		}
	}
}

// A step that fails makes the wait condition fail at once, naming the
// step, instead of timing out: here the Cinder volume holds someone's
// ext4 filesystem, which heatstrap refuses to format.
func TestVMStepFailure(t *testing.T) {
	v := boot(t, vmOpts{name: "master-refuse", disk: func(t *testing.T, img string) {
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "data", img).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ext4: %v\n%s", err, out)
		}
		seedFile(t, img, "ext4", "precious.txt", "keep me\n")
	}})
	st, took := v.waitWC(8 * time.Minute)
	_, reason := v.wc.Status()
	if st != heattest.StatusFailed {
		t.Fatalf("wait condition %s, want FAILED: %s", st, reason)
	}
	t.Logf("boot to FAILURE: %s (Heat would wait %s)", took.Round(time.Second), "20m0s")
	for _, want := range []string{"WaitConditionFailure", "step configure-docker-storage failed", `ext4 filesystem (label "data")`, "DOCKER_STORAGE_WIPE=true"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason lacks %q: %s", want, reason)
		}
	}
	v.powerOff()
	// FAILURE comes right after the step: the console shows the step fail
	// and the signal delivered, with nothing waited for in between.
	if len(v.consoleLines(`msg="step failed" step=configure-docker-storage`)) != 1 ||
		len(v.consoleLines(`msg="Heat signal delivered" status=FAILURE`)) != 1 {
		t.Errorf("console lacks the failure and its signal:\n%s", tail(v.consoleText(), 30))
	}
	files := mountDisk(t, v.vdb, "ext4")
	if !files["precious.txt"] {
		t.Errorf("the refused disk lost its data: %v", files)
	}
}

func (v *vm) entry() heattest.Entry {
	v.t.Helper()
	md := v.wc.Metadata()
	if len(md) != 1 {
		v.t.Fatalf("handle metadata %v, want one entry", md)
	}
	for _, e := range md {
		return e
	}
	return heattest.Entry{}
}

// mountDisk mounts a disk image read-only on the host and lists its top
// directory.
func mountDisk(t *testing.T, img, fstype string) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-o", "ro,loop", "-t", fstype, img, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v\n%s", img, err, out)
	}
	defer exec.Command("umount", dir).Run()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// seedFile writes a file onto a fresh filesystem image.
func seedFile(t *testing.T, img, fstype, name, content string) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", "-t", fstype, img, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v\n%s", img, err, out)
	}
	err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	if out, uerr := exec.Command("umount", dir).CombinedOutput(); uerr != nil {
		t.Fatalf("umount: %v\n%s", uerr, out)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// DOCKER_STORAGE_DRIVER=devicemapper on an image without
// docker-storage-setup: heatstrap makes the volume group and the thin pool
// on the Cinder volume (the guest has device-mapper, the host does not)
// and docker runs on it; SUCCESS means docker came up with that config.
func TestVMDeviceMapper(t *testing.T) {
	v := boot(t, vmOpts{name: "master-dm", set: map[string]string{"DOCKER_STORAGE_DRIVER": "devicemapper"}})
	st, took := v.waitWC(8 * time.Minute)
	if st != heattest.StatusComplete {
		_, reason := v.wc.Status()
		t.Fatalf("wait condition %s: %s", st, reason)
	}
	t.Logf("boot to SUCCESS with devicemapper: %s", took.Round(time.Second))
	v.powerOff()
	if len(v.consoleLines(`msg="created the docker thin pool" step=configure-docker-storage vg=docker`)) != 1 {
		t.Error("the console does not show the thin pool being made")
	}
	// The host reads the LVM metadata off the disk (no activation).
	loop := strings.TrimSpace(run(t, "losetup", "-f", "--show", "-r", v.vdb))
	defer exec.Command("losetup", "-d", loop).Run()
	if vg := strings.TrimSpace(run(t, "pvs", "--noheadings", "-o", "vg_name", loop)); vg != "docker" {
		t.Errorf("the docker disk's PV is in VG %q", vg)
	}
	if lvs := run(t, "lvs", "--noheadings", "-o", "lv_name,segtype", "--devices", loop, "docker"); !strings.Contains(lvs, "thinpool thin-pool") {
		t.Errorf("lvs on the docker disk:\n%s", lvs)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}
