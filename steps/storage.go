package steps

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/disk"
)

// configureDockerStorage puts docker's storage on the Cinder volume (spec
// §6), deciding before acting and never destroying data:
//
//	device  DOCKER_STORAGE_DEVICE, else the /dev/disk/by-id link of
//	        DOCKER_VOLUME, waited for up to storageDeviceTimeout
//	probe   blkid -p, wipefs (listing), pvs → disk.Decide:
//	        blank → format; ours → reuse; else refuse, or wipe when
//	        DOCKER_STORAGE_WIPE=true; re-probed right before wipefs/mkfs
//	overlay2/overlay  xfs (ftype=1, label hs-docker) mounted at
//	        /var/lib/docker by var-lib-docker.mount, which docker.service
//	        requires (and a drop-in of it too); the driver goes into
//	        /etc/docker/daemon.json or, on Fedora-style images, the sysconfig
//	        files (storage_config.go)
//	devicemapper      PV + VG "docker" and VG=docker for docker-storage-setup
//
// Deliberate differences from Mitaka and later Magnum (§6, §9.7): no mkfs -f,
// no rm -rf /var/lib/docker, no fstab append; a rerun reuses what the first
// run made instead of failing (pvcreate/vgcreate) or formatting again.
var configureDockerStorage = Step{
	Name:     "configure-docker-storage",
	Summary:  "the Cinder volume becomes docker's storage, never destroying data",
	Reads:    []config.Key{config.DockerVolume, config.DockerVolumeSize, config.DockerStorageDriver, config.DockerStorageDevice, config.DockerStorageWipe},
	Timeout:  3 * time.Minute,
	When:     storageWhen,
	Run:      runStorage,
	Describe: describeStorage,
}

const (
	dockerLabel      = "hs-docker" // ≤ 12 characters (xfs)
	dockerVG         = "docker"
	dockerRoot       = "/var/lib/docker"
	dockerMountUnit  = "var-lib-docker.mount" // systemd-escape --path /var/lib/docker
	dockerDropInName = "docker-storage.conf"  // in docker.service.d
)

// storageDeviceTimeout bounds the wait for the volume to show up (Mitaka:
// 60 tries, about 30 s plus udevadm time); tests shorten it.
var storageDeviceTimeout = 60 * time.Second

func storageWhen(e *Env) string {
	p := e.Params
	switch {
	case p.DockerStorageDevice == "" && p.DockerVolumeSize == 0:
		return "DOCKER_VOLUME_SIZE=0: no docker volume; docker keeps its storage on the root disk"
	case p.DockerStorageDevice == "" && p.DockerVolume == "":
		return "neither DOCKER_VOLUME nor DOCKER_STORAGE_DEVICE is set; docker keeps its storage on the root disk"
	case !e.Live:
		return "offline mode (--root): block devices are not touched"
	}
	return ""
}

// storagePlan is what the parameters ask for.
type storagePlan struct {
	driver string
	want   disk.Want
	wipe   bool
}

func newStoragePlan(p config.Params) storagePlan {
	sp := storagePlan{driver: p.DockerStorageDriver, wipe: p.DockerStorageWipe, want: disk.Filesystem("xfs", dockerLabel)}
	if sp.driver == "devicemapper" {
		sp.want = disk.LVM(dockerVG)
	}
	return sp
}

func runStorage(ctx context.Context, e *Env) error {
	sp := newStoragePlan(e.Params)
	dev, err := findStorageDevice(ctx, e)
	if err != nil {
		return err
	}
	p, err := disk.ProbeDevice(ctx, e.Exec, dev.Host)
	if err != nil {
		return err
	}
	d := disk.Decide(p, sp.want, sp.wipe)
	e.Log.Info("docker storage decision", "device", dev.String(), "holds", d.Found(), "action", string(d.Action))
	if d.Action == disk.Refuse {
		return refusal(dev, d)
	}
	if sp.want.VG != "" {
		return sp.devicemapper(ctx, e, dev, d)
	}
	return sp.overlay(ctx, e, dev, d)
}

