// Package e2e boots real Debian nodes with systemd-nspawn (systemd as PID
// 1, D-Bus, etcd and docker from Debian's packages) and runs the whole
// master plan inside them against the Heat emulator. Kubernetes and
// flannel daemons, which Debian does not ship, are stand-ins (./standin).
//
// The tests need root, systemd-nspawn and debootstrap; .ci/run installs
// them, and with HEATSTRAP_TEST_STRICT=1 a missing one fails the suite.
package e2e

import (
	"sync"
	"testing"

	"github.com/heatstrap/heatstrap/internal/nspawn"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

// fixtures are built once per test binary: the static agent and the
// stand-ins; the rootfs is nspawn's cached one.
type fixtures struct {
	heatstrap, standin string
	rootfs             string
}

var (
	fixOnce sync.Once
	fix     fixtures
	fixErr  error
)

// need skips (or, strictly, fails) without the machine the suite needs,
// and returns the fixtures.
func need(t *testing.T) fixtures {
	t.Helper()
	if testing.Short() {
		t.Skip("boots containers; not in -short")
	}
	rootfs := nspawn.Rootfs(t)
	testenv.NeedTools(t, "apt-get install util-linux iproute2 xfsprogs", "losetup", "ip", "mkfs.xfs")
	fixOnce.Do(func() { fix, fixErr = build() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	fix.rootfs = rootfs
	return fix
}

func build() (fixtures, error) {
	bin, err := testenv.BuildStatic(map[string]string{"heatstrap": "../../cmd/heatstrap", "standin": "./standin"})
	return fixtures{heatstrap: bin["heatstrap"], standin: bin["standin"]}, err
}
