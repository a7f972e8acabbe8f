package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/internal/testenv"
)

// `plan` on a live node (--root /) shows what configure-docker-storage
// would decide for the real disk, here a loop device holding someone's
// ext4: it probes (a plan wired with the offline runner could only say
// "not run") and touches nothing.
func TestPlanLiveProbesDockerDisk(t *testing.T) {
	testenv.NeedRoot(t, "attaches a loop device")
	testenv.NeedTools(t, "apt-get install util-linux e2fsprogs", "losetup", "blkid", "wipefs", "mkfs.ext4")
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mkfs.ext4", "-q", "-L", "data", img).CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	out, err = exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v %s", dev, err, out)
		}
	})
	before, _ := exec.Command("blkid", "-p", "-o", "export", dev).Output()
	hp := filepath.Join(dir, "heat-params")
	if err := os.WriteFile(hp, []byte(example(t, "minion.heat-params", map[string]string{"DOCKER_STORAGE_DEVICE": dev})), 0o600); err != nil {
		t.Fatal(err)
	}

	r := cli(t, "plan", "--root", "/", "--params", hp, "--state-dir", filepath.Join(dir, "state"))
	want := "→ refuse: " + dev + ` holds an ext4 filesystem (label "data"); refusing to format it; set DOCKER_STORAGE_WIPE=true`
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("code %d, want %q in:\n%s\n%s", r.code, want, r.stdout, r.stderr)
	}
	if after, _ := exec.Command("blkid", "-p", "-o", "export", dev).Output(); string(after) != string(before) {
		t.Errorf("plan changed the disk:\n%s\n→\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("plan created the state directory")
	}
}