// lookupStorageDevice looks once, without waiting.
func lookupStorageDevice(e *Env) (disk.Device, error) {
	if p := e.Params.DockerStorageDevice; p != "" {
		if !filepath.IsAbs(p) {
			return disk.Device{}, fmt.Errorf("DOCKER_STORAGE_DEVICE %q: must be an absolute path such as /dev/vdb", p)
		}
		return disk.LookupPath(e.Files, p, "DOCKER_STORAGE_DEVICE "+p)
	}
	return disk.LookupVolume(e.Files, e.Params.DockerVolume)
}

// findStorageDevice waits for the device. Where udevd runs, it replays the
// block devices' events between tries, as Mitaka did, in case a link was
// missed.
func findStorageDevice(ctx context.Context, e *Env) (disk.Device, error) {
	udev, waiting := udevRunning(e), false
	between := func(ctx context.Context) {
		if !waiting {
			waiting = true
			e.Log.Info("waiting for the docker disk to appear", "timeout", storageDeviceTimeout.String(), "udev", udev)
		}
		if !udev {
			return
		}
		if err := disk.TriggerBlock(ctx, e.Exec); err != nil {
			e.Log.Warn("udevadm failed; still waiting for the disk", "err", err)
		}
	}
	dev, err := disk.Wait(ctx, storageDeviceTimeout, func() (disk.Device, error) { return lookupStorageDevice(e) }, between)
	if nf := (*disk.NotFoundError)(nil); errors.As(err, &nf) {
		hint := "check that the volume is attached to this server (openstack server show), or set DOCKER_STORAGE_DEVICE to its device"
		if e.Params.DockerStorageDevice != "" {
			hint = "check DOCKER_STORAGE_DEVICE"
		}
		return dev, fmt.Errorf("%w; %s", err, hint)
	}
	return dev, err
}

// udevRunning: udevd's control socket exists (not in containers, not on
// this project's test machines).
func udevRunning(e *Env) bool { return e.Files.Exists("/run/udev/control") }

func settleUdev(ctx context.Context, e *Env, dev disk.Device) {
	if !udevRunning(e) {
		return
	}
	if err := disk.Settle(ctx, e.Exec, dev.Host); err != nil {
		// The mount unit names the filesystem by UUID, which mount(8)
		// finds without udev's links: a warning, not a failure.
		e.Log.Warn("udevadm did not settle", "device", dev.String(), "err", err)
	}
}

func refusal(dev disk.Device, d disk.Decision) error {
	why := ""
	if d.Probe.Type == "xfs" && d.Probe.Label == dockerLabel {
		why = " (heatstrap made it for overlay2; was DOCKER_STORAGE_DRIVER changed?)"
	} else if d.Probe.Type == "LVM2_member" && d.Probe.PV != nil && d.Probe.PV.VG == dockerVG {
		why = " (heatstrap made it for devicemapper; was DOCKER_STORAGE_DRIVER changed?)"
	}
	return fmt.Errorf("%s holds %s%s; refusing to format it; set DOCKER_STORAGE_WIPE=true to allow erasing it",
		dev, d.Found(), why)
}

// erase is the destructive start common to both drivers: probe again
// right before acting, then wipe when the decision says so.
func erase(ctx context.Context, e *Env, dev disk.Device, d disk.Decision) error {
	if err := disk.Recheck(ctx, e.Exec, dev.Host, d); err != nil {
		return err
	}
	if d.Action != disk.Wipe {
		return nil
	}
	e.Log.Warn("wiping the docker storage device (DOCKER_STORAGE_WIPE=true)", "device", dev.String(), "held", d.Found())
	if err := disk.WipeAll(ctx, e.Exec, dev.Host); err != nil {
		return fmt.Errorf("wipe %s: %w; nothing was formatted%s", dev, err, busyHint(err, dev, d.Probe))
	}
	p, err := disk.ProbeDevice(ctx, e.Exec, dev.Host)
	if err != nil {
		return err
	}
	if !p.Blank() {
		return fmt.Errorf("%s still holds %s after wipefs --all; nothing was formatted; see what is left with: wipefs %s", dev, p, dev.Node)
	}
	return nil
}

