package steps

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
)

// lvmScript plays LVM for an image without docker-storage-setup: the
// volume group starts empty and holds the pool once lvconvert ran. The
// real commands need device-mapper, which only the VM suite has.
type lvmScript struct {
	cmds []string
	pool bool // lvconvert ran
}

func (s *lvmScript) Run(_ context.Context, c command.Cmd) ([]byte, error) {
	line := c.Name + " " + strings.Join(c.Args, " ")
	s.cmds = append(s.cmds, line)
	s.pool = s.pool || c.Name == "lvconvert"
	if c.Name == "lvs" {
		if s.pool {
			return []byte(`{"report":[{"lv":[{"lv_name":"thinpool","segtype":"thin-pool"}]}]}`), nil
		}
		return []byte(`{"report":[{"lv":[]}]}`), nil
	}
	return nil, nil
}

// On Debian's docker.io nothing turns VG=docker into storage: heatstrap
// makes the thin pool and points docker at it; a rerun makes nothing.
func TestDeviceMapperWithoutDockerStorageSetup(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, map[string]string{"DOCKER_STORAGE_DRIVER": "devicemapper"})
	n.write(daemonJSON, `{"debug": true, "storage-driver": "overlay2"}`, 0o644)
	lvm := &lvmScript{}
	e, _ := storageEnv(n, lvm)
	if got := newStoragePlan(e.Params).describeConfig(e); got != `thin pool thinpool in volume group docker (lvcreate, lvconvert); "storage-driver": "devicemapper" with dm.thinpooldev=/dev/mapper/docker-thinpool in /etc/docker/daemon.json` {
		t.Errorf("plan: %s", got)
	}
	if err := configureDeviceMapper(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lvm.cmds, "; "); !strings.Contains(got, "lvcreate --wipesignatures y -n thinpool -l 95%VG docker") ||
		!strings.Contains(got, "lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta") {
		t.Errorf("commands: %s", got)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(n.read(daemonJSON)), &doc); err != nil {
		t.Fatal(err)
	}
	opts, _ := doc["storage-opts"].([]any)
	if doc["storage-driver"] != "devicemapper" || doc["debug"] != true || len(opts) != 3 || opts[0] != "dm.thinpooldev=/dev/mapper/docker-thinpool" {
		t.Errorf("daemon.json: %v", doc)
	}
	if e.Files.Exists(dssConfig) {
		t.Error("docker-storage-setup config written on an image without it")
	}

	before := n.read(daemonJSON)
	lvm.cmds = nil
	e, log := storageEnv(n, lvm)
	if err := configureDeviceMapper(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if len(lvm.cmds) != 1 || len(log.Paths()) != 0 || n.read(daemonJSON) != before {
		t.Errorf("rerun ran %v and changed %v", lvm.cmds, log.Paths())
	}
}
