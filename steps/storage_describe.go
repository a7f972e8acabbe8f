package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heatstrap/heatstrap/disk"
)

// describeStorage says what configure-docker-storage would do now, for
// `heatstrap plan`, without acting: it looks for the device once (no wait,
// no udev trigger) and runs only the read-only probes (blkid -p, wipefs
// without --all, pvs), through disk.ReadOnly, which refuses anything else.
func describeStorage(ctx context.Context, e *Env) string {
	if why := storageWhen(e); why != "" {
		return "skip: " + why
	}
	sp := newStoragePlan(e.Params)
	dev, err := lookupStorageDevice(e)
	if nf := (*disk.NotFoundError)(nil); errors.As(err, &nf) {
		return fmt.Sprintf("wait up to %s for the disk; now: %v", storageDeviceTimeout, err)
	} else if err != nil {
		return "fail: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := disk.ProbeDevice(ctx, disk.ReadOnly(e.Exec), dev.Host)
	if err != nil {
		return "fail: " + err.Error()
	}
	d := disk.Decide(p, sp.want, sp.wipe)
	then := sp.describeConfig(e)
	switch d.Action {
	case disk.Format:
		return fmt.Sprintf("format %s as %s (it holds nothing); then %s", dev, sp.want, then)
	case disk.Wipe:
		return fmt.Sprintf("WIPE %s (wipefs --all, DOCKER_STORAGE_WIPE=true), which holds %s; then format it as %s; then %s", dev, d.Found(), sp.want, then)
	case disk.Reuse:
		return fmt.Sprintf("reuse %s, which already holds %s (no mkfs); %s", dev, d.Found(), then)
	case disk.Adopt:
		return fmt.Sprintf("create volume group %q on %s, which holds %s; then %s", dockerVG, dev, d.Found(), then)
	}
	return "refuse: " + refusal(dev, d).Error()
}

func (sp storagePlan) describeConfig(e *Env) string {
	switch {
	case sp.want.VG != "" && fedoraStyle(e):
		return fmt.Sprintf("VG=%s and STORAGE_DRIVER=devicemapper in %s", dockerVG, dssConfig)
	case sp.want.VG != "":
		return fmt.Sprintf("thin pool %s in volume group %s (lvcreate, lvconvert); \"storage-driver\": \"devicemapper\" with dm.thinpooldev=%s in %s",
			disk.ThinPool, dockerVG, disk.ThinPoolDevice(dockerVG), daemonJSON)
	case fedoraStyle(e):
		return fmt.Sprintf("mount it at %s (%s); STORAGE_DRIVER=%s in %s and %s", dockerRoot, dockerMountUnit, sp.driver, dssConfig, dockerStorageEnv)
	}
	return fmt.Sprintf("mount it at %s (%s); \"storage-driver\": %q in %s", dockerRoot, dockerMountUnit, sp.driver, daemonJSON)
}
