package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// docker gets flannel's --bip/--mtu whichever docker.service the image
// ships: Fedora's passes $DOCKER_NETWORK_OPTIONS itself, Debian's needs
// its command line restated with it.
func TestNetworkServiceDockerOptions(t *testing.T) {
	const dropIn = "/etc/systemd/system/docker.service.d/flannel.conf"
	t.Run("debian", func(t *testing.T) {
		n := newTestNode(t, config.RoleMinion, nil)
		if _, err := n.run(networkService); err != nil {
			t.Fatal(err)
		}
		mustContain(t, dropIn, n.read(dropIn), "EnvironmentFile=/run/flannel/docker",
			"ExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS $DOCKER_NETWORK_OPTIONS\n")
	})
	t.Run("fedora", func(t *testing.T) {
		n := newTestNode(t, config.RoleMinion, nil)
		if err := os.Remove(filepath.Join(n.root, "lib/systemd/system/docker.service")); err != nil {
			t.Fatal(err)
		}
		fedora := "[Service]\nEnvironmentFile=-/etc/sysconfig/docker\nExecStart=/usr/bin/dockerd-current $OPTIONS $DOCKER_STORAGE_OPTIONS $DOCKER_NETWORK_OPTIONS\n"
		if err := os.MkdirAll(filepath.Join(n.root, "usr/lib/systemd/system"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(n.root, "usr/lib/systemd/system/docker.service"), []byte(fedora), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := n.run(networkService); err != nil {
			t.Fatal(err)
		}
		if got := n.read(dropIn); strings.Contains(got, "ExecStart") || !strings.Contains(got, "EnvironmentFile=/run/flannel/docker") {
			t.Errorf("fedora drop-in:\n%s", got)
		}
	})
	t.Run("no docker", func(t *testing.T) {
		n := newTestNode(t, config.RoleMinion, nil)
		if err := os.Remove(filepath.Join(n.root, "lib/systemd/system/docker.service")); err != nil {
			t.Fatal(err)
		}
		_, err := n.run(networkService)
		if err == nil || !strings.Contains(err.Error(), "docker.service is not installed in this image") {
			t.Errorf("error %v", err)
		}
	})
}
