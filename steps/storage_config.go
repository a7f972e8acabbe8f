package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/disk"
	"github.com/heatstrap/heatstrap/hostfs"
)

const (
	daemonJSON = "/etc/docker/daemon.json"
	// Fedora's docker-storage-setup reads dssConfig when docker starts and
	// writes dockerStorageEnv, whose DOCKER_STORAGE_OPTIONS Fedora's
	// docker.service passes to dockerd.
	dssConfig        = "/etc/sysconfig/docker-storage-setup"
	dockerStorageEnv = "/etc/sysconfig/docker-storage"
)

// mountUnit mounts the docker filesystem instead of an fstab line: written
// whole, so a rerun changes nothing, and tied to docker both ways.
//
// What=UUID= rather than /dev/vdb: the UUID stays right when volumes attach
// in another order. mount(8) resolves it by probing, without udev's
// /dev/disk/by-uuid links (containers, early boot). systemd adds no device
// dependency for it (systemd#28989); that is fine here because the unit
// starts with docker, long after the attached volume's disk was probed.
func mountUnit(uuid string) unitFile {
	return unitFile{name: dockerMountUnit, opts: []*unit.UnitOption{
		opt("Unit", "Description", "docker storage on the Cinder volume (heatstrap)"),
		// docker-storage-setup (Fedora) inspects the filesystem of
		// /var/lib/docker, so it too must run after the mount.
		opt("Unit", "Before", "docker.service docker-storage-setup.service"),
		opt("Mount", "What", "UUID="+uuid),
		opt("Mount", "Where", dockerRoot),
		opt("Mount", "Type", "xfs"),
		opt("Mount", "Options", "defaults"),
		// RequiredBy: docker never starts on the root disk's
		// /var/lib/docker when the volume is missing; its images would
		// vanish under the mount later.
		opt("Install", "RequiredBy", "docker.service"),
	}}
}

// dockerDropIn makes docker.service require the mount from its own side
// too. What it is for: a docker already running from the root disk's
// /var/lib/docker (images where docker.io starts at boot) keeps its files
// open there while the volume is mounted over them. A drop-in it was not
// started with makes the queued start of enable-services a restart, so
// docker comes back up on the volume (the mount unit alone is not one of
// docker's files). On a rerun the drop-in is unchanged: no restart.
func dockerDropIn() unitFile {
	return unitFile{name: "docker.service", dropIn: dockerDropInName, opts: []*unit.UnitOption{
		opt("Unit", "RequiresMountsFor", dockerRoot),
	}}
}

// fedoraStyle is the rule for where docker's storage driver goes: an
// image whose docker reads /etc/sysconfig/docker-storage(-setup) ships at
// least one of the two files (Fedora/Atomic docker and
// docker-storage-setup packages). Any other image (Debian's docker.io)
// gets /etc/docker/daemon.json.
func fedoraStyle(e *Env) bool {
	return e.Files.Exists(dssConfig) || e.Files.Exists(dockerStorageEnv)
}

type storageSysconfig struct{ Driver, VG string }

// configureDriver tells docker to use driver (overlay2 or overlay).
func configureDriver(e *Env, driver string) error {
	if !fedoraStyle(e) {
		_, err := mergeDaemonJSON(e.Files, driver)
		return err
	}
	if err := checkNoDaemonJSONDriver(e.Files); err != nil {
		return err
	}
	return e.writeFiles(
		file{path: dssConfig, template: "docker-storage-setup", data: storageSysconfig{Driver: driver}, mode: 0o644},
		file{path: dockerStorageEnv, template: "docker-storage", data: storageSysconfig{Driver: driver}, mode: 0o644},
	)
}