// busyHint says how to free a device that wipefs could not open
// exclusively: something holds it, and which thing depends on what it is.
func busyHint(err error, dev disk.Device, p disk.Probe) string {
	if !strings.Contains(err.Error(), "busy") {
		return ""
	}
	if p.PV != nil && p.PV.VG != "" {
		return fmt.Sprintf(" (it is in use: deactivate volume group %q first, vgchange -an %s)", p.PV.VG, p.PV.VG)
	}
	return fmt.Sprintf(" (it is in use: unmount it first; findmnt --source %s shows where)", dev.Node)
}

func (sp storagePlan) overlay(ctx context.Context, e *Env, dev disk.Device, d disk.Decision) error {
	if d.Action == disk.Format || d.Action == disk.Wipe {
		if err := erase(ctx, e, dev, d); err != nil {
			return err
		}
		if err := disk.MakeXFS(ctx, e.Exec, dev.Host, dockerLabel); err != nil {
			return fmt.Errorf("format %s: %w", dev, err)
		}
		e.Log.Info("created the docker filesystem", "device", dev.String(), "type", "xfs", "label", dockerLabel)
		settleUdev(ctx, e, dev)
	}
	p := d.Probe
	if d.Action != disk.Reuse {
		var err error
		if p, err = sp.verify(ctx, e, dev); err != nil {
			return err
		}
	}
	warnHidden(e)
	if err := e.writeUnits(mountUnit(p.UUID), dockerDropIn()); err != nil {
		return err
	}
	if err := e.enableAndStart(ctx, dockerMountUnit); err != nil {
		return err
	}
	return configureDriver(e, sp.driver)
}

// warnHidden: the first mount hides what /var/lib/docker already holds
// on the root disk. Later Magnum ran rm -rf /var/lib/docker/*; heatstrap
// leaves it there (unmount to reach it) and says so.
func warnHidden(e *Env) {
	if e.Files.Exists("/etc/systemd/system/" + dockerMountUnit) {
		return
	}
	if n := disk.Hidden(e.Files, dockerRoot); n > 0 {
		e.Log.Warn("the docker volume is mounted over a non-empty "+dockerRoot+"; what is there stays on the root disk, hidden while mounted",
			"entries", n)
	}
}

func (sp storagePlan) devicemapper(ctx context.Context, e *Env, dev disk.Device, d disk.Decision) error {
	switch d.Action {
	case disk.Format, disk.Wipe:
		if err := erase(ctx, e, dev, d); err != nil {
			return err
		}
		if err := disk.MakePV(ctx, e.Exec, dev.Host); err != nil {
			return fmt.Errorf("pvcreate %s: %w", dev, err)
		}
		fallthrough
	case disk.Adopt:
		if d.Action == disk.Adopt {
			if err := disk.Recheck(ctx, e.Exec, dev.Host, d); err != nil {
				return err
			}
		}
		if err := disk.MakeVG(ctx, e.Exec, dockerVG, dev.Host); err != nil {
			return fmt.Errorf("vgcreate %s on %s: %w (if another disk already has a volume group %q, rename or remove it)", dockerVG, dev, err, dockerVG)
		}
		e.Log.Info("created the docker volume group", "device", dev.String(), "vg", dockerVG)
		if _, err := sp.verify(ctx, e, dev); err != nil {
			return err
		}
	}
	return configureDeviceMapper(ctx, e)
}

// verify probes after acting: the device must now hold exactly what we
// want, whatever the tools printed.
func (sp storagePlan) verify(ctx context.Context, e *Env, dev disk.Device) (disk.Probe, error) {
	p, err := disk.ProbeDevice(ctx, e.Exec, dev.Host)
	if err != nil {
		return p, err
	}
	if got := disk.Decide(p, sp.want, false); got.Action != disk.Reuse {
		return p, fmt.Errorf("%s holds %s, not %s as expected", dev, p, sp.want)
	}
	return p, nil
}