// configureDeviceMapper writes what Mitaka wrote (VG=docker), plus the
// driver: newer docker-storage-setup defaults to overlay2. On Fedora the
// thin pool is made by docker-storage-setup when docker starts, and
// /etc/sysconfig/docker-storage is left to it, as it rewrites that file.
// Images without docker-storage-setup (Debian's docker.io) would get a VG
// nothing uses: there heatstrap makes the pool itself and points docker
// at it in daemon.json, docker's "direct-lvm" setup.
func configureDeviceMapper(ctx context.Context, e *Env) error {
	if !fedoraStyle(e) {
		made, err := disk.MakeThinPool(ctx, e.Exec, dockerVG)
		if err != nil {
			return fmt.Errorf("docker thin pool in volume group %s: %w", dockerVG, err)
		}
		if made {
			e.Log.Info("created the docker thin pool", "vg", dockerVG, "device", disk.ThinPoolDevice(dockerVG))
		}
		_, err = mergeDaemonJSON(e.Files, "devicemapper",
			"dm.thinpooldev="+disk.ThinPoolDevice(dockerVG), "dm.use_deferred_removal=true", "dm.use_deferred_deletion=true")
		return err
	}
	return e.writeFiles(file{path: dssConfig, template: "docker-storage-setup", data: storageSysconfig{Driver: "devicemapper", VG: dockerVG}, mode: 0o644})
}

// readDaemonJSON returns daemon.json's top-level object (nil, nil when
// the file is missing or empty) and the file's permissions.
func readDaemonJSON(files *hostfs.FS) (map[string]json.RawMessage, fs.FileMode, error) {
	data, err := files.ReadFile(daemonJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o644, nil
	} else if err != nil {
		return nil, 0, err
	}
	mode := fs.FileMode(0o644)
	if st, err := files.Lstat(daemonJSON); err == nil {
		mode = st.Mode().Perm()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, mode, nil
	}
	var doc map[string]json.RawMessage
	err = json.Unmarshal(data, &doc)
	if err == nil && doc == nil {
		err = errors.New("null is not an object")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s is not a valid JSON object (%v); not overwritten: fix or remove it so that heatstrap can set \"storage-driver\"",
			files.Display(daemonJSON), err)
	}
	return doc, mode, nil
}

// mergeDaemonJSON sets "storage-driver" (and "storage-opts": the
// driver's own, none for overlay2) in daemon.json and keeps every other
// key with its value. Go maps do not keep order, so the keys are written
// sorted; the file is rewritten (atomically) only when something changed.
func mergeDaemonJSON(files *hostfs.FS, driver string, opts ...string) (changed bool, err error) {
	doc, mode, err := readDaemonJSON(files)
	if err != nil {
		return false, err
	}
	var cur string
	var curOpts []string
	if raw, ok := doc["storage-opts"]; ok {
		_ = json.Unmarshal(raw, &curOpts)
	}
	if raw, ok := doc["storage-driver"]; ok && json.Unmarshal(raw, &cur) == nil && cur == driver && slices.Equal(curOpts, opts) {
		return false, nil
	}
	if doc == nil {
		doc = map[string]json.RawMessage{}
	}
	doc["storage-driver"], _ = json.Marshal(driver)
	delete(doc, "storage-opts") // another driver's options would stop dockerd
	if len(opts) > 0 {
		doc["storage-opts"], _ = json.Marshal(opts)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return false, fmt.Errorf("%s: %w", files.Display(daemonJSON), err)
	}
	return files.WriteFile(hostfs.File{Path: daemonJSON, Data: append(out, '\n'), Mode: mode})
}

// checkNoDaemonJSONDriver: dockerd refuses to start when the driver is
// given both as a flag (Fedora's $DOCKER_STORAGE_OPTIONS) and in
// daemon.json.
func checkNoDaemonJSONDriver(files *hostfs.FS) error {
	doc, _, err := readDaemonJSON(files)
	if err != nil {
		return err
	}
	if _, ok := doc["storage-driver"]; ok {
		return fmt.Errorf("%s sets \"storage-driver\", and this image's docker also gets --storage-driver from %s; dockerd refuses both: remove the key from %s",
			files.Display(daemonJSON), dockerStorageEnv, daemonJSON)
	}
	return nil
}
